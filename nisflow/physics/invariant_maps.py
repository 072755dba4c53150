"""Analytic maps of a uniform number to an invariant mass squared (MadNIS eq. 61-63), functional form.

These are the small functional versions that :mod:`nisflow.physics.processes` uses internally;
:mod:`nisflow.mappings` holds the module versions that compose with flows. Each map takes
``u`` in [0, 1] (any shape) and returns ``(s, log_jac)`` with ``log_jac = log(ds/du)``; each
inverse returns ``(u, log(du/ds))``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "power_law_s",
    "power_law_s_inverse",
    "breit_wigner_s",
    "breit_wigner_s_inverse",
]


def _check_range(s_min: float, s_max: float) -> None:
    if not (0 < s_min < s_max < math.inf):
        raise ValueError(f"Expected 0 < s_min < s_max < inf; got s_min={s_min}, s_max={s_max}.")


def power_law_s(u: Tensor, s_min: float, s_max: float, nu: float = 2.0) -> tuple[Tensor, Tensor]:
    """``s`` distributed as ``s^-ν`` on ``[s_min, s_max]`` (eq. 63); ``ν = 1`` is logarithmic.

    Args:
        u: uniform numbers, any shape.
        s_min, s_max: range of ``s`` (GeV²), ``0 < s_min < s_max``.
        nu: the exponent ν.

    Returns:
        ``(s, log(ds/du))``, each of the shape of ``u``.
    """
    _check_range(s_min, s_max)
    if nu == 1.0:
        log_ratio = math.log(s_max / s_min)
        s = s_min * torch.exp(u * log_ratio)
        return s, torch.log(s) + math.log(log_ratio)
    a, b = s_min ** (1 - nu), s_max ** (1 - nu)
    s = (u * b + (1 - u) * a) ** (1 / (1 - nu))
    s = s.clamp(s_min, s_max)
    # ds/du = s^nu (b - a) / (1 - nu)
    return s, nu * torch.log(s) + math.log((b - a) / (1 - nu))


def power_law_s_inverse(
    s: Tensor, s_min: float, s_max: float, nu: float = 2.0
) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`power_law_s`: ``(u, log(du/ds))``."""
    _check_range(s_min, s_max)
    if nu == 1.0:
        log_ratio = math.log(s_max / s_min)
        return torch.log(s / s_min) / log_ratio, -torch.log(s) - math.log(log_ratio)
    a, b = s_min ** (1 - nu), s_max ** (1 - nu)
    u = (s ** (1 - nu) - a) / (b - a)
    return u.clamp(0, 1), -nu * torch.log(s) - math.log((b - a) / (1 - nu))


def breit_wigner_s(
    u: Tensor, mass: float, width: float, s_min: float, s_max: float
) -> tuple[Tensor, Tensor]:
    """``s`` distributed as the Breit-Wigner ``MΓ / ((s - M²)² + M²Γ²)`` on ``[s_min, s_max]`` (eq. 61-62).

    Returns:
        ``(s, log(ds/du))``, each of the shape of ``u``.
    """
    _check_range(s_min, s_max)
    mg = mass * width
    w_min = math.atan((s_min - mass**2) / mg)
    w_max = math.atan((s_max - mass**2) / mg)
    t = torch.tan(w_min + (w_max - w_min) * u)
    s = (mass**2 + mg * t).clamp(s_min, s_max)
    return s, torch.log((w_max - w_min) * mg * (1 + t * t))


def breit_wigner_s_inverse(
    s: Tensor, mass: float, width: float, s_min: float, s_max: float
) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`breit_wigner_s`: ``(u, log(du/ds))``."""
    _check_range(s_min, s_max)
    mg = mass * width
    w_min = math.atan((s_min - mass**2) / mg)
    w_max = math.atan((s_max - mass**2) / mg)
    t = (s - mass**2) / mg
    u = (torch.atan(t) - w_min) / (w_max - w_min)
    return u.clamp(0, 1), -torch.log((w_max - w_min) * mg * (1 + t * t))
