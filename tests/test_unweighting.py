"""Hit-or-miss unweighting: unweighted events follow f / I (χ² tests in 1D and 2D)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from nisflow.unweighting import find_max_weight, hit_or_miss, unweight

# target f(x) = x² + 0.1 per coordinate on [0, 1]; proposal q(x) = 1 + 0.6 (x - 1/2)


def _f1(x):
    return x**2 + 0.1


def _F1(x):  # antiderivative
    return x**3 / 3 + 0.1 * x


def _sampler(d: int, gen: torch.Generator):
    def sample(n: int):
        u = torch.rand(n, d, generator=gen, dtype=torch.float64)
        b = 1 - 0.3
        x = 2 * u / (b + torch.sqrt(b * b + 1.2 * u))
        q = (1 + 0.6 * (x - 0.5)).prod(-1)
        return x, _f1(x).prod(-1) / q

    return sample


def _chi2_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    n = counts.sum()
    return float(stats.chisquare(counts, probs / probs.sum() * n).pvalue)


def test_events_follow_f_in_1d():
    gen = torch.Generator().manual_seed(0)
    events = unweight(
        _sampler(1, gen), 20_000, n_reference=20_000, chunk_size=20_000, generator=gen
    )
    assert events.x.shape == (20_000, 1) and bool((events.weights >= 1).all())
    # later trials may exceed the reference maximum, rarely; they keep weight |w|/w_max
    assert float((events.weights > 1).double().mean()) < 1e-3
    assert events.overweight_fraction == 0.0
    edges = np.linspace(0, 1, 21)
    counts, _ = np.histogram(events.x[:, 0].numpy(), edges)
    probs = np.diff(_F1(edges))
    assert _chi2_pvalue(counts, probs) > 1e-3
    # a wrong hypothesis (the proposal) is rejected: the test has power
    wrong = np.diff(edges + 0.3 * (edges**2 - edges))
    assert _chi2_pvalue(counts, wrong) < 1e-6
    # efficiency = mean w / max w, and the acceptance matches it
    assert 0 < events.efficiency <= 1
    assert events.acceptance == pytest.approx(events.efficiency, rel=0.05)
    assert events.n_trials >= 20_000


def test_events_follow_f_in_2d():
    gen = torch.Generator().manual_seed(1)
    events = unweight(_sampler(2, gen), 20_000, n_reference=30_000, generator=gen)
    edges = np.linspace(0, 1, 9)
    counts, _, _ = np.histogram2d(events.x[:, 0].numpy(), events.x[:, 1].numpy(), [edges, edges])
    p1 = np.diff(_F1(edges))
    assert _chi2_pvalue(counts.ravel(), np.outer(p1, p1).ravel()) > 1e-3


def test_quantile_max_weight_reports_overweights_and_stays_unbiased():
    gen = torch.Generator().manual_seed(2)
    exact = unweight(_sampler(1, gen), 5000, generator=gen)
    q = unweight(_sampler(1, gen), 5000, max_weight=0.9, n_reference=50_000, generator=gen)
    assert q.max_weight < exact.max_weight and q.efficiency > exact.efficiency
    assert q.overweight_fraction == pytest.approx(0.1, abs=0.01)
    assert bool((q.weights >= 1).all()) and bool((q.weights > 1).any())
    # weighted histogram of the over-weighted events follows f
    edges = np.linspace(0, 1, 11)
    h, _ = np.histogram(q.x[:, 0].numpy(), edges, weights=q.weights.numpy())
    probs = np.diff(_F1(edges))
    expected = probs / probs.sum() * h.sum()
    assert np.all(np.abs(h - expected) < 5 * np.sqrt(expected) * 1.5)


def test_find_max_weight_and_hit_or_miss_details():
    w = torch.arange(1, 101, dtype=torch.float64)
    assert find_max_weight(w) == (100.0, 0.0)
    w_max, over = find_max_weight(w, 0.95)
    assert w_max == 95.0 and over == pytest.approx(0.05)
    assert find_max_weight(-w)[0] == 100.0
    for bad in (0.0, 1.5, "max", True):
        with pytest.raises(ValueError, match="max_weight"):
            find_max_weight(w, bad)
    with pytest.raises(ValueError, match="all zero"):
        find_max_weight(torch.zeros(10))
    with pytest.raises(ValueError, match="finite reference"):
        find_max_weight(torch.tensor([1.0, math.nan]))
    # signed weights give signed events; acceptance probability |w|/w_max
    gen = torch.Generator().manual_seed(3)
    x = torch.arange(100_000, dtype=torch.float64)[:, None]
    w = torch.where(x[:, 0] % 2 == 0, 0.5, -0.25).to(torch.float64)
    xk, wk = hit_or_miss(x, w, 1.0, generator=gen)
    pos = int((wk > 0).sum())
    neg = int((wk < 0).sum())
    assert pos == pytest.approx(25_000, abs=5 * math.sqrt(25_000))
    assert neg == pytest.approx(12_500, abs=5 * math.sqrt(12_500))
    assert bool(((xk[:, 0] % 2 == 0) == (wk > 0)).all())
    with pytest.raises(ValueError, match="positive maximum weight"):
        hit_or_miss(x, w, 0.0)


def test_unweight_gives_up_instead_of_looping():
    def sample(n):
        w = torch.zeros(n, dtype=torch.float64)
        w[0] = 1.0
        return torch.zeros(n, 1), w

    with pytest.raises(RuntimeError, match="within 300 trials"):
        unweight(sample, 50, n_reference=100, chunk_size=100, max_trials=300)
