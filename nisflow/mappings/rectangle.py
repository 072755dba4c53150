"""The affine map of the unit hypercube onto a rectangular box ``Π [a_i, b_i]``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .base import Mapping

__all__ = ["Rectangle"]


class Rectangle(Mapping):
    """``x = a + (b - a) u``: [0, 1]^d onto the box ``Π [a_i, b_i]`` (uniform density ``1 / vol``).

    Args:
        low: the lower corner ``a``, a sequence of ``d`` finite floats.
        high: the upper corner ``b``, with ``b_i > a_i``.

    Example:
        >>> box = Rectangle([-1.0, 0.0], [1.0, 5.0])
        >>> box.log_prob(torch.tensor([[0.0, 1.0]], dtype=torch.float64))  # -log(10)
        tensor([-2.3026], dtype=torch.float64)
    """

    def __init__(self, low: Sequence[float], high: Sequence[float]):
        lo = torch.as_tensor(low, dtype=torch.float64).reshape(-1)
        hi = torch.as_tensor(high, dtype=torch.float64).reshape(-1)
        if lo.shape != hi.shape or lo.numel() == 0:
            raise ValueError(
                f"Expected low and high of the same length d >= 1; got {lo.numel()} and "
                f"{hi.numel()} entries."
            )
        if not bool(torch.isfinite(lo).all() & torch.isfinite(hi).all()):
            raise ValueError(f"Expected finite corners; got low={lo.tolist()}, high={hi.tolist()}.")
        super().__init__(lo.numel(), lo, hi)
        self.register_buffer("log_volume", torch.log(hi - lo).sum())
        if not math.isfinite(self.log_volume.item()):
            raise ValueError(
                f"Expected a box of finite, positive volume; got low={lo.tolist()}, high={hi.tolist()}."
            )

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        low, high = self.low.to(u), self.high.to(u)
        x = torch.minimum(torch.maximum(low + (high - low) * u, low), high)
        return x, self.log_volume.to(u).expand(u.shape[0]).clone()

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        low, high = self.low.to(x), self.high.to(x)
        u = ((x - low) / (high - low)).clamp(0.0, 1.0)
        return u, (-self.log_volume.to(x)).expand(x.shape[0]).clone()
