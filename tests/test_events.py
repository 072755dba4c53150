"""Event files: HDF5 round trip, validation, and the message when h5py is missing."""

from __future__ import annotations

import sys

import pytest
import torch

from nisflow.events import read_events, require_h5py, write_events

pytest.importorskip("h5py")


def test_round_trip(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(100, 3, generator=g)
    w = torch.rand(100, generator=g, dtype=torch.float64)
    log_q = torch.randn(100, generator=g)
    path = write_events(tmp_path / "ev.h5", x, w, log_q=log_q, metadata={"integral": 1.5})
    ev = read_events(path)
    assert ev.kind == "weighted"
    assert torch.equal(ev.x, x.double()) and torch.equal(ev.w, w)
    assert torch.equal(ev.log_q, log_q.double())
    assert ev.attrs["integral"] == 1.5 and ev.attrs["d"] == 3 and ev.attrs["n"] == 100

    path = write_events(tmp_path / "unw.h5", x, torch.ones(100), kind="unweighted")
    ev = read_events(path)
    assert ev.kind == "unweighted" and ev.log_q is None


def test_validation(tmp_path) -> None:
    x = torch.rand(10, 2)
    with pytest.raises(ValueError, match=r"Expected w of shape \(10,\)"):
        write_events(tmp_path / "a.h5", x, torch.ones(9))
    with pytest.raises(ValueError, match="Expected kind"):
        write_events(tmp_path / "a.h5", x, torch.ones(10), kind="partial")
    with pytest.raises(ValueError, match=r"Expected x of shape \(n, d\)"):
        write_events(tmp_path / "a.h5", torch.rand(10), torch.ones(10))
    with pytest.raises(FileNotFoundError, match="Expected an event file"):
        read_events(tmp_path / "missing.h5")


def test_missing_h5py_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'nisflow\[events\]'"):
        require_h5py()
    with pytest.raises(ImportError, match="h5py"):
        write_events("never.h5", torch.rand(2, 2), torch.ones(2))
