"""PDF reader and interpolation: node values, an independent scalar reference of LHAPDF's
log-bicubic scheme, Pythia's own LHAGrid1 reader, the momentum sum rule, extrapolation, αs, errors."""

from __future__ import annotations

import bisect
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nisflow.physics.pdf import (
    PDF,
    PDFNotFoundError,
    find_pdf_set,
    load_pdf,
    read_info,
    read_lhagrid1,
)

SET = "NNPDF40_lo_as_01180"


@pytest.fixture(scope="module")
def _pdf_cache() -> dict:
    return {}


@pytest.fixture
def pdf(pdf_dir: Path, _pdf_cache: dict) -> PDF:
    if "pdf" not in _pdf_cache:
        _pdf_cache["pdf"] = load_pdf(SET, paths=pdf_dir)
    return _pdf_cache["pdf"]


@pytest.fixture
def grid(pdf_dir: Path, _pdf_cache: dict) -> list[dict]:
    if "grid" not in _pdf_cache:
        _pdf_cache["grid"] = read_lhagrid1(pdf_dir / SET / f"{SET}_0000.dat")[1]
    return _pdf_cache["grid"]


# ------------------------------------------------------------------------------------------------
# An independent, scalar transcription of LHAPDF's LogBicubicInterpolator (one point at a time,
# derivatives recomputed on the fly from the raw table), used as the reference.
# ------------------------------------------------------------------------------------------------


def _cubic(t, vl, vdl, vh, vdh):
    return (
        (2 * t**3 - 3 * t**2 + 1) * vl
        + (t**3 - 2 * t**2 + t) * vdl
        + (-2 * t**3 + 3 * t**2) * vh
        + (t**3 - t**2) * vdh
    )


def _ref_xfx(grid: list[dict], pid: int, x: float, q2: float) -> float:
    lows = [sg["q"][0] ** 2 for sg in grid]
    k = max(bisect.bisect_right(lows, q2) - 1, 0)
    sg = grid[k]
    xs, q2s = sg["x"], sg["q"] ** 2
    col = list(sg["pids"]).index(pid)
    f = sg["xf"][:, :, col]
    lx, lq = np.log(xs), np.log(q2s)
    ix = len(xs) - 2 if x == xs[-1] else bisect.bisect_right(list(xs), x) - 1
    iq = len(q2s) - 2 if q2 == q2s[-1] else bisect.bisect_right(list(q2s), q2) - 1
    ix, iq = min(max(ix, 0), len(xs) - 2), min(max(iq, 0), len(q2s) - 2)

    def ddlogx(i, j):
        if i == 0:
            return (f[1, j] - f[0, j]) / (lx[1] - lx[0])
        if i == len(xs) - 1:
            return (f[i, j] - f[i - 1, j]) / (lx[i] - lx[i - 1])
        return 0.5 * (
            (f[i, j] - f[i - 1, j]) / (lx[i] - lx[i - 1])
            + (f[i + 1, j] - f[i, j]) / (lx[i + 1] - lx[i])
        )

    dlx = lx[ix + 1] - lx[ix]
    tx = (math.log(x) - lx[ix]) / dlx

    def at_q(j):
        return _cubic(tx, f[ix, j], ddlogx(ix, j) * dlx, f[ix + 1, j], ddlogx(ix + 1, j) * dlx)

    d1 = lq[iq + 1] - lq[iq]
    tq = (math.log(q2) - lq[iq]) / d1
    vl, vh = at_q(iq), at_q(iq + 1)
    if iq == 0:
        vdl = (vh - vl) / d1
        vdh = 0.5 * (vdl + (at_q(iq + 2) - vh) / (lq[iq + 2] - lq[iq + 1]))
    elif iq + 1 == len(q2s) - 1:
        vdh = (vh - vl) / d1
        vdl = 0.5 * (vdh + (vl - at_q(iq - 1)) / (lq[iq] - lq[iq - 1]))
    else:
        vdl = 0.5 * ((vh - vl) / d1 + (vl - at_q(iq - 1)) / (lq[iq] - lq[iq - 1]))
        vdh = 0.5 * ((vh - vl) / d1 + (at_q(iq + 2) - vh) / (lq[iq + 2] - lq[iq + 1]))
    return _cubic(tq, vl, vdl * d1, vh, vdh * d1)


# ------------------------------------------------------------------------------------------------


def test_values_at_grid_nodes_equal_the_table(pdf, grid):
    for sg in grid:
        xs, qs = sg["x"], sg["q"]
        ix = np.array([0, 1, 50, 120, len(xs) - 2, len(xs) - 1])
        iq = np.arange(1 if sg is not grid[0] else 0, len(qs))  # threshold knots belong upstairs
        X, Q = np.meshgrid(xs[ix], qs[iq], indexing="ij")
        got = pdf.xfx_many(list(sg["pids"]), torch.tensor(X), torch.tensor(Q**2)).numpy()
        want = sg["xf"][ix][:, iq]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_interpolation_matches_scalar_lhapdf_reference(pdf, grid):
    rng = np.random.default_rng(7)
    x = 10 ** rng.uniform(-8.9, -1e-3, 150)
    q = 10 ** rng.uniform(np.log10(1.66), 4.99, 150)
    # include points on the flavour thresholds and on the top edge
    x = np.concatenate([x, [0.3, 1e-4, 0.999]])
    q = np.concatenate([q, [4.92, 1.65, 1e5]])
    for pid in (21, 2, -1, 4):
        got = pdf.xfx(pid, torch.tensor(x), torch.tensor(q * q)).numpy()
        want = np.array([_ref_xfx(grid, pid, xi, qi * qi) for xi, qi in zip(x, q, strict=True)])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_agrees_with_pythia_lhagrid1_reader(pdf_dir):
    p8 = pytest.importorskip("pythia8mc")
    pdf = load_pdf(SET, paths=pdf_dir)
    py = p8.Pythia("", False)
    py.readString(f"PDF:pSet = LHAGrid1:{(pdf_dir / SET / f'{SET}_0000.dat').resolve()}")
    ref = py.getPDFPtr(2212)
    rng = np.random.default_rng(3)
    x = 10 ** rng.uniform(-5, math.log10(0.5), 300)
    q = 10 ** rng.uniform(math.log10(20.0), 4.0, 300)
    pids = [-2, -1, 21, 1, 2, 3, 4]
    ours = pdf.xfx_many(pids, torch.tensor(x), torch.tensor(q * q)).numpy()
    theirs = np.array([[ref.xf(p, xi, qi * qi) for p in pids] for xi, qi in zip(x, q, strict=True)])
    rel = np.abs(ours - theirs) / np.abs(theirs)
    # Pythia interpolates with 4-point polynomials instead of LHAPDF's Hermite splines: the two
    # schemes agree to a few 1e-6 typically and to ~1e-4 at worst between the knots.
    assert np.median(rel) < 2e-5
    assert rel.max() < 3e-4


def test_momentum_sum_rule_at_100_gev(pdf):
    log_x = torch.linspace(math.log(1e-9), 0.0, 40001, dtype=torch.float64)
    x = torch.exp(log_x)
    xf = pdf.xfx_many(list(pdf.pids), x, torch.full_like(x, 100.0**2)).sum(-1)
    integral = torch.trapezoid(xf * x, log_x)  # ∫ x f dx = ∫ x f x dlog x
    assert abs(float(integral) - 1.0) < 5e-3


def test_per_point_pid_and_absent_flavours(pdf):
    x = torch.tensor([0.01, 0.1, 0.2], dtype=torch.float64)
    q2 = torch.full_like(x, 1e4)
    pid = torch.tensor([2, 0, 22])
    got = pdf.xfx(pid, x, q2)
    assert float(got[0]) == pytest.approx(float(pdf.xfx(2, x[:1], q2[:1])[0]), rel=1e-14)
    assert float(got[1]) == pytest.approx(float(pdf.xfx(21, x[1:2], q2[1:2])[0]), rel=1e-14)
    assert float(got[2]) == 0.0  # the photon is not in the grid


def test_continuation_extrapolation_follows_lhapdf_rules(pdf):
    q2 = torch.tensor([1e4], dtype=torch.float64)
    # small x: log(xf) linear in log x through the first two knots
    x = torch.tensor([1e-11], dtype=torch.float64)
    f0 = pdf.xfx(21, torch.tensor([pdf.x_min], dtype=torch.float64), q2)
    f1 = pdf.xfx(21, torch.tensor([pdf.x_min1], dtype=torch.float64), q2)
    t = (math.log(1e-11) - math.log(pdf.x_min)) / (math.log(pdf.x_min1) - math.log(pdf.x_min))
    want = math.exp(math.log(float(f0)) + t * (math.log(float(f1)) - math.log(float(f0))))
    assert float(pdf.xfx(21, x, q2)) == pytest.approx(want, rel=1e-12)
    # small Q²: vanishes as Q² -> 0 and is continuous at Q²_min
    xq = torch.tensor([0.1, 0.1], dtype=torch.float64)
    vals = pdf.xfx(2, xq, torch.tensor([pdf.q2_min * (1 - 1e-9), 1e-6], dtype=torch.float64))
    at_min = pdf.xfx(2, xq[:1], torch.tensor([pdf.q2_min], dtype=torch.float64))
    assert float(vals[0]) == pytest.approx(float(at_min), rel=1e-6)
    assert abs(float(vals[1])) < 1e-4 * abs(float(at_min))
    # large Q²: continuous at Q²_max
    hi = pdf.xfx(2, xq[:1], torch.tensor([pdf.q2_max * (1 + 1e-9)], dtype=torch.float64))
    at_max = pdf.xfx(2, xq[:1], torch.tensor([pdf.q2_max], dtype=torch.float64))
    assert float(hi) == pytest.approx(float(at_max), rel=1e-6)


def test_nearest_freezes_and_error_raises(pdf_dir):
    near = load_pdf(SET, paths=pdf_dir, extrapolation="nearest")
    x = torch.tensor([1e-12, 0.1], dtype=torch.float64)
    q2 = torch.tensor([1e4, 0.5], dtype=torch.float64)
    edge = near.xfx(
        1,
        torch.tensor([near.x_min, 0.1], dtype=torch.float64),
        torch.tensor([1e4, near.q2_min], dtype=torch.float64),
    )
    torch.testing.assert_close(near.xfx(1, x, q2), edge, rtol=1e-14, atol=0)
    strict = load_pdf(SET, paths=pdf_dir, extrapolation="error")
    with pytest.raises(ValueError, match="inside the grid"):
        strict.xfx(1, x, q2)
    with pytest.raises(ValueError, match="0 < x <="):
        near.xfx(
            1, torch.tensor([1.5], dtype=torch.float64), torch.tensor([1e4], dtype=torch.float64)
        )


def test_alphas_from_info(pdf, pdf_dir):
    info = read_info(pdf_dir / SET / f"{SET}.info")
    qs = torch.tensor(info["AlphaS_Qs"], dtype=torch.float64)
    vals = torch.tensor(info["AlphaS_Vals"], dtype=torch.float64)
    torch.testing.assert_close(pdf.alphas(qs**2), vals, rtol=1e-12, atol=0)
    assert float(pdf.alphas(torch.tensor(91.1876**2))) == pytest.approx(info["AlphaS_MZ"], abs=2e-6)
    a = pdf.alphas(torch.tensor([1.0, 2.0, 1e10], dtype=torch.float64))
    assert float(a[0]) > float(a[1]) > float(a[2]) > 0  # runs down, power-law below, frozen above


def test_search_by_environment_and_clear_errors(pdf_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("LHAPDF_DATA_PATH", f"{tmp_path}:{pdf_dir}")
    dat, info = find_pdf_set(SET)
    assert dat.name == f"{SET}_0000.dat" and info is not None
    with pytest.raises(PDFNotFoundError, match=str(tmp_path)):
        load_pdf("NoSuchSet_lo")
    with pytest.raises(PDFNotFoundError, match="member 7"):
        load_pdf(SET, member=7)
    bad = tmp_path / "Broken"
    bad.mkdir()
    (bad / "Broken.info").write_text("Format: lhagrid1\n")
    (bad / "Broken_0000.dat").write_text(
        "PdfType: central\nFormat: lhagrid1\n---\n0.1 0.2\n1.0 2.0\n21\n1.0 2.0 3.0\n---\n"
    )
    with pytest.raises(ValueError, match="Broken_0000.dat"):
        load_pdf("Broken")


def test_runs_on_device(pdf, device):
    x = torch.tensor([1e-10, 1e-4, 0.3], dtype=torch.float64)
    q2 = torch.tensor([1e4, 2.0, 1e8], dtype=torch.float64)
    want = pdf.xfx_many([21, 2, -1], x, q2)
    got = pdf.to(device).xfx_many([21, 2, -1], x.to(device), q2.to(device)).cpu()
    pdf.to("cpu")
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
