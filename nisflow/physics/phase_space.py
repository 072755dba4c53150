"""Phase-space generators: RAMBO on diet (Plätzer, arXiv:1308.2922) and two-body decays.

Conventions: the n-body phase-space measure is
``dΦ_n = (2π)^4 δ^4(P - Σ p_i) Π d³p_i / ((2π)³ 2 E_i)``, so that ``∫ dΦ_n`` for massless particles
is :func:`massless_volume` ``= (2π)^(4-3n) (π/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!)``.

RAMBO on diet builds the event as a chain of two-body decays ``Q_1 -> p_1 Q_2``,
``Q_2 -> p_2 Q_3``, ..., ``Q_{n-1} -> p_{n-1} p_n`` in the centre-of-mass frame
``Q_1 = (√s, 0, 0, 0)``. Of the ``3n - 4`` uniform numbers ``r``:

* ``r[:, i-2]`` for ``i = 2 .. n-1`` fixes the intermediate mass through ``u_i`` with
  ``r = (n+1-i) u^(2(n-i)) - (n-i) u^(2(n+1-i))`` and ``K_i = u_i K_{i-1}``, ``K_1 = √s - Σm``,
  ``M_i = K_i + Σ_{j>=i} m_j``;
* ``r[:, n-2 + 2(i-2)]`` and ``r[:, n-1 + 2(i-2)]`` for ``i = 2 .. n`` give ``cos θ = 2r - 1`` and
  ``φ = 2π r`` of ``p_{i-1}`` in the rest frame of ``Q_{i-1}``, reached from the lab by a pure boost.

The weight is the exact Jacobian ``dΦ_n / d^(3n-4) r``, i.e. the product of the two-body factors
``|q_i| / (4π M_{i-1})`` and of ``dM_i² / (2π dr_i)``. For massless particles it is the constant
:func:`massless_volume` (the map is flat); with masses it varies from point to point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_points
from .kinematics import boost_from_rest_frame, boost_to_rest_frame, mass_squared

__all__ = ["RamboOnDiet", "massless_volume", "two_body_momentum", "two_body_decay"]


def massless_volume(n: int, s: float) -> float:
    """Volume of the massless n-body phase space, ``(2π)^(4-3n) (π/2)^(n-1) s^(n-2) / ((n-1)!(n-2)!)``."""
    if n < 2:
        raise ValueError(f"Expected n >= 2 particles; got {n}.")
    return (
        (2 * math.pi) ** (4 - 3 * n)
        * (math.pi / 2) ** (n - 1)
        * s ** (n - 2)
        / (math.factorial(n - 1) * math.factorial(n - 2))
    )


def two_body_momentum(m0: Tensor, m1: Tensor | float, m2: Tensor | float) -> Tensor:
    """Momentum of either daughter in the rest frame of ``m0 -> m1 m2``: ``sqrt(λ(m0², m1², m2²)) / (2 m0)``."""
    a = (m0 * m0 - (m1 + m2) ** 2) * (m0 * m0 - (m1 - m2) ** 2)
    return torch.sqrt(a.clamp(min=0)) / (2 * m0)


def two_body_decay(
    parent: Tensor, m1: Tensor | float, m2: Tensor | float, cos_theta: Tensor, phi: Tensor
) -> tuple[Tensor, Tensor]:
    """Decay ``parent -> p1 p2`` with ``p1`` at angles ``(θ, φ)`` in the parent's rest frame.

    Args:
        parent: four-momenta, shape ``(..., 4)``.
        m1, m2: daughter masses (floats or tensors of shape ``(...)``).
        cos_theta, phi: direction of ``p1`` in the parent rest frame, shape ``(...)``.

    Returns:
        ``(p1, p2)`` in the frame of ``parent``, each ``(..., 4)``.
    """
    m0 = torch.sqrt(mass_squared(parent).clamp(min=0))
    q = two_body_momentum(m0, m1, m2)
    sin_theta = torch.sqrt((1 - cos_theta * cos_theta).clamp(min=0))
    vec = torch.stack(
        [sin_theta * torch.cos(phi), sin_theta * torch.sin(phi), cos_theta], -1
    ) * q.unsqueeze(-1)
    m1 = torch.as_tensor(m1, dtype=q.dtype, device=q.device)
    m2 = torch.as_tensor(m2, dtype=q.dtype, device=q.device)
    e1 = torch.sqrt(q * q + m1 * m1)
    e2 = torch.sqrt(q * q + m2 * m2)
    p1 = torch.cat([e1.unsqueeze(-1), vec], -1)
    p2 = torch.cat([e2.unsqueeze(-1), -vec], -1)
    return boost_from_rest_frame(p1, parent), boost_from_rest_frame(p2, parent)


def _solve_u2(r: Tensor, k: int, n_iter: int = 64) -> Tensor:
    """Solve ``(k+1) v^k - k v^(k+1) = r`` for ``v = u²`` in [0, 1] by bisection (monotone in v)."""
    lo = torch.zeros_like(r)
    hi = torch.ones_like(r)
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        val = (k + 1) * mid**k - k * mid ** (k + 1)
        below = val < r
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    v = 0.5 * (lo + hi)
    # one Newton step polishes the last bits
    f = (k + 1) * v**k - k * v ** (k + 1) - r
    df = k * (k + 1) * v ** (k - 1) * (1 - v)
    step = torch.where(df > 0, f / df.clamp(min=torch.finfo(r.dtype).tiny), torch.zeros_like(f))
    v_new = v - step
    return torch.where((v_new >= lo) & (v_new <= hi), v_new, v)


class RamboOnDiet(nn.Module):
    """RAMBO on diet: ``3n - 4`` uniform numbers <-> an n-body event in its centre-of-mass frame.

    Args:
        n: number of final-state particles, ``n >= 2``.
        masses: the ``n`` particle masses in GeV (default all zero).

    Attributes:
        d: ``3n - 4``, the number of random numbers per event.
        masses: buffer of shape ``(n,)``.

    Example:
        >>> ps = RamboOnDiet(3)
        >>> r = torch.rand(5, ps.d, dtype=torch.float64)
        >>> p, log_w = ps(r, 100.0)          # p: (5, 3, 4)
        >>> r_back, _ = ps.inverse(p)        # == r
    """

    def __init__(self, n: int, masses: Sequence[float] | None = None):
        super().__init__()
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"Expected n >= 2 particles; got {n!r}.")
        masses = [0.0] * n if masses is None else [float(m) for m in masses]
        if len(masses) != n or any(not (m >= 0 and math.isfinite(m)) for m in masses):
            raise ValueError(f"Expected {n} non-negative finite masses; got {masses}.")
        self.n = n
        self.d = 3 * n - 4
        self.register_buffer("masses", torch.tensor(masses, dtype=torch.float64))
        # mu[i] = sum of masses of particles i..n-1 (0-based)
        self.register_buffer(
            "mu", torch.tensor([sum(masses[i:]) for i in range(n)], dtype=torch.float64)
        )

    def _check_energy(self, e_cm: Tensor) -> None:
        too_low = e_cm <= self.mu[0].to(e_cm)
        if bool(too_low.any()):
            raise ValueError(
                f"Expected a centre-of-mass energy above the sum of masses {float(self.mu[0]):g} GeV; "
                f"got {int(too_low.sum())} events below it, e.g. {float(e_cm[too_low][0]):g}."
            )

    def forward(self, r: Tensor, e_cm: Tensor | float) -> tuple[Tensor, Tensor]:
        """Map uniform numbers to momenta.

        Args:
            r: points of shape ``(N, 3n-4)`` in [0, 1].
            e_cm: the centre-of-mass energy ``√s`` in GeV, a float or a tensor of shape ``(N,)``.

        Returns:
            ``(p, log_w)``: momenta of shape ``(N, n, 4)`` in the frame ``Q = (√s, 0, 0, 0)`` and
            ``log(dΦ_n / d^(3n-4) r)`` of shape ``(N,)``.
        """
        r = check_points(r, self.d, "r")
        n, N = self.n, r.shape[0]
        e_cm = torch.as_tensor(e_cm, dtype=r.dtype, device=r.device).expand(N)
        self._check_energy(e_cm)
        m = self.masses.to(r)
        mu = self.mu.to(r)
        zero = torch.zeros_like(e_cm)
        Q = torch.stack([e_cm, zero, zero, zero], -1)
        K_prev, M_prev = e_cm - mu[0], e_cm
        log_w = torch.zeros_like(e_cm)
        out = []
        for i in range(2, n + 1):
            if i < n:
                k = n - i
                v = _solve_u2(r[:, i - 2], k)
                u = torch.sqrt(v)
                K = u * K_prev
                M = K + mu[i - 1]
                dr_du = 2.0 * (k + 1) * k * u ** (2 * k - 1) * (1 - v)
                log_w = log_w + torch.log(2 * M * K_prev / dr_du) - math.log(2 * math.pi)
            else:
                K, M = zero, m[n - 1].expand(N)
            cos_t = 2 * r[:, n - 2 + 2 * (i - 2)] - 1
            phi = 2 * math.pi * r[:, n - 1 + 2 * (i - 2)]
            p, Q = two_body_decay(Q, m[i - 2], M, cos_t, phi)
            q = two_body_momentum(M_prev, m[i - 2], M)
            log_w = log_w + torch.log(q / (4 * math.pi * M_prev))
            out.append(p)
            K_prev, M_prev = K, M
        out.append(Q)
        return torch.stack(out, 1), log_w

    def inverse(self, p: Tensor) -> tuple[Tensor, Tensor]:
        """Recover the uniform numbers from momenta made by :meth:`forward`.

        Args:
            p: momenta of shape ``(N, n, 4)`` in their centre-of-mass frame.

        Returns:
            ``(r, log_w)``: points of shape ``(N, 3n-4)`` and ``log(dΦ_n / d^(3n-4) r)``, ``(N,)``.
        """
        n = self.n
        if not isinstance(p, Tensor) or p.dim() != 3 or p.shape[1:] != (n, 4):
            raise ValueError(
                f"Expected momenta of shape (N, {n}, 4); got {getattr(p, 'shape', type(p))}."
            )
        m = self.masses.to(p)
        mu = self.mu.to(p)
        tails = torch.flip(torch.cumsum(torch.flip(p, [1]), 1), [1])  # tails[:, i] = sum_{j>=i} p_j
        M_all = torch.sqrt(mass_squared(tails).clamp(min=0))  # (N, n)
        e_cm = M_all[:, 0]
        self._check_energy(e_cm)
        cols = [None] * self.d
        log_w = torch.zeros_like(e_cm)
        K_prev, M_prev = e_cm - mu[0], e_cm
        for i in range(2, n + 1):
            if i < n:
                k = n - i
                M = M_all[:, i - 1]
                K = M - mu[i - 1]
                u = (K / K_prev).clamp(0, 1)
                v = u * u
                cols[i - 2] = (k + 1) * v**k - k * v ** (k + 1)
                dr_du = 2.0 * (k + 1) * k * u ** (2 * k - 1) * (1 - v)
                log_w = log_w + torch.log(2 * M * K_prev / dr_du) - math.log(2 * math.pi)
            else:
                K, M = torch.zeros_like(e_cm), m[n - 1].expand_as(e_cm)
            rest = boost_to_rest_frame(p[:, i - 2], tails[:, i - 2])
            vec = rest[:, 1:]
            cos_t = vec[:, 2] / torch.linalg.vector_norm(vec, dim=-1)
            phi = torch.remainder(torch.atan2(vec[:, 1], vec[:, 0]), 2 * math.pi)
            cols[n - 2 + 2 * (i - 2)] = 0.5 * (cos_t + 1)
            cols[n - 1 + 2 * (i - 2)] = phi / (2 * math.pi)
            q = two_body_momentum(M_prev, m[i - 2], M)
            log_w = log_w + torch.log(q / (4 * math.pi * M_prev))
            K_prev, M_prev = K, M
        return torch.stack(cols, -1).clamp(0, 1), log_w

    def extra_repr(self) -> str:
        return f"n={self.n}, masses={self.masses.tolist()}"
