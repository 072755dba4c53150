"""Uniform MC and VEGAS baselines: coverage of exact integrals, seeding, budgets, clean RNG state."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow.baselines.record import Budget, unweighting_efficiency
from nisflow.baselines.uniform import evaluate_integrand, run_uniform
from nisflow.baselines.vegas import run_vegas
from nisflow.bench.functions import camel

RUNNERS = {"uniform": run_uniform, "vegas": run_vegas}
BUDGET = Budget(
    n_survey=20_000, n_refine=20_000, n_iter_survey=4, n_iter_refine=2, n_unweight=10_000
)


def poly3(x: torch.Tensor) -> torch.Tensor:
    """prod_i (1 + x_i^2) on [0,1]^3; integral (4/3)^3."""
    return (1 + x**2).prod(-1)


@pytest.mark.parametrize("method", sorted(RUNNERS))
@pytest.mark.parametrize("case", ["camel2", "poly3"])
def test_estimate_covers_exact(method: str, case: str) -> None:
    if case == "camel2":
        bench = camel(2)
        f, d, exact = bench.f, 2, bench.exact
    else:
        f, d, exact = poly3, 3, (4 / 3) ** 3
    rec = RUNNERS[method](f, d, BUDGET, seed=3)
    assert rec.error > 0
    assert abs(rec.estimate - exact) < 5 * rec.error
    assert rec.n_evals_refine <= BUDGET.n_refine and rec.n_evals_refine > 0.8 * BUDGET.n_refine
    assert rec.weights.shape[0] >= 0.8 * BUDGET.n_unweight
    assert 0 < rec.unweighting_efficiency <= 1


def test_vegas_beats_uniform_on_a_peak() -> None:
    bench = camel(2)
    u = run_uniform(bench.f, 2, BUDGET, seed=0)
    v = run_vegas(bench.f, 2, BUDGET, seed=0)
    assert v.error < u.error / 5
    assert v.unweighting_efficiency > u.unweighting_efficiency
    assert len(v.history) == BUDGET.n_iter_survey
    evals = [n for n, _ in v.history]
    assert evals == sorted(evals) and evals[-1] == v.n_evals_survey <= BUDGET.n_survey
    # adaptation lowers the variance per point
    assert v.history[-1][1] < v.history[0][1]


@pytest.mark.parametrize("method", sorted(RUNNERS))
def test_seeded_and_global_rng_untouched(method: str) -> None:
    import gvar

    bench = camel(2)
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    gvar_state = gvar.RNG.bit_generator.state
    a = RUNNERS[method](bench.f, 2, BUDGET, seed=7, n_keep_points=100)
    b = RUNNERS[method](bench.f, 2, BUDGET, seed=7, n_keep_points=100)
    c = RUNNERS[method](bench.f, 2, BUDGET, seed=8)
    assert a.estimate == b.estimate and a.error == b.error
    assert torch.equal(a.weights, b.weights)
    assert torch.equal(a.points, b.points) and a.points.shape == (100, 2)
    assert a.estimate != c.estimate
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert gvar.RNG.bit_generator.state == gvar_state


def test_vegas_points_are_spread_over_the_cube() -> None:
    # points kept for plots are a random subset, not the first hypercubes in vegas's order
    rec = run_vegas(lambda x: torch.ones(x.shape[0], dtype=x.dtype), 2, BUDGET, n_keep_points=2000)
    assert rec.points is not None
    mean = rec.points.mean(0)
    assert torch.allclose(mean, torch.full((2,), 0.5, dtype=mean.dtype), atol=0.05)


def test_unweighting_efficiency_values() -> None:
    assert unweighting_efficiency(torch.tensor([1.0, 1.0, 2.0])) == pytest.approx(2 / 3)
    assert unweighting_efficiency(torch.tensor([3.0, 3.0])) == 1.0
    assert unweighting_efficiency(torch.tensor([1.0, float("inf"), 1.0])) == 1.0
    assert math.isnan(unweighting_efficiency(torch.zeros(0)))


def test_budget_validation() -> None:
    with pytest.raises(ValueError, match="Expected n_survey"):
        Budget(n_survey=-1)
    with pytest.raises(ValueError, match="Expected n_iter_refine"):
        Budget(n_iter_refine=0)
    with pytest.raises(ValueError, match="Expected n_refine >= n_iter_refine"):
        Budget(n_refine=3, n_iter_refine=10)


def test_evaluate_integrand_errors() -> None:
    x = torch.rand(5, 2)
    with pytest.raises(ValueError, match=r"Expected the integrand to return shape \(5,\)"):
        evaluate_integrand(lambda x: x, x)
    with pytest.raises(ValueError, match="1 of 5 non-finite"):
        evaluate_integrand(lambda x: torch.where(x[:, 0] == x[0, 0], math.nan, 1.0), x)
    assert evaluate_integrand(lambda x: x[:, :1], x).shape == (5,)
