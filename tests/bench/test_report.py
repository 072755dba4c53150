"""Markdown reports and JSON lines from benchmark rows."""

from __future__ import annotations

import math

import pytest

from nisflow.bench.report import aggregate, format_number, markdown_table, read_rows, write_rows


def row(function: str, method: str, seed: int, rvpp: float, pull: float) -> dict:
    return {
        "function": function,
        "d": 2,
        "method": method,
        "seed": seed,
        "machine": "test cpu",
        "device": "cpu",
        "exact": 1.0,
        "estimate": 1.0 + 0.01 * pull,
        "error": 0.01,
        "pull": pull,
        "rel_var_per_point": rvpp,
        "unw_eff": 0.5,
        "survey_s": 1.0,
        "refine_s": 0.5,
        "events_per_s": 1e6,
        "chi2_dof": 1.0,
    }


ROWS = [
    row("camel2", "uniform", 0, 7.0, 1.0),
    row("camel2", "uniform", 1, 5.0, -1.0),
    row("camel2", "vegas", 0, 0.01, 0.5),
    {
        "function": "camel2",
        "d": 2,
        "method": "madnis",
        "seed": 0,
        "exact": 1.0,
        "error_msg": "RuntimeError: boom",
    },
]


def test_aggregate_over_seeds() -> None:
    aggs = {a["method"]: a for a in aggregate(ROWS)}
    assert aggs["uniform"]["rel_var_per_point"] == pytest.approx(6.0)
    assert aggs["uniform"]["pull_mean"] == pytest.approx(0.0)
    assert aggs["uniform"]["pull_std"] == pytest.approx(math.sqrt(2))
    assert aggs["uniform"]["n_seeds"] == 2
    assert math.isnan(aggs["vegas"]["pull_std"])
    assert aggs["madnis"]["n_failed"] == 1 and "boom" in aggs["madnis"]["error_msg"]


def test_markdown_marks_best_and_failures() -> None:
    md = markdown_table(ROWS, title="t")
    lines = md.splitlines()
    assert lines[0] == "## t"
    assert "| function | uniform | vegas | madnis |" in lines
    compact = next(line for line in lines if line.startswith("| camel2 | 6"))
    assert "**0.01** / 0.5 / 1" in compact and "failed" in compact
    assert any("| camel2 | madnis | failed: RuntimeError: boom" in line for line in lines)
    assert "Machine: test cpu [cpu]" in md


def test_jsonl_round_trip(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    write_rows(ROWS[:2], path)
    write_rows(ROWS[2:], path, append=True)
    assert read_rows(path) == ROWS
    path.write_text('{"a": 1}\nnot json\n')
    with pytest.raises(ValueError, match="line 2"):
        read_rows(path)


def test_format_number() -> None:
    assert format_number(float("nan")) == "-"
    assert format_number(0.000012345) == "1.23e-05"
    assert format_number(0.0123456) == "0.0123"
    assert format_number(2_500_000.0, 2) == "2.5e+06"
