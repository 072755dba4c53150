"""Generator-level cuts on final-state momenta: pT, |η| and pairwise ΔR.

Example:
    >>> cuts = Cuts(pt_min=20.0, eta_max=2.5, delta_r_min=0.4)
    >>> keep = cuts.passed(p)          # p: (n, m, 4) final-state momenta -> (n,) bool
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .kinematics import delta_r, pseudorapidity, pt

__all__ = ["Cuts", "ZUNIS_CUTS"]


@dataclass(frozen=True)
class Cuts:
    """Cuts applied to every final-state particle (and to every pair of them for ΔR).

    Attributes:
        pt_min: lower bound on each particle's transverse momentum in GeV.
        eta_max: upper bound on each particle's ``|η|`` (``None``: no cut). For the massless
            particles used here, η equals the rapidity.
        delta_r_min: lower bound on ``ΔR = sqrt(Δη² + Δφ²)`` of every pair.
    """

    pt_min: float = 0.0
    eta_max: float | None = None
    delta_r_min: float = 0.0

    def __post_init__(self) -> None:
        if not (self.pt_min >= 0 and math.isfinite(self.pt_min)):
            raise ValueError(f"Expected a finite pt_min >= 0; got {self.pt_min!r}.")
        if self.eta_max is not None and not self.eta_max > 0:
            raise ValueError(f"Expected eta_max > 0 or None; got {self.eta_max!r}.")
        if not (self.delta_r_min >= 0 and math.isfinite(self.delta_r_min)):
            raise ValueError(f"Expected a finite delta_r_min >= 0; got {self.delta_r_min!r}.")

    def passed(self, p: Tensor) -> Tensor:
        """Whether each event passes.

        Args:
            p: final-state momenta, shape ``(n, m, 4)``.

        Returns:
            bool tensor of shape ``(n,)``; events with undefined kinematics (NaN) fail.
        """
        if p.dim() != 3 or p.shape[-1] != 4:
            raise ValueError(f"Expected momenta of shape (n, m, 4); got {tuple(p.shape)}.")
        ok = torch.ones(p.shape[0], dtype=torch.bool, device=p.device)
        if self.pt_min > 0:
            ok = ok & (pt(p) > self.pt_min).all(-1)
        if self.eta_max is not None:
            ok = ok & (pseudorapidity(p).abs() < self.eta_max).all(-1)
        if self.delta_r_min > 0:
            m = p.shape[1]
            for i in range(m):
                for j in range(i + 1, m):
                    ok = ok & (delta_r(p[:, i], p[:, j]) > self.delta_r_min)
        return ok


ZUNIS_CUTS = Cuts(pt_min=0.1, eta_max=2.4, delta_r_min=0.4)
"""The cuts of the ZüNIS matrix-element benchmarks (seed 003 §4.3; its benchmark configuration:
``pt_cut = 0.1`` GeV, ``rap_maxcut = 2.4``, ``delr_cut = 0.4`` at ``e_cm = 1000`` GeV)."""
