"""|M|² against explicit Dirac-matrix evaluations, known total cross sections and A_FB."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import integrate

from nisflow.physics.matrix_elements import (
    DOWN,
    ELECTRON,
    MUON,
    QUARKS,
    ZPrime,
    ddbar_to_ddbar,
    ee_to_mumu,
    emu_to_emu,
    qqbar_to_ll,
)
from nisflow.physics.parameters import StandardModel, z_couplings

from . import dirac_reference as dr

SM = StandardModel()


def _bosons(f1, f2, photon, z, zprime=None):
    out = []
    if photon:
        out.append((0.0, 0.0, (SM.ee * f1.charge,) * 2, (SM.ee * f2.charge,) * 2))
    if z:
        c1, c2 = z_couplings(SM, f1.t3, f1.charge), z_couplings(SM, f2.t3, f2.charge)
        out.append((SM.mz, SM.wz, (c1.left, c1.right), (c2.left, c2.right)))
    if zprime is not None:
        c1, c2 = zprime.couplings_of(SM, f1), zprime.couplings_of(SM, f2)
        out.append((zprime.mass, zprime.width, (c1.left, c1.right), (c2.left, c2.right)))
    return out


def _prop(q2, m, w):
    return 1.0 / (q2 - m * m + 1j * m * w)


def _ref_s_channel(p1, p2, k1, k2, bosons):
    """Σ_spins |M|² for f(p1) f̄(p2) -> f'(k1) f̄'(k2), explicit spinors."""
    s = dr.minkowski(p1 + p2, p1 + p2).real
    total = 0.0
    for a, b, c, d in dr.spin_states():
        u1, v2 = dr.spinor_u(p1, a), dr.spinor_v(p2, b)
        u3, v4 = dr.spinor_u(k1, c), dr.spinor_v(k2, d)
        amp = 0j
        for m, w, g1, g2 in bosons:
            j1 = dr.current(dr.bar(v2), u1, *g1)
            j2 = dr.current(dr.bar(u3), v4, *g2)
            amp += dr.minkowski(j1, j2) * _prop(s, m, w)
        total += abs(amp) ** 2
    return total


def _ref_t_channel(p1, p2, k1, k2, bosons):
    """Σ_spins |M|² for f(p1) f'(p2) -> f(k1) f'(k2) by t-channel exchange."""
    t = dr.minkowski(p1 - k1, p1 - k1).real
    total = 0.0
    for a, b, c, d in dr.spin_states():
        u1, u2 = dr.spinor_u(p1, a), dr.spinor_u(p2, b)
        u3, u4 = dr.spinor_u(k1, c), dr.spinor_u(k2, d)
        amp = 0j
        for m, w, g1, g2 in bosons:
            amp += dr.minkowski(
                dr.current(dr.bar(u3), u1, *g1), dr.current(dr.bar(u4), u2, *g2)
            ) * _prop(t, m, w)
        total += abs(amp) ** 2
    return total


def _ref_ddbar(p1, p2, k1, k2, bosons):
    """Σ_spins,colours |M|² for d(p1) d̄(p2) -> d(k1) d̄(k2): M = c_s M_s - c_t M_t."""
    s = dr.minkowski(p1 + p2, p1 + p2).real
    t = dr.minkowski(p1 - k1, p1 - k1).real
    total = 0.0
    for a, b, c, d in dr.spin_states():
        u1, v2 = dr.spinor_u(p1, a), dr.spinor_v(p2, b)
        u3, v4 = dr.spinor_u(k1, c), dr.spinor_v(k2, d)
        ms = sum(
            dr.minkowski(dr.current(dr.bar(v2), u1, *g1), dr.current(dr.bar(u3), v4, *g2))
            * _prop(s, m, w)
            for m, w, g1, g2 in bosons
        )
        mt = sum(
            dr.minkowski(dr.current(dr.bar(u3), u1, *g1), dr.current(dr.bar(v2), v4, *g2))
            * _prop(t, m, w)
            for m, w, g1, g2 in bosons
        )
        for i1, i2, j1, j2 in np.ndindex(3, 3, 3, 3):  # colours of d(p1), d̄(p2), d(k1), d̄(k2)
            cs = float(i1 == i2 and j1 == j2)
            ct = float(i1 == j1 and i2 == j2)
            total += abs(cs * ms - ct * mt) ** 2
    return total


def _points(n, seed, s_range=(20.0, 400.0)):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        s = rng.uniform(*s_range) ** 2
        yield s, rng.uniform(-1, 1), rng.uniform(0, 2 * np.pi), rng.normal(size=3)


@pytest.mark.parametrize("photon,z", [(True, False), (False, True), (True, True)])
def test_ee_to_mumu_against_dirac_matrices(photon, z):
    for s, c, ph, axis in _points(6, 0):
        p1, p2, k1, k2 = dr.massless_2to2(s, c, ph, axis)
        want = 0.25 * _ref_s_channel(p1, p2, k1, k2, _bosons(ELECTRON, MUON, photon, z))
        t = torch.tensor([dr.minkowski(p1 - k1, p1 - k1).real], dtype=torch.float64)
        got = ee_to_mumu(torch.tensor([s], dtype=torch.float64), t, SM, photon=photon, z=z)
        assert float(got) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("pid", [1, 2, 3, 4])
def test_qqbar_to_ll_with_zprime_against_dirac_matrices(pid):
    zp = ZPrime(mass=400.0, width=0.5, scale_left=0.7, scale_right=1.3)
    q = QUARKS[pid]
    for s, c, ph, axis in _points(4, pid, (30.0, 500.0)):
        p1, p2, k1, k2 = dr.massless_2to2(s, c, ph, axis)
        want = _ref_s_channel(p1, p2, k1, k2, _bosons(q, ELECTRON, True, True, zp)) * 3 / (4 * 9)
        t = torch.tensor([dr.minkowski(p1 - k1, p1 - k1).real], dtype=torch.float64)
        got = qqbar_to_ll(torch.tensor([s], dtype=torch.float64), t, pid, SM, zprime=zp)
        assert float(got) == pytest.approx(want, rel=1e-10)


def test_emu_to_emu_against_dirac_matrices():
    for s, c, ph, axis in _points(6, 9):
        p1, p2, k1, k2 = dr.massless_2to2(s, c, ph, axis)
        for photon in (False, True):
            want = 0.25 * _ref_t_channel(p1, p2, k1, k2, _bosons(ELECTRON, MUON, photon, True))
            t = torch.tensor([dr.minkowski(p1 - k1, p1 - k1).real], dtype=torch.float64)
            got = emu_to_emu(torch.tensor([s], dtype=torch.float64), t, SM, photon=photon)
            assert float(got) == pytest.approx(want, rel=1e-10)


def test_ddbar_to_ddbar_against_dirac_matrices():
    for s, c, ph, axis in _points(3, 4):
        p1, p2, k1, k2 = dr.massless_2to2(s, c, ph, axis)
        for photon in (False, True):
            want = _ref_ddbar(p1, p2, k1, k2, _bosons(DOWN, DOWN, photon, True)) / 36.0
            t = torch.tensor([dr.minkowski(p1 - k1, p1 - k1).real], dtype=torch.float64)
            got = ddbar_to_ddbar(torch.tensor([s], dtype=torch.float64), t, SM, photon=photon)
            assert float(got) == pytest.approx(want, rel=1e-10)


def test_bhabha_limit_of_reference_and_library():
    """Pure QED with unit colour reproduces Bhabha: Σ|M|² = 8e⁴[(s²+u²)/t² + 2u²/(st) + (t²+u²)/s²]."""
    s, c = 100.0**2, 0.3
    t, u = -s * (1 - c) / 2, -s * (1 + c) / 2
    e4 = SM.ee**4
    want = 8 * e4 * ((s * s + u * u) / t**2 + 2 * u * u / (s * t) + (t * t + u * u) / s**2)
    p1, p2, k1, k2 = dr.massless_2to2(s, c, 0.4, np.array([0.0, 0.0, 1.0]))
    lepton_bosons = _bosons(ELECTRON, ELECTRON, True, False)
    ms_mt = 0.0
    for a, b, cc, d in dr.spin_states():
        u1, v2, u3, v4 = (
            dr.spinor_u(p1, a),
            dr.spinor_v(p2, b),
            dr.spinor_u(k1, cc),
            dr.spinor_v(k2, d),
        )
        g = lepton_bosons[0][2]
        ms = dr.minkowski(dr.current(dr.bar(v2), u1, *g), dr.current(dr.bar(u3), v4, *g)) / s
        mt = dr.minkowski(dr.current(dr.bar(u3), u1, *g), dr.current(dr.bar(v2), v4, *g)) / t
        ms_mt += abs(ms - mt) ** 2
    assert ms_mt == pytest.approx(want, rel=1e-10)


def _sigma_ee(sqrt_s, photon, z):
    """σ(e+e- -> μ+μ-) in GeV⁻² by Gauss-Legendre quadrature over cos θ (exact: degree-2 integrand)."""
    c, w = np.polynomial.legendre.leggauss(8)
    s = torch.full((8,), sqrt_s**2, dtype=torch.float64)
    me = ee_to_mumu(s, -0.5 * s * (1 - torch.tensor(c)), SM, photon=photon, z=z).numpy()
    return float((w * me).sum()) * 2 * math.pi / (64 * math.pi**2 * sqrt_s**2)


def test_qed_total_cross_section():
    for sqrt_s in (10.0, 30.0, 200.0):
        assert _sigma_ee(sqrt_s, True, False) == pytest.approx(
            4 * math.pi * SM.alpha**2 / (3 * sqrt_s**2), rel=1e-12
        )


def test_z_peak_cross_section():
    """σ(s = M_Z², Z only) = 12π Γ_ee Γ_μμ / (M_Z² Γ_Z²), Γ_ff = M_Z (g_L² + g_R²) / (24π)."""
    c = z_couplings(SM, -0.5, -1.0)
    gamma_ll = SM.mz * (c.left**2 + c.right**2) / (24 * math.pi)
    want = 12 * math.pi * gamma_ll**2 / (SM.mz**2 * SM.wz**2)
    assert _sigma_ee(SM.mz, False, True) == pytest.approx(want, rel=1e-12)


def test_forward_backward_asymmetry_sign_below_the_z():
    """γ-Z interference: A_FB ≈ -3 G_F s M_Z² / (16√2 π α (M_Z² - s)) at √s = 35 GeV (PETRA: ≈ -0.1)."""
    sqrt_s = 35.0
    s = torch.full((2,), sqrt_s**2, dtype=torch.float64)
    fw, _ = integrate.quad(lambda c: float(ee_to_mumu(s[:1], -0.5 * s[:1] * (1 - c), SM)), 0, 1)
    bw, _ = integrate.quad(lambda c: float(ee_to_mumu(s[:1], -0.5 * s[:1] * (1 - c), SM)), -1, 0)
    afb = (fw - bw) / (fw + bw)
    approx = (
        -3
        * SM.gf
        * sqrt_s**2
        * SM.mz**2
        / (16 * math.sqrt(2) * math.pi * SM.alpha * (SM.mz**2 - sqrt_s**2))
    )
    assert afb < 0
    assert afb == pytest.approx(approx, rel=0.1)


def test_parameters_match_mg5_defaults():
    assert SM.mw == pytest.approx(80.419, abs=5e-4)
    assert SM.sw2 == pytest.approx(0.2222, abs=1e-4)
    changed = SM.replace(mz=91.1876)
    assert changed.mz == 91.1876 and changed.mw != SM.mw
    with pytest.raises(dataclasses.FrozenInstanceError):
        SM.mz = 90.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="positive finite"):
        StandardModel(gf=-1.0)


def test_runs_on_device_and_float32(device):
    s = torch.tensor([50.0**2, 91.0**2, 300.0**2], dtype=torch.float64)
    t = -0.3 * s
    want = qqbar_to_ll(s, t, 2, SM, zprime=ZPrime())
    got = qqbar_to_ll(s.to(device), t.to(device), 2, SM, zprime=ZPrime()).cpu()
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
    got32 = qqbar_to_ll(s.float(), t.float(), 2, SM, zprime=ZPrime())
    assert got32.dtype == torch.float32
    torch.testing.assert_close(got32.double(), want, rtol=1e-4, atol=0)
