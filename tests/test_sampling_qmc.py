"""Randomized quasi-Monte Carlo refine: scrambled Sobol' replicates in the flow's latent cube."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow import Integrator, SamplingConfig
from nisflow.sampling import ReplicateAccumulator, qmc_chunks, replicate_sizes
from tests.pulls import assert_standard_normal_pulls
from tests.toy_flows import linear_density_flow


def _peak3(x):
    return torch.exp(-((x - 0.3) ** 2).sum(-1) / (2 * 0.15**2))


PEAK3_EXACT = (
    0.15 * math.sqrt(math.pi / 2) * (math.erf(0.7 / 0.15 / 2**0.5) + math.erf(0.3 / 0.15 / 2**0.5))
) ** 3


def _fixed(seed, **kwargs):
    return Integrator(
        3, _peak3, flow=linear_density_flow(3, theta=1.2), seed=seed, verbose=False, **kwargs
    )


def test_replicate_sizes_split_evenly_and_validate():
    sizes = replicate_sizes(103, 10)
    assert int(sizes.sum()) == 103 and int(sizes.max() - sizes.min()) <= 1
    with pytest.raises(ValueError, match="replicates"):
        replicate_sizes(10, 1)
    with pytest.raises(ValueError, match="n=7"):
        replicate_sizes(7, 4)


def test_replicate_accumulator_is_the_mean_of_replicate_means():
    g = torch.Generator().manual_seed(0)
    w = torch.rand(90, generator=g, dtype=torch.float64)
    rep = torch.arange(90) % 3
    acc = ReplicateAccumulator(3)
    for chunk in torch.arange(90).split(25):
        acc.add(w[chunk], rep[chunk])
    means = np.array([w[rep == r].mean().item() for r in range(3)])
    est = acc.estimate()
    assert est.mean == pytest.approx(means.mean(), rel=1e-12)
    assert est.variance == pytest.approx(means.var(ddof=1) / 3, rel=1e-12)
    with pytest.raises(ValueError, match="empty"):
        ReplicateAccumulator(2).estimate()


def test_qmc_chunks_are_scrambled_sobol_and_reproducible():
    sizes = torch.tensor([256, 256, 256])
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = list(qmc_chunks(sizes, 4, 100, generator=g1, dtype=torch.float64))
    b = list(qmc_chunks(sizes, 4, 1000, generator=g2, dtype=torch.float64))  # other chunking
    ua, ra = torch.cat([u for u, _ in a]), torch.cat([r for _, r in a])
    ub, rb = torch.cat([u for u, _ in b]), torch.cat([r for _, r in b])
    assert max(u.shape[0] for u, _ in a) <= 100
    assert torch.equal(ua, ub) and torch.equal(ra, rb)
    assert ra.tolist() == [0] * 256 + [1] * 256 + [2] * 256
    assert bool(((ua >= 0) & (ua < 1)).all())
    for r in range(3):
        u = ua[ra == r]
        # (t, m, s)-net property of Sobol' points, kept by scrambling: 256 points put exactly
        # one point in each of the 256 intervals of every coordinate and 16 in each of the
        # 4 x 4 = 16 squares of the first two coordinates.
        for j in range(4):
            assert torch.equal(torch.sort((u[:, j] * 256).floor()).values, torch.arange(256.0))
        square = (u[:, 0] * 4).floor() * 4 + (u[:, 1] * 4).floor()
        assert torch.bincount(square.long(), minlength=16).tolist() == [16] * 16
    assert not torch.equal(ua[ra == 0], ua[ra == 1])  # independent scramblings


def test_sampling_config_qmc_options():
    with pytest.raises(ValueError, match="qmc"):
        SamplingConfig(qmc="yes")
    with pytest.raises(ValueError, match="qmc_replicates"):
        SamplingConfig(qmc_replicates=1)
    with pytest.raises(ValueError, match="at most one"):
        SamplingConfig(qmc=True, stratified=True)
    assert not Integrator(2, _peak3, verbose=False).uses_qmc(10_000)
    assert Integrator(3, _peak3, verbose=False).uses_qmc(10_000)
    assert not Integrator(3, _peak3, verbose=False).uses_qmc(40)  # fewer than 2 per replicate
    assert not Integrator(3, _peak3, verbose=False, qmc=False).uses_qmc(10_000)
    assert not Integrator(3, _peak3, verbose=False, stratified=True).uses_qmc(10_000)
    assert Integrator(2, _peak3, verbose=False, qmc=True).uses_qmc(10_000)


def test_rqmc_refine_pulls_are_standard_normal():
    torch.set_num_threads(1)
    pulls = []
    for seed in range(200):
        r = _fixed(seed, n_points_refine=2000).refine(2)
        assert all(rec.sampler == "rqmc" for rec in r.iterations)
        pulls.append((r.mean - PEAK3_EXACT) / r.sdev)
    assert_standard_normal_pulls(pulls)


def test_rqmc_lowers_the_variance_in_three_dimensions():
    # against plain sampling; the adaptively allocated strata can do better still on this toy
    # (its weight varies strongly across the cube), not on trained flows (docs/performance.md)
    sdev = {}
    for name, opts in {
        "rqmc": {},
        "strata": dict(qmc=False, stratified=True),
        "plain": dict(qmc=False, stratified=False),
    }.items():
        r = _fixed(0, n_points_refine=40_000, **opts).refine(3)
        assert abs(r.mean - PEAK3_EXACT) < 5 * r.sdev
        assert r.iterations[0].sampler == ("model" if name == "plain" else name)
        sdev[name] = r.sdev
    assert sdev["rqmc"] < 0.3 * sdev["plain"] and sdev["strata"] < 0.3 * sdev["plain"], sdev
