"""The three-jet process p p -> u c -> u c g (ZüNIS benchmark) as an integrand on [0, 1]^7."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.physics import ZUNIS_CUTS, Cuts, UCToUCG
from nisflow.physics.parameters import GEV2_TO_PB
from nisflow.physics.phase_space import massless_volume

from . import qcd_reference as qr


@pytest.fixture(scope="module")
def shared_pdfs():
    from tests.conftest import shared_dir

    root = shared_dir()
    if root is None or not (root / "data" / "pdfsets" / "NNPDF40_lo_as_01180").is_dir():
        pytest.skip("shared PDF data not found")
    return root / "data" / "pdfsets"


@pytest.fixture(scope="module")
def ucg(shared_pdfs):
    return UCToUCG(pdf_path=shared_pdfs)


def _points(n, seed):
    x = torch.rand(n, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x[:, :2] = 10 ** (-3 * x[:, :2])  # momentum fractions spread over [1e-3, 1] (log-uniform)
    return x


def test_setup_and_arguments(ucg, shared_pdfs):
    assert ucg.d == 7 and ucg.sqrt_s == 1000.0 and ucg.cuts == ZUNIS_CUTS
    assert ucg.scale == pytest.approx(91.188) and ucg.x_min == 1e-4
    assert ucg.alpha_s == pytest.approx(0.118, abs=2e-4)  # the set's αs(M_Z)
    with pytest.raises(ValueError, match="pt_min > 0 and delta_r_min > 0"):
        UCToUCG(pdf=ucg.pdf, cuts=Cuts(pt_min=1.0))
    with pytest.raises(ValueError, match="orientations"):
        UCToUCG(pdf=ucg.pdf, orientations="c_first")
    with pytest.raises(ValueError, match="sqrt_s"):
        UCToUCG(-1.0, pdf=ucg.pdf)
    assert UCToUCG(pdf=ucg.pdf, alpha_s=0.2).alpha_s == 0.2


def test_dsigma_is_pdfs_times_the_feynman_diagrams(ucg):
    """dσ/dx = Σ f f |M|² Φ3(ŝ) / (2ŝ) with |M|² from the explicit diagrams of the reference."""
    x = _points(400, seed=1)
    f = ucg(x)
    p = ucg.momenta(x)  # lab frame; |M|² is Lorentz invariant
    kept = torch.nonzero(f > 0).squeeze(-1)[:12]
    assert len(kept) == 12
    q2 = torch.tensor([91.188**2], dtype=torch.float64)
    for i in kept.tolist():
        x1, x2 = float(x[i, 0]), float(x[i, 1])
        shat = x1 * x2 * 1e6
        pdf = {
            (b, pid): float(ucg.pdf.xfx(pid, torch.tensor([xb], dtype=torch.float64), q2)) / xb
            for b, xb in ((1, x1), (2, x2))
            for pid in (2, 4)
        }
        m = [p[i, j].numpy() for j in range(5)]
        me_u1 = qr.uc_to_ucg_me2(m[0], m[1], m[2], m[3], m[4], ucg.alpha_s)
        me_u2 = qr.uc_to_ucg_me2(m[1], m[0], m[2], m[3], m[4], ucg.alpha_s)
        lum = pdf[1, 2] * pdf[2, 4] * me_u1 + pdf[1, 4] * pdf[2, 2] * me_u2
        expected = lum * massless_volume(3, shat) / (2 * shat) * GEV2_TO_PB
        assert float(f[i]) == pytest.approx(expected, rel=1e-8)


def test_cuts_momenta_and_zeros(ucg, device):
    proc = ucg.to(device)
    x = _points(4000, seed=2)
    x[:5, 0] = 0.0  # no collision
    x[5:10, 1] = 5e-5  # below x_min
    x[10:15, 2:] = 0.0  # RAMBO's degenerate corner
    x = x.to(device)
    f = proc(x)
    assert f.shape == (4000,) and bool(torch.isfinite(f).all())
    assert bool((f[:15] == 0).all())
    assert float(f.min()) > -1e-9 * float(f.max())  # PDFs interpolate to tiny negatives near x=1
    p = proc.momenta(x)[15:]
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2:].sum(1), rtol=1e-10, atol=1e-8)
    torch.testing.assert_close(
        p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1), torch.zeros_like(p[..., 0]), rtol=0, atol=1e-6
    )
    keep = ZUNIS_CUTS.passed(p[:, 2:]) & (x[15:, 0] >= 1e-4) & (x[15:, 1] >= 1e-4)
    assert bool(((f[15:] != 0) == keep).all())
    assert 0.2 < float(keep.double().mean()) < 0.99
    assert proc(x.float()).dtype == torch.float32
    proc.to("cpu")


def test_orientations_are_mirror_images(ucg):
    """The c-from-beam-1 term is the u-from-beam-1 term of the z-mirrored point:
    ``x1 <-> x2`` and every RAMBO polar angle ``cos θ -> -cos θ`` (r1, r3 -> 1 - r)."""
    u_first = UCToUCG(pdf=ucg.pdf, orientations="u_first")
    x = _points(3000, seed=3)
    mirror = x.clone()
    mirror[:, 0], mirror[:, 1] = x[:, 1], x[:, 0]
    mirror[:, 3] = 1 - x[:, 3]
    mirror[:, 5] = 1 - x[:, 5]
    both = ucg(x)
    torch.testing.assert_close(both, u_first(x) + u_first(mirror), rtol=1e-9, atol=0)
    assert float((u_first(x) != both).double().mean()) > 0.2


def test_events_carry_consistent_flavours_and_colours(ucg):
    x = _points(2000, seed=4)
    x = x[ucg(x) > 0][:500]
    ev = ucg.events(x, generator=torch.Generator().manual_seed(5))
    assert ev.momenta.shape == (500, 5, 4)
    pdg = ev.pdg
    assert bool((pdg[:, 2:] == torch.tensor([2, 4, 21])).all())
    assert bool((torch.sort(pdg[:, :2], -1).values == torch.tensor([2, 4])).all())
    u_first = pdg[:, 0] == 2
    assert 0.05 < float(u_first.double().mean()) < 0.95  # both orientations occur
    col = ev.colours
    for i in range(len(ev)):
        # each tag links an incoming colour to an outgoing colour, or an outgoing colour to an
        # outgoing anticolour (a gluon's); the u's colour follows the u or goes through the gluon
        incoming = {int(col[i, j, 0]) for j in (0, 1)}
        out_col = [int(col[i, j, 0]) for j in (2, 3, 4)]
        out_anti = [int(col[i, j, 1]) for j in (2, 3, 4) if int(col[i, j, 1]) != 0]
        assert sorted(out_col) == sorted(incoming | set(out_anti))
        assert len(out_anti) == 1 and out_anti[0] not in incoming
    assert bool((ev.alpha_qcd == ucg.alpha_s).all()) and bool((ev.scale == ucg.scale).all())
    flows = (col[:, 4, 0] == col[:, 0, 0]).double().mean()
    assert 0.05 < float(flows) < 0.95  # both colour flows occur


@pytest.mark.slow
def test_nisflow_and_vegas_agree_on_the_cross_section(ucg):
    """ZüNIS's setup integrated with nisflow (small budget) and with VEGAS agree within 5σ."""
    from nisflow import Integrator
    from nisflow.baselines import Budget, run_vegas

    integrator = Integrator(
        d=ucg.d,
        f=ucg,
        seed=0,
        n_points_survey=20_000,
        n_points_refine=20_000,
        n_iter_survey=10,
        n_iter_refine=5,
        verbose=False,
    )
    nis = integrator.integrate()
    vegas = run_vegas(
        ucg,
        ucg.d,
        Budget(n_survey=200_000, n_refine=200_000, n_iter_survey=10, n_iter_refine=5, n_unweight=0),
        seed=0,
    )
    combined = math.hypot(nis.sdev, vegas.error)
    assert nis.sdev < 0.03 * nis.mean and vegas.error < 0.03 * vegas.estimate
    assert abs(nis.mean - vegas.estimate) < 5 * combined, (nis, vegas.estimate, vegas.error)
    assert 3e9 < nis.mean < 5e9  # pb: the cuts let 0.1 GeV jets through, σ is millibarns
