"""Shared test options: ``--device`` and ``--dtype`` (as zuko's), and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", help="torch device for the tests (cpu, cuda)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device the tests run on (``--device``, default cpu)."""
    dev = torch.device(request.config.getoption("--device"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA requested but not available")
    return dev


def shared_dir() -> Path | None:
    """The project's shared folder: ``$NISFLOW_SHARED`` or ``../shared`` beside the checkout."""
    env = os.environ.get("NISFLOW_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture
def pdf_dir() -> Path:
    """Folder holding the NNPDF4.0 LO grid; skips when the shared data are not beside the clone."""
    root = shared_dir()
    if root is None or not (root / "data" / "pdfsets" / "NNPDF40_lo_as_01180").is_dir():
        pytest.skip(
            "shared PDF data not found: set NISFLOW_SHARED or place ../shared beside the clone"
        )
    return root / "data" / "pdfsets"
