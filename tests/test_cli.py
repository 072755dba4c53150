"""The ``nisflow`` command line, run in-process through ``main(argv)`` with tiny budgets."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import torch

from nisflow.cli import main

TINY = [
    "--survey-points",
    "2000",
    "--survey-iters",
    "2",
    "--refine-points",
    "2000",
    "--refine-iters",
    "2",
    "--seed",
    "0",
    "-q",
]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def user_module(tmp_path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "mymod_cli.py").write_text(
        textwrap.dedent("""
        import torch

        def f(x):
            return torch.exp(-((x - 0.5) ** 2).sum(-1) / 0.1)

        def two_args(x, y):
            return x.sum(-1)

        def needs_4d(x):
            return x[:, 3] + 1.0

        def wrong_shape(x):
            return x

        not_a_function = 3
    """)
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_integrate_builtin_prints_result_with_pull(capsys) -> None:
    code, out, err = run(["integrate", "camel", "--dim", "2", *TINY], capsys)
    assert code == 0, err
    line = out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"camel \(d=2\): 0\.\d+\(\d+\)   exact 0\.062806\d+   pull [+-]\d\.\d\d", line
    )
    pull = float(line.rsplit("pull", 1)[1])
    assert abs(pull) < 5


def test_integrate_summary_and_save_then_sample(user_module, capsys) -> None:
    pytest.importorskip("h5py")
    from nisflow.events import read_events

    argv = ["integrate", "mymod_cli:f", "--dim", "2", *TINY[:-1], "--save", "model.pt"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "itn  phase" in out  # the summary table
    assert (user_module / "model.pt").is_file()
    assert "mymod_cli:f" in (user_module / "model.pt.integrand.json").read_text()

    code, out, err = run(["sample", "model.pt", "-n", "3000", "--out", "w.h5"], capsys)
    assert code == 0, err
    ev = read_events(user_module / "w.h5")
    assert ev.kind == "weighted" and ev.x.shape == (3000, 2) and ev.w.shape == (3000,)
    # the weights are f/q: their mean estimates the integral pi*0.1*erf(0.5/sqrt(0.1))^2
    exact = torch.pi * 0.1 * torch.erf(torch.tensor(0.5 / 0.1**0.5, dtype=torch.float64)) ** 2
    assert abs(float(ev.w.mean()) - float(exact)) < 5 * float(ev.w.std()) / 3000**0.5

    code, out, err = run(
        ["sample", "model.pt", "-n", "500", "--out", "u.h5", "--unweighted", "--seed", "3"], capsys
    )
    assert code == 0, err
    ev = read_events(user_module / "u.h5")
    assert ev.kind == "unweighted" and ev.x.shape == (500, 2)
    assert 0 < ev.attrs["efficiency"] <= 1


def test_integrate_from_a_file_path(user_module, capsys) -> None:
    code, out, err = run(
        ["integrate", f"{user_module}/mymod_cli.py:f", "--dim", "3", *TINY], capsys
    )
    assert code == 0, err
    assert "mymod_cli.py:f (d=3):" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["integrate", "nosuchmod_xyz:f", "--dim", "2"],
            "Expected an importable module 'nosuchmod_xyz'",
        ),
        (["integrate", "mymod_cli:g", "--dim", "2"], "Expected a function 'g' in 'mymod_cli'"),
        (["integrate", "mymod_cli:not_a_function", "--dim", "2"], "to be a function; got int"),
        (
            ["integrate", "mymod_cli:two_args", "--dim", "2"],
            "Expected mymod_cli:two_args to take one argument",
        ),
        (["integrate", "mymod_cli:needs_4d", "--dim", "2"], "Is --dim 2 right?"),
        (["integrate", "mymod_cli:wrong_shape", "--dim", "2"], "to values of shape (n,)"),
        (["integrate", "mymod_cli:f"], "Expected --dim for the user function"),
        (["integrate", "camel4", "--dim", "8"], "Expected dimension 4 for 'camel4'; got 8"),
        (["integrate", "slashed", "--dim", "3"], "Expected dimension 2 for 'slashed'; got 3"),
        (["integrate", "nosuchfunction", "--dim", "2"], "Expected a built-in function"),
        (["integrate", "missing/dir/file.py:f", "--dim", "2"], "Expected a Python file"),
        (["integrate", "camel", "--dim", "2", "--loss", "nope"], "Expected a loss name"),
        (["integrate", "camel", "--dim", "2", "--survey-points", "0"], "--survey-points"),
        (
            ["integrate", "camel", "--dim", "2", "--frobnicate"],
            "unrecognized arguments: --frobnicate",
        ),
        (["bench", "--methods", "uniform,zunis"], "Expected methods from"),
        (["bench", "--functions", "camel"], "Expected functions with a dimension"),
        (["sample", "missing.pt", "-n", "10", "--out", "x.h5"], "Expected a model file"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_without_traceback(user_module, capsys, argv, message) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert message in err, err
    assert err.startswith("nisflow: error:") and "Traceback" not in err


def test_sample_needs_the_integrand(user_module, capsys) -> None:
    pytest.importorskip("h5py")
    code, _, err = run(["integrate", "camel2", *TINY, "--save", "m.pt"], capsys)
    assert code == 0, err
    (user_module / "m.pt.integrand.json").unlink()
    code, _, err = run(["sample", "m.pt", "-n", "10", "--out", "x.h5"], capsys)
    assert code == 2 and "Expected --f" in err
    code, _, err = run(["sample", "m.pt", "-n", "10", "--out", "x.h5", "--f", "camel4"], capsys)
    assert code == 2 and "Expected --f of dimension 2" in err
    code, out, err = run(["sample", "m.pt", "-n", "10", "--out", "x.h5", "--f", "camel2"], capsys)
    assert code == 0, err


def test_bench_writes_rows_and_table(tmp_path, capsys) -> None:
    out_file, md = tmp_path / "r.jsonl", tmp_path / "t.md"
    argv = [
        "bench",
        "--functions",
        "camel2,camel4",
        "--methods",
        "uniform,vegas",
        "--budget-survey",
        "4000",
        "--budget-refine",
        "4000",
        "--iters-survey",
        "2",
        "--iters-refine",
        "2",
        "--n-unweight",
        "2000",
        "--seeds",
        "2",
        "--out",
        str(out_file),
        "--markdown",
        str(md),
    ]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(rows) == 2 * 2 * 2
    assert {r["method"] for r in rows} == {"uniform", "vegas"}
    assert all(abs(r["pull"]) < 5 for r in rows)
    table = md.read_text()
    assert "| function | uniform | vegas |" in table and table in out


def test_help_and_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert "nisflow" in capsys.readouterr().out
    assert main(["integrate", "--help"]) == 0
    assert "--survey-points" in capsys.readouterr().out
    assert main([]) == 2


def test_bench_report_renders_a_results_file(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    results = tmp_path / "r.jsonl"
    argv = [
        "bench",
        "--functions",
        "camel2",
        "--methods",
        "uniform,vegas",
        "--budget-survey",
        "2000",
        "--budget-refine",
        "2000",
        "--iters-refine",
        "2",
        "--n-unweight",
        "500",
        "--out",
        str(results),
    ]
    assert main(argv) == 0
    capsys.readouterr()
    md = tmp_path / "t.md"
    code, out, err = run(
        ["bench", "--report", str(results), "--markdown", str(md), "--plot", str(tmp_path / "p")],
        capsys,
    )
    assert code == 0, err
    assert "| camel2 |" in md.read_text()
    assert (tmp_path / "p" / "camel2_variance.png").is_file()
    code, _, err = run(["bench", "--report", str(tmp_path / "none.jsonl")], capsys)
    assert code == 2 and "Expected a results file" in err
