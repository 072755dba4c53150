"""The two contracts every part of :mod:`nisflow.flows` (and :mod:`nisflow.mappings`) obeys.

* :class:`Bijection` — an invertible map of a batch of points ``x`` of shape ``(n, d)`` with its
  exact log-Jacobian. ``forward(x) -> (y, log_det)`` with ``log_det = log|det dy/dx|`` of shape
  ``(n,)``; ``inverse(y) -> (x, log_det)`` with ``log_det = log|det dx/dy|``.
* :class:`InvertibleTransform` — the parametrised element-wise (or block-wise) transform that a
  coupling cell applies to its transformed coordinates, with parameters computed by a conditioner
  network: ``forward(x, params) -> (y, log_det)`` and ``backward(y, params) -> (x, log_det)``.
  This is the extension point for user-defined coupling cells (the talk's ``LinearTransform``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Bijection", "InvertibleTransform", "Domain"]

Domain = str
"""Where a transform or bijection acts: ``"unit"`` for [0, 1] per coordinate, ``"real"`` for R."""


class Bijection(nn.Module):
    """Invertible map of batches of points, shape ``(n, d)`` to ``(n, d)``, with exact log|det J|.

    Subclasses implement :meth:`forward` and :meth:`inverse`. Both return the image and the log of
    the absolute Jacobian determinant of the map they apply, so that
    ``inverse(forward(x)[0])`` returns ``x`` and the two ``log_det`` sum to zero.

    Attributes:
        d: the dimension of the points.
        domain_in: ``"unit"`` or ``"real"``, where the inputs of :meth:`forward` live.
        domain_out: ``"unit"`` or ``"real"``, where its outputs live.
    """

    d: int
    domain_in: Domain = "unit"
    domain_out: Domain = "unit"

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        """Map ``x`` of shape ``(n, d)``; return ``(y, log_det)`` with shapes ``(n, d)``, ``(n,)``."""
        raise NotImplementedError

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        """Invert :meth:`forward`; return ``(x, log|det dx/dy|)``, shapes ``(n, d)``, ``(n,)``."""
        raise NotImplementedError


class InvertibleTransform(nn.Module):
    """A parametrised, invertible transform of the ``k`` transformed coordinates of a coupling cell.

    The conditioner of a coupling cell outputs, per point, a tensor of shape
    ``param_shape(k)``; the cell passes it here as ``params`` of shape ``(n, *param_shape(k))``.
    All-zero parameters must give the identity map, so that a cell whose conditioner starts at
    zero starts as the identity.

    Subclasses implement :meth:`forward`, :meth:`backward` and :meth:`param_shape`; the class
    attribute :attr:`domain` says whether they act on [0, 1] (``"unit"``) or on R (``"real"``).

    Example (the talk's linear coupling transform, on R)::

        class LinearTransform(InvertibleTransform):
            domain = "real"
            def param_shape(self, k):
                return (1,)
            def forward(self, x, params):
                return x * params.exp(), params[:, 0] * x.shape[-1]
            def backward(self, y, params):
                return y * (-params).exp(), -params[:, 0] * y.shape[-1]
    """

    domain: Domain = "unit"

    def param_shape(self, k: int) -> tuple[int, ...]:  # pragma: no cover - abstract
        """Shape of the parameters of one point for ``k`` transformed coordinates."""
        raise NotImplementedError

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """Transform ``x`` of shape ``(n, k)``; return ``(y, log_det)`` of shapes ``(n, k)``, ``(n,)``."""
        raise NotImplementedError

    def backward(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """Invert :meth:`forward`; return ``(x, log|det dx/dy|)`` of shapes ``(n, k)``, ``(n,)``."""
        raise NotImplementedError

    def inverse(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Alias of :meth:`backward` (the name the rest of nisflow uses)."""
        return self.backward(y, params)


def _sum_except_batch(t: Tensor) -> Tensor:
    """Sum a tensor of shape ``(n, ...)`` to shape ``(n,)``."""
    return t.reshape(t.shape[0], -1).sum(-1) if t.dim() > 1 else t


def zeros_log_det(x: Tensor) -> Tensor:
    """A zero log-determinant of shape ``(n,)`` matching ``x``'s batch, dtype and device."""
    return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
