"""The refine path: latent stratification, the defensive mixture, chunking, unbiasedness."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow import FlowConfig, Integrator, SamplingConfig
from nisflow.flows.coupling_flow import CouplingFlow
from nisflow.sampling import (
    StratifiedAccumulator,
    flow_from_unit,
    mix_log_prob,
    sample_mixture,
    stratified_chunks,
)
from nisflow.stratification import allocate, stratified_estimate
from nisflow.training import Trainer
from tests.pulls import assert_standard_normal_pulls
from tests.toy_flows import linear_density_flow


def test_accumulator_in_chunks_equals_stratified_estimate():
    g = torch.Generator().manual_seed(0)
    counts = allocate(5000, 49, torch.rand(49, generator=g))
    cell = torch.repeat_interleave(torch.arange(49), counts)
    w = torch.randn(cell.shape[0], generator=g, dtype=torch.float64) * (1 + cell) + cell
    ref = stratified_estimate(w, cell, counts)
    acc = StratifiedAccumulator(49)
    perm = torch.randperm(w.shape[0], generator=g)  # chunks in any order, cells split across
    for chunk in perm.split(333):
        acc.add(w[chunk], cell[chunk])
    est = acc.estimate()
    assert est.mean == pytest.approx(ref.mean, rel=1e-12)
    assert est.variance == pytest.approx(ref.variance, rel=1e-10)
    assert torch.allclose(est.cell_sigma, ref.cell_sigma, rtol=1e-10)
    with pytest.raises(ValueError, match="at least 2 points per cell"):
        StratifiedAccumulator(3).estimate()


def test_stratified_chunks_fill_their_cells():
    m, d = 5, 3
    counts = allocate(1000, m**d, torch.rand(m**d, generator=torch.Generator().manual_seed(1)))
    us, cells = zip(*stratified_chunks(counts, m, d, 97, generator=torch.Generator()), strict=True)
    u, cell = torch.cat(us), torch.cat(cells)
    assert u.shape == (1000, d) and all(c.shape[0] <= 97 for c in cells)
    assert torch.equal(torch.bincount(cell, minlength=m**d), counts)
    corner = (cell.unsqueeze(-1) // m ** torch.arange(d)) % m
    assert bool(((u * m).floor().clamp(max=m - 1) == corner).all())


def test_sample_mixture_density_and_identity_at_zero():
    flow = linear_density_flow(2, theta=1.5)
    a = sample_mixture(flow, 100, 0.0, generator=torch.Generator().manual_seed(3))
    b = flow.sample_and_log_prob(100, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1].double())
    x, log_g = sample_mixture(flow, 200_000, 0.3, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(log_g, mix_log_prob(flow.log_prob(x), 0.3), atol=1e-5)
    # the mixture puts 30 % uniform mass: the fraction of x0 < 0.25 is 0.7 P_q + 0.3 / 4
    p_q = 0.25 + 1.5 * (0.25**2 / 2 - 0.25 / 2)  # CDF of 1 + θ(x − 1/2) at 1/4
    expected = 0.7 * p_q + 0.3 * 0.25
    frac = float((x[:, 0] < 0.25).double().mean())
    assert abs(frac - expected) < 5 * math.sqrt(expected * (1 - expected) / x.shape[0])
    # f / g averages to ∫ f over the mixture
    w = (x[:, 0] * x[:, 1]).double() / torch.exp(log_g)
    assert abs(float(w.mean()) - 0.25) < 5 * float(w.std()) / math.sqrt(w.shape[0])


@pytest.mark.parametrize("prior", ["uniform", "gaussian"])
def test_flow_from_unit_density_is_the_flows(prior):
    transform = "affine_real" if prior == "gaussian" else "rq_spline"
    flow = CouplingFlow(3, transform, prior=prior, generator=torch.Generator().manual_seed(0))
    flow = flow.double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(5)).double())
        u = torch.rand(500, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
        x, log_q = flow_from_unit(flow, u)
        assert bool(((x >= 0) & (x <= 1)).all())
        assert torch.allclose(log_q, flow.log_prob(x), atol=1e-8)


def test_trainer_samples_the_mixture():
    trainer = Trainer(linear_density_flow(2, theta=-1.0), uniform_fraction=0.2)
    x, log_g = trainer.sample(1000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(log_g, trainer.sampling_log_prob(x), atol=1e-6)
    with pytest.raises(ValueError, match="uniform_fraction"):
        Trainer(linear_density_flow(2), uniform_fraction=1.5)


def _fixed_flow_integrator(f, d, seed, **kwargs):
    """An integrator whose flow is a fixed, imperfect toy flow (no training: fast)."""
    return Integrator(
        d, f, flow=linear_density_flow(d, theta=1.2), seed=seed, verbose=False, **kwargs
    )


def _peak(x):
    return torch.exp(-((x - 0.3) ** 2).sum(-1) / (2 * 0.15**2))


PEAK_EXACT = (
    0.15 * math.sqrt(math.pi / 2) * (math.erf(0.7 / 0.15 / 2**0.5) + math.erf(0.3 / 0.15 / 2**0.5))
) ** 2


@pytest.mark.parametrize(
    "stratified,alpha", [(True, 0.05), (True, 0.0), (False, 0.05), (True, 0.5)]
)
def test_refine_pulls_are_standard_normal(stratified, alpha):
    # 200 independent refines of a fixed flow: pulls N(0, 1) whatever the sampling options
    torch.set_num_threads(1)
    pulls = []
    for seed in range(200):
        integ = _fixed_flow_integrator(
            _peak, 2, seed, stratified=stratified, uniform_fraction=alpha, n_points_refine=800
        )
        r = integ.refine(2)
        allowed = {"strata", "flat/strata"} if stratified else {"model", "flat"}
        assert {rec.sampler for rec in r.iterations} <= allowed  # flat: the pilot's choice
        pulls.append((r.mean - PEAK_EXACT) / r.sdev)
    assert_standard_normal_pulls(pulls)


def test_stratification_lowers_the_variance_of_a_smooth_weight():
    results = {}
    for strat in (True, False):
        integ = _fixed_flow_integrator(_peak, 2, 0, stratified=strat, n_points_refine=20_000)
        results[strat] = integ.refine(3)
    assert integ.strata_per_dim(20_000) == 1
    assert results[True].sdev < 0.3 * results[False].sdev
    for r in results.values():
        assert abs(r.mean - PEAK_EXACT) < 5 * r.sdev


def test_auto_stratification_degenerates_in_high_dimension():
    integ = Integrator(16, lambda x: x.sum(-1), flow=FlowConfig(hidden=8, layers=1), verbose=False)
    assert integ.strata_per_dim(100_000) == 1
    integ2 = Integrator(2, _peak, verbose=False, sampling=SamplingConfig(stratified=False))
    assert integ2.strata_per_dim(100_000) == 1
    # 3 points per stratum on average (the default): 182^2 * 3 <= 100,000 < 183^2 * 3
    assert Integrator(2, _peak, verbose=False).strata_per_dim(100_000) == 182
    finest = SamplingConfig(points_per_cell=2)
    assert Integrator(2, _peak, verbose=False, sampling=finest).strata_per_dim(100_000) == 223
    for bad in (1, 2.5, True):
        with pytest.raises(ValueError, match="points_per_cell"):
            SamplingConfig(points_per_cell=bad)
    with pytest.raises(ValueError, match="stratified"):
        SamplingConfig(stratified="yes")
    with pytest.raises(ValueError, match="uniform_fraction"):
        Integrator(2, _peak, uniform_fraction=-0.1)


def test_refine_sample_unweight_work_in_bounded_chunks():
    largest = [0]

    def spy(x):
        largest[0] = max(largest[0], x.shape[0])
        return _peak(x)

    integ = _fixed_flow_integrator(spy, 2, 0, chunk_size=1000, n_points_refine=5000)
    r = integ.refine(2)
    assert abs(r.mean - PEAK_EXACT) < 5 * r.sdev and r.diagnostics is not None
    integ.sample(3000)
    events = integ.unweight(100, n_reference=2000)
    assert len(events) == 100
    assert largest[0] <= 1000


def test_uniform_fraction_one_is_plain_uniform_sampling():
    integ = _fixed_flow_integrator(_peak, 2, 0, uniform_fraction=1.0, n_points_refine=4000)
    r = integ.refine(3)
    assert abs(r.mean - PEAK_EXACT) < 5 * r.sdev
    assert Integrator(2, _peak, uniform_fraction=0.5, verbose=False).refine(1, 4).n_evals == 4
    with pytest.raises(ValueError, match="n_points"):
        Integrator(2, _peak, uniform_fraction=0.5, verbose=False).refine(1, 3)


def _narrow_peak(x):
    return torch.exp(-((x - 0.3) ** 2).sum(-1) / (2 * 0.05**2))


def test_adaptive_third_of_the_strata_lowers_the_variance_of_a_peaked_weight():
    # a flat-ish toy flow on a narrow peak: the weight's spread sits in few strata, and the
    # adaptive third of the points (points_per_cell=3) goes there; 2 per stratum cannot adapt
    variances = {}
    for ppc in (2, 3):
        sampling = SamplingConfig(points_per_cell=ppc, uniform_candidate=False)
        integ = _fixed_flow_integrator(_narrow_peak, 2, 0, sampling=sampling)
        result = integ.refine(4, 20_000)
        exact = (0.05 * math.sqrt(2 * math.pi)) ** 2  # the peak lies well inside the square
        assert abs(result.mean - exact) < 5 * result.sdev
        variances[ppc] = result.sdev**2
    assert variances[3] < 0.6 * variances[2], variances


def test_the_pilot_spreads_allocate_the_first_full_iteration(monkeypatch):
    import nisflow.integrator as integrator_module

    seen = []
    real = integrator_module.allocate

    def recording(n, n_cells, cell_sigma=None, **kwargs):
        seen.append((n, n_cells, cell_sigma is not None))
        return real(n, n_cells, cell_sigma, **kwargs)

    monkeypatch.setattr(integrator_module, "allocate", recording)
    integ = _fixed_flow_integrator(_narrow_peak, 2, 0, sampling=SamplingConfig(uniform_fraction=0))
    integ.refine(2, 20_000)
    (n_f, cells_f, prior_f), (n_u, _, prior_u), (n_main, cells_main, prior_main) = seen[:3]
    assert (n_f, n_u, prior_f, prior_u) == (2_500, 2_500, False, False)  # the two pilots
    assert n_main == 15_000 and cells_main > cells_f  # a finer grid...
    assert prior_main  # ...allocated from the chosen pilot's spreads
    assert all(prior for _, _, prior in seen[3:])


def _edge(x: torch.Tensor) -> torch.Tensor:
    """exp(-x0) above the line x0 + x1 = 0.7, zero below: an edge crossing many strata."""
    return torch.where(x[:, 0] + x[:, 1] > 0.7, torch.exp(-x[:, 0]), torch.zeros_like(x[:, 0]))


EDGE_EXACT = 1.3 - math.exp(-0.7) - math.exp(-1.0)


def _edge_refine(seed: int, smoothing: float):
    integ = Integrator(
        2,
        _edge,
        seed=seed,
        verbose=False,
        n_iter_refine=4,
        n_points_refine=6000,
        sampling=SamplingConfig(uniform_fraction=1.0, allocation_smoothing=smoothing),
    )
    return integ.refine()


def test_smoothed_allocation_lowers_the_variance_on_an_edge_and_stays_honest():
    """The uniform density's strata borrow spread from their neighbours: a stratum on the edge
    whose 2-3 points fell on one side still gets points. Unbiased either way (allocation uses
    earlier iterations only); the stated variance is lower on average (by half here), and the
    pulls N(0, 1) (over 600 seeds: standard deviation 1.01, against 1.24 without smoothing, whose
    noisier per-stratum spreads make the inverse-variance combination of iterations overconfident)."""
    smooth = [_edge_refine(seed, 0.25) for seed in range(400, 600)]
    plain = [_edge_refine(seed, 0.0) for seed in range(400, 460)]
    var_smooth = sum(r.sdev**2 for r in smooth[:60]) / 60
    var_plain = sum(r.sdev**2 for r in plain) / 60
    assert var_smooth < 0.85 * var_plain, (var_smooth, var_plain)
    assert_standard_normal_pulls([(r.mean - EDGE_EXACT) / r.sdev for r in smooth])


def test_allocation_smoothing_is_validated_and_leaves_the_flow_strata_alone():
    with pytest.raises(ValueError, match="allocation_smoothing in \\[0, 1\\]"):
        SamplingConfig(allocation_smoothing=1.5)
    results = []
    for smoothing in (0.0, 1.0):  # the flow's latent strata (alpha < 1) ignore the option
        integ = Integrator(
            2,
            _edge,
            seed=3,
            verbose=False,
            n_iter_refine=3,
            n_points_refine=3000,
            sampling=SamplingConfig(allocation_smoothing=smoothing, uniform_candidate=False),
        )
        results.append(integ.refine())
    assert results[0].mean == results[1].mean and results[0].sdev == results[1].sdev
