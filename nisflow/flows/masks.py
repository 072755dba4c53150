"""Coupling masks: which coordinates a coupling cell conditions on and which it transforms.

A mask is a boolean tensor of shape ``(d,)``: ``True`` marks a *conditioning* (passive)
coordinate, copied unchanged and fed to the conditioner; ``False`` marks a *transformed*
coordinate. Every mask transforms at least one coordinate. For ``d = 1`` the only mask is
``[False]``: the cell has nothing to condition on and learns unconditional parameters.

Mask families:

* ``"checkerboard"`` — even coordinates, then odd ones (a mask and its complement);
* ``"iflow"`` — the logarithmic decomposition of i-flow (Gao et al. 2020), used in ZüNIS:
  for each bit ``b < ceil(log2 d)`` the coordinates whose index has bit ``b`` set, and the
  complement; every pair of coordinates is split by at least one mask;
* ``"random"`` — random half/half splits drawn from a ``torch.Generator``, in complementary
  pairs so that every coordinate is transformed;
* ``"auto"`` — :func:`auto_mask`: the checkerboard up to ``d = 8``, the i-flow family above;
* explicit — the user's list of masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..checks import check_dimension

__all__ = [
    "MASKS",
    "checkerboard_masks",
    "iflow_masks",
    "random_masks",
    "explicit_masks",
    "make_masks",
    "default_n_masks",
    "auto_mask",
]

MASKS = ("checkerboard", "iflow", "random", "auto")
"""Names of the built-in mask families (an explicit list of masks is also accepted)."""


def auto_mask(d: int) -> str:
    """The family ``"auto"`` stands for in ``d`` dimensions: ``"checkerboard"`` or ``"iflow"``.

    The checkerboard (two cells) up to ``d = 8``, the i-flow decomposition (``2 ceil(log2 d)``
    cells: 8 at ``d = 16``) above. A checkerboard never splits two coordinates of the same
    parity, so a correlation between them (camel's two peaks on the diagonal tie every
    coordinate to every other) has to be carried through the other half; the i-flow masks split
    every pair in some cell. At the full Suite A budget (rel_var per point / unweighting
    efficiency, docs/performance.md section 4h) camel16 went from 0.112 / 0.032 to 0.095 / 0.152.
    At ``d = 8`` the i-flow masks also help (camel8 0.033 / 0.111 -> 0.024 / 0.32), but for three
    times the cells, hence about three times the cost of each training step and sampled point
    (on an H200, 4.2e7 instead of 1.3e8 points per second): there the checkerboard's two cells
    already do well and stay the default; ask for ``"iflow"`` when the integrand, not the flow,
    is the expensive part.
    """
    return "checkerboard" if check_dimension(d) <= 8 else "iflow"


def _single() -> list[Tensor]:
    return [torch.zeros(1, dtype=torch.bool)]


def checkerboard_masks(d: int) -> list[Tensor]:
    """The alternating masks: even coordinates condition, then odd ones.

    Returns:
        two boolean masks of shape ``(d,)`` (one for ``d = 1``).
    """
    d = check_dimension(d)
    if d == 1:
        return _single()
    even = torch.arange(d) % 2 == 0
    return [even, ~even]


def iflow_masks(d: int) -> list[Tensor]:
    """The i-flow logarithmic decomposition: ``2 * ceil(log2 d)`` masks.

    Mask ``2b`` conditions on the coordinates whose index has bit ``b`` set, mask ``2b + 1`` is
    its complement. Two distinct indices differ in some bit, so every pair of coordinates is
    split (one conditioning, one transformed) by at least one mask, and every coordinate is
    transformed by at least one mask.

    Returns:
        ``2 * ceil(log2 d)`` boolean masks of shape ``(d,)`` (one for ``d = 1``).
    """
    d = check_dimension(d)
    if d == 1:
        return _single()
    idx = torch.arange(d)
    masks = []
    for b in range(math.ceil(math.log2(d))):
        m = (idx >> b) & 1 == 1
        masks += [m, ~m]
    return masks


def random_masks(d: int, n_masks: int, *, generator: torch.Generator | None = None) -> list[Tensor]:
    """Random masks conditioning on ``d // 2`` coordinates, in complementary pairs.

    Mask ``2j + 1`` is the complement of mask ``2j``, so every coordinate is transformed and
    conditioned on within each pair.

    Args:
        d: dimension.
        n_masks: number of masks.
        generator: the random generator (same seed -> same masks).

    Returns:
        ``n_masks`` boolean masks of shape ``(d,)``.
    """
    d = check_dimension(d)
    n_masks = check_dimension(n_masks, "n_masks")
    if d == 1:
        return _single() * n_masks
    masks = []
    while len(masks) < n_masks:
        perm = torch.randperm(d, generator=generator)
        m = torch.zeros(d, dtype=torch.bool)
        m[perm[: d // 2]] = True
        masks += [m, ~m]
    return masks[:n_masks]


def explicit_masks(d: int, masks: Sequence[Sequence[bool]] | Tensor) -> list[Tensor]:
    """Validate a user's masks.

    Args:
        d: dimension.
        masks: a sequence of masks of length ``d`` (bools or 0/1), or a tensor of shape
            ``(n_masks, d)``; ``True`` = conditioning coordinate.

    Raises:
        ValueError: a mask of the wrong length or one that transforms no coordinate.
    """
    d = check_dimension(d)
    if isinstance(masks, Tensor):
        rows = list(masks.reshape(-1, masks.shape[-1])) if masks.dim() >= 1 else []
    else:
        rows = list(masks)
    if len(rows) == 0:
        raise ValueError("Expected at least one mask; got an empty list.")
    out = []
    for i, m in enumerate(rows):
        t = torch.as_tensor(m).detach().cpu()
        if t.dim() != 1 or t.shape[0] != d:
            raise ValueError(f"Expected mask {i} to have shape ({d},); got shape {tuple(t.shape)}.")
        if t.dtype != torch.bool:
            if not bool(((t == 0) | (t == 1)).all()):
                raise ValueError(f"Expected mask {i} to hold booleans or 0/1; got {t.tolist()}.")
            t = t != 0
        if bool(t.all()):
            raise ValueError(
                f"Expected mask {i} to transform at least one coordinate (a False entry); "
                f"got {t.tolist()}."
            )
        out.append(t.clone())
    return out


def default_n_masks(d: int, kind: str) -> int:
    """The number of masks of a family needed to transform and condition on every coordinate.

    ``"checkerboard"`` and ``"random"``: 2; ``"iflow"``: ``2 * ceil(log2 d)``; ``"auto"``: that
    of :func:`auto_mask`'s family; 1 for ``d = 1``.
    """
    d = check_dimension(d)
    if kind not in MASKS:
        raise ValueError(f"Expected mask to be one of {list(MASKS)}; got {kind!r}.")
    if kind == "auto":
        kind = auto_mask(d)
    if d == 1:
        return 1
    if kind == "iflow":
        return len(iflow_masks(d))
    return 2


def make_masks(
    d: int,
    n_cells: int | None = None,
    mask: str | Sequence[Sequence[bool]] | Tensor = "checkerboard",
    *,
    generator: torch.Generator | None = None,
) -> list[Tensor]:
    """The masks of ``n_cells`` consecutive coupling cells.

    Args:
        d: dimension.
        n_cells: number of cells; ``None`` takes :func:`default_n_masks` for a named family and
            the number of masks for an explicit list. A family's masks repeat cyclically.
        mask: ``"checkerboard"``, ``"iflow"``, ``"random"``, ``"auto"`` or an explicit list of
            masks.
        generator: random generator for ``"random"``.

    Returns:
        ``n_cells`` boolean masks of shape ``(d,)``.

    Raises:
        ValueError: unknown family, bad ``n_cells`` or invalid explicit masks.
    """
    d = check_dimension(d)
    if n_cells is not None:
        n_cells = check_dimension(n_cells, "n_cells")
    if isinstance(mask, str):
        if mask not in MASKS:
            raise ValueError(
                f"Expected mask to be one of {list(MASKS)} or a list of boolean masks; got {mask!r}."
            )
        if mask == "auto":
            mask = auto_mask(d)
        n = default_n_masks(d, mask) if n_cells is None else n_cells
        if mask == "random":
            return random_masks(d, n, generator=generator)
        base = checkerboard_masks(d) if mask == "checkerboard" else iflow_masks(d)
    else:
        base = explicit_masks(d, mask)
        n = len(base) if n_cells is None else n_cells
    return [base[i % len(base)].clone() for i in range(n)]
