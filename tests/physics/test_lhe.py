"""LHE files written by nisflow, read back with pylhe; per-event flavour and colour content."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.physics import DDbarToDDbar, DrellYan, EEToMuMu, PartonEvents, write_lhe
from nisflow.unweighting import hit_or_miss

pylhe = pytest.importorskip("pylhe")


def _read(path):
    lhe = pylhe.LHEFile.fromfile(str(path))
    events = list(lhe.events)
    return lhe.init, events


def _check_conservation(events, rel=1e-8):
    for ev in events:
        tot = [0.0, 0.0, 0.0, 0.0]
        scale = 0.0
        for p in ev.particles:
            sign = -1.0 if p.status == -1 else 1.0
            for i, v in enumerate((p.e, p.px, p.py, p.pz)):
                tot[i] += sign * v
            scale = max(scale, abs(p.e))
        assert max(abs(t) for t in tot) <= rel * scale, tot


def _check_colours(events):
    """Colour conservation: incoming colours + outgoing anticolours = incoming anticolours +
    outgoing colours (as multisets of non-zero tags)."""
    for ev in events:
        left, right = [], []
        for p in ev.particles:
            incoming = p.status == -1
            (left if incoming else right).append(p.color1)
            (right if incoming else left).append(p.color2)
        assert sorted(c for c in left if c) == sorted(c for c in right if c)


def test_unweighted_ee_to_mumu_round_trip(tmp_path):
    proc = EEToMuMu(91.188)
    g = torch.Generator().manual_seed(5)
    x = torch.rand(20_000, 2, dtype=torch.float64, generator=g)
    f = proc(x)
    sigma, err = float(f.mean()), float(f.std() / math.sqrt(len(f)))
    xu, wu = hit_or_miss(x, f, float(f.max()), generator=g)
    assert 300 < len(xu) < 20_000
    path = tmp_path / "ee.lhe"
    write_lhe(
        path,
        proc.events(xu),
        wu,
        beams=proc.beams,
        cross_section=sigma,
        error=err,
        header={"note": "a <test> & more"},
    )
    init, events = _read(path)
    assert len(events) == len(xu)
    assert init.procInfo[0].xSection == pytest.approx(sigma, rel=1e-9)
    assert init.procInfo[0].error == pytest.approx(err, rel=1e-9)
    assert init.initInfo.beamA == 11 and init.initInfo.beamB == -11
    assert init.initInfo.energyA == pytest.approx(91.188 / 2)
    assert init.initInfo.weightingStrategy == 3
    # unweighted: equal weights summing to sigma
    ws = [ev.eventinfo.weight for ev in events]
    assert sum(ws) == pytest.approx(sigma, rel=1e-8)
    assert max(ws) == pytest.approx(min(ws), rel=1e-9)
    assert [p.id for p in events[0].particles] == [11, -11, 13, -13]
    _check_conservation(events)
    # the momenta are the process's momenta
    p0 = proc.momenta(xu[:1])[0]
    for j, part in enumerate(events[0].particles):
        assert [part.e, part.px, part.py, part.pz] == pytest.approx(
            p0[j].tolist(), rel=1e-9, abs=1e-9
        )


def test_weighted_drell_yan_gzip_round_trip(tmp_path, pdf_dir):
    proc = DrellYan(pdf_path=pdf_dir)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(400, 4, dtype=torch.float64, generator=g)
    w = proc(x)
    sigma = float(w.mean())
    path = tmp_path / "dy.lhe.gz"
    write_lhe(
        path,
        proc.events(x, generator=g),
        w,
        beams=proc.beams,
        cross_section=sigma,
        error=1.0,
        weighted=True,
    )
    init, events = _read(path)
    assert len(events) == 400
    assert init.initInfo.weightingStrategy == 4
    assert init.initInfo.PDFsetA == 331900 and init.initInfo.beamA == 2212
    assert init.procInfo[0].xSection == pytest.approx(sigma, rel=1e-9)
    assert sum(ev.eventinfo.weight for ev in events) == pytest.approx(sigma, rel=1e-8)
    _check_conservation(events)
    _check_colours(events)
    for ev in events:
        ids = [p.id for p in ev.particles]
        assert ids[0] == -ids[1] and abs(ids[0]) in (1, 2, 3, 4) and ids[2:] == [11, -11]
        assert ev.eventinfo.scale == pytest.approx(91.188)
        assert 0.11 < ev.eventinfo.aqcd < 0.125


def test_drell_yan_flavours_follow_the_cross_section(pdf_dir):
    """At one point repeated N times, each channel is drawn at the rate of its term of dσ."""
    proc = DrellYan(pdf_path=pdf_dir)
    x = torch.tensor([[0.35, 0.7, 0.3, 0.6]], dtype=torch.float64)
    _, terms = proc._channels(x)
    prob = (terms / terms.sum())[0]
    n = 40_000
    ev = proc.events(x.expand(n, 4), generator=torch.Generator().manual_seed(9))
    for j, q in enumerate(proc.flavours):
        for col, first in ((2 * j, q), (2 * j + 1, -q)):
            count = int((ev.pdg[:, 0] == first).sum())
            p = float(prob[col])
            assert abs(count - n * p) < 5 * math.sqrt(n * p * (1 - p)) + 1, (q, count, n * p)
    assert bool((ev.pdg[:, 1] == -ev.pdg[:, 0]).all())
    # the same seed gives the same flavours
    again = proc.events(x.expand(n, 4), generator=torch.Generator().manual_seed(9))
    assert torch.equal(ev.pdg, again.pdg)


def test_ddbar_orientation_and_colour_flows(pdf_dir, tmp_path):
    proc = DDbarToDDbar(pdf_path=pdf_dir)
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3000, 4, dtype=torch.float64, generator=g)
    f = proc(x)
    keep = f > 0
    ev = proc.events(x[keep], generator=g)
    assert bool((ev.pdg[:, 2:] == torch.tensor([1, -1])).all())
    assert set(ev.pdg[:, 0].tolist()) == {1, -1}
    s_flow = ev.colours[:, 2, 0] == 502  # outgoing d carries a new colour: annihilation
    assert 0 < int(s_flow.sum()) < len(ev)
    path = tmp_path / "dd.lhe"
    write_lhe(path, ev, f[keep], beams=proc.beams, cross_section=1.0, error=0.1, weighted=True)
    _, events = _read(path)
    assert len(events) == int(keep.sum())
    _check_colours(events)
    _check_conservation(events)


def test_write_lhe_rejects_bad_input(tmp_path):
    proc = EEToMuMu(50.0)
    ev = proc.events(torch.rand(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"weights of shape \(3,\)"):
        write_lhe(
            tmp_path / "a.lhe", ev, torch.ones(4), beams=proc.beams, cross_section=1.0, error=0.1
        )
    with pytest.raises(ValueError, match="finite cross section"):
        write_lhe(
            tmp_path / "a.lhe",
            ev,
            torch.ones(3),
            beams=proc.beams,
            cross_section=math.nan,
            error=0.1,
        )
    with pytest.raises(ValueError, match="pdg of shape"):
        PartonEvents(
            ev.momenta, ev.pdg[:, :3], ev.status, ev.mothers, ev.colours, ev.masses, ev.scale,
            ev.alpha_qed, ev.alpha_qcd,
        )  # fmt: skip
