"""Stratified sampling of the unit hypercube with adaptive allocation (VEGAS+-style).

nisflow stratifies the *latent* space of a flow: the latent cube [0, 1]^d is cut into ``m^d``
equal hypercubes ("cells"), each cell receives at least ``min_per_cell`` uniform points, and the
integral is the volume-weighted sum of the per-cell means of the weights. Variance is the sum of
the per-cell variances of the mean, so only the fluctuation of the weight *inside* a cell counts.
For a trained flow the weight ``w(u) = f(T(u)) |det dT/du|`` is close to constant and smooth, and
stratification removes most of what is left in low dimensions. Allocation across cells follows
the measured per-cell spread ``n_h ∝ (V_h σ_h)^β`` (Lepage's VEGAS+ damping; the Integrator uses
β = 1 and three points per cell on average, of which two are fixed).

All functions are pure and take explicit randomness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .rng import rand

__all__ = [
    "StratifiedEstimate",
    "strata_per_dim",
    "allocate",
    "regrid",
    "neighbourhood",
    "cell_digits",
    "cell_of",
    "points_in_cells",
    "stratified_points",
    "stratified_estimate",
]


@dataclass(frozen=True)
class StratifiedEstimate:
    """Result of :func:`stratified_estimate` (float64 scalars and per-cell tensors).

    Attributes:
        mean: the integral estimate Σ_h V_h mean_h(w).
        variance: its variance Σ_h V_h² s_h² / n_h.
        cell_sigma: per-cell standard deviation of the weight, shape ``(n_cells,)``; feeds the
            next :func:`allocate`.
    """

    mean: float
    variance: float
    cell_sigma: Tensor


def strata_per_dim(n: int, d: int, *, min_per_cell: int = 2, max_cells: int = 2**22) -> int:
    """Number ``m`` of strata per axis such that ``m^d`` cells each get ``min_per_cell`` points.

    Returns the largest ``m >= 1`` with ``m**d * min_per_cell <= n`` and ``m**d <= max_cells``.
    """
    if n < 1 or d < 1:
        raise ValueError(f"Expected positive n and d; got n={n}, d={d}.")
    limit = min(n // max(min_per_cell, 1), max_cells)
    if limit < 1:
        return 1
    m = max(1, int(math.floor(limit ** (1.0 / d) + 1e-9)))
    while m > 1 and m**d > limit:
        m -= 1
    while (m + 1) ** d <= limit:
        m += 1
    return m


def allocate(
    n: int,
    n_cells: int,
    cell_sigma: Tensor | None = None,
    *,
    beta: float = 0.75,
    min_per_cell: int = 2,
) -> Tensor:
    """Points per cell: ``min_per_cell`` each, the rest ∝ ``cell_sigma**beta`` (uniform if None).

    Args:
        n: total number of points wanted (at least ``min_per_cell * n_cells``).
        n_cells: number of cells.
        cell_sigma: per-cell spread from a previous iteration, shape ``(n_cells,)``.
        beta: damping exponent (0 gives uniform allocation, 1 full VEGAS+ adaptation).
        min_per_cell: floor per cell (2 keeps every per-cell variance estimable).

    Returns:
        Long tensor of shape ``(n_cells,)`` summing to exactly ``max(n, min_per_cell * n_cells)``.
    """
    base = min_per_cell * n_cells
    extra = max(n - base, 0)
    counts = torch.full((n_cells,), min_per_cell, dtype=torch.long)
    if extra == 0:
        return counts
    if cell_sigma is None:
        share = torch.full((n_cells,), 1.0 / n_cells, dtype=torch.float64)
    else:
        s = cell_sigma.detach().to("cpu", torch.float64).clamp_min(0) ** beta
        total = float(s.sum())
        share = (
            s / total if total > 0 and math.isfinite(total) else torch.full_like(s, 1.0 / n_cells)
        )
    raw = share * extra
    floor = raw.floor().long()
    counts += floor
    remainder = extra - int(floor.sum())
    if remainder > 0:  # largest fractional parts get the leftover points (deterministic)
        idx = torch.argsort(raw - floor.to(raw.dtype), descending=True, stable=True)[:remainder]
        counts[idx] += 1
    return counts


def cell_digits(cell: Tensor, m: int, d: int) -> Tensor:
    """Integer coordinates of cells of an ``m``-per-axis grid, first axis fastest.

    Args:
        cell: cell indices in ``[0, m^d)``, shape ``(n,)``.

    Returns:
        Long tensor of shape ``(n, d)`` (on ``cell``'s device).
    """
    return (cell.unsqueeze(-1) // (m ** torch.arange(d, device=cell.device))) % m


def points_in_cells(
    cell: Tensor,
    m: int,
    d: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """One uniform point inside each given cell: shape ``(n, d)`` in [0, 1]^d for ``cell`` (n,)."""
    jitter = rand(cell.shape[0], d, generator=generator, device=cell.device, dtype=dtype)
    return ((cell_digits(cell, m, d).to(dtype) + jitter) / m).clamp_(0.0, 1.0)


def cell_of(u: Tensor, m: int) -> Tensor:
    """Index (first axis fastest) of the cell of an ``m``-per-axis grid holding each point.

    Args:
        u: points of [0, 1]^d, shape ``(n, d)`` (a point on a cell's upper face belongs to it
            only at 1, the cube's end).

    Returns:
        Long tensor of shape ``(n,)`` on ``u``'s device, the inverse of :func:`cell_digits`.
    """
    d = u.shape[-1]
    digits = (u * m).floor().long().clamp_(0, m - 1)
    return (digits * (m ** torch.arange(d, device=u.device))).sum(-1)


def _centres(m: int, d: int) -> Tensor:
    """Centres of the ``m^d`` cells, shape ``(m^d, d)``, first axis fastest."""
    return (cell_digits(torch.arange(m**d), m, d).to(torch.float64) + 0.5) / m


def regrid(values: Tensor, m_from: int, m_to: int, d: int) -> Tensor:
    """Carry per-cell values from an ``m_from``-per-axis grid to an ``m_to``-per-axis grid.

    A new cell gets the mean of the old cells whose centres it holds, or, holding none, the
    value of the old cell holding its own centre. Used to start the allocation of a refine
    iteration from a pilot of another size: only the relative values matter there.

    Args:
        values: per-cell values of the old grid, shape ``(m_from**d,)``.
        m_from: strata per axis of the old grid.
        m_to: strata per axis of the new grid.
        d: dimension.

    Returns:
        Float64 tensor of shape ``(m_to**d,)``.
    """
    if values.shape != (m_from**d,):
        raise ValueError(f"Expected values of shape ({m_from**d},); got {tuple(values.shape)}.")
    values = values.detach().to("cpu", torch.float64)
    if m_from == m_to:
        return values.clone()
    n_to = m_to**d
    home = cell_of(_centres(m_from, d), m_to)  # new cell of each old centre
    total = torch.zeros(n_to, dtype=torch.float64).index_add_(0, home, values)
    count = torch.zeros(n_to, dtype=torch.float64).index_add_(0, home, torch.ones_like(values))
    lookup = values[cell_of(_centres(m_to, d), m_from)]  # old cell of each new centre
    return torch.where(count > 0, total / count.clamp_min(1), lookup)


def neighbourhood(values: Tensor, m: int, d: int, *, reduce: str = "mean") -> Tensor:
    """Each cell's value reduced over the 3^d block of cells around it (edges repeated).

    Separable: a 3-point reduction along every axis in turn, so any ``d`` works. With
    ``reduce="max"`` the repeated edges change nothing (the block's maximum over the cells that
    exist); with ``"mean"`` a cell on the border counts itself once more per border axis.

    Args:
        values: per-cell values of an ``m``-per-axis grid, shape ``(m**d,)`` (cell ``h`` has the
            base-``m`` digits of ``h`` as coordinates).
        m: cells per axis.
        d: dimension.
        reduce: ``"mean"`` or ``"max"``.

    Returns:
        Float64 tensor of shape ``(m**d,)`` on ``values``' device.
    """
    if values.shape != (m**d,):
        raise ValueError(f"Expected values of shape ({m**d},); got {tuple(values.shape)}.")
    if reduce not in ("mean", "max"):
        raise ValueError(f"Expected reduce 'mean' or 'max'; got {reduce!r}.")
    v = values.detach().to(torch.float64).reshape((m,) * d)
    if m < 2:
        return v.reshape(-1).clone()
    for axis in range(d):
        lower = torch.cat([v.narrow(axis, 0, 1), v.narrow(axis, 0, m - 1)], dim=axis)
        upper = torch.cat([v.narrow(axis, 1, m - 1), v.narrow(axis, m - 1, 1)], dim=axis)
        if reduce == "mean":
            v = (lower + v + upper) / 3.0
        else:
            v = torch.maximum(torch.maximum(lower, v), upper)
    return v.reshape(-1)


def stratified_points(
    counts: Tensor,
    m: int,
    d: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Uniform points inside each of the ``m^d`` cells, ``counts[h]`` of them in cell ``h``.

    Cell ``h`` has integer coordinates given by the base-``m`` digits of ``h`` (first axis
    fastest). Returns ``(u, cell)``: points of shape ``(N, d)`` in [0, 1]^d, ``N = counts.sum()``,
    and the cell index of each point, shape ``(N,)``, sorted by cell.
    """
    n_cells = m**d
    if counts.shape != (n_cells,):
        raise ValueError(f"Expected counts of shape ({n_cells},); got {tuple(counts.shape)}.")
    counts_dev = counts.to(device)
    cell = torch.repeat_interleave(torch.arange(n_cells, device=device), counts_dev)
    return points_in_cells(cell, m, d, generator=generator, dtype=dtype), cell


def stratified_estimate(w: Tensor, cell: Tensor, counts: Tensor) -> StratifiedEstimate:
    """Combine weights ``w`` (shape ``(N,)``) of stratified points into an integral estimate.

    Accumulates in float64. Every cell must hold at least 2 points.
    """
    n_cells = counts.shape[0]
    if int(counts.min()) < 2:
        raise ValueError(
            f"Expected at least 2 points per cell; got a cell with {int(counts.min())}."
        )
    w64 = w.detach().to(torch.float64)
    cell = cell.to(w64.device)
    n_h = counts.to(w64.device, torch.float64)
    s1 = torch.zeros(n_cells, dtype=torch.float64, device=w64.device).index_add_(0, cell, w64)
    mean_h = s1 / n_h
    dev = w64 - mean_h[cell]
    s2 = torch.zeros_like(s1).index_add_(0, cell, dev * dev)
    var_h = s2 / (n_h - 1)  # unbiased per-cell variance of w
    vol = 1.0 / n_cells
    mean = float(mean_h.sum() * vol)
    variance = float((var_h / n_h).sum() * vol * vol)
    return StratifiedEstimate(mean=mean, variance=variance, cell_sigma=(var_h.sqrt() * vol).cpu())
