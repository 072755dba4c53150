"""The example scripts run and print results that agree with the exact values they quote."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "exact" in out.stdout
    for pull in re.findall(r"pull: ([-+0-9.]+)", out.stdout):
        assert abs(float(pull)) < 5, out.stdout


def test_examples_exist() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"basic_integration", "custom_coupling_cell", "sampling_and_unweighting"} <= names
