"""Files of saved integrators: the header, reading them back, and restoring what is not a module.

A saved integrator is one ``torch.save`` dictionary of plain data and tensors that loads with
``torch.load(..., weights_only=True)``: a ``"format"`` name and a ``"version"`` number, the
constructor's configuration, the ``state_dict`` of every trained module, the random generator's
state and the history. Functions (the integrand, custom losses, custom flows) are code, not state:
the loader takes them again.

Example:
    >>> save_state(path, file_format="my.Integrator", version=1, config={"d": 2},
    ...            generator=torch.Generator(), history=[], n_evals=0)
    >>> state = load_state(path, file_format="my.Integrator", version=1, writer="Integrator.save")
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import torch

from .result import IterationRecord

__all__ = [
    "DTYPES",
    "save_state",
    "load_state",
    "mismatch_is_value_error",
    "restore_generator",
    "training_to_config",
    "training_from_config",
]

#: The flow dtypes a file can name, by the name it stores.
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


def save_state(
    path: str | os.PathLike,
    *,
    file_format: str,
    version: int,
    config: Mapping[str, object],
    generator: torch.Generator,
    history: Sequence[IterationRecord],
    n_evals: int,
    **parts: object,
) -> None:
    """Write one saved-integrator file.

    Args:
        path: the file.
        file_format: the format name that :func:`load_state` checks, e.g. ``"nisflow.Integrator"``.
        version: the format's version number.
        config: the constructor's arguments as plain data.
        generator: the random generator whose state is stored (a CPU byte tensor).
        history: every iteration so far, stored as dictionaries.
        n_evals: integrand evaluations so far.
        **parts: the owner's own entries (module ``state_dict``\\ s, tensors, numbers).
    """
    state = {
        "format": file_format,
        "version": version,
        "config": dict(config),
        **parts,
        "generator": generator.get_state(),
        "history": [r.to_dict() for r in history],
        "n_evals": int(n_evals),
    }
    torch.save(state, path)


def load_state(
    path: str | os.PathLike, *, file_format: str, version: int, writer: str
) -> dict[str, Any]:
    """Read a file written by :func:`save_state` (with ``weights_only=True``, onto the CPU).

    Args:
        path: the file.
        file_format: the format name the file must carry.
        version: the version number it must carry.
        writer: the method that writes such files, for the error message
            (e.g. ``"Integrator.save"``).

    Returns:
        The saved dictionary.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file cannot be read, holds another format or another version.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"Expected a saved integrator at {str(path)!r}; no such file.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise ValueError(
            f"Expected a nisflow integrator file at {str(path)!r}; could not read it: {err}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != file_format:
        got = "a " + type(state).__name__ if not isinstance(state, dict) else "another format"
        raise ValueError(f"Expected a file written by {writer} at {str(path)!r}; got {got}.")
    if state.get("version") != version:
        raise ValueError(f"Expected file format version {version}; got {state.get('version')!r}.")
    return state


@contextmanager
def mismatch_is_value_error(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Turn a ``KeyError``, ``TypeError`` or ``RuntimeError`` raised while rebuilding from a file
    into a ``ValueError`` that says the file does not match.

    Args:
        path: the file, for the message.
        what: what the file failed to match, e.g. ``"this configuration"``.

    Raises:
        ValueError: "Expected a saved integrator matching {what} at {path}; got a mismatch: ...".
    """
    try:
        yield
    except (KeyError, TypeError, RuntimeError) as err:
        raise ValueError(
            f"Expected a saved integrator matching {what} at {str(path)!r}; got a mismatch: {err}"
        ) from None


_CUDA_STATE_BYTES = 16
"""Size of a CUDA (Philox) generator's state: a 64-bit seed and a 64-bit offset."""


def _other_kind_of_state(generator: torch.Generator, state: torch.Tensor) -> bool:
    """Whether ``state`` is a CUDA generator's state offered to a CPU generator, or the reverse."""
    if state.dtype != torch.uint8:
        return False
    if generator.device.type == "cpu":
        return state.numel() == _CUDA_STATE_BYTES
    return state.numel() == torch.Generator().get_state().numel()


def restore_generator(generator: torch.Generator, state: torch.Tensor) -> None:
    """Set ``generator`` to a state saved by ``generator.get_state()`` on any device.

    CPU and CUDA generators take their state as a CPU byte tensor; a state that was moved to the
    generator's device is accepted too. A state saved by the other kind of generator (a model
    trained on a GPU and loaded on the CPU, or the reverse) cannot continue the same random
    stream: the generator is then seeded from a hash of the saved state, so that loading the same
    file twice still gives the same draws.

    Raises:
        TypeError: ``state`` is not a tensor.
        RuntimeError: ``state`` is not a state of this kind of generator.
    """
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"Expected a generator state tensor; got {type(state).__name__}.")
    if _other_kind_of_state(generator, state):
        digest = hashlib.sha256(state.detach().cpu().contiguous().numpy().tobytes()).digest()
        generator.manual_seed(int.from_bytes(digest[:8], "little") >> 1)
        return
    try:
        generator.set_state(state)
    except (RuntimeError, TypeError):
        generator.set_state(state.to(generator.device))


def training_to_config(training: Any) -> dict[str, object]:
    """A training-configuration dataclass as plain data; a callable loss becomes ``None``.

    Args:
        training: a dataclass instance with a ``loss`` field (a name or a callable).
    """
    config = asdict(training)
    config["loss"] = training.loss if isinstance(training.loss, str) else None
    return config


def training_from_config(saved: Mapping[str, object], loss: object | None) -> dict[str, object]:
    """The keyword arguments of a training configuration saved by :func:`training_to_config`.

    Args:
        saved: the stored dictionary.
        loss: the custom loss, which must be given when the stored one is ``None``.

    Raises:
        ValueError: the integrator was saved with a custom loss and ``loss`` is ``None``.
    """
    config = dict(saved)
    if config["loss"] is None:
        if loss is None:
            raise ValueError("Expected loss=... : the integrator was saved with a custom loss.")
        config["loss"] = loss
    return config
