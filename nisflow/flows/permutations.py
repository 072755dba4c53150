"""Coordinate permutations between coupling cells (volume preserving, ``log_det = 0``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..checks import check_dimension
from .base import Bijection, zeros_log_det

__all__ = ["Permutation", "ExchangePermutation", "RandomPermutation"]


def _check_domain(domain: str) -> str:
    if domain not in ("unit", "real"):
        raise ValueError(f"Expected domain to be 'unit' or 'real'; got {domain!r}.")
    return domain


class Permutation(Bijection):
    """Reorder coordinates: ``y[:, i] = x[:, perm[i]]``.

    A permutation maps [0, 1]^d onto itself and R^d onto itself, so it acts on either domain;
    ``domain`` only tells :class:`~nisflow.flows.Flow` where it sits in the chain.

    Args:
        d: dimension.
        perm: a permutation of ``range(d)``.
        domain: ``"unit"`` or ``"real"``.

    Raises:
        ValueError: ``perm`` is not a permutation of ``range(d)``.
    """

    def __init__(self, d: int, perm: Sequence[int] | Tensor, *, domain: str = "unit"):
        super().__init__()
        self.d = check_dimension(d)
        self.domain_in = self.domain_out = _check_domain(domain)
        p = torch.as_tensor(perm, dtype=torch.long).detach().cpu().reshape(-1)
        if p.numel() != self.d or not torch.equal(torch.sort(p).values, torch.arange(self.d)):
            raise ValueError(f"Expected a permutation of range({self.d}); got {p.tolist()}.")
        self.register_buffer("perm", p)
        self.register_buffer("inv", torch.argsort(p))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Permute ``x`` of shape ``(n, d)``; return ``(y, zeros(n))``."""
        return x.index_select(1, self.perm), zeros_log_det(x)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Undo the permutation; return ``(x, zeros(n))``."""
        return y.index_select(1, self.inv), zeros_log_det(y)

    def extra_repr(self) -> str:
        return f"d={self.d}, perm={self.perm.tolist()}"


class ExchangePermutation(Permutation):
    """Reverse the order of the coordinates (the exchange of the two halves of a bipartite
    coupling, generalised to any ``d``)."""

    def __init__(self, d: int, *, domain: str = "unit"):
        d = check_dimension(d)
        super().__init__(d, torch.arange(d - 1, -1, -1), domain=domain)


class RandomPermutation(Permutation):
    """A fixed random permutation drawn from ``generator`` (same seed -> same permutation)."""

    def __init__(self, d: int, *, domain: str = "unit", generator: torch.Generator | None = None):
        d = check_dimension(d)
        super().__init__(d, torch.randperm(d, generator=generator), domain=domain)
