"""Drawing points from a flow: the defensive mixture and stratified sampling of the latent cube.

**Defensive mixture** (Hesterberg's defensive importance sampling). The sampling density is

    g(x) = (1 − α) q(x) + α,      x ∈ [0, 1]^d,

the flow ``q`` mixed with the uniform density with the fraction ``α`` (``uniform_fraction``).
Every region keeps the density ``g ≥ α``, so the weight ``w = f / g ≤ f / α`` is bounded wherever
``f`` is, whatever the flow learnt: a region the flow missed still gets points and makes the
variance estimate grow instead of silently vanishing. A point of the uniform component needs the
flow's density ``q(x)`` by an inverse pass (:meth:`~nisflow.flows.Flow.log_prob`).

**Latent points.** Every point starts as a uniform ``u ∈ [0, 1]^d``. With a uniform-prior flow,
the flow component is ``x = T(u)``; with a Gaussian prior it is ``x = T(Φ⁻¹(u))``, so the unit cube
is the latent space in both cases (:func:`flow_from_unit`), and the uniform component is
``x = u``. Both can be stratified: ``u`` uniform in the ``m^d`` equal cells ``h`` of volume
``V_h`` (:func:`stratified_chunks`), estimated by ``Σ_h V_h mean_h`` (:class:`StratifiedAccumulator`).

**Unbiasedness.** Write ``w = f / g``. If each stratified point independently takes the uniform
component with probability ``α`` and the flow otherwise,

    V_h E[w | h] = ∫_h [(1 − α) w(T(u)) + α w(u)] du,

and summing over the cells, with ``∫ w(T(u)) du = ∫ w q dx`` (change of variables),

    Σ_h V_h E[w | h] = (1 − α) ∫ (f / g) q dx + α ∫ (f / g) dx = ∫ f ((1 − α) q + α) / g dx = ∫ f.

The random choice of the component, however, adds ``≈ α / (1 − α)`` to the relative variance per
point even for a perfect flow (in a cell where ``w(T(u)) ≈ I`` the uniform point's ``w(u)`` is
``≈ 0``): at ``α = 0.05`` that is ``0.05``, several times the variance of a trained flow. The refine
phase therefore allocates the components deterministically (Owen & Zhou 2000, "Safe and
effective importance sampling"): ``n_u ≈ α n`` uniform points and ``n − n_u`` flow points, each set
stratified on its own, and

    Î = (1 − α) Ŝ_q + α Ŝ_u,   Ŝ_q = Σ_h V_h mean_h w(T(u)),   Ŝ_u = Σ_h V_h mean_h w(u),

unbiased by the same identity (``E Ŝ_q = ∫ (f/g) q dx``, ``E Ŝ_u = ∫ f/g dx``) for any fixed counts,
with variance ``(1 − α)² Var Ŝ_q + α² Var Ŝ_u``. The weight is still ``f / g`` for every point, so
it stays bounded by ``f / α`` wherever the flow misses mass. i.i.d. samples
(:func:`sample_mixture`, used for sampling and unweighting) choose the component per point.

**Randomized quasi-Monte Carlo** (from three dimensions on, :func:`qmc_chunks`). With ``m^d``
cells and two points each, stratification leaves few strata per axis once ``d ≥ 3``; a
scrambled Sobol' sequence (Owen scrambling, ``torch.quasirandom.SobolEngine``) spreads the latent
points evenly in every dimension at once instead. Each of ``R`` independent scramblings
("replicates") of ``n / R`` points gives an unbiased estimate; their mean is the estimate and
their spread over ``R`` its variance (:class:`ReplicateAccumulator`), so the error bar is still a
plain sample variance of independent estimates (L'Ecuyer & Lemieux 2002).

All functions take explicit randomness and work on any device; estimates accumulate in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .flows.flow import Flow
from .flows.priors import GaussianPrior, UniformPrior
from .rng import rand
from .stratification import StratifiedEstimate, points_in_cells

__all__ = [
    "check_uniform_fraction",
    "choose_refine_sampler",
    "supports_latent_stratification",
    "mix_log_prob",
    "flow_from_unit",
    "unit_from_flow",
    "sample_defensive",
    "sample_mixture",
    "stratified_chunks",
    "StratifiedAccumulator",
    "replicate_sizes",
    "qmc_chunks",
    "ReplicateAccumulator",
]

_U_MIN = 2.0**-60  # Φ⁻¹ of the float64 unit interval's ends, kept finite


def check_uniform_fraction(alpha: object) -> float:
    """Validate a mixture fraction: a number in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"Expected uniform_fraction a number in [0, 1]; got {alpha!r}.")
    return float(alpha)


def supports_latent_stratification(flow: Flow) -> bool:
    """Whether the flow's latent space can be reached from uniform ``u`` (uniform or Gaussian)."""
    return isinstance(flow.prior, (UniformPrior, GaussianPrior))


def _check_latent_prior(flow: Flow) -> None:
    if not supports_latent_stratification(flow):
        raise ValueError(
            "Expected a flow with a UniformPrior or GaussianPrior for latent sampling; got "
            f"{type(flow.prior).__name__}."
        )


def flow_from_unit(flow: Flow, u: Tensor) -> tuple[Tensor, Tensor]:
    """The flow component at uniform latent points: ``x = T(u)`` or ``x = T(Φ⁻¹(u))``.

    Args:
        flow: a flow whose prior is :class:`~nisflow.flows.UniformPrior` or
            :class:`~nisflow.flows.GaussianPrior`.
        u: points of the unit cube, shape ``(n, d)``.

    Returns:
        ``(x, log_q)``: points of shape ``(n, d)`` in the flow's dtype and the flow's float64
        log-density at them, shape ``(n,)``.
    """
    _check_latent_prior(flow)
    if isinstance(flow.prior, UniformPrior):
        z = u.to(flow.dtype)
    else:
        u64 = u.to(torch.float64).clamp(_U_MIN, 1.0 - 2.0**-53)
        z = torch.special.ndtri(u64).to(flow.dtype)
    log_p = flow.prior.log_prob(z)
    x, log_det = flow(z)
    return x, (log_p - log_det).to(torch.float64)


def unit_from_flow(flow: Flow, x: Tensor) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`flow_from_unit`: the uniform latent points of ``x`` and ``log q(x)``.

    Args:
        flow: a flow whose prior is :class:`~nisflow.flows.UniformPrior` or
            :class:`~nisflow.flows.GaussianPrior`.
        x: points of the unit cube, shape ``(n, d)``.

    Returns:
        ``(u, log_q)``: latent points of shape ``(n, d)`` in [0, 1]^d (flow dtype) and the
        flow's float64 log-density at ``x``, shape ``(n,)``.
    """
    _check_latent_prior(flow)
    z, log_det = flow.inverse(x.to(flow.dtype))
    log_q = (flow.prior.log_prob(z) + log_det).to(torch.float64)
    if isinstance(flow.prior, UniformPrior):
        u = z.clamp(0.0, 1.0)
    else:
        u = torch.special.ndtr(z.to(torch.float64)).to(flow.dtype)
    return u, log_q


def choose_refine_sampler(
    pilot: dict[str, tuple[float, float, int]],
    *,
    max_disagreement: float = 3.0,
    flow_margin: float = 2.0,
) -> str:
    """The refine's sampler after a pilot: ``"uniform"`` or ``"flow"``.

    Args:
        pilot: ``{"flow": (value, variance, n), "uniform": (value, variance, n)}``, the two
            pilot estimates, their variances and their numbers of points.
        max_disagreement: the uniform density is chosen only if the two estimates agree within
            this many combined standard deviations (a uniform pilot that missed a peak the flow
            found must not win by its small variance).
        flow_margin: the flow is chosen only if its variance per point is below the uniform
            density's divided by this. The pilots are stratified at 1/8 of an iteration with
            an even allocation; the refine's finer strata and adaptive allocation then lower the
            uniform density's variance per point 2.1–2.8 times more than the flow's (its weight,
            the integrand itself, has more large-scale structure for the strata to remove:
            camel2 and slashed2, several seeds, docs/performance.md section 5), so a pilot won
            narrowly by the flow is usually lost at the iteration's size.

    Returns:
        ``"uniform"`` when its variance per point (``variance · n``) is below ``flow_margin``
        times the flow's and the estimates agree, ``"flow"`` otherwise.
    """
    value_f, var_f, n_f = pilot["flow"]
    value_u, var_u, n_u = pilot["uniform"]
    agree = abs(value_f - value_u) <= max_disagreement * math.sqrt(var_f + var_u)
    return "uniform" if agree and var_u * n_u < flow_margin * var_f * n_f else "flow"


def mix_log_prob(log_q: Tensor, alpha: float) -> Tensor:
    """``log((1 − α) q + α)`` from the flow's ``log q`` of shape ``(n,)`` (float64)."""
    log_q = log_q.to(torch.float64)
    if alpha == 0:
        return log_q
    if alpha == 1:
        return torch.zeros_like(log_q)
    return torch.logaddexp(log_q + math.log1p(-alpha), torch.full_like(log_q, math.log(alpha)))


def sample_defensive(
    draw: Callable[[int], tuple[Tensor, Tensor]],
    log_density: Callable[[Tensor], Tensor],
    n: int,
    alpha: float,
    d: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Draw ``n`` i.i.d. points from ``g = (1 − α) b + α`` for a base density ``b``.

    Each point independently comes from the uniform component with probability ``alpha``; the
    order of the points is i.i.d. (no block of uniform points).

    Args:
        draw: ``draw(k) -> (x, log_b)``: ``k`` points of the base density and their log-density.
        log_density: ``log_b`` at given points of shape ``(k, d)`` (for the uniform ones).
        n: the number of points.
        alpha: the uniform fraction, in [0, 1].
        d: dimension.

    Returns:
        ``(x, log_g)`` of shapes ``(n, d)`` (``dtype``) and ``(n,)`` (float64).
    """
    pick = rand(n, generator=generator, device=device, dtype=torch.float64) < alpha
    n_uniform = int(pick.sum())
    x = torch.empty(n, d, dtype=dtype, device=device)
    log_b = torch.empty(n, dtype=torch.float64, device=device)
    if n_uniform < n:
        xb, lb = draw(n - n_uniform)
        x[~pick], log_b[~pick] = xb, lb.to(torch.float64)
    if n_uniform > 0:
        xu = rand(n_uniform, d, generator=generator, device=device, dtype=dtype)
        x[pick] = xu
        log_b[pick] = log_density(xu).to(torch.float64)
    return x, mix_log_prob(log_b, alpha)


def sample_mixture(
    flow: Flow, n: int, alpha: float, *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Draw ``n`` i.i.d. points from ``g = (1 − α) q + α`` (:func:`sample_defensive` on the flow).

    With ``alpha = 0`` this is exactly :meth:`~nisflow.flows.Flow.sample_and_log_prob` (same
    random numbers).

    Returns:
        ``(x, log_g)`` of shapes ``(n, d)`` (flow dtype) and ``(n,)`` (float64).
    """
    if alpha == 0:
        x, log_q = flow.sample_and_log_prob(n, generator=generator)
        return x, log_q.to(torch.float64)
    return sample_defensive(
        lambda k: flow.sample_and_log_prob(k, generator=generator),
        flow.log_prob,
        n,
        alpha,
        flow.d,
        generator=generator,
        device=flow.device,
        dtype=flow.dtype,
    )


def stratified_chunks(
    counts: Tensor,
    m: int,
    d: int,
    chunk_size: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
):
    """Uniform points in the ``m^d`` cells of the unit cube, ``counts[h]`` in cell ``h``, chunked.

    Same cells and ordering as :func:`nisflow.stratification.stratified_points` (cell ``h`` has
    the base-``m`` digits of ``h`` as integer coordinates, first axis fastest; points sorted by
    cell), but produced ``chunk_size`` points at a time so memory stays bounded.

    Yields:
        ``(u, cell)``: points of shape ``(k, d)`` and their cell indices, shape ``(k,)``.
    """
    n_cells = m**d
    if counts.shape != (n_cells,):
        raise ValueError(f"Expected counts of shape ({n_cells},); got {tuple(counts.shape)}.")
    cum = counts.to(device=device, dtype=torch.long).cumsum(0)
    total = int(cum[-1]) if n_cells else 0
    for start in range(0, total, chunk_size):
        idx = torch.arange(start, min(start + chunk_size, total), device=device)
        cell = torch.searchsorted(cum, idx, right=True)
        yield points_in_cells(cell, m, d, generator=generator, dtype=dtype), cell


class StratifiedAccumulator:
    """Per-cell running mean and sum of squared deviations of weights (float64, chunk by chunk).

    Chunks are merged with Chan et al.'s parallel update, so the result equals
    :func:`nisflow.stratification.stratified_estimate` on the concatenated weights.

    Args:
        n_cells: the number of equal-volume cells.
        device: where the per-cell sums live.
    """

    def __init__(self, n_cells: int, device: torch.device | str | None = None):
        z = torch.zeros(n_cells, dtype=torch.float64, device=device)
        self.n_cells = n_cells
        self.count, self.mean, self.m2 = z, z.clone(), z.clone()

    def add(self, w: Tensor, cell: Tensor) -> None:
        """Add weights ``w`` (n,) of points in cells ``cell`` (n,)."""
        w = w.detach().to(device=self.count.device, dtype=torch.float64)
        cell = cell.to(self.count.device)
        n_c = torch.zeros_like(self.count).index_add_(0, cell, torch.ones_like(w))
        s1 = torch.zeros_like(self.count).index_add_(0, cell, w)
        mean_c = s1 / n_c.clamp_min(1.0)
        dev = w - mean_c[cell]
        m2_c = torch.zeros_like(self.count).index_add_(0, cell, dev * dev)
        n_new = self.count + n_c
        delta = mean_c - self.mean
        safe = n_new.clamp_min(1.0)
        self.mean = self.mean + delta * n_c / safe
        self.m2 = self.m2 + m2_c + delta * delta * self.count * n_c / safe
        self.count = n_new

    def estimate(self) -> StratifiedEstimate:
        """``Σ_h V_h mean_h`` and ``Σ_h V_h² s_h² / n_h``; every cell needs at least 2 points."""
        if int(self.count.min()) < 2:
            raise ValueError(
                f"Expected at least 2 points per cell; got a cell with {int(self.count.min())}."
            )
        vol = 1.0 / self.n_cells
        var_h = self.m2 / (self.count - 1)
        return StratifiedEstimate(
            mean=float(self.mean.sum() * vol),
            variance=float((var_h / self.count).sum() * vol * vol),
            cell_sigma=(var_h.sqrt() * vol).cpu(),
        )


def replicate_sizes(n: int, replicates: int) -> Tensor:
    """Points per replicate: ``n`` split into ``replicates`` sizes differing by at most one.

    Raises:
        ValueError: fewer than 2 replicates or fewer than 2 points per replicate.
    """
    if replicates < 2 or n < 2 * replicates:
        raise ValueError(
            f"Expected at least 2 replicates of at least 2 points; got n={n}, "
            f"replicates={replicates}."
        )
    sizes = torch.full((replicates,), n // replicates, dtype=torch.long)
    sizes[: n % replicates] += 1
    return sizes


def qmc_chunks(
    sizes: Tensor,
    d: int,
    chunk_size: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
):
    """Scrambled Sobol' points, ``sizes[r]`` of them from independent scrambling ``r``, chunked.

    Each replicate's scrambling seed is drawn from ``generator``, so the same generator state
    gives the same points. Points are made in float64 on the CPU (where ``SobolEngine`` runs),
    then moved to ``device`` and ``dtype``.

    Yields:
        ``(u, replicate)``: points of shape ``(k, d)`` in [0, 1)^d and their replicate index,
        shape ``(k,)``.
    """
    gen_device = generator.device if generator is not None else "cpu"
    seeds = torch.randint(0, 2**62, (len(sizes),), generator=generator, device=gen_device)
    for r, (size, seed) in enumerate(zip(sizes.tolist(), seeds.tolist(), strict=True)):
        engine = torch.quasirandom.SobolEngine(d, scramble=True, seed=int(seed))
        for start in range(0, size, chunk_size):
            k = min(chunk_size, size - start)
            u = engine.draw(k, dtype=torch.float64).to(device=device, dtype=dtype)
            yield u, torch.full((k,), r, dtype=torch.long, device=device)


class ReplicateAccumulator:
    """Per-replicate sums of weights; the estimate is the mean of the replicate means.

    Args:
        replicates: the number ``R`` of independent replicates.
        device: where the sums live.
    """

    def __init__(self, replicates: int, device: torch.device | str | None = None):
        z = torch.zeros(replicates, dtype=torch.float64, device=device)
        self.replicates = replicates
        self.count, self.total = z, z.clone()

    def add(self, w: Tensor, replicate: Tensor) -> None:
        """Add weights ``w`` (n,) of points of replicates ``replicate`` (n,)."""
        w = w.detach().to(device=self.total.device, dtype=torch.float64)
        replicate = replicate.to(self.total.device)
        self.count.index_add_(0, replicate, torch.ones_like(w))
        self.total.index_add_(0, replicate, w)

    def estimate(self) -> StratifiedEstimate:
        """Mean of the replicate means and its variance ``s² / R`` (every replicate non-empty).

        ``cell_sigma`` holds the replicates' means (there is no per-cell allocation to feed).
        """
        if int(self.count.min()) < 1:
            raise ValueError(
                "Expected every replicate to hold at least one point; got an empty one."
            )
        means = self.total / self.count
        return StratifiedEstimate(
            mean=float(means.mean()),
            variance=float(means.var(unbiased=True)) / self.replicates,
            cell_sigma=means.cpu(),
        )
