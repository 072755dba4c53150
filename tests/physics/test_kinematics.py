"""Four-vector helpers: invariants, angles, boosts."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.physics.kinematics import (
    boost,
    boost_from_rest_frame,
    boost_to_rest_frame,
    delta_phi,
    delta_r,
    from_pt_eta_phi_m,
    mass,
    mass_squared,
    minkowski_dot,
    phi,
    pseudorapidity,
    pt,
    rapidity,
)


def _random_momenta(n: int, m: float, g: torch.Generator, device) -> torch.Tensor:
    vec = 50 * torch.randn(n, 3, dtype=torch.float64, generator=g).to(device)
    e = torch.sqrt((vec * vec).sum(-1) + m * m)
    return torch.cat([e.unsqueeze(-1), vec], -1)


def test_invariants_and_angles_from_pt_eta_phi(device):
    g = torch.Generator().manual_seed(0)
    n = 200
    pt_ = (10 + 90 * torch.rand(n, dtype=torch.float64, generator=g)).to(device)
    eta = (4 * torch.rand(n, dtype=torch.float64, generator=g) - 2).to(device)
    ph = (2 * math.pi * torch.rand(n, dtype=torch.float64, generator=g) - math.pi).to(device)
    p = from_pt_eta_phi_m(pt_, eta, ph, 5.0)
    torch.testing.assert_close(pt(p), pt_)
    torch.testing.assert_close(pseudorapidity(p), eta)
    torch.testing.assert_close(phi(p), ph)
    torch.testing.assert_close(mass(p), torch.full_like(pt_, 5.0))
    # rapidity: y = asinh(pT sinh(eta) / mT)
    mt = torch.sqrt(pt_**2 + 25.0)
    torch.testing.assert_close(rapidity(p), torch.asinh(pt_ * torch.sinh(eta) / mt))
    q = from_pt_eta_phi_m(pt_, eta + 0.3, ph + 2 * math.pi - 0.4)
    torch.testing.assert_close(delta_phi(p, q), torch.full_like(pt_, 0.4))
    torch.testing.assert_close(delta_r(p, q), torch.full_like(pt_, 0.5))


def test_boosts_preserve_invariants_and_invert(device):
    g = torch.Generator().manual_seed(1)
    p = _random_momenta(300, 3.0, g, device)
    q = _random_momenta(300, 80.0, g, device)
    beta = 0.99 * torch.nn.functional.normalize(
        torch.randn(300, 3, dtype=torch.float64, generator=g)
    ).to(device)
    beta = beta * torch.rand(300, 1, dtype=torch.float64, generator=g).to(device)
    bp, bq = boost(p, beta), boost(q, beta)
    torch.testing.assert_close(minkowski_dot(bp, bq), minkowski_dot(p, q), rtol=1e-10, atol=1e-8)
    torch.testing.assert_close(boost(bp, -beta), p, rtol=1e-10, atol=1e-9)
    rest = boost_to_rest_frame(q, q)
    torch.testing.assert_close(rest[:, 1:], torch.zeros_like(rest[:, 1:]), atol=1e-9, rtol=0)
    torch.testing.assert_close(rest[:, 0], mass(q), rtol=1e-12, atol=0)
    torch.testing.assert_close(
        boost_from_rest_frame(boost_to_rest_frame(p, q), q), p, rtol=1e-10, atol=1e-9
    )
    # a particle at rest gets exactly the velocity beta
    at_rest = torch.tensor([[2.0, 0, 0, 0]], dtype=torch.float64, device=device).expand(300, 4)
    moving = boost(at_rest, beta)
    torch.testing.assert_close(moving[:, 1:] / moving[:, :1], beta, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(mass_squared(moving), torch.full_like(beta[:, 0], 4.0))


def test_shape_errors():
    with pytest.raises(ValueError, match=r"Expected p of shape \(\.\.\., 4\)"):
        pt(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="beta"):
        boost(torch.zeros(3, 4), torch.zeros(3, 2))
