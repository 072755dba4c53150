"""The q-weighted losses: gradient estimators against finite differences of the exact losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow.losses import LOSSES, get_loss, kl_loss, variance_loss

# 1D problem: f(x) = exp(2x) on [0, 1]; model g_θ(x) = 1 + θ (x − 1/2).
I_EXACT = (math.exp(2.0) - 1.0) / 2.0
NODES, WEIGHTS = np.polynomial.legendre.leggauss(400)
XQ = (NODES + 1) / 2
WQ = WEIGHTS / 2


def _f_np(x):
    return np.exp(2 * x)


def _g_np(x, theta):
    return 1 + theta * (x - 0.5)


EXACT = {
    "variance": lambda p, g: np.sum(WQ * p * p / g) - 1,
    "pearson_chi2": lambda p, g: np.sum(WQ * g * g / p) - 1,
    "kl": lambda p, g: np.sum(WQ * p * np.log(p / g)),
    "reverse_kl": lambda p, g: np.sum(WQ * g * np.log(g / p)),
}


def exact_loss(name: str, theta: float) -> float:
    p = _f_np(XQ) / I_EXACT
    return float(EXACT[name](p, _g_np(XQ, theta)))


def _sample_q(n: int, q_theta: float, gen: torch.Generator):
    """Points from g_{q_theta} by the inverse CDF, with their log-density."""
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    b = 1 - q_theta / 2
    x = 2 * u / (b + torch.sqrt(b * b + 2 * q_theta * u))
    return x, torch.log1p(q_theta * (x - 0.5))


@pytest.mark.parametrize("name", ["variance", "pearson_chi2", "kl", "reverse_kl"])
@pytest.mark.parametrize("q_theta", [0.0, -0.8])
def test_gradient_estimator_matches_finite_differences(name, q_theta):
    theta0, h = 0.6, 1e-5
    fd = (exact_loss(name, theta0 + h) - exact_loss(name, theta0 - h)) / (2 * h)
    loss = get_loss(name)
    gen = torch.Generator().manual_seed(7)
    grads, values = [], []
    for _ in range(40):
        x, log_q = _sample_q(20_000, q_theta, gen)
        theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        log_g = torch.log1p(theta * (x - 0.5))
        value = loss(torch.exp(2 * x), log_g, log_q)
        value.backward()
        grads.append(float(theta.grad))
        values.append(float(value.detach()))
    g, sem = np.mean(grads), np.std(grads, ddof=1) / math.sqrt(len(grads))
    assert abs(g - fd) < 5 * sem + 1e-3 * abs(fd), (name, g, sem, fd)
    assert abs(fd) > 10 * sem  # the test has power: the gradient is resolved
    v, vsem = np.mean(values), np.std(values, ddof=1) / math.sqrt(len(values))
    exact = exact_loss(name, theta0)
    assert abs(v - exact) < 5 * vsem + 1e-3 * abs(exact), (name, v, vsem, exact)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_scale_invariant_and_signed(name):
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1000, generator=gen, dtype=torch.float64)
    theta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    log_q = torch.zeros_like(x)
    f = torch.exp(2 * x)
    grads = []
    for scale in (1.0, 1e-8, -3e5):
        theta.grad = None
        LOSSES[name](scale * f, torch.log1p(theta * (x - 0.5)), log_q).backward()
        grads.append(float(theta.grad))
    assert grads[1] == pytest.approx(grads[0], rel=1e-9)
    assert grads[2] == pytest.approx(grads[0], rel=1e-9)


@pytest.mark.parametrize(
    "name, factor", [("variance", -1.0), ("pearson_chi2", 2.0), ("kl", -1.0), ("reverse_kl", 1.0)]
)
def test_at_the_target(name, factor):
    # g = q = p: the divergence estimate is zero and its gradient is factor * mean(score),
    # whose expectation under g vanishes (MadNIS eqs. 72, 76, 79, 83).
    gen = torch.Generator().manual_seed(2)
    u = torch.rand(5000, generator=gen, dtype=torch.float64)
    x = 2 * u / (0.75 + torch.sqrt(0.75**2 + u))  # inverse CDF of g = 1 + 0.5 (x - 1/2)
    f = 3.0 * (1 + 0.5 * (x - 0.5))
    theta = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    log_g = torch.log1p(theta * (x - 0.5))
    value = LOSSES[name](f, log_g, log_g.detach())
    value.backward()
    score = (x - 0.5) / (1 + 0.5 * (x - 0.5))
    assert abs(float(value.detach())) < 1e-12
    assert float(theta.grad) == pytest.approx(factor * float(score.mean()), rel=1e-9, abs=1e-15)
    assert abs(float(score.mean())) < 5 * float(score.std()) / math.sqrt(len(x))


def test_zero_integrand_gives_zero_loss_with_graph():
    theta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    x = torch.linspace(0, 1, 10, dtype=torch.float64)
    for name in ("variance", "pearson_chi2", "kl", "reverse_kl"):
        value = LOSSES[name](torch.zeros(10), torch.log1p(theta * (x - 0.5)), torch.zeros(10))
        value.backward()
        assert float(value.detach()) == 0.0 and float(theta.grad) == 0.0


def test_vanishing_f_stays_finite():
    x = torch.linspace(0, 1, 101, dtype=torch.float64)
    f = torch.where(x < 0.5, torch.zeros_like(x), torch.ones_like(x))
    for name in ("variance", "pearson_chi2", "kl", "reverse_kl"):
        assert torch.isfinite(LOSSES[name](f, torch.zeros_like(x), torch.zeros_like(x)))


def test_user_callable_and_bad_inputs():
    def my_loss(f, log_g, log_q):
        return -(f.abs() * log_g).mean()

    assert get_loss(my_loss) is my_loss
    assert get_loss("dkl") is kl_loss
    with pytest.raises(ValueError, match="Expected a loss name"):
        get_loss("variance2")
    with pytest.raises(TypeError, match="Expected a loss name or a callable"):
        get_loss(3)
    with pytest.raises(ValueError, match="same shape"):
        variance_loss(torch.ones(3), torch.zeros(4), torch.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        variance_loss(torch.ones(3, 1), torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="non-empty"):
        variance_loss(torch.ones(0), torch.zeros(0), torch.zeros(0))
