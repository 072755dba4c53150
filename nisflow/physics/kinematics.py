"""Four-vector kinematics on batched tensors.

A four-vector is a tensor of shape ``(..., 4)`` holding ``(E, px, py, pz)``; every function works
on any leading batch shape, dtype and device. The metric is ``(+, -, -, -)``.

Example:
    >>> p = torch.tensor([[50.0, 0.0, 30.0, 40.0]], dtype=torch.float64)
    >>> float(pt(p)), float(mass(p))
    (30.0, 0.0)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "minkowski_dot",
    "mass_squared",
    "mass",
    "pt",
    "rapidity",
    "pseudorapidity",
    "phi",
    "delta_phi",
    "delta_r",
    "boost",
    "boost_to_rest_frame",
    "boost_from_rest_frame",
    "from_pt_eta_phi_m",
]


def _check_four_vector(p: Tensor, name: str = "p") -> None:
    if not isinstance(p, Tensor):
        raise TypeError(
            f"Expected {name} to be a torch.Tensor of shape (..., 4); got {type(p).__name__}."
        )
    if p.dim() == 0 or p.shape[-1] != 4:
        raise ValueError(f"Expected {name} of shape (..., 4); got shape {tuple(p.shape)}.")


def minkowski_dot(p: Tensor, q: Tensor) -> Tensor:
    """Minkowski product ``p·q = E_p E_q - p⃗·q⃗``; inputs ``(..., 4)``, output ``(...)``."""
    _check_four_vector(p, "p")
    _check_four_vector(q, "q")
    return p[..., 0] * q[..., 0] - (p[..., 1:] * q[..., 1:]).sum(-1)


def mass_squared(p: Tensor) -> Tensor:
    """Invariant mass squared ``p² = E² - |p⃗|²``; ``(..., 4) -> (...)``."""
    return minkowski_dot(p, p)


def mass(p: Tensor) -> Tensor:
    """Invariant mass ``sign(p²) sqrt(|p²|)`` (negative for space-like); ``(..., 4) -> (...)``."""
    m2 = mass_squared(p)
    return torch.sign(m2) * torch.sqrt(m2.abs())


def pt(p: Tensor) -> Tensor:
    """Transverse momentum ``sqrt(px² + py²)``; ``(..., 4) -> (...)``."""
    _check_four_vector(p)
    return torch.hypot(p[..., 1], p[..., 2])


def rapidity(p: Tensor) -> Tensor:
    """Rapidity ``y = ½ log((E + pz) / (E - pz))``; ``(..., 4) -> (...)``."""
    _check_four_vector(p)
    return 0.5 * torch.log((p[..., 0] + p[..., 3]) / (p[..., 0] - p[..., 3]))


def pseudorapidity(p: Tensor) -> Tensor:
    """Pseudorapidity ``η = asinh(pz / pT)``; ``(..., 4) -> (...)`` (±inf along the beam)."""
    _check_four_vector(p)
    return torch.asinh(p[..., 3] / pt(p))


def phi(p: Tensor) -> Tensor:
    """Azimuth ``atan2(py, px)`` in ``(-π, π]``; ``(..., 4) -> (...)``."""
    _check_four_vector(p)
    return torch.atan2(p[..., 2], p[..., 1])


def delta_phi(p: Tensor, q: Tensor) -> Tensor:
    """Azimuthal difference wrapped into ``[-π, π)``; ``(..., 4), (..., 4) -> (...)``."""
    d = phi(p) - phi(q)
    return torch.remainder(d + math.pi, 2 * math.pi) - math.pi


def delta_r(p: Tensor, q: Tensor) -> Tensor:
    """Angular distance ``ΔR = sqrt(Δη² + Δφ²)`` (pseudorapidity); ``(..., 4) -> (...)``."""
    return torch.hypot(pseudorapidity(p) - pseudorapidity(q), delta_phi(p, q))


def boost(p: Tensor, beta: Tensor) -> Tensor:
    """Apply the pure Lorentz boost with velocity ``beta`` to ``p``.

    A particle at rest is given momentum along ``beta``: ``boost(p_rest, beta)`` has velocity
    ``beta``. ``boost(boost(p, b), -b) == p``.

    Args:
        p: four-vectors, shape ``(..., 4)``.
        beta: velocities, shape ``(..., 3)`` (broadcastable against ``p[..., 1:]``), ``|beta| < 1``.

    Returns:
        The boosted four-vectors, shape of the broadcast of ``p`` and ``beta``.
    """
    _check_four_vector(p)
    if beta.shape[-1] != 3:
        raise ValueError(f"Expected beta of shape (..., 3); got shape {tuple(beta.shape)}.")
    b2 = (beta * beta).sum(-1)
    gamma = 1.0 / torch.sqrt(1.0 - b2)
    bp = (beta * p[..., 1:]).sum(-1)
    # (gamma - 1) / b2 written as gamma^2 / (1 + gamma): finite as beta -> 0
    coef = gamma * gamma / (1.0 + gamma)
    e = gamma * (p[..., 0] + bp)
    vec = p[..., 1:] + (coef * bp + gamma * p[..., 0]).unsqueeze(-1) * beta
    return torch.cat([e.unsqueeze(-1), vec], dim=-1)


def boost_to_rest_frame(p: Tensor, frame: Tensor) -> Tensor:
    """Express ``p`` in the rest frame of the time-like four-vector ``frame`` (pure boost).

    Args:
        p: four-vectors, shape ``(..., 4)``.
        frame: time-like four-vectors, shape ``(..., 4)`` (broadcastable).

    Returns:
        ``p`` seen from the rest frame of ``frame``; ``boost_to_rest_frame(frame, frame)`` is
        ``(m, 0, 0, 0)``.
    """
    _check_four_vector(frame, "frame")
    return boost(p, -frame[..., 1:] / frame[..., :1])


def boost_from_rest_frame(p: Tensor, frame: Tensor) -> Tensor:
    """Inverse of :func:`boost_to_rest_frame`: take ``p`` given in the rest frame of ``frame`` to
    the frame in which ``frame`` is given. Shapes ``(..., 4)``."""
    _check_four_vector(frame, "frame")
    return boost(p, frame[..., 1:] / frame[..., :1])


def from_pt_eta_phi_m(pt_: Tensor, eta: Tensor, phi_: Tensor, m: Tensor | float = 0.0) -> Tensor:
    """Build four-vectors from ``(pT, η, φ, m)``; each input ``(...)``, output ``(..., 4)``."""
    m = torch.as_tensor(m, dtype=pt_.dtype, device=pt_.device)
    px, py, pz = pt_ * torch.cos(phi_), pt_ * torch.sin(phi_), pt_ * torch.sinh(eta)
    e = torch.sqrt(px * px + py * py + pz * pz + m * m)
    return torch.stack(torch.broadcast_tensors(e, px, py, pz), dim=-1)
