"""How many points each channel gets: stratified allocation and channel dropping (MadNIS §2.2).

With ``N_i`` points in channel ``i`` the variance of the multi-channel estimate is
``Σ_i σ_i² / N_i`` (eq. 16), minimised by ``N_i = N σ_i / Σ_k σ_k`` (eq. 17). A fixed fraction of
the points is spread uniformly over the active channels so that none runs dry while the
``σ_i`` are still being learned ("variance-weighted training", §3.3). Channels whose
contribution falls below a threshold are dropped: they get no points and contribute nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["allocate", "channels_to_keep"]


def allocate(
    n: int,
    sigmas: Tensor | None,
    active: Tensor,
    *,
    uniform_fraction: float = 0.1,
    min_points: int = 2,
) -> list[int]:
    """Split ``n`` points over the channels: ``N_i ∝ σ_i`` plus a uniform floor.

    Args:
        n: the total number of points.
        sigmas: per-point standard deviations ``σ_i`` of the channels' weights, shape ``(m,)``
            (``None``, or all zero/non-finite: uniform allocation).
        active: boolean mask of shape ``(m,)``; inactive (dropped) channels get 0 points.
        uniform_fraction: the fraction of ``n`` split evenly over the active channels
            (``1.0``: uniform allocation, ``0.0``: purely stratified).
        min_points: the least an active channel gets (2, so that a variance exists), as long as
            ``n`` allows.

    Returns:
        ``m`` non-negative integers summing to ``n`` (largest-remainder rounding).

    Raises:
        ValueError: no active channel, or arguments out of range.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"Expected a non-negative integer number of points; got {n!r}.")
    if not 0.0 <= uniform_fraction <= 1.0:
        raise ValueError(f"Expected uniform_fraction in [0, 1]; got {uniform_fraction}.")
    active = torch.as_tensor(active, dtype=torch.bool).cpu()
    m = active.shape[0]
    k = int(active.sum())
    if k == 0:
        raise ValueError("Expected at least one active channel; got none.")
    share = active.to(torch.float64) / k
    if sigmas is not None:
        s = torch.as_tensor(sigmas, dtype=torch.float64).cpu().reshape(m)
        s = torch.where(active & torch.isfinite(s), s.clamp_min(0.0), torch.zeros_like(s))
        if float(s.sum()) > 0:
            share = uniform_fraction * share + (1.0 - uniform_fraction) * s / s.sum()
    target = share * n
    counts = torch.floor(target).to(torch.int64)
    floor_n = min(min_points, n // k)
    counts = torch.where(active, counts.clamp_min(floor_n), torch.zeros_like(counts))
    # Largest remainder: hand out the missing points by decreasing remainder; take back the
    # excess created by the minimum from the largest channels.
    diff = n - int(counts.sum())
    remainder = torch.where(
        active, target - counts.to(torch.float64), torch.full_like(target, -1.0)
    )
    order = [int(c) for c in torch.argsort(remainder, descending=True) if bool(active[c])]
    while diff > 0:
        for c in order[:diff]:
            counts[c] += 1
        diff = n - int(counts.sum())
    while diff < 0:
        spare = torch.where(active, counts - floor_n, torch.zeros_like(counts))
        c = int(torch.argmax(spare))
        if int(spare[c]) <= 0:
            break
        counts[c] -= 1
        diff += 1
    return [int(c) for c in counts]


def channels_to_keep(
    contributions: Tensor, errors: Tensor, active: Tensor, *, threshold: float = 0.0
) -> Tensor:
    """Which channels stay active.

    A channel is dropped when both its estimated contribution ``|I_i|`` and its error are at
    most ``threshold · Σ_j |I_j|`` (with the default ``threshold = 0`` only channels whose
    integrand vanished on every point are dropped; a positive threshold biases the result by at
    most that fraction per dropped channel). At least one channel always stays.

    Args:
        contributions: ``I_i``, shape ``(m,)``.
        errors: the standard deviations of the ``I_i``, shape ``(m,)``.
        active: the current mask, shape ``(m,)``.
        threshold: the relative contribution below which a channel is dropped.

    Returns:
        The new boolean mask, shape ``(m,)``.
    """
    c = torch.as_tensor(contributions, dtype=torch.float64).cpu().abs()
    e = torch.as_tensor(errors, dtype=torch.float64).cpu().abs()
    active = torch.as_tensor(active, dtype=torch.bool).cpu()
    total = float(c[active].sum())
    if total <= 0:
        return active.clone()
    keep = active & ((c > threshold * total) | (e > threshold * total))
    if not bool(keep.any()):
        keep = active.clone()
    return keep
