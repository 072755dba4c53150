"""The mappings reproduce the formulas of the MadNIS paper (eq. 46, 50, 53, 61–63)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from nisflow.mappings import (
    BreitWigner,
    MasslessPropagator,
    RelativisticBreitWigner,
    Ring,
    Rotation,
)

F64 = torch.float64


def _grid(n: int = 101) -> torch.Tensor:
    return torch.linspace(0.005, 0.995, n, dtype=F64)[:, None]


def test_breit_wigner_on_the_real_line_is_eq_46() -> None:
    mu, sigma = 2.0, 0.5
    bw = BreitWigner(mu, math.sqrt(2) * sigma)
    y = _grid()
    x, log_det = bw(y)
    expected_x = mu + math.sqrt(2) * sigma * torch.tan(math.pi * (y - 0.5))
    torch.testing.assert_close(x, expected_x, atol=1e-12, rtol=1e-12)
    g = math.sqrt(2) * sigma / (math.pi * ((x - mu) ** 2 + 2 * sigma**2))
    torch.testing.assert_close(bw.log_prob(x), torch.log(g[:, 0]), atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, -torch.log(g[:, 0]), atol=1e-12, rtol=0)
    # the quantile function of scipy's Cauchy distribution
    q = stats.cauchy.ppf(y.numpy(), loc=mu, scale=math.sqrt(2) * sigma)
    np.testing.assert_allclose(x.numpy(), q, rtol=1e-12, atol=1e-12)


def test_truncated_breit_wigner_matches_the_truncated_cauchy_quantile() -> None:
    mean, width, low, high = 5.0, 0.3, 4.5, 7.0
    bw = BreitWigner(mean, width, low, high)
    y = _grid().numpy()
    c_lo = stats.cauchy.cdf(low, mean, width)
    c_hi = stats.cauchy.cdf(high, mean, width)
    q = stats.cauchy.ppf(c_lo + y * (c_hi - c_lo), mean, width)
    np.testing.assert_allclose(bw(torch.as_tensor(y))[0].numpy(), q, rtol=1e-12)
    pdf = stats.cauchy.pdf(q, mean, width) / (c_hi - c_lo)
    np.testing.assert_allclose(
        bw.log_prob(torch.as_tensor(q)).numpy(), np.log(pdf[:, 0]), atol=1e-11
    )


def test_relativistic_breit_wigner_is_eq_61_62() -> None:
    mass, width, s_min, s_max = 91.19, 2.44, 60.0**2, 13000.0**2
    bw = RelativisticBreitWigner(mass, width, s_min, s_max)
    # eq. 62 with the arctan argument (s - M^2) / (M Gamma)
    w_min = math.atan((s_min - mass**2) / (mass * width))
    w_max = math.atan((s_max - mass**2) / (mass * width))
    y = _grid()
    s, _ = bw(y)
    expected = mass**2 + mass * width * torch.tan(w_min + (w_max - w_min) * y)
    torch.testing.assert_close(s, expected, rtol=1e-12, atol=0)
    g = mass * width / ((w_max - w_min) * ((s - mass**2) ** 2 + mass**2 * width**2))
    torch.testing.assert_close(bw.log_prob(s), torch.log(g[:, 0]), atol=1e-11, rtol=0)
    assert bw.low.item() == s_min and bw.high.item() == s_max


@pytest.mark.parametrize("nu", [2.0, 0.5, 3.0])
def test_massless_propagator_is_eq_63(nu: float) -> None:
    s_min, s_max = 50.0**2, 13000.0**2
    m = MasslessPropagator(s_min, s_max, nu)
    y = _grid()
    s, _ = m(y)
    expected = (y * s_max ** (1 - nu) + (1 - y) * s_min ** (1 - nu)) ** (1 / (1 - nu))
    torch.testing.assert_close(s, expected, rtol=1e-11, atol=0)
    g = (1 - nu) / (s**nu * (s_max ** (1 - nu) - s_min ** (1 - nu)))
    torch.testing.assert_close(m.log_prob(s), torch.log(g[:, 0]), atol=1e-10, rtol=0)


def test_massless_propagator_with_nu_1_is_logarithmic() -> None:
    s_min, s_max = 4.0, 1e6
    m = MasslessPropagator(s_min, s_max, 1.0)
    y = _grid()
    s, _ = m(y)
    torch.testing.assert_close(s, s_min * (s_max / s_min) ** y, rtol=1e-12, atol=0)
    g = 1.0 / (s * math.log(s_max / s_min))
    torch.testing.assert_close(m.log_prob(s), torch.log(g[:, 0]), atol=1e-12, rtol=0)


def test_rotation_by_minus_45_degrees_is_eq_50() -> None:
    y = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    x, log_det = Rotation(-math.pi / 4).double()(y)
    expected = torch.stack([y[:, 1] + y[:, 0], y[:, 1] - y[:, 0]], -1) / math.sqrt(2)
    torch.testing.assert_close(x, expected, atol=1e-14, rtol=0)
    assert torch.equal(log_det, torch.zeros(50, dtype=F64))


def test_ring_is_eq_52_53() -> None:
    r0, gamma = 1.0, math.sqrt(40) * 0.05
    ring = Ring(r0, gamma)
    z = torch.rand(200, 2, generator=torch.Generator().manual_seed(1), dtype=F64) * 0.98 + 0.01
    x, _ = ring(z)
    c0 = math.atan(r0 / gamma) / math.pi
    omega0 = (1 + 2 * c0) / 2
    r = r0 + gamma * torch.tan(math.pi * (omega0 * z[:, 0] - c0))
    theta = 2 * math.pi * z[:, 1]
    expected = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], -1)
    torch.testing.assert_close(x, expected, atol=1e-12, rtol=1e-12)
    # density in (r, θ) is g4 of eq. 53; in x it is g4 / r (the polar area element r dr dθ)
    g4 = gamma / (2 * math.pi * omega0 * math.pi * (gamma**2 + (r - r0) ** 2))
    torch.testing.assert_close(ring.log_prob(x), torch.log(g4 / r), atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda: BreitWigner(2.0, 0.7),
        lambda: BreitWigner(0.0, 1.0, low=0.0),
        lambda: RelativisticBreitWigner(91.19, 2.44),
    ],
    ids=["real", "half_line", "s_channel"],
)
def test_breit_wigner_is_monotone_up_to_the_edges(make, dtype: torch.dtype) -> None:
    # tan near ±π/2 must not change sign in float32 (an angle rounded past π/2 would)
    u = torch.cat(
        [
            torch.tensor([0.0, 1e-9, 1e-7]),
            torch.linspace(1e-6, 1 - 1e-6, 999),
            torch.tensor([1 - 1e-7, 1.0]),
        ]
    ).to(dtype)[:, None]
    bw = make().to(dtype)
    x, log_det = bw(u)
    assert torch.isfinite(x).all() and torch.isfinite(log_det).all()
    assert (x[1:] >= x[:-1]).all()
    assert x[0, 0] <= bw.mean.item() < x[-1, 0]
    assert x[0, 0] >= bw.low.item() and (x[0, 0] < -1e5 or bw.low.item() > -math.inf)
