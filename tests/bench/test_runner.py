"""The benchmark runner (uniform and VEGAS; nisflow when the integrator is importable) and plots."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch

from nisflow.baselines.record import Budget
from nisflow.bench.functions import BenchFunction, get_function
from nisflow.bench.runner import method_unavailable_reason, run_benchmark, run_one

TINY = Budget(n_survey=8_000, n_refine=8_000, n_iter_survey=4, n_iter_refine=2, n_unweight=4_000)


def test_row_figures_follow_their_definitions() -> None:
    res = run_one(get_function("camel2"), "vegas", TINY, seed=1)
    row = res.row
    assert "error_msg" not in row
    assert row["rel_var_per_point"] == pytest.approx(
        row["n_evals_refine"] * (row["error"] / row["exact"]) ** 2
    )
    assert row["pull"] == pytest.approx((row["estimate"] - row["exact"]) / row["error"])
    assert abs(row["pull"]) < 5
    assert 0 < row["unw_eff"] <= 1 and row["events_per_s"] > 0
    assert row["device"] == "cpu" and row["budget"]["n_survey"] == TINY.n_survey
    json.dumps(row)  # plain JSON


def test_pull_includes_the_reference_error() -> None:
    from nisflow.bench.functions import SLASHED2_REFERENCE

    slashed = get_function("slashed2")  # with its Monte Carlo reference instead of quadrature
    mc = BenchFunction("slashed2", 2, slashed.f, *SLASHED2_REFERENCE, "MC reference value")
    res = run_one(mc, "uniform", TINY, seed=0)
    row = res.row
    err = math.hypot(row["error"], row["exact_error"])
    assert row["exact_error"] > 0
    assert row["pull"] == pytest.approx((row["estimate"] - row["exact"]) / err)


def test_failing_method_gives_a_row_not_an_exception() -> None:
    def bad(x: torch.Tensor) -> torch.Tensor:
        return x  # wrong shape

    fn = BenchFunction("bad2", 2, bad, 1.0, 0.0, "returns (n, 2)")
    row = run_one(fn, "uniform", TINY).row
    assert row["error_msg"].startswith("ValueError: Expected the integrand to return shape")


def test_run_benchmark_writes_jsonl_and_skips_missing_methods(tmp_path) -> None:
    out = tmp_path / "r.jsonl"
    lines: list[str] = []
    results = run_benchmark(
        ["camel2"],
        ["uniform", "vegas", "madnis"],
        seeds=[0, 1],
        budget=TINY,
        out=out,
        log=lines.append,
    )
    methods = ["uniform", "vegas"] + (["madnis"] if importlib.util.find_spec("madnis") else [])
    assert [r.row["method"] for r in results] == [m for m in methods for _ in (0, 1)]
    assert len(out.read_text().splitlines()) == len(results)
    if importlib.util.find_spec("madnis") is None:
        assert method_unavailable_reason("madnis") is not None
        assert any("madnis skipped" in line for line in lines)
    assert method_unavailable_reason("uniform") is None
    assert "Expected a method" in method_unavailable_reason("zunis")


@pytest.mark.skipif(importlib.util.find_spec("nisflow.integrator") is None, reason="no integrator")
def test_nisflow_method_runs() -> None:
    row = run_one(get_function("camel2"), "nisflow", TINY, seed=0).row
    assert "error_msg" not in row, row.get("error_msg")
    assert abs(row["pull"]) < 5
    assert row["n_evals_survey"] <= TINY.n_survey and row["n_evals_refine"] <= TINY.n_refine
    assert row["history"] and row["survey_s"] > 0 and 0 < row["unw_eff"] <= 1


def test_plots_are_written(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from nisflow.bench.plots import plot_results

    results = run_benchmark(
        ["camel2", "camel4"], ["uniform", "vegas"], budget=TINY, n_keep_points=2_000
    )
    files = plot_results(results, tmp_path / "plots")
    names = sorted(p.name for p in files)
    assert names == ["camel2_density.png", "camel2_variance.png", "camel4_variance.png"]
    for p in files:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
