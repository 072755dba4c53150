"""Diagnostics: weight statistics, the reliability rules, and "right within 3σ or warned".

The hard integrands: the 8D ridge of issue 8 (exact value by a 1D-recursive quadrature below), a
2D peak with a far, narrow second peak holding 30 % of the mass, and a 4D version with a spike near
the far corner. Each must come back right within 3 stated errors or with a
:class:`NisflowReliabilityWarning`; Suite A functions at modest budgets must not warn.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.signal import fftconvolve

from nisflow import Integrator, NisflowReliabilityWarning
from nisflow.bench.functions import get_function
from nisflow.diagnostics import THRESHOLDS, Diagnostics, WeightAccumulator, diagnose
from nisflow.result import IterationRecord


def ridge(x):
    """exp(−Σ_{i=1}^{7} (x_i − x_{i+1})² / 0.02²) on [0, 1]^8 (issue 8)."""
    return torch.exp(-((x[:, 1:] - x[:, :-1]) ** 2).sum(-1) / 0.02**2)


def ridge_exact(d: int = 8, s: float = 0.02, h: float = 1e-4) -> float:
    """The chain integral by recursion: g_{k+1}(y) = ∫_0^1 g_k(x) exp(−(x − y)²/s²) dx."""
    n = int(round(1 / h)) + 1
    wts = np.full(n, h)
    wts[[0, -1]] = h / 2  # trapezoid
    t = np.arange(-int(12 * s / h), int(12 * s / h) + 1) * h
    kernel = np.exp(-((t / s) ** 2))
    g = np.ones(n)
    for _ in range(d - 1):
        g = fftconvolve(g * wts, kernel, mode="same")
    return float((g * wts).sum())


def _gauss_mass(mu: float, s: float, d: int) -> float:
    r = s * math.sqrt(2)
    return (s * math.sqrt(math.pi / 2) * (math.erf((1 - mu) / r) + math.erf(mu / r))) ** d


def two_peaks(d: int, s1: float, s2: float, frac: float):
    """A peak at 0.3 (width s1) and a far one at 0.9 (width s2) holding ``frac`` of the first."""
    a = frac * _gauss_mass(0.3, s1, d) / _gauss_mass(0.9, s2, d)

    def f(x):
        near = torch.exp(-((x - 0.3) ** 2).sum(-1) / (2 * s1**2))
        return near + a * torch.exp(-((x - 0.9) ** 2).sum(-1) / (2 * s2**2))

    return f, _gauss_mass(0.3, s1, d) * (1 + frac)


FAR_PEAK = two_peaks(2, 0.05, 0.004, 0.3)
SPIKE4 = two_peaks(4, 0.1, 0.03, 0.3)
SMALL = dict(n_iter_survey=3, n_points_survey=2000, n_iter_refine=3, n_points_refine=4000)
MEDIUM = dict(n_iter_survey=5, n_points_survey=10_000, n_iter_refine=5, n_points_refine=20_000)


def _run(d, f, seed, **kwargs):
    torch.set_num_threads(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = Integrator(d, f, seed=seed, verbose=False, **kwargs).integrate()
    warned = [w for w in caught if issubclass(w.category, NisflowReliabilityWarning)]
    return result, warned


def test_ridge_exact_value_by_recursion():
    assert ridge_exact(d=2) == pytest.approx(
        0.02 * math.sqrt(math.pi) * math.erf(50) - 0.02**2 * (1 - math.exp(-2500)), rel=1e-6
    )
    assert ridge_exact(h=2e-4) == pytest.approx(ridge_exact(), rel=1e-5)
    assert ridge_exact() == pytest.approx(6.716e-11, rel=1e-3)


def test_weight_accumulator_statistics():
    acc = WeightAccumulator(1000)
    for chunk in torch.full((1000,), 2.0, dtype=torch.float64).split(300):
        acc.add(chunk)
    s = acc.stats()
    assert (
        s.n == 1000 and s.ess == pytest.approx(1000) and s.max_weight_share == pytest.approx(1e-3)
    )
    assert s.tail_shape == pytest.approx(0.0)
    acc = WeightAccumulator(1000)
    acc.add(torch.cat([torch.ones(999, dtype=torch.float64), torch.tensor([999.0])]))
    s = acc.stats()
    assert s.max_weight_share == pytest.approx(0.5)
    assert s.ess == pytest.approx(1998**2 / (999 + 999**2))
    # Hill's estimator recovers the shape of a Pareto tail (P(W > t) = t^(−1/ξ), ξ = 0.8)
    g = torch.Generator().manual_seed(0)
    u = torch.rand(200_000, generator=g, dtype=torch.float64)
    acc = WeightAccumulator(200_000)
    acc.add(u ** (-0.8))
    assert acc.stats().tail_shape == pytest.approx(0.8, abs=0.8 * 5 / math.sqrt(acc.k))
    # bounded weights: a light tail
    acc = WeightAccumulator(200_000)
    acc.add(u)
    assert acc.stats().tail_shape < 0.05
    empty = WeightAccumulator(10)
    empty.add(torch.zeros(10, dtype=torch.float64))
    assert empty.stats().ess == 0 and math.isnan(empty.stats().tail_shape)


def _diag(**kw):
    base = dict(
        n_points=10_000, ess=9000.0, max_weight_share=1e-3, tail_shape=0.2, chi2_dof=1.0, Q=0.5
    )
    return Diagnostics(**{**base, **kw})


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(ess=0.0), "vanished"),
        (dict(ess=THRESHOLDS["min_ess"] / 2), "effective points"),
        (dict(max_weight_share=0.3), "single point carries 30%"),
        (dict(tail_shape=0.9), "heavy tail"),
        (dict(Q=1e-5, chi2_dof=9.0), "refine iterations disagree"),
        (dict(survey_pull=-7.0), "survey and refine"),
    ],
)
def test_problems_name_the_cause_and_the_cure(kw, match):
    assert _diag().reliable and "reliable" in _diag().summary()
    d = _diag(**kw)
    assert not d.reliable
    text = " ".join(d.problems())
    assert match in text and "uniform_fraction" in text
    assert "WARNING" in d.summary()


def test_diagnose_combines_iterations_and_survey_pull():
    rec = [IterationRecord("refine", i, v, 0.01**2, 100) for i, v in enumerate((1.0, 1.01))]
    survey = [IterationRecord("survey", 0, 1.5, 0.05**2, 100)]
    acc = WeightAccumulator(100)
    acc.add(torch.ones(100, dtype=torch.float64))
    d = diagnose(rec, [acc.stats()] * 2, survey, uniform_fraction=0.05)
    assert d.n_points == 200 and d.ess == pytest.approx(200)
    assert d.survey_pull == pytest.approx((1.005 - 1.5) / math.hypot(0.01 / math.sqrt(2), 0.05))
    assert d.uniform_fraction == 0.05 and d.Q > 0.4
    with pytest.raises(ValueError, match="one WeightStats per refine iteration"):
        diagnose(rec, [acc.stats()])


def test_result_carries_and_prints_diagnostics():
    f, exact = FAR_PEAK
    result, _ = _run(2, f, 0, **MEDIUM)
    # the points of the estimate (in 2D the refine's pilots only decide: 5,000 fewer)
    assert result.diagnostics is not None
    assert result.diagnostics.n_points == sum(r.n_evals for r in result.iterations) == 95_000
    assert "diagnostics: ESS" in result.summary()


@pytest.mark.parametrize("alpha", [0.05, 0.0])
def test_ridge_warns(alpha):
    # too few points reach the ridge (volume ~1e-10): nisflow says it cannot be trusted
    exact = 6.7156e-11
    result, warned = _run(8, ridge, 0, uniform_fraction=alpha, **SMALL)
    assert warned, result
    assert abs(result.mean - exact) > 3 * result.sdev  # the value is wrong: the warning matters
    assert "uniform_fraction" in str(warned[0].message)


@pytest.mark.parametrize("seed", range(3))
def test_far_peak_small_budget_right_or_warned(seed):
    f, exact = FAR_PEAK
    result, warned = _run(2, f, seed, **SMALL)
    assert abs(result.mean - exact) < 3 * result.sdev or warned


def test_far_peak_small_budget_warns():
    f, exact = FAR_PEAK
    assert _run(2, f, 0, **SMALL)[1]


@pytest.mark.parametrize("name", ["far_peak", "spike4"])
def test_missable_mass_found_at_medium_budget(name):
    d, (f, exact) = (2, FAR_PEAK) if name == "far_peak" else (4, SPIKE4)
    result, warned = _run(d, f, 0, **MEDIUM)
    assert not warned
    assert abs(result.mean - exact) < 3 * result.sdev


@pytest.mark.slow
@pytest.mark.parametrize("name", ["far_peak", "spike4"])
def test_missable_mass_right_or_warned_many_seeds(name):
    d, (f, exact) = (2, FAR_PEAK) if name == "far_peak" else (4, SPIKE4)
    bad = []
    for seed in range(20):
        result, warned = _run(d, f, 100 + seed, **MEDIUM)
        if not (abs(result.mean - exact) < 3 * result.sdev or warned):
            bad.append((seed, result.mean / exact, result.diagnostics))
    assert len(bad) <= 1, bad  # 3σ: 0.3 % false "wrong" expected per honest run


@pytest.mark.parametrize("name", ["camel2", "sinusoidal2", "slashed2", "camel4"])
def test_no_false_alarm_on_suite_a(name):
    bench = get_function(name)
    result, warned = _run(
        bench.d, bench.f, 0, n_iter_survey=5, n_points_survey=4000, n_points_refine=8000
    )
    assert not warned, [str(w.message) for w in warned]
    assert result.diagnostics.reliable


def test_miss_probability_matches_simulation_and_validates():
    from nisflow.diagnostics import miss_probability

    assert miss_probability(0.01, 100, 0.05) == pytest.approx((1 - 5e-4) ** 100)
    assert miss_probability(0.0, 10**6, 0.05) == 1.0 and miss_probability(1.0, 3, 1.0) == 0.0
    # how often n = 100 draws of the mixture never enter [0, 0.1]^2, over 4000 repeats
    g = torch.Generator().manual_seed(0)
    alpha, side, n, reps = 0.5, 0.1, 100, 4000
    from_uniform = torch.rand(reps, n, generator=g) < alpha
    x = torch.rand(reps, n, 2, generator=g)
    inside = from_uniform & (x < side).all(-1)
    missed = float((~inside.any(-1)).double().mean())
    p = miss_probability(side**2, n, alpha)
    assert abs(missed - p) < 5 * math.sqrt(p * (1 - p) / reps)
    for bad in (dict(volume=1.5), dict(uniform_fraction=-0.1), dict(n_points=-1)):
        args = {**dict(volume=0.1, n_points=10, uniform_fraction=0.05), **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            miss_probability(**args)


def test_a_region_no_point_reaches_cannot_be_flagged():
    """The documented limit: mass in a region nothing samples is lost without a warning.

    Half of the integral sits in a spike of volume ~1e-9 at a corner of [0, 1]^4; with 2e4 points
    and α = 0.05 the defensive component reaches it with probability ~1e-6
    (:func:`~nisflow.diagnostics.miss_probability`) and the survey's flow never sees it. The
    result is about half the truth and the diagnostics, which only see sampled weights, cannot
    tell. The cure is in the docs: a channel/mapping at the spike, or α·V·n ≫ 1.
    """
    from nisflow.diagnostics import miss_probability

    s = 0.003
    mass_spike = (s * math.sqrt(math.pi)) ** 4 / 2**4  # a quarter-Gaussian per axis at the corner

    def f(x):
        bulk = torch.exp(-((x - 0.4) ** 2).sum(-1) / (2 * 0.1**2))
        a = _gauss_mass(0.4, 0.1, 4) / mass_spike
        return bulk + a * torch.exp(-(x**2).sum(-1) / s**2)

    exact = 2 * _gauss_mass(0.4, 0.1, 4)
    kwargs = dict(n_iter_survey=2, n_points_survey=4000, n_iter_refine=3, n_points_refine=4000)
    assert miss_probability((3 * s) ** 4, 20_000, 0.05) > 0.99
    result, warned = _run(4, f, 0, **kwargs)
    assert result.mean == pytest.approx(exact / 2, rel=0.05)  # the spike's half is missing
    assert abs(result.mean - exact) > 10 * result.sdev
    assert not warned and result.diagnostics.reliable
