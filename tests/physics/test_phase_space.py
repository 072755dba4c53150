"""RAMBO on diet: round trip, momentum conservation, on-shell, flat weight = massless volume,
and the massive weight against the exact two- and three-body volumes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from nisflow.physics.kinematics import mass_squared
from nisflow.physics.phase_space import RamboOnDiet, massless_volume, two_body_momentum


def _uniform(n: int, d: int, seed: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, dtype=torch.float64, generator=g).to(device)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_massless_round_trip_conservation_and_flat_weight(n, device):
    ps = RamboOnDiet(n).to(device)
    assert ps.d == 3 * n - 4
    r = _uniform(2000, ps.d, n, device)
    sqrt_s = 250.0
    p, log_w = ps(r, sqrt_s)
    assert p.shape == (2000, n, 4)
    total = p.sum(1)
    torch.testing.assert_close(
        total,
        torch.tensor([sqrt_s, 0, 0, 0], dtype=torch.float64, device=device).expand_as(total),
        rtol=0,
        atol=1e-10 * sqrt_s,
    )
    torch.testing.assert_close(
        mass_squared(p), torch.zeros_like(p[..., 0]), rtol=0, atol=1e-9 * sqrt_s**2
    )
    assert bool((p[..., 0] > 0).all())
    volume = massless_volume(n, sqrt_s**2)
    torch.testing.assert_close(log_w, torch.full_like(log_w, math.log(volume)), rtol=0, atol=1e-10)
    r_back, log_w_back = ps.inverse(p)
    torch.testing.assert_close(r_back, r, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w_back, log_w, rtol=0, atol=1e-10)


def test_massless_volume_closed_forms():
    s = 7.0
    assert massless_volume(2, s) == pytest.approx(1 / (8 * math.pi))
    assert massless_volume(3, s) == pytest.approx(s / (256 * math.pi**3))


def test_massive_round_trip_and_on_shell(device):
    masses = [1.0, 4.0, 0.0, 10.0]
    ps = RamboOnDiet(4, masses).to(device)
    r = _uniform(2000, ps.d, 11, device)
    p, log_w = ps(r, 60.0)
    m2 = torch.tensor(masses, dtype=torch.float64, device=device) ** 2
    torch.testing.assert_close(mass_squared(p), m2.expand(2000, 4), rtol=0, atol=1e-9 * 3600)
    torch.testing.assert_close(
        p.sum(1)[:, 1:], torch.zeros(2000, 3, dtype=torch.float64, device=device), rtol=0, atol=1e-9
    )
    r_back, log_w_back = ps.inverse(p)
    torch.testing.assert_close(r_back, r, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w_back, log_w, rtol=0, atol=1e-9)


def test_massive_two_body_weight_is_exact():
    ps = RamboOnDiet(2, [3.0, 5.0])
    _, log_w = ps(_uniform(10, 2, 0, "cpu"), 20.0)
    q = float(two_body_momentum(torch.tensor(20.0), 3.0, 5.0))
    torch.testing.assert_close(log_w, torch.full_like(log_w, math.log(q / (4 * math.pi * 20.0))))


def test_massive_three_body_volume_matches_dalitz_integral():
    m, sqrt_s = (2.0, 5.0, 9.0), 30.0
    s = sqrt_s**2
    ps = RamboOnDiet(3, list(m))
    n = 200_000
    _, log_w = ps(_uniform(n, ps.d, 5, "cpu"), sqrt_s)
    w = torch.exp(log_w)
    mc, err = float(w.mean()), float(w.std()) / math.sqrt(n)

    def m23_range(m12sq):
        # Dalitz limits for m23² at fixed m12² (PDG kinematics, eq. 49.23)
        e2 = (m12sq - m[0] ** 2 + m[1] ** 2) / (2 * math.sqrt(m12sq))
        e3 = (s - m12sq - m[2] ** 2) / (2 * math.sqrt(m12sq))
        p2, p3 = math.sqrt(max(e2 * e2 - m[1] ** 2, 0)), math.sqrt(max(e3 * e3 - m[2] ** 2, 0))
        return (e2 + e3) ** 2 - (p2 + p3) ** 2, (e2 + e3) ** 2 - (p2 - p3) ** 2

    lo, hi = (m[0] + m[1]) ** 2, (sqrt_s - m[2]) ** 2
    area, _ = integrate.quad(
        lambda x: np.subtract(*reversed(m23_range(x))), lo, hi, epsabs=0, epsrel=1e-10
    )
    exact = area / (128 * math.pi**3 * s)  # Φ3 = (2π)^-5 π²/(4s) ∫ dm12² dm23²
    assert abs(mc - exact) < 5 * err, (mc, err, exact)


def test_rejects_energy_below_threshold():
    ps = RamboOnDiet(3, [10.0, 10.0, 10.0])
    with pytest.raises(ValueError, match="above the sum of masses"):
        ps(torch.rand(4, ps.d, dtype=torch.float64), 25.0)
