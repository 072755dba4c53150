"""Input validation shared by every layer: clear errors, never a silent wrong number.

Messages read "Expected ...; got ...". NaN/inf reports give the count and one offending point.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_points", "check_unit_points", "describe_nonfinite", "check_dimension"]


def check_dimension(d: object, name: str = "d") -> int:
    """Return ``d`` as an int if it is a positive integer; raise ``ValueError`` otherwise."""
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"Expected {name} to be a positive integer; got {d!r}.")
    return d


def check_points(x: object, d: int, name: str = "x") -> Tensor:
    """Check that ``x`` is a floating tensor of shape ``(n, d)`` with finite entries.

    Returns ``x`` unchanged. Raises ``TypeError`` for a non-tensor or a non-floating dtype and
    ``ValueError`` for a wrong shape or non-finite entries.
    """
    if not isinstance(x, Tensor):
        raise TypeError(
            f"Expected {name} to be a torch.Tensor of shape (n, {d}); got {type(x).__name__}."
        )
    if not x.is_floating_point():
        raise TypeError(f"Expected {name} to have a floating dtype; got {x.dtype}.")
    if x.dim() != 2 or x.shape[1] != d:
        raise ValueError(f"Expected {name} of shape (n, {d}); got shape {tuple(x.shape)}.")
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        raise ValueError(f"Expected finite {name}; got {describe_nonfinite(x, bad.any(-1))}.")
    return x


def check_unit_points(x: object, d: int, name: str = "x") -> Tensor:
    """Like :func:`check_points`, and also that every coordinate lies in [0, 1]."""
    x = check_points(x, d, name)
    outside = ((x < 0) | (x > 1)).any(-1)
    if bool(outside.any()):
        i = int(outside.nonzero()[0, 0])
        raise ValueError(
            f"Expected {name} inside the unit hypercube [0, 1]^{d}; got {int(outside.sum())} of "
            f"{x.shape[0]} points outside, e.g. {x[i].tolist()}."
        )
    return x


def describe_nonfinite(x: Tensor, bad_rows: Tensor, points: Tensor | None = None) -> str:
    """Describe the non-finite rows of a batch: count, kinds and one offending point.

    Args:
        x: values, shape ``(n,)`` or ``(n, ...)``.
        bad_rows: boolean mask of shape ``(n,)`` marking offending rows.
        points: optional points of shape ``(n, d)`` at which ``x`` was evaluated; one is quoted.
    """
    n_bad = int(bad_rows.sum())
    flat = x.reshape(x.shape[0], -1)[bad_rows]
    n_nan = int(torch.isnan(flat).any(-1).sum())
    n_inf = n_bad - n_nan
    i = int(bad_rows.nonzero()[0, 0])
    where = points[i].tolist() if points is not None else x[i].tolist()
    label = "at point" if points is not None else "e.g."
    return f"{n_bad} of {x.shape[0]} non-finite ({n_nan} NaN, {n_inf} inf), {label} {where}"
