"""Affine transforms: on R (RealNVP cells, Gaussian-prior flows) and on [0, 1] via logit/sigmoid.

Both take per point and coordinate a raw log-scale and a shift, ``params`` of shape
``(n, k, 2)``, and bound the log-scale softly, ``s = B tanh(raw / B)``, so that huge conditioner
outputs cannot overflow ``exp(s)``. All-zero parameters give the identity.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import InvertibleTransform
from .splines import _check_params

__all__ = ["Affine", "UnitAffine"]


def _check_bound(scale_bound: object) -> float:
    if isinstance(scale_bound, bool) or not isinstance(scale_bound, (int, float)):
        raise ValueError(f"Expected scale_bound to be a positive number; got {scale_bound!r}.")
    if not scale_bound > 0:
        raise ValueError(f"Expected scale_bound to be a positive number; got {scale_bound!r}.")
    return float(scale_bound)


class _AffineParams(InvertibleTransform):
    """Shared parametrisation: ``params[..., 0]`` raw log-scale, ``params[..., 1]`` shift."""

    def __init__(self, *, scale_bound: float = 3.0):
        super().__init__()
        self.scale_bound = _check_bound(scale_bound)

    def extra_repr(self) -> str:
        return f"scale_bound={self.scale_bound:g}"

    def param_shape(self, k: int) -> tuple[int, ...]:
        """``(k, 2)``: raw log-scale and shift per coordinate."""
        return (k, 2)

    def _scale_shift(self, params: Tensor) -> tuple[Tensor, Tensor]:
        bound = self.scale_bound
        return bound * torch.tanh(params[..., 0] / bound), params[..., 1]


class Affine(_AffineParams):
    """Element-wise affine map of R: ``y = x exp(s) + t``, ``s = B tanh(raw / B)``.

    Args:
        scale_bound: the soft bound ``B`` on ``|s|`` (default 3: per cell the scale lies in
            ``[exp(-B), exp(B)]``).

    Parameters per point: shape ``(k, 2)`` (raw log-scale, shift). Domain ``"real"``.
    """

    domain = "real"

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``x (n, k)`` with ``params (n, k, 2)``; return ``y (n, k)``, ``log_det (n,)``."""
        _check_params(self, x, params)
        s, t = self._scale_shift(params)
        return x * torch.exp(s) + t, s.sum(-1)

    def backward(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Invert :meth:`forward`: ``y (n, k)`` -> ``x (n, k)``, ``log|det dx/dy| (n,)``."""
        _check_params(self, y, params)
        s, t = self._scale_shift(params)
        return (y - t) * torch.exp(-s), -s.sum(-1)


class UnitAffine(_AffineParams):
    """Affine map kept on [0, 1]: ``y = sigmoid(exp(s) logit(x) + t)``, ``s = B tanh(raw / B)``.

    The endpoints are fixed points (``y(0) = 0``, ``y(1) = 1``). Near them the density behaves as
    a power ``x^(exp(s) - 1)``, which is zero or infinite exactly at the boundary; the log-Jacobian
    is therefore evaluated at ``x`` clamped to ``[sqrt(tiny), 1 - eps/2]`` of the dtype (a finite
    value, and finite gradients), while the map itself sends 0 to 0 and 1 to 1 exactly.

    Finite precision: a steep map (``exp(s)`` well above 1) sends points near the ends to within
    an ulp of 0 or 1, and in float32 often exactly onto them; such a point's position is lost
    and the inverse returns the endpoint. The spline transforms do not have this limitation.

    Args:
        scale_bound: the soft bound ``B`` on ``|s|`` (default 3: scales within ``[0.05, 20]``).

    Parameters per point: shape ``(k, 2)`` (raw log-scale, shift). Domain ``"unit"``.
    """

    domain = "unit"

    @staticmethod
    def _logit(u: Tensor, lo: float) -> Tensor:
        """``logit(u)`` with ``u`` clamped to ``[lo, 1 - eps/2]``, hence finite."""
        u = u.clamp(lo, 1.0 - torch.finfo(u.dtype).eps / 2)
        return torch.log(u) - torch.log1p(-u)

    @staticmethod
    def _log_det(s: Tensor, w: Tensor, z: Tensor) -> Tensor:
        """``log dy/dx`` for ``z = exp(s) w + t``, ``w = logit(x)``, summed: ``(n, k) -> (n,)``."""
        log_dy = F.logsigmoid(z) + F.logsigmoid(-z)
        log_dx = F.logsigmoid(w) + F.logsigmoid(-w)
        return (s + log_dy - log_dx).sum(-1)

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``x (n, k)`` with ``params (n, k, 2)``; return ``y (n, k)``, ``log_det (n,)``."""
        _check_params(self, x, params)
        s, t = self._scale_shift(params)
        w = self._logit(x, torch.finfo(x.dtype).tiny ** 0.5)
        z = torch.exp(s) * w + t
        y = torch.sigmoid(z)
        y = torch.where(x <= 0.0, 0.0, y)
        y = torch.where(x >= 1.0, 1.0, y)
        return y, self._log_det(s, w, z)

    def backward(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        """Invert :meth:`forward`: ``y (n, k)`` -> ``x (n, k)``, ``log|det dx/dy| (n,)``."""
        _check_params(self, y, params)
        s, t = self._scale_shift(params)
        info = torch.finfo(y.dtype)
        w = (self._logit(y, info.tiny) - t) * torch.exp(-s)
        # The endpoints map to themselves; use there the same clamped logit as forward does, so
        # that the two log-determinants of an endpoint cancel.
        lo_x = info.tiny**0.5
        hi_x = 1.0 - info.eps / 2
        w = torch.where(y <= 0.0, math.log(lo_x) - math.log1p(-lo_x), w)
        w = torch.where(y >= 1.0, math.log(hi_x) - math.log1p(-hi_x), w)
        z = torch.exp(s) * w + t
        x = torch.sigmoid(w)
        x = torch.where(y <= 0.0, 0.0, x)
        x = torch.where(y >= 1.0, 1.0, x)
        return x, -self._log_det(s, w, z)
