"""Process integrands: analytic e+e- cross sections, Jacobians of the Drell-Yan mapping, momenta,
and (slow) the MG5aMC Drell-Yan cross section."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.physics.kinematics import mass, rapidity
from nisflow.physics.parameters import GEV2_TO_PB, StandardModel
from nisflow.physics.processes import DrellYan, EEToMuMu

SM = StandardModel()


def _mc(f, d, n, seed, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, dtype=torch.float64, generator=g).to(device)
    v = f(x)
    return float(v.mean()), float(v.std()) / math.sqrt(n)


def test_ee_to_mumu_qed_total_cross_section(device):
    proc = EEToMuMu(30.0, photon=True, z=False)
    # the integrand is polynomial in u_θ: a 3-point Gauss rule in u_θ is exact
    nodes = torch.tensor(
        [0.5 - 0.5 * math.sqrt(0.6), 0.5, 0.5 + 0.5 * math.sqrt(0.6)], dtype=torch.float64
    )
    weights = torch.tensor([5 / 18, 8 / 18, 5 / 18], dtype=torch.float64)
    x = torch.stack([nodes, torch.full_like(nodes, 0.3)], -1).to(device)
    sigma = float((proc(x).cpu() * weights).sum())
    assert sigma == pytest.approx(4 * math.pi * SM.alpha**2 / (3 * 900.0) * GEV2_TO_PB, rel=1e-12)
    p = proc.momenta(x)
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2] + p[:, 3])


def test_ee_to_mumu_rejects_points_outside_the_cube():
    with pytest.raises(ValueError, match="unit hypercube"):
        EEToMuMu(91.0)(torch.tensor([[1.5, 0.2]], dtype=torch.float64))


@pytest.fixture
def drell_yan(pdf_dir):
    return DrellYan(pdf_path=pdf_dir)


def test_drell_yan_mappings_give_the_same_integral(drell_yan, pdf_dir):
    """Different maps of m_ll² (power laws ν = 1, 2 and a Z Breit-Wigner) have different Jacobians
    but must integrate to the same σ; a narrow window around the Z makes flat MC precise enough."""
    pdf = drell_yan.pdf
    results = []
    for kw in (
        dict(mapping="power", nu=2.0),
        dict(mapping="power", nu=1.0),
        dict(mapping="breit_wigner"),
    ):
        proc = DrellYan(pdf=pdf, mll_min=15.0, **kw)
        results.append(_mc(proc, 4, 200_000, 3))
    ref = results[2]
    for mean, err in results[:2]:
        assert abs(mean - ref[0]) < 5 * math.hypot(err, ref[1]), results


def test_drell_yan_output_and_momenta(drell_yan, device):
    proc = drell_yan.to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1000, 4, dtype=torch.float64, generator=g).to(device)
    f = proc(x)
    assert f.shape == (1000,) and f.dtype == torch.float64 and bool((f >= 0).all())
    assert bool(torch.isfinite(f).all())
    p = proc.momenta(x)
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2] + p[:, 3], rtol=1e-10, atol=1e-8)
    mll = mass(p[:, 2] + p[:, 3])
    assert bool((mll >= 15.0 - 1e-9).all())
    x1, x2 = p[:, 0, 0] / 6500.0, p[:, 1, 0] / 6500.0
    torch.testing.assert_close(rapidity(p[:, 2] + p[:, 3]), 0.5 * torch.log(x1 / x2))
    assert proc(x.float()).dtype == torch.float32
    proc.to("cpu")


def test_drell_yan_zprime_adds_a_peak(drell_yan):
    with_zp = DrellYan(
        pdf=drell_yan.pdf,
        zprime=dict(mass=400.0, width=0.5),
        mapping="breit_wigner",
        resonance="zprime",
    )
    decoupled = dict(mass=400.0, width=0.5, scale_left=0.0, scale_right=0.0)
    no_zp = DrellYan(
        pdf=drell_yan.pdf, zprime=decoupled, mapping="breit_wigner", resonance="zprime"
    )
    x = torch.rand(20000, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x[:, 0] = 0.5  # m_ll = 400 GeV exactly
    ratio = float(with_zp(x).sum() / no_zp(x).sum())
    assert ratio > 10  # a resonance with Γ/M = 1/800 dominates at its peak


def test_drell_yan_rejects_bad_settings(drell_yan):
    with pytest.raises(ValueError, match="quark flavours"):
        DrellYan(pdf=drell_yan.pdf, flavours=(5,))
    with pytest.raises(ValueError, match="mll_min"):
        DrellYan(pdf=drell_yan.pdf, mll_min=-1.0)


@pytest.mark.slow
def test_drell_yan_reproduces_mg5(pdf_dir):
    """γ + Z, NNPDF4.0 LO, μ_F = M_Z, 4 flavours, m_ee > 15 GeV: MG5aMC gives 4349.7 ± 0.32 pb."""
    pytest.importorskip("vegas")
    from nisflow.physics.check_drell_yan import MG5_ERROR_PB, MG5_SIGMA_PB, integrate_drell_yan

    sigma, err, chi2 = integrate_drell_yan(
        DrellYan(pdf_path=pdf_dir), n_eval=1_000_000, n_itn=8, seed=2, verbose=False
    )
    assert err < 0.3
    assert abs(sigma - MG5_SIGMA_PB) < 2 * math.hypot(err, MG5_ERROR_PB), (sigma, err)
