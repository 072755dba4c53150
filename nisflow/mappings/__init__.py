"""Analytic, invertible changes of variables with densities (the channel mappings of MadNIS).

Every mapping is a :class:`~nisflow.flows.Bijection` written in the sampling direction,
``forward(u) -> (x, log|det dx/du|)`` from latent points ``u`` (usually [0, 1]^d) to physical
points ``x``, with a declared output range (``low``, ``high``, ``contains``) that
``inverse``/``log_prob`` enforce. See :mod:`nisflow.mappings.base`.
"""

from .base import Identity, Mapping
from .breit_wigner import BreitWigner, RelativisticBreitWigner
from .compose import Chain, Product
from .hadronic import MomentumFractions
from .polar import Polar, Ring
from .propagator import MasslessPropagator
from .rectangle import Rectangle
from .rotation import Rotation

__all__ = [
    "Mapping",
    "Identity",
    "BreitWigner",
    "RelativisticBreitWigner",
    "MasslessPropagator",
    "MomentumFractions",
    "Rotation",
    "Polar",
    "Ring",
    "Rectangle",
    "Product",
    "Chain",
]
