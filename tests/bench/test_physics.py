"""The physics benchmark (Suite C): rows, agreement with VEGAS, scan and schedule configurations."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from nisflow import cli
from nisflow.bench import physics
from nisflow.bench.physics import (
    MethodResult,
    PhysicsBenchConfig,
    PhysicsBudget,
    PhysicsReport,
    ProcessCase,
    SpeedupRow,
    buffered_rows,
    compare_with_vegas,
    config_from_args,
    register_process,
    speedup_rows,
    width_scan_rows,
)
from nisflow.bench.physics_report import format_report, format_value_error
from nisflow.bench.throughput import machine_name
from nisflow.physics import DrellYan, EEToMuMu, EMuToEMu

TINY = PhysicsBudget(
    n_iter_survey=2, n_points_survey=2_000, n_iter_refine=1, n_points_refine=4_000, n_unweight=4_000
)


def _check_finite(r: MethodResult, budget: PhysicsBudget) -> None:
    assert math.isfinite(r.estimate) and r.estimate > 0
    assert math.isfinite(r.error) and r.error > 0
    assert math.isfinite(r.rel_var_per_point) and r.rel_var_per_point > 0
    assert 0 < r.unw_eff <= 1
    assert r.n_unweight > 0.5 * budget.n_unweight
    assert r.train_s >= 0


def test_speedup_rows_emu_agree_with_vegas_at_equal_evaluations():
    config = PhysicsBenchConfig(budget=TINY, speedup_cases=(("emu-emu", "single-channel"),))
    (row,) = speedup_rows(config, seed=0)
    assert row.process == "emu-emu" and row.setup == "single-channel" and row.d == 2
    for r in (row.nisflow, row.vegas):
        _check_finite(r, TINY)
    # nisflow spends exactly the budget; vegas rounds its batches down a little
    assert row.nisflow.n_train == TINY.n_survey and row.nisflow.n_refine == TINY.n_refine
    assert row.nisflow.n_steps > 0
    assert 0.7 * TINY.n_survey <= row.vegas.n_train <= TINY.n_survey
    assert 0.7 * TINY.n_refine <= row.vegas.n_refine <= TINY.n_refine
    assert abs(row.pull) < 5
    assert row.variance_ratio == pytest.approx(
        row.vegas.rel_var_per_point / row.nisflow.rel_var_per_point
    )
    assert row.unweighting_gain == pytest.approx(row.nisflow.unw_eff / row.vegas.unw_eff)


def test_pdf_processes_agree_with_vegas(pdf_dir):
    # d d~ -> d d~ single-channel and Drell-Yan with a wide Z' (Γ = 50 GeV) on three channels
    config = PhysicsBenchConfig(budget=TINY, speedup_cases=(("ddbar-ddbar", "single-channel"),))
    (dd,) = speedup_rows(config, seed=1, pdf_path=[str(pdf_dir)])
    budget = PhysicsBudget(2, 5_000, 1, 10_000, 10_000)
    process = DrellYan(zprime=dict(mass=400.0, width=50.0), pdf_path=pdf_dir)
    dy = compare_with_vegas(process, "three-channel", budget, seed=0, config=config)
    assert dy.nisflow.method == "nisflow 3ch" and dy.vegas.method == "VEGAS"
    for row, b in ((dd, TINY), (dy, budget)):
        _check_finite(row.nisflow, b)
        _check_finite(row.vegas, b)
        assert abs(row.pull) < 5, row.to_dict()
    assert dy.nisflow.n_train == budget.n_survey and dy.nisflow.n_refine == budget.n_refine


def test_missing_pdf_set_is_a_note_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.delenv("LHAPDF_DATA_PATH", raising=False)
    monkeypatch.delenv("LHAPATH", raising=False)
    monkeypatch.setattr("nisflow.physics.pdf._pythia_pdfdata", lambda: [])
    config = PhysicsBenchConfig(budget=TINY, speedup_cases=(("ddbar-ddbar", "single-channel"),))
    notes: list[str] = []
    assert speedup_rows(config, pdf_path=[str(tmp_path)], notes=notes) == []
    assert len(notes) == 1 and "d d~ -> d d~" in notes[0] and "NNPDF40_lo_as_01180" in notes[0]


def test_width_scan_sets_the_zprime_width(pdf_dir):
    config = PhysicsBenchConfig(budget=TINY, width_factors=(0.01, 100.0))
    rows = width_scan_rows(config, seed=0, pdf_path=[str(pdf_dir)])
    assert [r.factor for r in rows] == [0.01, 100.0]
    assert [r.width for r in rows] == pytest.approx([0.005, 50.0])
    for r in rows:
        assert (r.single.method, r.multi.method, r.vegas.method) == (
            "nisflow 1ch",
            "nisflow 3ch",
            "VEGAS",
        )
        for m in (r.single, r.multi, r.vegas):
            _check_finite(m, TINY)
    narrow, wide = rows
    # with fixed couplings the Z' peak cross section grows as 1/Γ: the narrow Z' dominates
    # (about 3.4e4 pb against 4.3e3 pb); the three-channel integrator must see it
    assert narrow.multi.estimate > 4 * wide.multi.estimate
    # a 50 GeV wide Z' is easy: every method agrees
    assert abs(wide.vegas.pull(wide.multi)) < 5
    assert abs(wide.single.pull(wide.multi)) < 5


def _buffered_process(setup: str, request: pytest.FixtureRequest) -> torch.nn.Module:
    if setup == "single-channel":
        return EMuToEMu()
    pdf_dir = request.getfixturevalue("pdf_dir")
    return DrellYan(zprime=dict(mass=400.0, width=0.5), pdf_path=pdf_dir)


@pytest.mark.parametrize("setup", ["single-channel", "three-channel"])
def test_buffered_training_reuses_points(setup, request):
    process = _buffered_process(setup, request)
    config = PhysicsBenchConfig(
        budget=PhysicsBudget(1, 2, 1, 2_000, 2_000),
        k_buff=(0, 2),
        buffered_setup=setup,
        buffered_iterations=3,
        buffered_points=1_000,
        batch_size=500,
    )
    rows = buffered_rows(config, seed=0, process=process)
    assert [(r.mode, r.k_buff, r.n_iter, r.n_epochs) for r in rows] == [
        ("buffered", 0, 3, 1),
        ("buffered", 2, 1, 3),
        ("online", 2, 1, 1),
    ]
    online, buffered, online_equal = (r.result for r in rows)
    # the integrator's own count of integrand calls during training
    assert online.n_train == 3_000
    assert buffered.n_train == 1_000 == online_equal.n_train
    # equal gradient steps, k_buff + 1 = 3 times fewer calls
    assert online.n_steps == buffered.n_steps == 6
    assert online_equal.n_steps == 2
    assert buffered.n_train * 3 == online.n_train
    for r in (online, buffered, online_equal):
        _check_finite(r, config.budget)
        assert r.n_refine == 2_000


def _result(method: str, estimate: float, error: float, rvpp: float, unw: float) -> MethodResult:
    return MethodResult(method, estimate, error, 100, 100, rvpp, unw, 100, 1.0, 5)


def test_rows_and_report_formatting():
    nis = _result("nisflow 1ch", 10.0, 0.03, 0.01, 0.5)
    veg = _result("VEGAS", 10.1, 0.04, 0.2, 0.1)
    row = SpeedupRow("emu-emu", "e- mu- -> e- mu-", "single-channel", 2, nis, veg)
    assert row.variance_ratio == pytest.approx(20.0)
    assert row.unweighting_gain == pytest.approx(5.0)
    assert row.pull == pytest.approx(-0.1 / 0.05)
    assert format_value_error(4693.27, 6.48) == "4693.3 ± 6.5"
    assert format_value_error(2.07342, 0.0012) == "2.0734 ± 0.0012"
    report = PhysicsReport("Test CPU", "cpu", 3, physics.QUICK, "cmd", speedup=[row])
    text = format_report(report)
    assert "machine: Test CPU" in text and "seed 3" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("| e- mu-"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:5] == ["10.000 ± 0.030", "10.100 ± 0.040", "-2.00"]
    assert cells[7] == "20" and cells[10] == "5"
    assert json.loads(json.dumps(report.to_dict()))["speedup"][0]["variance_ratio"] == 20.0


def test_main_writes_json_with_the_machine(tmp_path):
    out = tmp_path / "physics.json"
    argv = ["--quick", "--tables", "speedup", "--processes", "emu-emu", "--threads", "0"]
    argv += ["--n-survey", "2000", "--n-refine", "2000", "--n-unweight", "2000", "--out", str(out)]
    assert physics.main(argv) == 0
    data = json.loads(out.read_text())
    assert data["machine"] == machine_name(torch.device("cpu"))
    assert [r["process"] for r in data["speedup"]] == ["emu-emu"]
    assert data["width_scan"] == [] and data["buffered"] == []
    assert data["config"]["budget"]["n_points_survey"] == 400


def test_cli_routes_the_physics_suite(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(physics, "main", lambda argv, prog: seen.append((list(argv), prog)) or 0)
    path = str(tmp_path / "p.txt")
    assert cli.main(["bench", "--suite", "physics", "--quick", "--seed", "3", "--out", path]) == 0
    assert seen == [
        (
            ["--device", "cpu", "--seed", "3", "--quick", "--out", path],
            "nisflow bench --suite physics",
        )
    ]
    # Suite A options do not apply to the physics suite
    assert cli.main(["bench", "--suite", "physics", "--markdown", "t.md"]) == 2
    assert cli.build_parser().parse_args(["bench", "--quick"]).suite == "a"


def test_registered_process_joins_table_one():
    case = ProcessCase("ee-mumu", "e+ e- -> mu+ mu-", lambda _path: EEToMuMu(91.188))
    try:
        register_process(case)
        assert physics.QUICK.cases()[-1] == ("ee-mumu", "single-channel")
        assert ("drell-yan-zprime", "three-channel") in physics.FULL.cases()
        args = physics.build_parser().parse_args(["--quick", "--processes", "ee-mumu"])
        config = replace(config_from_args(args), budget=TINY)
        assert config.cases() == (("ee-mumu", "single-channel"),)
        (row,) = speedup_rows(config, seed=0)
    finally:
        physics.PROCESSES.pop("ee-mumu", None)
    assert row.label == "e+ e- -> mu+ mu-" and abs(row.pull) < 5
    assert ("ee-mumu", "single-channel") not in physics.QUICK.cases()
