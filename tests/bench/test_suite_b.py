"""Suite B's crossed-ring setup: integrand, mappings (eq. 50–54), logistic flat map, priors."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from nisflow.bench.suite_b import (
    TABLE2_PAPER,
    TABLE2_PRIORS,
    Logistic,
    RingBudget,
    Row,
    component_prior,
    crossed_ring,
    line_log_density,
    line_mapping,
    main,
    ring_log_density,
    ring_mapping,
    run_table2,
    table2_budget,
    table2_integrator,
)
from nisflow.multichannel.weights import (
    ChannelWeightNet,
    FunctionPrior,
    SherpaPrior,
    UniformWeights,
)

F64 = torch.float64


def _trapezoid(y: torch.Tensor, x: torch.Tensor) -> float:
    return float(torch.trapezoid(y, x))


# -- the integrand --------------------------------------------------------------------------


def test_ring_term_is_normalised_and_isotropic() -> None:
    r = torch.linspace(0.0, 2.0, 200_001, dtype=F64)
    on_axis = torch.stack([r, torch.zeros_like(r)], -1)
    total = _trapezoid(torch.exp(ring_log_density(on_axis)) * 2 * math.pi * r, r)
    assert total == pytest.approx(1.0, abs=1e-9)
    theta = torch.tensor(2.1, dtype=F64)
    rotated = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], -1)
    torch.testing.assert_close(ring_log_density(rotated), ring_log_density(on_axis))


def test_line_term_is_normalised_along_the_anti_diagonal() -> None:
    t1 = torch.linspace(-40.0, 40.0, 4001, dtype=F64)
    t2 = torch.linspace(-0.6, 0.6, 2001, dtype=F64)
    a, b = torch.meshgrid(t1, t2, indexing="ij")
    # x1 - x2 = √2 t1 (along the line, σ1 = 3), x1 + x2 = √2 t2 (across, σ2 = 0.05)
    x = torch.stack([(a + b) / math.sqrt(2), (b - a) / math.sqrt(2)], -1).reshape(-1, 2)
    dens = torch.exp(line_log_density(x)).reshape(a.shape)
    total = _trapezoid(torch.trapezoid(dens, t2, dim=1), t1)
    assert total == pytest.approx(1.0, abs=1e-9)
    # the line runs along x1 = -x2: a point on it beats its mirror image on x1 = x2
    assert (
        line_log_density(torch.tensor([[2.0, -2.0]], dtype=F64))
        > line_log_density(torch.tensor([[2.0, 2.0]], dtype=F64)) + 100
    )


def test_crossed_ring_is_the_mean_of_the_terms() -> None:
    x = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    expected = 0.5 * (torch.exp(ring_log_density(x)) + torch.exp(line_log_density(x)))
    torch.testing.assert_close(crossed_ring(x), expected)


# -- the mappings of eq. 50–54 ----------------------------------------------------------------


def test_ring_and_line_mappings_have_the_papers_densities() -> None:
    x = 1.5 * torch.randn(200, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
    gamma = [math.sqrt(40.0) * s for s in (0.05, 3.0, 0.05)]
    # eq. 51 after the rotation of eq. 50
    y1 = (x[:, 0] - x[:, 1]) / math.sqrt(2)
    y2 = (x[:, 0] + x[:, 1]) / math.sqrt(2)
    g_line = (
        (gamma[1] / (gamma[1] ** 2 + y1**2)) * (gamma[2] / (gamma[2] ** 2 + y2**2)) / math.pi**2
    )
    torch.testing.assert_close(torch.exp(line_mapping().log_prob(x)), g_line, rtol=1e-10, atol=0)
    # eq. 53 with πC0 = arctan(r0/γ0), ω0 = (1 + 2 C0)/2 and g_ring = g4 / r
    r = torch.linalg.vector_norm(x, dim=-1)
    c0 = math.atan(1.0 / gamma[0]) / math.pi
    omega0 = (1 + 2 * c0) / 2
    g4 = gamma[0] / (gamma[0] ** 2 + (r - 1.0) ** 2) / (2 * math.pi * omega0 * math.pi)
    torch.testing.assert_close(torch.exp(ring_mapping().log_prob(x)), g4 / r, rtol=1e-10, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logistic_inverse_and_log_det(dtype: torch.dtype) -> None:
    m = Logistic(2, scale=1.5).to(dtype)
    u = 0.01 + 0.98 * torch.rand(128, 2, dtype=dtype, generator=torch.Generator().manual_seed(2))
    x, ld = m(u)
    u_back, ld_inv = m.inverse(x)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(u_back, u, atol=tol, rtol=0)
    torch.testing.assert_close(ld_inv, -ld, atol=tol * (1 + ld.abs().max().item()), rtol=0)
    jac = jacobian(lambda v: m(v)[0].sum(0), u[:8]).permute(1, 0, 2)
    expected = torch.linalg.slogdet(jac.double())[1].to(dtype)
    torch.testing.assert_close(ld[:8], expected, atol=10 * tol, rtol=0)


def test_logistic_density_is_normalised_and_a_product() -> None:
    t = torch.linspace(-80.0, 80.0, 160_001, dtype=F64)
    one = Logistic(1, scale=2.0).double()
    assert _trapezoid(torch.exp(one.log_prob(t[:, None])), t) == pytest.approx(1.0, abs=1e-9)
    two = Logistic(2, scale=2.0).double()
    x = 3 * torch.randn(50, 2, dtype=F64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(
        two.log_prob(x), one.log_prob(x[:, :1]) + one.log_prob(x[:, 1:]), rtol=0, atol=1e-12
    )


def test_logistic_end_points_stay_finite_and_bad_scale_is_rejected() -> None:
    m = Logistic(2)
    for dtype in (torch.float32, torch.float64):
        x, ld = m.to(dtype)(torch.tensor([[0.0, 1.0]], dtype=dtype))
        assert bool(torch.isfinite(x).all() & torch.isfinite(ld).all())
        assert x[0, 0] < -10 and x[0, 1] > 10
    with pytest.raises(ValueError, match="Expected a positive finite scale"):
        Logistic(2, scale=0.0)


# -- priors and rows ----------------------------------------------------------------------------


def test_component_prior_sends_each_mode_to_its_channel() -> None:
    prior = component_prior(["ring-", "ring+", "line"])
    x = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [3.0, -3.0], [0.0, 1.0], [300.0, 250.0]], dtype=F64)
    alpha = prior(x, torch.zeros(5, 3, dtype=F64))
    assert bool(torch.isfinite(alpha).all() & (alpha >= 0).all())
    torch.testing.assert_close(alpha.sum(-1), torch.ones(5, dtype=F64))
    assert alpha[0, 0] > 0.999 and alpha[1, 1] > 0.999 and alpha[2, 2] > 0.999
    assert alpha[3, :2].sum() > 0.999 and abs(float(alpha[3, 0] - alpha[3, 1])) < 1e-9
    with pytest.raises(ValueError, match="Expected modes"):
        component_prior(["ring", "cone"])


def test_component_prior_of_ring_and_line_is_the_split_of_the_integrand() -> None:
    x = 1.2 * torch.randn(100, 2, dtype=F64, generator=torch.Generator().manual_seed(4))
    alpha = component_prior(["ring", "line"])(x, torch.zeros(100, 2, dtype=F64))
    ring, line = torch.exp(ring_log_density(x)), torch.exp(line_log_density(x))
    keep = (ring + line) > 1e-200
    torch.testing.assert_close(alpha[keep, 0], (ring / (ring + line))[keep])


@pytest.mark.parametrize("label", list(TABLE2_PAPER))
def test_table2_rows_build_the_described_channels(label: str) -> None:
    mc = table2_integrator(label, seed=0, budget=RingBudget(n_iter=1, n_points=1_000))
    names = [s.strip() for s in label.split(",")]
    assert mc.m == len(names) and all(ch.flow is not None for ch in mc.channels)
    assert isinstance(mc.weights, ChannelWeightNet)
    spec = TABLE2_PRIORS[label]
    expected = {"uniform": UniformWeights, "sherpa": SherpaPrior}.get(spec, FunctionPrior)
    assert type(mc.weights.prior) is expected


def test_unknown_row_is_rejected() -> None:
    with pytest.raises(ValueError, match="Expected a row of"):
        table2_integrator("ring, ring", seed=0)
    with pytest.raises(SystemExit):
        main(["--table", "2", "--runs", "1", "--rows", "cone"])


def test_every_row_estimates_the_unit_integral_without_bias() -> None:
    """A short training per row, then a refine: the crossed ring integrates to exactly 1."""
    budget = RingBudget(n_iter=2, n_points=3_000, n_epochs=1, batch_size=1_500)
    pulls = []
    for label in TABLE2_PAPER:
        mc = table2_integrator(label, seed=1, budget=budget)
        mc.survey()
        result = mc.refine(1, 20_000)
        assert math.isfinite(result.value) and result.error > 0
        pulls.append((result.value - 1.0) / result.error)
    assert max(abs(p) for p in pulls) < 5, pulls


def test_run_table2_reports_the_papers_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    budget = RingBudget(n_iter=2, n_points=2_000, n_epochs=1, batch_size=1_000)
    rows = run_table2(2, rows=["ring, line"], budget=budget)
    assert len(rows) == 1
    func, row = rows[0]
    assert func == "crossed ring" and row.paper == TABLE2_PAPER["ring, line"]
    assert len(row.ours) == len(row.extra) == 2
    assert all(0 < v < 50 for v in row.ours + row.extra)
    assert row.compared == "stratified"
    assert "0.140 ± 0.060" in capsys.readouterr().out


def test_row_target_compares_the_chosen_column_with_paper_plus_one_sigma() -> None:
    row = Row("x", [0.5, 0.7], [0.1, 0.2], (0.3, 0.1), 1.0, "stratified")
    assert row.meets_target() is True
    assert Row("x", [0.5, 0.7], [0.1, 0.2], (0.3, 0.1), 1.0, "even").meets_target() is False
    assert Row("x", [0.4], [], (0.3, 0.1), 1.0).meets_target() is True
    assert Row("x", [0.4], [], None, 1.0).meets_target() is None


def test_every_table2_row_has_a_budget_and_ring_flat_trains_longer() -> None:
    for label in TABLE2_PAPER:
        assert table2_budget(label).n_steps >= 1500
        assert table2_budget(label, quick=True).n_steps < 200
    assert table2_budget("ring, flat").n_steps == 2 * table2_budget("ring, line").n_steps
