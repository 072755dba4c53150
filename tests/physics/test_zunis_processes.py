"""The ZüNIS benchmark processes e- mu- -> e- mu- and d d̄ -> d d̄ (Z only, with cuts), integrated
with VEGAS and compared with quadratures computed here from the analytic formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from nisflow.physics import ZUNIS_CUTS, Cuts, DDbarToDDbar, EMuToEMu, ddbar_to_ddbar
from nisflow.physics.parameters import GEV2_TO_PB, StandardModel

vegas = pytest.importorskip("vegas")

SM = StandardModel()


def _vegas(f, d, *, neval, nitn, seed):
    """Integrate a torch integrand on [0,1]^d with VEGAS (warm-up iterations discarded)."""

    @vegas.lbatchintegrand
    def g(x):
        return f(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()

    integ = vegas.Integrator(
        d * [[0.0, 1.0]], rtol=0, ran_array_generator=np.random.default_rng(seed).random
    )
    integ(g, nitn=5, neval=neval)
    r = integ(g, nitn=nitn, neval=neval)
    return r.mean, r.sdev


def _z_couplings(t3, q):
    """g_L, g_R of the Z to a fermion, from sin²θ_W = 1 - M_W²/M_Z² (written out here)."""
    mw2 = SM.mz**2 / 2 + math.sqrt(
        SM.mz**4 / 4 - math.pi * SM.alpha * SM.mz**2 / (math.sqrt(2) * SM.gf)
    )
    sw2 = 1 - mw2 / SM.mz**2
    g = math.sqrt(4 * math.pi * SM.alpha) / math.sqrt(sw2 * (1 - sw2))
    return g * (t3 - q * sw2), -g * q * sw2


def test_cuts_on_hand_made_momenta():
    cuts = Cuts(pt_min=10.0, eta_max=2.0, delta_r_min=0.4)
    a = torch.tensor([50.0, 50.0, 0.0, 0.0], dtype=torch.float64)  # pT 50, η 0, φ 0
    b = torch.tensor([50.0, -50.0, 0.0, 0.0], dtype=torch.float64)  # φ = π
    close = torch.tensor([50.0, 50 * math.cos(0.3), 50 * math.sin(0.3), 0.0], dtype=torch.float64)
    eta3 = math.sinh(3.0)
    forward = torch.tensor([50 * math.cosh(3.0), 50.0, 0.0, 50 * eta3], dtype=torch.float64)
    soft = torch.tensor([5.0, 5.0, 0.0, 0.0], dtype=torch.float64)
    p = torch.stack(
        [
            torch.stack([a, b]),
            torch.stack([a, close]),  # ΔR = 0.3
            torch.stack([forward, b]),  # η = 3
            torch.stack([soft, b]),  # pT = 5
            torch.stack([torch.zeros(4, dtype=torch.float64), b]),  # undefined η fails
        ]
    )
    assert cuts.passed(p).tolist() == [True, False, False, False, False]
    assert Cuts().passed(p).all()
    with pytest.raises(ValueError, match="pt_min"):
        Cuts(pt_min=-1.0)


def test_emu_to_emu_against_a_quadrature_of_dsigma_dcos():
    sqrt_s = 1000.0
    s = sqrt_s**2
    proc = EMuToEMu(sqrt_s)
    gle, gre = _z_couplings(-0.5, -1.0)
    same, opposite = gle**4 + gre**4, 2 * gle**2 * gre**2  # e and mu have the same couplings

    def dsigma_dcos(c):
        t, u = -0.5 * s * (1 - c), -0.5 * s * (1 + c)
        me2 = (same * s * s + opposite * u * u) / ((t - SM.mz**2) ** 2 + (SM.mz * SM.wz) ** 2)
        return me2 / (32 * math.pi * s) * GEV2_TO_PB

    c_max = min(math.tanh(ZUNIS_CUTS.eta_max), math.sqrt(1 - (2 * ZUNIS_CUTS.pt_min / sqrt_s) ** 2))
    exact, _ = integrate.quad(dsigma_dcos, -c_max, c_max, epsabs=0, epsrel=1e-12)
    mean, sdev = _vegas(proc, 2, neval=20_000, nitn=6, seed=1)
    assert sdev < 2e-3 * exact
    assert abs(mean - exact) < 5 * sdev, (mean, sdev, exact)
    # without cuts the full angular range counts
    full, _ = integrate.quad(dsigma_dcos, -1, 1, epsabs=0, epsrel=1e-12)
    x = torch.rand(50_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    v = EMuToEMu(sqrt_s, cuts=None)(x)
    assert abs(float(v.mean()) - full) < 5 * float(v.std()) / math.sqrt(len(v))
    assert full > exact


@pytest.fixture(scope="module")
def ddbar(request):
    from tests.conftest import shared_dir

    root = shared_dir()
    if root is None or not (root / "data" / "pdfsets" / "NNPDF40_lo_as_01180").is_dir():
        pytest.skip("shared PDF data not found")
    return DDbarToDDbar(pdf_path=root / "data" / "pdfsets")


def _angular_integral(proc, x1, x2):
    """∫ dΩ dσ/dΩ at fixed momentum fractions from a quadrature in cos θ over the allowed range."""
    s_hat = x1 * x2 * proc.s
    y = 0.5 * math.log(x1 / x2)
    cuts = proc.cuts
    if abs(y) >= cuts.eta_max or s_hat <= 4 * cuts.pt_min**2:
        return 0.0
    c_max = min(math.tanh(cuts.eta_max - abs(y)), math.sqrt(1 - 4 * cuts.pt_min**2 / s_hat))
    q2 = torch.tensor([SM.mz**2], dtype=torch.float64)
    fx = {
        (i, pid): float(proc.pdf.xfx(pid, torch.tensor([xv], dtype=torch.float64), q2)) / xv
        for i, xv in ((1, x1), (2, x2))
        for pid in (1, -1)
    }

    def integrand(c):
        sh = torch.tensor([s_hat], dtype=torch.float64)
        t = -0.5 * sh * (1 - c)
        u = -0.5 * sh * (1 + c)
        lum = fx[1, 1] * fx[2, -1] * ddbar_to_ddbar(sh, t) + fx[1, -1] * fx[2, 1] * ddbar_to_ddbar(
            sh, u
        )
        return float(lum) * 2 * math.pi / (64 * math.pi**2 * s_hat) * GEV2_TO_PB

    val, _ = integrate.quad(integrand, -c_max, c_max, epsabs=0, epsrel=1e-10)
    return val


@pytest.mark.parametrize("u1,u2", [(0.1, 0.08315), (0.02, 0.3), (0.4, 0.5), (0.9, 0.004)])
def test_ddbar_at_fixed_parton_kinematics(ddbar, u1, u2):
    exact = _angular_integral(ddbar, u1, u2)
    fixed = torch.tensor([u1, u2], dtype=torch.float64)

    def slice_(x):
        return ddbar(torch.cat([fixed.expand(x.shape[0], 2), x], -1))

    if exact == 0.0:  # |y| beyond the rapidity cut: the whole slice is cut away
        x = torch.rand(1000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        assert float(slice_(x).abs().max()) == 0.0
        return
    mean, sdev = _vegas(slice_, 2, neval=5_000, nitn=5, seed=2)
    assert sdev < 3e-3 * exact
    assert abs(mean - exact) < 5 * sdev, (mean, sdev, exact)


def test_ddbar_output_momenta_and_cuts(ddbar, device):
    proc = ddbar.to(device)
    x = torch.rand(2000, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x[:3, 0] = 0.0  # x1 = 0: no collision, zero and finite
    x = x.to(device)
    f = proc(x)
    assert f.shape == (2000,) and bool(torch.isfinite(f).all())
    # the PDF grids interpolate to tiny negative values as x -> 1 (as LHAPDF does): no clamping
    assert float(f.min()) > -1e-9 * float(f.max())
    assert bool((f[:3] == 0).all())
    p = proc.momenta(x)[3:]
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2] + p[:, 3], rtol=1e-10, atol=1e-8)
    passed = ZUNIS_CUTS.passed(p[:, 2:])
    assert bool(((f[3:] != 0) == passed).all())
    assert proc(x.float()).dtype == torch.float32
    proc.to("cpu")


def _ddbar_sigma_by_quadrature(proc, n_y=16, n_c=16, epsrel=1e-5):
    """σ = ∫ dτ dy F(τ, y) (x1 = √τ e^y, x2 = √τ e^-y, dx1 dx2 = dτ dy): adaptive quadrature in
    log τ (split at the Z pole), Gauss-Legendre in y on each side of 0 and in cos θ over the
    allowed range |atanh cos θ| < η_max - |y|, sin θ > 2 pT_min / √ŝ."""
    cuts = proc.cuts
    yn, yw = np.polynomial.legendre.leggauss(n_y)
    cn, cw = np.polynomial.legendre.leggauss(n_c)
    q2 = torch.tensor(SM.mz**2, dtype=torch.float64)

    def in_log_tau(log_tau):
        tau = math.exp(log_tau)
        s_hat = tau * proc.s
        if s_hat <= 4 * cuts.pt_min**2:
            return 0.0
        y_max = min(cuts.eta_max, -0.5 * log_tau)
        # nodes in y on [-y_max, 0] and [0, y_max]
        y = np.concatenate([0.5 * y_max * (yn - 1), 0.5 * y_max * (yn + 1)])
        wy = np.concatenate([yw, yw]) * 0.5 * y_max
        c_max = np.minimum(
            np.tanh(cuts.eta_max - np.abs(y)), math.sqrt(1 - 4 * cuts.pt_min**2 / s_hat)
        )
        c = c_max[:, None] * cn[None, :]  # (n_y, n_c)
        wc = c_max[:, None] * cw[None, :]
        x1 = torch.from_numpy(math.sqrt(tau) * np.exp(y))
        x2 = torch.from_numpy(math.sqrt(tau) * np.exp(-y))
        f1 = proc.pdf.xfx_many([1, -1], x1, q2) / x1[:, None]
        f2 = proc.pdf.xfx_many([1, -1], x2, q2) / x2[:, None]
        sh = torch.full(c.shape, s_hat, dtype=torch.float64)
        ct = torch.from_numpy(c)
        me_t = ddbar_to_ddbar(sh, -0.5 * sh * (1 - ct))
        me_u = ddbar_to_ddbar(sh, -0.5 * sh * (1 + ct))
        lum = (f1[:, :1] * f2[:, 1:]) * me_t + (f1[:, 1:] * f2[:, :1]) * me_u
        ang = (lum.numpy() * wc).sum(-1) * 2 * math.pi / (64 * math.pi**2 * s_hat) * GEV2_TO_PB
        return float((ang * wy).sum()) * tau  # dτ = τ dlog τ

    lo, pole = math.log(4 * cuts.pt_min**2 / proc.s), math.log(SM.mz**2 / proc.s)
    total = 0.0
    for a, b in ((lo, pole - 0.2), (pole - 0.2, pole), (pole, pole + 0.2), (pole + 0.2, 0.0)):
        val, _ = integrate.quad(in_log_tau, a, b, epsabs=0, epsrel=epsrel, limit=200)
        total += val
    return total


def test_ddbar_total_cross_section_against_quadrature(ddbar):
    exact = _ddbar_sigma_by_quadrature(ddbar)
    mean, sdev = _vegas(ddbar, 4, neval=40_000, nitn=8, seed=5)
    assert sdev < 0.01 * exact
    assert abs(mean - exact) < 5 * sdev, (mean, sdev, exact)
