"""`nisflow generate`: train on a process, print σ, write unweighted events (tiny budgets)."""

from __future__ import annotations

import math
import re

import pytest
import torch

from nisflow.cli import main
from nisflow.physics import EEToMuMu

TINY = [
    "--survey-points", "2000", "--survey-iters", "2",
    "--refine-points", "5000", "--refine-iters", "2", "--quiet",
]  # fmt: skip


def _sigma(text: str) -> tuple[float, float]:
    m = re.search(r"sigma = (\S+) \+- (\S+) pb", text)
    assert m, text
    return float(m.group(1)), float(m.group(2))


def test_generate_ee_mumu_lhe(tmp_path, capsys):
    pylhe = pytest.importorskip("pylhe")
    out = tmp_path / "ee.lhe"
    rc = main(["generate", "ee-mumu", "-n", "300", "--out", str(out), "--seed", "3", *TINY])
    text = capsys.readouterr().out
    assert rc == 0, text
    sigma, err = _sigma(text)
    # |M|² is quadratic in cos θ: a 3-point Gauss rule in u_θ gives the exact σ
    nodes = torch.tensor([0.5 - 0.5 * math.sqrt(0.6), 0.5, 0.5 + 0.5 * math.sqrt(0.6)])
    x = torch.stack([nodes, torch.full_like(nodes, 0.5)], -1).double()
    exact = float((EEToMuMu(91.188)(x) * torch.tensor([5, 8, 5]) / 18).sum())
    assert abs(sigma - exact) < 5 * err + 1e-6 * exact, (sigma, err, exact)
    lhe = pylhe.LHEFile.fromfile(str(out))
    events = list(lhe.events)
    assert len(events) == 300
    assert lhe.init.procInfo[0].xSection == pytest.approx(sigma, rel=1e-5)
    for ev in events:
        assert [p.id for p in ev.particles] == [11, -11, 13, -13]
        p = ev.particles
        assert p[0].e + p[1].e == pytest.approx(p[2].e + p[3].e, rel=1e-9)
        assert p[2].pz + p[3].pz == pytest.approx(0.0, abs=1e-8)


def test_generate_drell_yan_h5(tmp_path, capsys, monkeypatch, pdf_dir):
    h5py = pytest.importorskip("h5py")
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(pdf_dir))
    out = tmp_path / "dy.h5"
    rc = main(["generate", "drell-yan", "-n", "200", "--out", str(out), "--seed", "1", *TINY])
    text = capsys.readouterr().out
    assert rc == 0, text
    sigma, err = _sigma(text)
    assert "MG5aMC 4349.7" in text  # the reference is printed beside our number
    assert abs(sigma - 4349.7) < 6 * err  # a tiny budget: loose but real
    with h5py.File(out, "r") as fh:
        assert fh["x"].shape == (200, 4) and fh["momenta"].shape == (200, 4, 4)
        assert fh.attrs["kind"] == "unweighted"
        assert fh.attrs["cross_section"] == pytest.approx(sigma, rel=1e-5)
        p = torch.from_numpy(fh["momenta"][...])
        pdg = torch.from_numpy(fh["pdg"][...])
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2] + p[:, 3], rtol=1e-9, atol=1e-7)
    assert bool((pdg[:, 0] == -pdg[:, 1]).all()) and bool((pdg[:, 2] == 11).all())


def test_generate_missing_pdf_names_the_search_path(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(tmp_path))
    rc = main(
        [
            "generate",
            "drell-yan",
            "-n",
            "10",
            "--out",
            str(tmp_path / "a.lhe"),
            "--pdf",
            "NoSuchSet",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert "NoSuchSet" in err and str(tmp_path) in err and "LHAPDF_DATA_PATH" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["generate", "top-pairs", "-n", "5", "--out", "a.lhe"], "Expected a process"),
        (["generate", "ee-mumu", "-n", "5", "--out", "a.lhe", "--zprime"], "--zprime"),
        (["generate", "ee-mumu", "-n", "0", "--out", "a.lhe"], "-n"),
        (["generate", "ee-mumu", "-n", "5", "--out", "a.txt"], ".lhe"),
    ],
)
def test_generate_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
