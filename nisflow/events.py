"""Event files: weighted or unweighted events on [0,1]^d in HDF5 (needs the ``events`` extra).

Layout of a file written by :func:`write_events`::

    /x      float64 (n, d)   the points
    /w      float64 (n,)     their weights (f/q for weighted events; the common weight otherwise)
    /log_q  float64 (n,)     optional: log density of the sampler at x
    attrs   kind ("weighted" | "unweighted"), d, n, nisflow_version, and any user metadata
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

__all__ = ["EventFile", "write_events", "read_events", "require_h5py", "EVENT_KINDS"]

EVENT_KINDS = ("weighted", "unweighted")


def require_h5py() -> ModuleType:
    """Import h5py or raise an ``ImportError`` that says how to install it."""
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            "Expected the optional package h5py for event files "
            f"(install it with: pip install 'nisflow[events]'); got: {exc}"
        ) from exc
    return h5py


@dataclass
class EventFile:
    """Events read back from a file.

    Attributes:
        x: points, shape ``(n, d)``, float64.
        w: weights, shape ``(n,)``, float64.
        kind: ``"weighted"`` or ``"unweighted"``.
        log_q: sampler log density, shape ``(n,)``, or None.
        attrs: every attribute stored in the file.
    """

    x: Tensor
    w: Tensor
    kind: str
    log_q: Tensor | None = None
    attrs: dict[str, object] = field(default_factory=dict)


def _as_numpy(t: Tensor | np.ndarray, name: str) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.detach().to("cpu", torch.float64).numpy()
    if isinstance(t, np.ndarray):
        return t.astype(np.float64, copy=False)
    raise TypeError(f"Expected {name} to be a torch.Tensor or numpy array; got {type(t).__name__}.")


def write_events(
    path: str | Path,
    x: Tensor,
    w: Tensor,
    *,
    kind: str = "weighted",
    log_q: Tensor | None = None,
    metadata: dict[str, str | int | float] | None = None,
) -> Path:
    """Write events to an HDF5 file (overwriting it).

    Args:
        path: output file.
        x: points, shape ``(n, d)``.
        w: weights, shape ``(n,)``.
        kind: ``"weighted"`` or ``"unweighted"``.
        log_q: optional sampler log density, shape ``(n,)``.
        metadata: extra attributes (strings and numbers), e.g. the integral estimate.

    Returns:
        The path written.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"Expected kind in {EVENT_KINDS}; got {kind!r}.")
    h5py = require_h5py()
    xa = _as_numpy(x, "x")
    wa = _as_numpy(w, "w")
    if xa.ndim != 2:
        raise ValueError(f"Expected x of shape (n, d); got shape {xa.shape}.")
    if wa.shape != (xa.shape[0],):
        raise ValueError(f"Expected w of shape ({xa.shape[0]},); got shape {wa.shape}.")
    from nisflow import __version__

    path = Path(path)
    with h5py.File(path, "w") as fh:
        fh.create_dataset("x", data=xa)
        fh.create_dataset("w", data=wa)
        if log_q is not None:
            la = _as_numpy(log_q, "log_q")
            if la.shape != wa.shape:
                raise ValueError(f"Expected log_q of shape {wa.shape}; got shape {la.shape}.")
            fh.create_dataset("log_q", data=la)
        fh.attrs["kind"] = kind
        fh.attrs["d"] = int(xa.shape[1])
        fh.attrs["n"] = int(xa.shape[0])
        fh.attrs["nisflow_version"] = __version__
        for key, value in (metadata or {}).items():
            fh.attrs[key] = value
    return path


def read_events(path: str | Path) -> EventFile:
    """Read an event file written by :func:`write_events`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it lacks the ``x`` or ``w`` datasets.
    """
    h5py = require_h5py()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Expected an event file at {str(path)!r}; got no such file.")
    with h5py.File(path, "r") as fh:
        missing = [k for k in ("x", "w") if k not in fh]
        if missing:
            raise ValueError(f"Expected datasets 'x' and 'w' in {str(path)!r}; missing {missing}.")
        x = torch.from_numpy(fh["x"][...])
        w = torch.from_numpy(fh["w"][...])
        log_q = torch.from_numpy(fh["log_q"][...]) if "log_q" in fh else None
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in fh.attrs.items()}
    return EventFile(x=x, w=w, kind=str(attrs.get("kind", "weighted")), log_q=log_q, attrs=attrs)
