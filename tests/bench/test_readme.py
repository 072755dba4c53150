"""The README's benchmark table is generated from the committed results and kept in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from nisflow.bench.readme import END, START, main, readme_table, replace_block

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "suite_a_cpu.jsonl"
RESULTS_GPU = ROOT / "bench" / "results" / "suite_a_h200.jsonl"


def _row(function, method, rv, unw, pull=0.1, seed=0):
    return {
        "function": function,
        "d": 2,
        "method": method,
        "seed": seed,
        "device": "cpu",
        "machine": "test cpu",
        "exact": 1.0,
        "estimate": 1.0,
        "error": 0.01,
        "rel_var_per_point": rv,
        "unw_eff": unw,
        "survey_s": 1.5,
        "refine_s": 0.5,
        "events_per_s": 1e5,
        "chi2_dof": 1.0,
        "pull": pull,
        "budget": {"n_survey": 100, "n_refine": 100, "n_iter_survey": 2, "n_iter_refine": 2},
    }


def test_table_marks_the_best_and_gives_the_vegas_ratio():
    rows = [
        _row("camel2", "nisflow", 0.005, 0.7, pull=-1.5),
        _row("camel2", "vegas", 0.01, 0.2),
        _row("camel2", "uniform", 7.0, 0.06, pull=0.3),
        _row("camel4", "nisflow", 0.5, 0.1),
        _row("camel4", "vegas", 0.1, 0.1),
    ]
    table = readme_table(rows, source="r.jsonl")
    lines = table.splitlines()
    assert lines[2].split("|")[3:6] == [" nisflow ", " VEGAS+ ", " uniform "]
    camel2 = next(x for x in lines if x.startswith("| camel2"))
    assert "**0.005** / 0.7 / 1.5" in camel2 and camel2.rstrip().endswith("| 2 |")
    camel4 = next(x for x in lines if x.startswith("| camel4"))
    assert "**0.1**" in camel4 and camel4.rstrip().endswith("| 0.2 |")
    assert "[-1.5, 0.3]" in table and "test cpu [cpu]" in table and "100 survey" in table


def test_replace_block_needs_both_markers():
    text = f"a\n{START}\nold\n{END}\nb\n"
    assert replace_block(text, "new\n") == f"a\n{START}\nnew\n{END}\nb\n"
    with pytest.raises(ValueError, match="markers"):
        replace_block("no markers", "x")
    with pytest.raises(ValueError, match="successful"):
        readme_table([{**_row("f", "nisflow", 1, 1), "error_msg": "boom"}], source="r")


@pytest.mark.skipif(
    not (RESULTS.exists() and RESULTS_GPU.exists()), reason=f"no committed results at {RESULTS}"
)
def test_committed_readme_table_is_generated_from_the_committed_results(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = ROOT / "README.md"
    files = [str(RESULTS.relative_to(ROOT)), str(RESULTS_GPU.relative_to(ROOT))]
    assert main([*files, "--readme", str(readme), "--check"]) == 0
    # and --check notices a stale table
    stale = tmp_path / "README.md"
    stale.write_text(readme.read_text().replace("| camel2 |", "| camel2 (old) |"))
    assert main([*files, "--readme", str(stale), "--check"]) == 1
