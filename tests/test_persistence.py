"""Saved-integrator files: round trip, every load error, generator state, training configs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from nisflow.losses import variance_loss
from nisflow.persistence import (
    load_state,
    mismatch_is_value_error,
    restore_generator,
    save_state,
    training_from_config,
    training_to_config,
)
from nisflow.result import IterationRecord

FORMAT = "test.Format"
WRITER = "Thing.save"


@dataclass(frozen=True)
class Training:
    loss: object = "variance"
    lr: float = 1e-3


def _save(path, generator=None, **parts):
    save_state(
        path,
        file_format=FORMAT,
        version=1,
        config={"d": 2, "training": training_to_config(Training())},
        generator=generator or torch.Generator().manual_seed(5),
        history=[IterationRecord("refine", 0, 1.5, 0.25, 100, loss=math.nan)],
        n_evals=100,
        **parts,
    )


def test_round_trip_loads_with_weights_only(tmp_path):
    path = tmp_path / "state.pt"
    generator = torch.Generator().manual_seed(11)
    torch.rand(7, generator=generator)  # a state that is not a fresh seed's
    _save(path, generator, weights={"w": torch.arange(3.0)}, active=torch.tensor([True, False]))
    raw = torch.load(path, weights_only=True)  # plain data and tensors only
    state = load_state(path, file_format=FORMAT, version=1, writer=WRITER)
    assert raw.keys() == state.keys()
    assert state["format"] == FORMAT and state["version"] == 1 and state["n_evals"] == 100
    assert state["config"]["training"] == {"loss": "variance", "lr": 1e-3}
    assert torch.equal(state["weights"]["w"], torch.arange(3.0))
    assert state["active"].tolist() == [True, False]
    record = IterationRecord(**state["history"][0])
    assert (record.phase, record.value, record.variance, record.n_evals) == (
        "refine",
        1.5,
        0.25,
        100,
    )
    assert math.isnan(record.loss)
    # the stored generator continues exactly where the saved one stands
    restored = torch.Generator()
    restore_generator(restored, state["generator"])
    assert torch.equal(torch.rand(5, generator=restored), torch.rand(5, generator=generator))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Expected a saved integrator at .*no such file"):
        load_state(tmp_path / "missing.pt", file_format=FORMAT, version=1, writer=WRITER)


@pytest.mark.parametrize("content", [b"not a torch file", b""])
def test_unreadable_file(tmp_path, content):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="Expected a nisflow integrator file .*could not read it"):
        load_state(path, file_format=FORMAT, version=1, writer=WRITER)


def test_truncated_file(tmp_path):
    good, bad = tmp_path / "good.pt", tmp_path / "truncated.pt"
    _save(good)
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="could not read it"):
        load_state(bad, file_format=FORMAT, version=1, writer=WRITER)


@pytest.mark.parametrize(
    "obj, got",
    [
        ([1, 2], "got a list."),
        (torch.zeros(3), "got a Tensor."),
        ({"weights": torch.zeros(3)}, "got another format."),
        ({"format": "other.Format", "version": 1}, "got another format."),
    ],
)
def test_other_content(tmp_path, obj, got):
    path = tmp_path / "other.pt"
    torch.save(obj, path)
    with pytest.raises(ValueError) as info:
        load_state(path, file_format=FORMAT, version=1, writer=WRITER)
    assert str(info.value) == f"Expected a file written by {WRITER} at {str(path)!r}; {got}"


def test_other_version(tmp_path):
    path = tmp_path / "v2.pt"
    _save(path)
    with pytest.raises(ValueError, match=r"Expected file format version 2; got 1\."):
        load_state(path, file_format=FORMAT, version=2, writer=WRITER)


@pytest.mark.parametrize("error", [KeyError("config"), TypeError("bad"), RuntimeError("shape")])
def test_mismatch_becomes_value_error(error):
    with pytest.raises(ValueError) as info:
        with mismatch_is_value_error("f.pt", "these channels"):
            raise error
    assert str(info.value) == (
        f"Expected a saved integrator matching these channels at 'f.pt'; got a mismatch: {error}"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_other_errors_pass_through_the_mismatch_guard():
    with pytest.raises(ValueError, match="^Expected loss=...") as info:
        with mismatch_is_value_error("f.pt", "this configuration"):
            raise ValueError("Expected loss=... : the integrator was saved with a custom loss.")
    assert "mismatch" not in str(info.value)
    with mismatch_is_value_error("f.pt", "this configuration"):
        value = 1
    assert value == 1


def test_restore_generator_on_the_device(device):
    generator = torch.Generator(device=device).manual_seed(3)
    torch.rand(4, generator=generator, device=device)
    state = generator.get_state()
    other = torch.Generator(device=device).manual_seed(99)
    restore_generator(other, state)
    a = torch.rand(6, generator=other, device=device)
    b = torch.rand(6, generator=generator, device=device)
    assert torch.equal(a, b)


def test_restore_generator_rejects_what_is_not_a_state():
    with pytest.raises(TypeError):
        restore_generator(torch.Generator(), None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        restore_generator(torch.Generator(), torch.zeros(3, dtype=torch.uint8))


def test_restore_generator_from_the_other_device_kind_is_deterministic():
    """A CUDA generator's 16-byte state offered to a CPU generator (a GPU model loaded on the
    CPU) seeds it from the state: the same file gives the same draws, another file others."""
    cuda_like = torch.arange(16, dtype=torch.uint8)
    draws = []
    for state in (cuda_like, cuda_like.clone(), cuda_like.flip(0)):
        g = torch.Generator().manual_seed(0)
        restore_generator(g, state)
        draws.append(torch.rand(5, generator=g))
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])
    unseeded = torch.rand(5, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(draws[0], unseeded)


def test_training_config_round_trip():
    named = Training(loss="kl", lr=0.5)
    assert Training(**training_from_config(training_to_config(named), None)) == named
    custom = Training(loss=variance_loss)
    saved = training_to_config(custom)
    assert saved == {"loss": None, "lr": 1e-3}  # a callable is code, not state
    with pytest.raises(ValueError, match=r"^Expected loss=\.\.\. : the integrator was saved"):
        training_from_config(saved, None)
    restored = training_from_config(saved, variance_loss)
    assert Training(**restored) == custom
    assert saved["loss"] is None  # the stored dictionary is not modified
