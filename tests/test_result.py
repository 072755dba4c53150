"""Result objects: combination of iterations, χ²/dof and Q, formatting, unpacking."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from nisflow.result import (
    IntegrationResult,
    IterationRecord,
    chi2_survival,
    combine_estimates,
    estimate_from_weights,
    format_mean_error,
)


def test_estimate_from_weights_float64_and_unbiased_variance():
    w = torch.tensor([1.0, 2.0, 3.0, 6.0], dtype=torch.float32)
    mean, var = estimate_from_weights(w)
    assert mean == 3.0
    assert var == pytest.approx(((1 - 3) ** 2 + 1 + 0 + 9) / 3 / 4)
    # float64 accumulation: 1e8 + small values would lose digits in float32
    w = torch.full((1000,), 1.0, dtype=torch.float32)
    w[0] = 1e8
    assert estimate_from_weights(w)[0] == pytest.approx((1e8 + 999) / 1000, rel=1e-15)
    with pytest.raises(ValueError, match="Expected weights of shape"):
        estimate_from_weights(torch.zeros(0))


def test_inverse_variance_combination_matches_formula():
    values, variances = [1.0, 1.2, 0.9], [0.01, 0.04, 0.02]
    mean, sdev, chi2_dof, q = combine_estimates(values, variances)
    w = [1 / v for v in variances]
    m = sum(wi * vi for wi, vi in zip(w, values, strict=True)) / sum(w)
    chi2 = sum(wi * (vi - m) ** 2 for wi, vi in zip(w, values, strict=True))
    assert mean == pytest.approx(m, rel=1e-14)
    assert sdev == pytest.approx(1 / math.sqrt(sum(w)), rel=1e-14)
    assert chi2_dof == pytest.approx(chi2 / 2, rel=1e-14)
    assert q == pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-10)


@pytest.mark.parametrize("dof", [1, 2, 5, 30])
@pytest.mark.parametrize("chi2", [0.1, 1.0, 7.5, 60.0])
def test_chi2_survival_matches_scipy(chi2, dof):
    assert chi2_survival(chi2, dof) == pytest.approx(stats.chi2.sf(chi2, dof), rel=1e-9, abs=1e-300)


def test_single_iteration_and_zero_variance_cases():
    assert combine_estimates([2.0], [0.25]) == (2.0, 0.5, 0.0, 1.0)
    # f == 0 everywhere: 0 ± 0, chi2 0, Q 1, no NaN
    assert combine_estimates([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0, 1.0)
    mean, sdev, chi2_dof, q = combine_estimates([1.0, 1.0], [0.0, 0.0])
    assert (mean, sdev, chi2_dof, q) == (1.0, 0.0, 0.0, 1.0)
    # one batch that missed the support: n-weighted average, finite error
    mean, sdev, _, _ = combine_estimates([0.0, 1.0, 1.2], [0.0, 0.01, 0.01], [10, 10, 20])
    assert mean == pytest.approx((0 * 10 + 1.0 * 10 + 1.2 * 20) / 40)
    assert sdev == pytest.approx(math.sqrt((0.25**2 + 0.5**2) * 0.01))
    assert all(math.isfinite(v) for v in (mean, sdev))
    with pytest.raises(ValueError, match="non-negative variances"):
        combine_estimates([1.0], [-1.0])
    with pytest.raises(ValueError, match="as many variances"):
        combine_estimates([1.0, 2.0], [1.0])


def test_combination_is_honest_over_many_trials():
    # iterations of a Gaussian estimator: the combined pulls are N(0,1), Q is uniform
    gen = torch.Generator().manual_seed(0)
    pulls, qs = [], []
    for _ in range(2000):
        sig = torch.rand(4, generator=gen, dtype=torch.float64) + 0.2
        vals = 3.0 + sig * torch.randn(4, generator=gen, dtype=torch.float64)
        m, s, _, q = combine_estimates(vals.tolist(), (sig**2).tolist())
        pulls.append((m - 3.0) / s)
        qs.append(q)
    pulls = torch.tensor(pulls)
    assert abs(float(pulls.mean())) < 5 / math.sqrt(2000)
    assert abs(float(pulls.std()) - 1) < 0.05
    assert abs(float(torch.tensor(qs).mean()) - 0.5) < 5 * math.sqrt(1 / 12 / 2000)


@pytest.mark.parametrize(
    "mean, sdev, text",
    [
        (0.0314159, 0.0000123, "0.031416(12)"),
        (1.0018, 0.0039, "1.0018(39)"),
        (2.5, 0.996, "2.5(1.0)"),
        (0.5, 0.0996, "0.50(10)"),
        (1234.3, 56.0, "1234(56)"),
        (0.0, 0.0, "0(0)"),
        (3.5, 0.0, "3.5(0)"),
        (1.23456e8, 1.2e4, "1.23456(12)e+08"),
        (-4.2e-9, 3.1e-11, "-4.200(31)e-09"),
    ],
)
def test_format_mean_error(mean, sdev, text):
    assert format_mean_error(mean, sdev) == text


def _records():
    hist = (
        IterationRecord("survey", 0, 1.1, 0.04, 100, sampler="flat", loss=2.0, n_steps=5),
        IterationRecord("refine", 0, 1.0, 0.01, 200),
        IterationRecord("refine", 1, 1.02, 0.01, 200),
    )
    return hist


def test_result_unpacks_and_prints():
    hist = _records()
    result = IntegrationResult.from_iterations(hist[1:], hist)
    value, error, history = result
    assert value == pytest.approx(1.01) and error == pytest.approx(math.sqrt(0.005))
    assert history == hist and result[0] == value and len(result) == 3
    assert result.n_evals == 500
    assert result.mean == result.value and result.sdev == result.error
    assert str(result) == format_mean_error(result.mean, result.sdev)
    table = result.summary()
    assert "survey" in table and "refine" in table and str(result) in table
    assert len(table.splitlines()) == 2 + 3 + 2
    with pytest.raises(AttributeError):
        result.mean = 2.0  # frozen
    with pytest.raises(ValueError, match="at least one iteration"):
        IntegrationResult.from_iterations([])


def test_record_roundtrip():
    r = _records()[0]
    assert IterationRecord(**r.to_dict()) == r
    assert r.error == pytest.approx(0.2)
