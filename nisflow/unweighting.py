"""Unweighting by hit-or-miss: from weighted points to events distributed as ``|f| / I``.

A point ``x`` drawn from ``q`` with weight ``w = f(x) / q(x)`` is kept with probability
``|w| / w_max`` (ZüNIS appendix A). Kept points are i.i.d. with density ``|f| / ∫|f|`` as long as
no weight exceeds ``w_max``. The unweighting efficiency is ``mean|w| / w_max``.

``w_max`` comes from a reference sample, either exactly (its largest weight) or as a quantile of
its weights: a quantile raises the efficiency at the price of "over-weight" points
(``|w| > w_max``), which are kept with the weight ``|w| / w_max > 1`` so that weighted
histograms stay unbiased; their fraction is reported. Signed integrands give events with
weight ``−1`` where ``f < 0``.

All functions are pure, take explicit randomness and work in chunks to bound memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .rng import rand

__all__ = ["UnweightedEvents", "find_max_weight", "hit_or_miss", "unweight"]


@dataclass(frozen=True)
class UnweightedEvents:
    """Events from hit-or-miss unweighting.

    Attributes:
        x: the events, shape ``(n_events, d)``.
        weights: event weights, float64, shape ``(n_events,)``: ``±1``, or
            ``±|w|/w_max`` for over-weight events.
        efficiency: ``mean|w| / w_max`` on the reference sample.
        acceptance: the fraction of trial points that were kept.
        max_weight: the ``w_max`` used.
        overweight_fraction: fraction of reference points with ``|w| > w_max``.
        n_trials: weighted points drawn (and evaluated) to obtain the events.
    """

    x: Tensor
    weights: Tensor
    efficiency: float
    acceptance: float
    max_weight: float
    overweight_fraction: float
    n_trials: int

    def __len__(self) -> int:
        return self.x.shape[0]


def find_max_weight(w: Tensor, max_weight: str | float = "exact") -> tuple[float, float]:
    """The maximum weight for unweighting from a reference sample of weights.

    Args:
        w: weights of a reference sample, shape ``(n,)``.
        max_weight: ``"exact"`` for ``max|w|``, or a quantile level in ``(0, 1]`` of ``|w|``
            (e.g. ``0.999``).

    Returns:
        ``(w_max, overweight_fraction)``: the fraction of ``|w|`` above ``w_max``.
    """
    if w.dim() != 1 or w.shape[0] == 0:
        raise ValueError(f"Expected reference weights of shape (n,), n >= 1; got {tuple(w.shape)}.")
    a = w.detach().abs().to(torch.float64)
    if not bool(torch.isfinite(a).all()):
        raise ValueError("Expected finite reference weights; got NaN or inf.")
    if max_weight == "exact":
        w_max = float(a.max())
    elif (
        isinstance(max_weight, (int, float))
        and not isinstance(max_weight, bool)
        and (0 < max_weight <= 1)
    ):
        k = max(1, min(a.shape[0], int(round(float(max_weight) * a.shape[0]))))
        w_max = float(torch.kthvalue(a.cpu(), k).values)
    else:
        raise ValueError(
            f"Expected max_weight 'exact' or a quantile level in (0, 1]; got {max_weight!r}."
        )
    if w_max <= 0:
        raise ValueError(
            "Expected some non-zero weight in the reference sample; got all zero (is the "
            "integrand zero everywhere?)."
        )
    return w_max, float((a > w_max).to(torch.float64).mean())


def hit_or_miss(
    x: Tensor, w: Tensor, w_max: float, *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Keep each point with probability ``min(1, |w| / w_max)``.

    Args:
        x: points, shape ``(n, d)``.
        w: their weights, shape ``(n,)``.
        w_max: the maximum weight, positive.
        generator: randomness for the accept/reject decisions (on ``w``'s device).

    Returns:
        ``(x_kept, weights_kept)``: kept points ``(m, d)`` and their event weights ``(m,)``
        (``sign(w) · max(1, |w|/w_max)``, float64).
    """
    if not w_max > 0:
        raise ValueError(f"Expected a positive maximum weight; got {w_max}.")
    w = w.detach().to(torch.float64)
    ratio = w.abs() / w_max
    u = rand(w.shape[0], generator=generator, device=w.device, dtype=torch.float64)
    keep = u < ratio
    weights = torch.sign(w[keep]) * ratio[keep].clamp_min(1.0)
    return x[keep], weights


def unweight(
    sample: Callable[[int], tuple[Tensor, Tensor]],
    n_events: int,
    *,
    max_weight: str | float = "exact",
    n_reference: int = 100_000,
    chunk_size: int = 100_000,
    max_trials: int | None = None,
    generator: torch.Generator | None = None,
) -> UnweightedEvents:
    """Draw ``n_events`` unweighted events from a weighted sampler.

    The reference sample fixes ``w_max`` and is itself the first batch of trials; further
    trials are drawn in chunks of ``chunk_size`` until ``n_events`` are kept.

    Args:
        sample: ``sample(n) -> (x, w)``: ``n`` weighted points, shapes ``(n, d)``, ``(n,)``.
        n_events: events wanted.
        max_weight: ``"exact"`` or a quantile level (see :func:`find_max_weight`).
        n_reference: size of the reference sample.
        chunk_size: trials per further batch.
        max_trials: give up (``RuntimeError``) after this many trials; default
            ``n_reference + 1000 · n_events / efficiency`` (in practice unreachable).
        generator: randomness for the accept/reject decisions.

    Returns:
        :class:`UnweightedEvents` with exactly ``n_events`` events.
    """
    if isinstance(n_events, bool) or not isinstance(n_events, int) or n_events < 0:
        raise ValueError(f"Expected a non-negative integer n_events; got {n_events!r}.")
    x, w = sample(n_reference)
    w_max, over = find_max_weight(w, max_weight)
    efficiency = float(w.detach().abs().to(torch.float64).mean()) / w_max
    if max_trials is None:
        max_trials = n_reference + int(1000 * (n_events + 1) / max(efficiency, 1e-12))
    xs, ws = [], []
    n_kept, n_trials = 0, 0
    while True:
        xk, wk = hit_or_miss(x, w, w_max, generator=generator)
        n_trials += x.shape[0]
        xs.append(xk)
        ws.append(wk)
        n_kept += xk.shape[0]
        if n_kept >= n_events:
            break
        if n_trials >= max_trials:
            raise RuntimeError(
                f"Expected {n_events} events within {max_trials} trials; got {n_kept}."
            )
        x, w = sample(chunk_size)
    events = torch.cat(xs)[:n_events]
    weights = torch.cat(ws)[:n_events]
    return UnweightedEvents(events, weights, efficiency, n_kept / n_trials, w_max, over, n_trials)
