"""Stratified sampling: allocation, cell membership, unbiasedness and honest variances."""

import math

import pytest
import torch

from nisflow.stratification import (
    allocate,
    regrid,
    strata_per_dim,
    stratified_estimate,
    stratified_points,
)


@pytest.mark.parametrize("n,d", [(10, 1), (1000, 2), (100_000, 2), (100_000, 8), (50, 16), (7, 3)])
def test_strata_per_dim_fits(n, d):
    m = strata_per_dim(n, d)
    assert m >= 1
    if m > 1:
        assert m**d * 2 <= n
    assert (m + 1) ** d * 2 > n or (m + 1) ** d > 2**22


def test_allocate_sums_and_floor():
    sigma = torch.tensor([0.0, 1.0, 4.0, 9.0])
    counts = allocate(1003, 4, sigma, beta=1.0)
    assert int(counts.sum()) == 1003
    assert int(counts.min()) >= 2
    assert counts[3] > counts[2] > counts[1] > counts[0]
    assert torch.equal(allocate(8, 4), torch.full((4,), 2))
    # uniform without sigma
    assert torch.equal(allocate(400, 4), torch.full((4,), 100))


def test_points_lie_in_their_cells():
    m, d = 3, 2
    counts = allocate(90, m**d)
    u, cell = stratified_points(counts, m, d, generator=torch.Generator().manual_seed(1))
    assert u.shape == (90, 2)
    assert ((u >= 0) & (u <= 1)).all()
    idx = (u * m).floor().long().clamp(max=m - 1)
    assert torch.equal(idx[:, 0] + m * idx[:, 1], cell)


def test_wrong_counts_shape_raises():
    with pytest.raises(ValueError, match="counts of shape"):
        stratified_points(torch.ones(5, dtype=torch.long), 2, 2)


def test_estimate_of_constant_is_exact():
    counts = allocate(200, 16)
    u, cell = stratified_points(counts, 4, 2, generator=torch.Generator().manual_seed(0))
    est = stratified_estimate(torch.full((u.shape[0],), 3.0), cell, counts)
    assert est.mean == pytest.approx(3.0, rel=1e-14)
    assert est.variance == pytest.approx(0.0, abs=1e-24)


def test_stratified_estimates_are_unbiased_and_errors_honest():
    """Over 200 seeds: pulls of a peaked 2D integrand look N(0, 1); variance matches the spread."""
    sigma = 0.2

    def f(x):
        return torch.exp(-((x - 0.3) ** 2).sum(-1) / sigma**2)

    one = sigma * math.sqrt(math.pi) / 2 * (math.erf(0.7 / sigma) + math.erf(0.3 / sigma))
    exact = one**2
    n, d = 400, 2
    m = strata_per_dim(n, d, min_per_cell=4)
    pulls, means, variances = [], [], []
    for seed in range(200):
        g = torch.Generator().manual_seed(seed)
        counts = allocate(n, m**d)
        u, cell = stratified_points(counts, m, d, generator=g, dtype=torch.float64)
        est = stratified_estimate(f(u), cell, counts)
        pulls.append((est.mean - exact) / math.sqrt(est.variance))
        means.append(est.mean)
        variances.append(est.variance)
    p = torch.tensor(pulls)
    assert abs(float(p.mean())) < 5 / math.sqrt(200)
    assert 0.55 < float((p.abs() < 1).double().mean()) < 0.80
    emp = torch.tensor(means).var().item()
    stated = sum(variances) / len(variances)
    assert 0.6 < emp / stated < 1.6
    # and stratification beats plain MC on this integrand by a wide margin
    x = torch.rand(n, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    plain_var = float(f(x).var() / n)
    assert stated < 0.2 * plain_var


def test_adaptive_allocation_reduces_variance():
    def f(x):
        return torch.exp(-((x - 0.25) ** 2).sum(-1) / 0.05**2)

    n, d = 20_000, 2
    m = strata_per_dim(n, d, min_per_cell=4)
    g = torch.Generator().manual_seed(3)
    counts = allocate(n, m**d)
    u, cell = stratified_points(counts, m, d, generator=g, dtype=torch.float64)
    first = stratified_estimate(f(u), cell, counts)
    counts2 = allocate(n, m**d, first.cell_sigma)
    u, cell = stratified_points(counts2, m, d, generator=g, dtype=torch.float64)
    second = stratified_estimate(f(u), cell, counts2)
    assert second.variance < 0.7 * first.variance


@pytest.mark.parametrize("d", [1, 2, 3])
def test_regrid_same_grid_is_identity(d):
    values = torch.rand(4**d, dtype=torch.float64)
    assert torch.equal(regrid(values, 4, 4, d), values)


def test_regrid_refines_by_lookup_and_coarsens_by_mean():
    coarse = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)  # 2 x 2, first axis fastest
    fine = regrid(coarse, 2, 4, 2).reshape(4, 4)  # rows: second axis, columns: first axis
    assert torch.equal(fine[:2, :2], torch.full((2, 2), 1.0, dtype=torch.float64))
    assert torch.equal(fine[:2, 2:], torch.full((2, 2), 2.0, dtype=torch.float64))
    assert torch.equal(fine[2:, :2], torch.full((2, 2), 3.0, dtype=torch.float64))
    assert torch.equal(fine[2:, 2:], torch.full((2, 2), 4.0, dtype=torch.float64))
    back = regrid(fine.reshape(-1) * torch.arange(1, 17, dtype=torch.float64), 4, 2, 2)
    grid = fine * torch.arange(1, 17, dtype=torch.float64).reshape(4, 4)
    expected = torch.stack(
        [grid[:2, :2].mean(), grid[:2, 2:].mean(), grid[2:, :2].mean(), grid[2:, 2:].mean()]
    )
    assert torch.allclose(back, expected)


def test_regrid_non_nested_grids_keep_the_shape_of_a_profile():
    # a profile along the first axis survives a 7 -> 10 -> 3 round trip up to its resolution
    m, d = 7, 2
    centres = (torch.arange(m, dtype=torch.float64) + 0.5) / m
    values = (centres.repeat(m) * 10).exp()
    out = regrid(values, m, 10, d)
    assert out.shape == (100,)
    assert bool((out.reshape(10, 10).diff(dim=1) >= 0).all())  # still increasing along axis 1
    assert regrid(out, 10, 3, d).shape == (9,)


def test_regrid_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(9,\)"):
        regrid(torch.ones(8), 3, 4, 2)


def test_neighbourhood_mean_is_a_3_block_mean_with_repeated_edges():
    from nisflow.stratification import neighbourhood

    m = 5
    assert torch.equal(
        neighbourhood(torch.full((m * m,), 2.0), m, 2), torch.full((25,), 2.0).double()
    )
    spike = torch.zeros(m * m, dtype=torch.float64)
    spike[2 + 2 * m] = 9.0  # centre cell (2, 2)
    out = neighbourhood(spike, m, 2).reshape(m, m)
    assert torch.allclose(out[1:4, 1:4], torch.ones(3, 3, dtype=torch.float64))
    assert float(out.sum()) == pytest.approx(9.0) and float(out[0].abs().sum()) == 0.0
    corner = torch.zeros(m * m, dtype=torch.float64)
    corner[0] = 9.0  # the repeated edge counts the corner cell 2x along each axis
    assert float(neighbourhood(corner, m, 2)[0]) == pytest.approx(9.0 * 4 / 9)
    line = torch.tensor([0.0, 3.0, 0.0, 0.0], dtype=torch.float64)
    assert torch.allclose(neighbourhood(line, 4, 1), torch.tensor([1.0, 1.0, 1.0, 0.0]).double())
    cube = torch.rand(27, dtype=torch.float64)
    assert float(neighbourhood(cube, 3, 3)[13]) == pytest.approx(float(cube.mean()))
    with pytest.raises(ValueError, match=r"shape \(16,\)"):
        neighbourhood(torch.zeros(15), 4, 2)
    with pytest.raises(ValueError, match="reduce 'mean' or 'max'"):
        neighbourhood(torch.zeros(16), 4, 2, reduce="sum")


@pytest.mark.parametrize("d, m", [(1, 7), (2, 6), (3, 4)])
def test_neighbourhood_max_equals_torch_max_pool(d, m):
    """The block maximum, checked against torch's max-pool with padding that never wins."""
    import torch.nn.functional as F

    from nisflow.stratification import neighbourhood

    pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[d]
    v = torch.rand(m**d, generator=torch.Generator().manual_seed(d), dtype=torch.float64)
    expected = pool(v.view((1, 1) + (m,) * d), kernel_size=3, stride=1, padding=1).reshape(-1)
    assert torch.equal(neighbourhood(v, m, d, reduce="max"), expected)
