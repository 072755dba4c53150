"""A fixed rotation of coordinates on R^d (MadNIS eq. 50 and the generalized Euler angles)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..checks import check_dimension
from .base import Mapping

__all__ = ["Rotation"]


def givens_product(d: int, angles: Sequence[float]) -> Tensor:
    """The rotation matrix ``R = G_(0,1)(φ_1) G_(0,2)(φ_2) ... G_(d-2,d-1)(φ_k)``, float64 ``(d, d)``.

    ``G_(i,j)(φ)`` rotates the ``(i, j)`` plane by ``φ`` (counter-clockwise: ``e_i -> cos φ e_i +
    sin φ e_j``); the ``d (d - 1) / 2`` planes are taken in lexicographic order.
    """
    planes = [(i, j) for i in range(d) for j in range(i + 1, d)]
    if len(angles) != len(planes):
        raise ValueError(
            f"Expected {len(planes)} angles for a rotation of R^{d}; got {len(angles)}."
        )
    r = torch.eye(d, dtype=torch.float64)
    for (i, j), phi in zip(planes, angles, strict=True):
        g = torch.eye(d, dtype=torch.float64)
        c, s = math.cos(phi), math.sin(phi)
        g[i, i], g[j, j], g[j, i], g[i, j] = c, c, s, -s
        r = r @ g
    return r


class Rotation(Mapping):
    """``x = R u`` for a fixed rotation ``R`` of R^d; ``|det R| = 1``.

    Acts on R^d in both directions (``domain_in = domain_out = "real"``), so it follows a mapping
    onto R^d (e.g. a :class:`~nisflow.mappings.Product` of Breit–Wigners) in a
    :class:`~nisflow.mappings.Chain`. The crossed ring's line channel (eq. 50,
    ``x_{1,2} = (y_2 ± y_1) / √2``) is ``Rotation(-math.pi / 4)``.

    Args:
        angles: one angle for ``d = 2``, or the ``d (d - 1) / 2`` plane angles of
            :func:`givens_product` (radians).
        d: dimension (default 2).
        matrix: alternatively, an orthogonal ``(d, d)`` matrix with determinant +1.
    """

    domain_in = "real"
    domain_out = "real"

    def __init__(
        self,
        angles: float | Sequence[float] | None = None,
        d: int = 2,
        *,
        matrix: Tensor | None = None,
    ):
        if (angles is None) == (matrix is None):
            raise ValueError(
                "Expected exactly one of angles or matrix; got "
                f"{'both' if matrix is not None else 'neither'}."
            )
        if matrix is not None:
            m = torch.as_tensor(matrix, dtype=torch.float64).detach().cpu()
            if m.dim() != 2 or m.shape[0] != m.shape[1]:
                raise ValueError(f"Expected a square matrix; got shape {tuple(m.shape)}.")
            d = m.shape[0]
            err = (m @ m.T - torch.eye(d, dtype=torch.float64)).abs().max().item()
            if not math.isfinite(err) or err > 1e-10 or torch.linalg.det(m).item() < 0:
                raise ValueError(
                    f"Expected an orthogonal matrix with determinant +1; got |R Rᵀ - 1| = {err:.3g}"
                    f" and det = {torch.linalg.det(m).item():.6g}."
                )
        else:
            d = check_dimension(d)
            if d < 2:
                raise ValueError(f"Expected a rotation of dimension >= 2; got d={d}.")
            angles = [angles] if isinstance(angles, (int, float)) else list(angles)
            for a in angles:
                if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a):
                    raise ValueError(f"Expected finite angles; got {angles!r}.")
            m = givens_product(d, [float(a) for a in angles])
        super().__init__(d, -math.inf, math.inf)
        self.register_buffer("matrix", m)

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        return u @ self.matrix.to(u).T, u.new_zeros(u.shape[0])

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x @ self.matrix.to(x), x.new_zeros(x.shape[0])
