"""A batch of evaluated points: what every trainer consumes and every sampler produces."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["SampleBatch"]


@dataclass(frozen=True)
class SampleBatch:
    """Points with their sampling density and integrand values.

    Attributes:
        x: points in [0, 1]^d, shape ``(n, d)``.
        log_q: log-density the points were drawn from (no gradient), float64, shape ``(n,)``.
        f: integrand values at ``x``, float64, shape ``(n,)``.
    """

    x: Tensor
    log_q: Tensor
    f: Tensor

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if self.x.dim() != 2 or self.log_q.shape != (n,) or self.f.shape != (n,):
            raise ValueError(
                "Expected x of shape (n, d) and log_q, f of shape (n,); got "
                f"{tuple(self.x.shape)}, {tuple(self.log_q.shape)}, {tuple(self.f.shape)}."
            )

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def weights(self) -> Tensor:
        """Importance weights ``f / q`` in float64, shape ``(n,)``."""
        return self.f.to(torch.float64) * torch.exp(-self.log_q.to(torch.float64))

    @staticmethod
    def cat(batches: list[SampleBatch]) -> SampleBatch:
        """Concatenate batches (at least one)."""
        if not batches:
            raise ValueError("Expected at least one batch to concatenate; got none.")
        return SampleBatch(
            torch.cat([b.x for b in batches]),
            torch.cat([b.log_q for b in batches]),
            torch.cat([b.f for b in batches]),
        )
