"""Rotations between coupling cells (soft permutations, MadNIS §3.4) and the Gaussian CDF map.

A rotation ``R`` in SO(d) acts on R^d. On the unit hypercube it is wrapped as

    y = Phi(R Phi^{-1}(x)),

with ``Phi`` the standard-normal CDF applied per coordinate. Since a rotated standard normal is
a standard normal, this map preserves the uniform density on [0, 1]^d: its Jacobian
determinant is ``prod phi(z') / prod phi(z) = exp(-(|Rz|^2 - |z|^2) / 2) = 1``. Every rotation
here therefore has ``log_det = 0`` on both domains.

The trainable rotation is parametrised by ``d(d-1)/2`` generalized Euler angles: ``R`` is the
product ``B^(d) ... B^(2)`` of the MadNIS construction, where ``B^(l)`` — built from the
``l - 1`` angles of step ``l`` — equals the product of Givens rotations in the planes
``(1, l), ..., (l - 1, l)``. All angles zero give the identity.

Points at exactly 0 and 1 are handled by clamping the tail probability to the smallest normal
number of the dtype before ``Phi^{-1}``, so every result is finite in float32 and float64.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..checks import check_dimension
from .base import Bijection, zeros_log_det

__all__ = [
    "normal_cdf",
    "normal_icdf",
    "normal_log_pdf",
    "euler_rotation_matrix",
    "n_euler_angles",
    "Rotation",
    "SoftRotation",
    "TrainableRotation",
    "GaussianCDF",
]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def normal_cdf(z: Tensor) -> Tensor:
    """The standard-normal CDF ``Phi(z)`` element-wise; values in [0, 1]."""
    return torch.special.ndtr(z)


def normal_icdf(x: Tensor) -> Tensor:
    """The standard-normal quantile ``Phi^{-1}(x)`` element-wise, finite on all of [0, 1].

    The upper half uses ``-Phi^{-1}(1 - x)`` (``1 - x`` is exact there), so both tails keep
    full relative precision; the tail probability is clamped to the dtype's smallest normal
    number, which maps 0 and 1 to about ``∓13`` (float32) or ``∓37.5`` (float64).
    """
    tail = torch.minimum(x, 1 - x).clamp_min(torch.finfo(x.dtype).tiny)
    z = torch.special.ndtri(tail)
    return torch.where(x < 0.5, z, -z)


def normal_log_pdf(z: Tensor) -> Tensor:
    """``log phi(z)`` element-wise."""
    return -0.5 * z * z - _LOG_SQRT_2PI


def n_euler_angles(d: int) -> int:
    """The number ``d (d - 1) / 2`` of generalized Euler angles of SO(d)."""
    d = check_dimension(d)
    return d * (d - 1) // 2


def euler_rotation_matrix(angles: Tensor, d: int) -> Tensor:
    """The rotation matrix of ``d(d-1)/2`` generalized Euler angles (MadNIS eqs. 30–44).

    The angles are ordered by step: angle ``m(m-1)/2 + i`` is ``theta_i`` of the block acting on
    coordinates ``0..m`` (0-based, ``i < m``). Block ``m`` is
    ``A^(m) = G_{m-1,m}(theta_{m-1}) ... G_{0,m}(theta_0)`` with the Givens rotation
    ``G_{i,m}(t)``: ``e_i -> cos t e_i - sin t e_m``, ``e_m -> sin t e_i + cos t e_m``, written in
    closed form, and ``R = A^(d-1) ... A^(1)``. Vectorised: no Python loop over angles.

    Args:
        angles: tensor of shape ``(d(d-1)/2,)``.
        d: dimension.

    Returns:
        ``R`` of shape ``(d, d)``, orthogonal with determinant 1, same dtype and device as
        ``angles``; differentiable in the angles.
    """
    d = check_dimension(d)
    if angles.shape != (n_euler_angles(d),):
        raise ValueError(
            f"Expected angles of shape ({n_euler_angles(d)},); got {tuple(angles.shape)}."
        )
    dev, dt = angles.device, angles.dtype
    eye = torch.eye(d, device=dev, dtype=dt)
    if d == 1:
        return eye
    rows, cols = torch.tril_indices(d, d, offset=-1, device=dev)
    theta = torch.zeros(d, d, device=dev, dtype=dt).index_put((rows, cols), angles)
    idx = torch.arange(d, device=dev)
    m_, j_ = idx[:, None], idx[None, :]
    lower = j_ < m_  # (m, j): angle j of block m exists
    c = torch.where(lower, torch.cos(theta), torch.ones_like(theta))  # (m, j)
    s = torch.where(lower, torch.sin(theta), torch.zeros_like(theta))
    # sin-factor of row i in block m: sin(theta_i) below the diagonal, 1 at i = m, 0 above
    sp = s + (m_ == j_).to(dt)  # (m, i)
    # prod_{k<j<i} c[m, j] as an exclusive cumulative product over j with entries j <= k set to 1
    k3 = idx[None, :, None]
    j3 = idx[None, None, :]
    e = torch.where(j3 > k3, c[:, None, :], torch.ones((), device=dev, dtype=dt))  # (m, k, j)
    cum = torch.cumprod(e, dim=-1)
    cum = torch.cat([torch.ones_like(cum[..., :1]), cum[..., :-1]], dim=-1)  # (m, k, i)
    full = torch.cumprod(c, dim=-1)
    full = torch.cat([torch.ones_like(full[:, :1]), full[:, :-1]], dim=-1)  # (m, i)
    i3 = idx[None, :, None]  # rows of A
    kk = idx[None, None, :]  # columns of A
    # below the diagonal: A[m, i, k] = -s[m, k] sp[m, i] cum[m, k, i]
    below = -s[:, None, :] * sp[:, :, None] * cum.transpose(1, 2)
    a = torch.where(i3 > kk, below, torch.zeros((), device=dev, dtype=dt))
    a = a + torch.diag_embed(c)
    col_m = sp * full  # (m, i): column m of block m
    is_col_m = kk == idx[:, None, None]
    a = torch.where(is_col_m, col_m[:, :, None], a)
    # R = A[d-1] @ A[d-2] @ ... @ A[0]: pairwise tree of batched matmuls
    mats = a.flip(0)
    while mats.shape[0] > 1:
        if mats.shape[0] % 2:
            mats = torch.cat([mats, eye[None]], dim=0)
        mats = mats[0::2] @ mats[1::2]
    return mats[0]


def _check_domain(domain: str) -> str:
    if domain not in ("unit", "real"):
        raise ValueError(f"Expected domain to be 'unit' or 'real'; got {domain!r}.")
    return domain


class Rotation(Bijection):
    """A rotation of R^d, wrapped by ``Phi`` / ``Phi^{-1}`` on the unit hypercube.

    Subclasses implement :meth:`matrix`. ``forward`` applies ``z -> R z``, ``inverse``
    ``z -> R^T z``; ``log_det`` is zero on both domains (see the module docstring).

    Args:
        d: dimension.
        domain: ``"unit"`` (points in [0, 1]^d, the default) or ``"real"`` (points in R^d).
    """

    def __init__(self, d: int, *, domain: str = "unit"):
        super().__init__()
        self.d = check_dimension(d)
        self.domain_in = self.domain_out = _check_domain(domain)

    def matrix(self, dtype: torch.dtype | None = None) -> Tensor:  # pragma: no cover - abstract
        """The rotation matrix, shape ``(d, d)``, computed in ``dtype`` (default: its own)."""
        raise NotImplementedError

    def _rotate(self, x: Tensor, transpose: bool) -> Tensor:
        r = self.matrix(x.dtype)
        z = normal_icdf(x) if self.domain_in == "unit" else x
        z = z @ r if transpose else z @ r.T
        return normal_cdf(z) if self.domain_in == "unit" else z

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Rotate ``x`` of shape ``(n, d)``; return ``(y, zeros(n))``."""
        return self._rotate(x, transpose=False), zeros_log_det(x)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Rotate back; return ``(x, zeros(n))``."""
        return self._rotate(y, transpose=True), zeros_log_det(y)

    def extra_repr(self) -> str:
        return f"d={self.d}, domain={self.domain_in!r}"


def _random_angles(d: int, generator: torch.Generator | None) -> Tensor:
    return (
        torch.rand(n_euler_angles(d), generator=generator, dtype=torch.float64) * 2 - 1
    ) * math.pi


class SoftRotation(Rotation):
    """A fixed random rotation (the "soft permutation" of Glow / MadNIS).

    Stored as a buffer of ``d(d-1)/2`` random Euler angles, so that the matrix is recomputed
    orthogonal to working precision after ``.to(dtype)``.

    Args:
        d: dimension.
        domain: ``"unit"`` or ``"real"``.
        generator: draws the angles, uniformly in ``(-pi, pi)`` (same seed -> same rotation).
    """

    def __init__(self, d: int, *, domain: str = "unit", generator: torch.Generator | None = None):
        super().__init__(d, domain=domain)
        self.register_buffer(
            "angles", _random_angles(self.d, generator).to(torch.get_default_dtype())
        )

    def matrix(self, dtype: torch.dtype | None = None) -> Tensor:
        """The rotation matrix, shape ``(d, d)``, computed in ``dtype`` (default: the angles')."""
        return euler_rotation_matrix(self.angles.to(dtype or self.angles.dtype), self.d)


class TrainableRotation(Rotation):
    """A rotation with ``d(d-1)/2`` trainable generalized Euler angles (MadNIS §3.4).

    Args:
        d: dimension.
        domain: ``"unit"`` or ``"real"``.
        init: ``"identity"`` (all angles zero) or ``"random"`` (uniform in ``(-pi, pi)``).
        generator: draws the random initial angles.
    """

    def __init__(
        self,
        d: int,
        *,
        domain: str = "unit",
        init: str = "identity",
        generator: torch.Generator | None = None,
    ):
        super().__init__(d, domain=domain)
        if init == "identity":
            angles = torch.zeros(n_euler_angles(self.d), dtype=torch.float64)
        elif init == "random":
            angles = _random_angles(self.d, generator)
        else:
            raise ValueError(f"Expected init to be 'identity' or 'random'; got {init!r}.")
        self.angles = nn.Parameter(angles.to(torch.get_default_dtype()))

    def matrix(self, dtype: torch.dtype | None = None) -> Tensor:
        """The rotation matrix, shape ``(d, d)``, in ``dtype``; differentiable in :attr:`angles`."""
        return euler_rotation_matrix(self.angles.to(dtype or self.angles.dtype), self.d)


class GaussianCDF(Bijection):
    """The element-wise standard-normal CDF, R^d -> [0, 1]^d: the map that ends a flow on a
    :class:`~nisflow.flows.GaussianPrior`.

    ``forward``: ``y = Phi(x)``, ``log_det = sum log phi(x)``; ``inverse``: ``x = Phi^{-1}(y)``
    (finite at 0 and 1, see :func:`normal_icdf`), ``log_det = -sum log phi(x)``.
    """

    domain_in = "real"
    domain_out = "unit"

    def __init__(self, d: int):
        super().__init__()
        self.d = check_dimension(d)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``x`` of shape ``(n, d)`` in R^d to [0, 1]^d; return ``(y, log_det (n,))``."""
        return normal_cdf(x), normal_log_pdf(x).sum(-1)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``y`` of shape ``(n, d)`` in [0, 1]^d to R^d; return ``(x, log_det (n,))``."""
        x = normal_icdf(y)
        return x, -normal_log_pdf(x).sum(-1)

    def extra_repr(self) -> str:
        return f"d={self.d}"
