"""The momentum-fraction mapping is MadNIS eq. 64 (x1 = τ^y, x2 = τ^(1-y), g2 ∝ -1/log(x1 x2))."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow.mappings import (
    BreitWigner,
    Identity,
    MasslessPropagator,
    MomentumFractions,
    Product,
    Rectangle,
    RelativisticBreitWigner,
)

F64 = torch.float64
S_MIN, S_HAD = 15.0**2, 13000.0**2


def _shat_maps() -> list:
    return [
        MasslessPropagator(S_MIN, S_HAD, 2.0),
        RelativisticBreitWigner(91.188, 2.441404, S_MIN, S_HAD),
        MasslessPropagator(100.0, 1e6, 1.0),
    ]


@pytest.mark.parametrize("shat_map", _shat_maps(), ids=["power", "z_peak", "log_window"])
def test_forward_is_eq_64(shat_map) -> None:
    m = MomentumFractions(shat_map, S_HAD)
    u = torch.rand(500, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    x, log_det, shat = m.forward_and_shat(u)
    s_ref, log_ds = shat_map(u[:, :1])
    assert torch.equal(shat, s_ref[:, 0])
    tau = shat / S_HAD
    torch.testing.assert_close(x[:, 0], tau ** u[:, 1], rtol=1e-13, atol=0)
    torch.testing.assert_close(x[:, 1], tau ** (1 - u[:, 1]), rtol=1e-13, atol=0)
    torch.testing.assert_close(x[:, 0] * x[:, 1] * S_HAD, shat, rtol=1e-13, atol=0)
    # g = g1(ŝ) · s / (-log(x1 x2)): eq. 64 without the solid angle 4π
    log_g = shat_map.log_prob(shat[:, None]) + math.log(S_HAD) - torch.log(-torch.log(tau))
    torch.testing.assert_close(m.log_prob(x), log_g, atol=1e-10, rtol=0)
    torch.testing.assert_close(log_det, -log_g, atol=1e-10, rtol=0)
    assert torch.equal(m(u)[0], x)


@pytest.mark.parametrize("shat_map", _shat_maps(), ids=["power", "z_peak", "log_window"])
def test_density_integrates_to_one_in_tau_and_x1(shat_map) -> None:
    # ∫ g dx1 dx2 = ∫ dτ ∫_τ^1 dx1 / x1 g(x1, τ / x1); τ by Gauss–Legendre in the latent
    # coordinate of ŝ (so the peak is resolved), x1 by Gauss–Legendre in log x1.
    m = MomentumFractions(shat_map, S_HAD)
    t, w = np.polynomial.legendre.leggauss(200)
    t, w = 0.5 * (t + 1), 0.5 * w
    u = torch.as_tensor(t, dtype=F64)[:, None]
    shat, log_ds = shat_map(u)
    tau, w_tau = shat[:, 0] / S_HAD, torch.as_tensor(w) * torch.exp(log_ds) / S_HAD
    log_tau = torch.log(tau)[:, None]
    v = torch.as_tensor(t, dtype=F64)[None, :]
    x1 = torch.exp(v * log_tau)  # log x1 uniform on [log τ, 0]
    x2 = tau[:, None] / x1
    jac = -log_tau  # dx1 / x1 = d(log x1) = -log τ dv
    pts = torch.stack([x1, x2], -1).reshape(-1, 2)
    g = m.log_prob(pts).exp().reshape(x1.shape)
    total = float((w_tau[:, None] * torch.as_tensor(w)[None, :] * jac * g).sum())
    assert total == pytest.approx(1.0, abs=1e-8)


def test_corner_x1_x2_equal_one_when_shat_reaches_s() -> None:
    m = MomentumFractions(MasslessPropagator(S_MIN, S_HAD, 2.0), S_HAD)
    u = torch.tensor([[1.0, 0.3], [1.0, 0.0]], dtype=F64)
    x, log_det = m(u)
    assert torch.equal(x, torch.ones(2, 2, dtype=F64))
    assert bool((log_det == -math.inf).all())
    back, log_det_inv = m.inverse(x)
    assert torch.equal(back, torch.tensor([[1.0, 0.5], [1.0, 0.5]], dtype=F64))
    assert bool((log_det_inv == math.inf).all())


def test_range_is_the_band_between_two_hyperbolas() -> None:
    m = MomentumFractions(MasslessPropagator(4.0, 25.0, 2.0), 100.0)
    assert m.low.tolist() == [0.04, 0.04] and m.high.tolist() == [1.0, 1.0]
    x = torch.tensor([[0.5, 0.5], [0.2, 0.1], [0.9, 0.9], [0.2, 0.2], [0.04, 1.0]], dtype=F64)
    assert m.contains(x).tolist() == [True, False, False, True, True]
    with pytest.raises(ValueError, match=r"got 2 of 5 points outside, e\.g\. \[0\.2, 0\.1\]"):
        m.inverse(x)
    lp = m.log_prob(x, strict=False)
    assert lp[1] == -math.inf and lp[2] == -math.inf and torch.isfinite(lp[[0, 3, 4]]).all()
    assert m.domain_out == "unit"


def test_with_the_angles_it_is_the_two_body_phase_space_of_eq_60() -> None:
    # Rectangle([-1, -π], [1, π]) gives cos θ = 2 y3 - 1, φ = 2π y4 - π and the factor 4π of g2
    m = Product(
        [
            MomentumFractions(MasslessPropagator(S_MIN, S_HAD), S_HAD),
            Rectangle([-1.0, -math.pi], [1.0, math.pi]),
        ]
    ).double()
    u = torch.rand(100, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    x, log_det = m(u)
    torch.testing.assert_close(x[:, 2], 2 * u[:, 2] - 1, rtol=0, atol=1e-15)
    tau = x[:, 0] * x[:, 1]
    g1 = MasslessPropagator(S_MIN, S_HAD).log_prob((tau * S_HAD)[:, None])
    log_g = g1 + math.log(S_HAD) - torch.log(-4 * math.pi * torch.log(tau))  # eq. 63 × eq. 64
    torch.testing.assert_close(log_det, -log_g, atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: MomentumFractions(Identity(2), 1.0), TypeError, "one-dimensional"),
        (lambda: MomentumFractions(BreitWigner(0.0, 1.0), 1.0), ValueError, r"inside \(0, s\]"),
        (
            lambda: MomentumFractions(MasslessPropagator(1.0, 200.0), 100.0),
            ValueError,
            r"inside \(0, s\]",
        ),
        (lambda: MomentumFractions(MasslessPropagator(1.0, 2.0), math.inf), ValueError, "finite s"),
        (
            lambda: MomentumFractions(Identity(1, "real"), 1.0),
            ValueError,
            "start from \\[0, 1\\]",
        ),
    ],
)
def test_invalid_arguments_are_errors(make, error, message: str) -> None:
    with pytest.raises(error, match=message):
        make()
