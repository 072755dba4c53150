"""Plain Monte Carlo with uniform points on [0,1]^d: the baseline every method must beat."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from nisflow.baselines.record import Budget, RunRecord
from nisflow.checks import check_dimension, describe_nonfinite
from nisflow.rng import rand

__all__ = ["run_uniform", "evaluate_integrand", "synchronize"]

_CHUNK = 1 << 17


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels on ``device`` so wall times are honest (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate_integrand(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Evaluate ``f`` on a batch and check what comes back.

    Args:
        f: integrand, ``f(x: Tensor[n, d]) -> Tensor[n]``.
        x: points, shape ``(n, d)``.

    Returns:
        ``f(x)`` as a float64 tensor of shape ``(n,)`` on ``x.device``.

    Raises:
        ValueError: if the values have the wrong shape or are not finite.
    """
    fx = f(x)
    if not isinstance(fx, Tensor):
        raise TypeError(
            f"Expected the integrand to return a torch.Tensor; got {type(fx).__name__}."
        )
    fx = fx.reshape(-1) if fx.dim() == 2 and fx.shape[1] == 1 else fx
    if fx.shape != (x.shape[0],):
        raise ValueError(
            f"Expected the integrand to return shape ({x.shape[0]},); got {tuple(fx.shape)}."
        )
    fx = fx.to(device=x.device, dtype=torch.float64)
    bad = ~torch.isfinite(fx)
    if bool(bad.any()):
        raise ValueError(f"Expected finite integrand values; got {describe_nonfinite(fx, bad, x)}.")
    return fx


def _uniform_values(
    f: Callable[[Tensor], Tensor],
    d: int,
    n: int,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
    keep: int = 0,
) -> tuple[Tensor, Tensor | None]:
    """Values of ``f`` at ``n`` uniform points drawn in chunks; optionally keep the first points."""
    values = []
    kept = None
    done = 0
    while done < n:
        m = min(_CHUNK, n - done)
        x = rand(m, d, generator=generator, device=device, dtype=dtype)
        values.append(evaluate_integrand(f, x))
        if kept is None and keep > 0:
            kept = x[:keep].detach().cpu()
        done += m
    out = torch.cat(values) if values else torch.zeros(0, dtype=torch.float64, device=device)
    return out, kept


def run_uniform(
    f: Callable[[Tensor], Tensor],
    d: int,
    budget: Budget,
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    n_keep_points: int = 0,
) -> RunRecord:
    """Integrate ``f`` over [0,1]^d with uniform points.

    The survey budget is unused (nothing to adapt); the refine budget gives the estimate, the mean
    of ``f`` with error ``std(f)/sqrt(n)`` (float64 accumulation).

    Args:
        f: integrand, ``f(x: Tensor[n, d]) -> Tensor[n]``.
        d: dimension.
        budget: evaluation budget (see :class:`Budget`).
        seed: seed of the torch generator used for every draw.
        device: where points are drawn and ``f`` is evaluated.
        dtype: floating dtype of the points.
        n_keep_points: how many sampled points to keep in ``record.points`` (shape ``(m, d)``).

    Returns:
        A :class:`RunRecord` with ``n_evals_survey = 0``.
    """
    d = check_dimension(d)
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(int(seed))

    synchronize(device)
    t0 = time.perf_counter()
    fx, _ = _uniform_values(f, d, budget.n_refine, gen, device, dtype)
    n = fx.numel()
    mean = float(fx.mean())
    error = float(fx.std() / math.sqrt(n)) if n > 1 else math.inf
    per_iter = [float(c.mean()) for c in fx.chunk(budget.n_iter_refine)]
    synchronize(device)
    t1 = time.perf_counter()

    w, kept = _uniform_values(f, d, budget.n_unweight, gen, device, dtype, keep=n_keep_points)
    synchronize(device)
    t2 = time.perf_counter()

    return RunRecord(
        method="uniform",
        estimate=mean,
        error=error,
        n_evals_survey=0,
        n_evals_refine=n,
        survey_s=0.0,
        refine_s=t1 - t0,
        weights=w.cpu(),
        sample_s=t2 - t1,
        chi2_dof=_chi2_dof(per_iter, fx.chunk(budget.n_iter_refine)),
        history=[],
        points=kept,
    )


def _chi2_dof(means: list[float], chunks: tuple[Tensor, ...]) -> float:
    """chi^2/dof of independent iteration means against their weighted average."""
    if len(means) < 2:
        return math.nan
    var = [float(c.var() / c.numel()) if c.numel() > 1 else math.inf for c in chunks]
    if any(v <= 0 or not math.isfinite(v) for v in var):
        return math.nan
    wts = [1.0 / v for v in var]
    avg = sum(m * w for m, w in zip(means, wts, strict=True)) / sum(wts)
    return sum((m - avg) ** 2 * w for m, w in zip(means, wts, strict=True)) / (len(means) - 1)
