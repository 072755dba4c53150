"""The contract of an analytic mapping: a :class:`~nisflow.flows.Bijection` with a declared range.

A mapping is an invertible change of variables ``u -> x`` with an exact Jacobian, written in the
*sampling* direction like a flow: :meth:`Mapping.forward` takes latent points ``u`` (usually
uniform random numbers in [0, 1]^d) to physical points ``x``. When ``u`` is uniform, the density of
``x`` is ``g(x) = |det dx/du|^-1``, which :meth:`Mapping.log_prob` returns.

Target domain. ``domain_in`` and ``domain_out`` keep the coarse meaning of
:class:`~nisflow.flows.Bijection` (``"unit"``: [0, 1] per coordinate, ``"real"``: anywhere in R).
The precise range of the outputs is the box ``[low_i, high_i]`` held in the buffers :attr:`low`
and :attr:`high` (shape ``(d,)``, entries may be ``±inf``); a mapping whose image is not a box
(e.g. an annulus) refines :meth:`Mapping.contains`. :meth:`Mapping.forward` never returns a point
outside its range, and :meth:`Mapping.inverse` / :meth:`Mapping.log_prob` raise ``ValueError``
naming how many points and one of them when given a point outside it.

A mapping whose range lies inside [0, 1]^d declares
``domain_out = "unit"`` so that it can precede a flow.

Numerical constants are stored as float64 buffers (``.to(device, dtype)`` moves them) and are
cast to the dtype and device of the points at each call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..checks import check_dimension, check_points
from ..flows.base import Bijection, Domain
from ..rng import rand

__all__ = ["Mapping", "Identity", "bounds_of", "domain_in_of", "snap_to_box"]

_DOMAINS = ("unit", "real")


def domain_in_of(b: object) -> Domain:
    """Where the inputs of ``b``'s forward map live; a :class:`~nisflow.flows.Flow` uses its prior's."""
    prior = getattr(b, "prior", None)
    if prior is not None and not hasattr(b, "domain_in"):
        return getattr(prior, "domain", "unit")
    return getattr(b, "domain_in", "unit")


def bounds_of(b: object, d: int) -> tuple[Tensor, Tensor]:
    """The output box of a bijection: its ``low``/``high`` buffers, else from ``domain_out``.

    Returns:
        ``(low, high)``, float64 tensors of shape ``(d,)`` on the CPU.
    """
    low, high = getattr(b, "low", None), getattr(b, "high", None)
    if isinstance(low, Tensor) and isinstance(high, Tensor):
        return low.detach().to("cpu", torch.float64), high.detach().to("cpu", torch.float64)
    if getattr(b, "domain_out", "unit") == "unit":
        return torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
    inf = torch.full((d,), math.inf, dtype=torch.float64)
    return -inf, inf


def snap_to_box(y: Tensor, low: Tensor, high: Tensor, ulps: float = 64.0) -> Tensor:
    """Clamp entries of ``y`` that lie outside ``[low, high]`` by rounding error only.

    An entry counts as rounding error when it is outside by at most
    ``ulps * eps * (1 + |y|)`` (``eps`` of ``y``'s dtype); entries further out are left as they are,
    so that a range check still reports them.

    Args:
        y: points, shape ``(n, d)``.
        low, high: bounds, shape ``(d,)`` (cast to ``y``'s dtype and device).
    """
    low, high = low.to(y), high.to(y)
    tol = ulps * torch.finfo(y.dtype).eps * (1 + y.abs())
    y = torch.where((y < low) & (y >= low - tol), low, y)
    return torch.where((y > high) & (y <= high + tol), high, y)


class Mapping(Bijection):
    """An analytic bijection ``u -> x`` with a declared output range ``[low, high]``.

    Subclasses call ``super().__init__(d, low, high)`` and implement :meth:`_forward` and
    :meth:`_inverse` (same contract as ``forward``/``inverse``, without the checks). They may
    override :meth:`contains` when their image is smaller than the box.

    Args:
        d: dimension of the points.
        low: lower bounds of the output range, a float or a sequence of ``d`` floats (may be -inf).
        high: upper bounds of the output range (may be +inf).

    Attributes:
        low: buffer of shape ``(d,)``, the lower corner of the output range.
        high: buffer of shape ``(d,)``, the upper corner of the output range.
    """

    domain_in: Domain = "unit"
    domain_out: Domain = "real"

    def __init__(self, d: int, low: float | Sequence[float], high: float | Sequence[float]):
        super().__init__()
        self.d = check_dimension(d)
        lo = torch.as_tensor(low, dtype=torch.float64).reshape(-1).expand(self.d).clone()
        hi = torch.as_tensor(high, dtype=torch.float64).reshape(-1).expand(self.d).clone()
        if bool(torch.isnan(lo).any() | torch.isnan(hi).any()) or not bool((lo < hi).all()):
            raise ValueError(
                f"Expected an output range with low < high in every coordinate; got low="
                f"{lo.tolist()}, high={hi.tolist()}."
            )
        self.register_buffer("low", lo)
        self.register_buffer("high", hi)
        if bool((lo >= 0).all() & (hi <= 1).all()):
            # An image inside [0, 1]^d can feed anything that takes the unit hypercube (a flow).
            self.domain_out = "unit"

    # -- range ------------------------------------------------------------------------------
    def contains(self, x: Tensor) -> Tensor:
        """Whether each point of ``x`` (shape ``(n, d)``) lies in the range; returns ``(n,)`` bool."""
        low, high = self.low.to(x), self.high.to(x)
        return ((x >= low) & (x <= high)).all(-1)

    def describe_range(self) -> str:
        """The range in words, for error messages."""
        parts = [
            f"[{lo:g}, {hi:g}]"
            for lo, hi in zip(self.low.tolist(), self.high.tolist(), strict=True)
        ]
        return " x ".join(parts)

    def check_range(self, x: object, name: str = "x") -> Tensor:
        """Check shape, finiteness and that every point of ``x`` lies in the range.

        Raises:
            TypeError: ``x`` is not a floating tensor.
            ValueError: wrong shape, non-finite entries, or points outside the range (the message
                gives how many and one of them).
        """
        x = check_points(x, self.d, name)
        outside = ~self.contains(x)
        if bool(outside.any()):
            i = int(outside.nonzero()[0, 0])
            raise ValueError(
                f"Expected {name} inside the range of {type(self).__name__}, "
                f"{self.describe_range()}; got {int(outside.sum())} of {x.shape[0]} points "
                f"outside, e.g. {x[i].tolist()}."
            )
        return x

    def _check_latent(self, u: object) -> Tensor:
        u = check_points(u, self.d, "u")
        if self.domain_in == "unit":
            outside = ((u < 0) | (u > 1)).any(-1)
            if bool(outside.any()):
                i = int(outside.nonzero()[0, 0])
                raise ValueError(
                    f"Expected u inside the unit hypercube [0, 1]^{self.d}; got "
                    f"{int(outside.sum())} of {u.shape[0]} points outside, e.g. {u[i].tolist()}."
                )
        return u

    # -- maps -------------------------------------------------------------------------------
    def forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """Map latent points ``u`` (n, d) into the range; return ``(x, log|det dx/du|)``.

        Raises:
            ValueError: ``u`` has the wrong shape, non-finite entries, or (for ``domain_in ==
                "unit"``) entries outside [0, 1].
        """
        return self._forward(self._check_latent(u))

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map points ``x`` (n, d) of the range back; return ``(u, log|det du/dx|)``.

        Raises:
            ValueError: ``x`` has the wrong shape, non-finite entries or points outside the range.
        """
        return self._inverse(self.check_range(x))

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- densities --------------------------------------------------------------------------
    def log_prob(self, x: Tensor, *, strict: bool = True) -> Tensor:
        """Log-density of ``x`` (n, d) when ``u`` is uniform on [0, 1]^d; returns ``(n,)``.

        Equal to ``-log|det dx/du|`` at ``u = inverse(x)``.

        Args:
            x: points, shape ``(n, d)``.
            strict: if true (default), a point outside the range is an error; if false, it gets
                log-density ``-inf`` (what a multi-channel sum over channels needs).

        Raises:
            TypeError: the mapping does not start from the unit hypercube (no density).
            ValueError: ``x`` has the wrong shape, non-finite entries, or (``strict``) points
                outside the range.
        """
        self._check_has_density()
        if strict:
            return self._log_prob(self.check_range(x))
        x = check_points(x, self.d)
        inside = self.contains(x)
        safe = torch.where(inside[:, None], x, self.central_point(x))
        return torch.where(inside, self._log_prob(safe), torch.full_like(x[:, 0], -math.inf))

    def _check_has_density(self) -> None:
        if self.domain_in != "unit":
            raise TypeError(
                f"Expected a mapping from the unit hypercube to define a density; "
                f"{type(self).__name__} takes points in the '{self.domain_in}' domain."
            )

    def _log_prob(self, x: Tensor) -> Tensor:
        # log-density of points already known to be in the range
        return self._inverse(x)[1]

    def central_point(self, like: Tensor) -> Tensor:
        """A point of the range, the image of the centre of the latent space; shape ``(1, d)``."""
        centre = 0.5 if self.domain_in == "unit" else 0.0
        u = torch.full((1, self.d), centre, dtype=like.dtype, device=like.device)
        with torch.no_grad():
            return self._forward(u)[0]

    def sample_and_log_prob(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points ``x = forward(u)`` with ``u`` uniform, and their log-density.

        Args:
            n: number of points.
            generator: source of randomness.
            device: defaults to the device of the buffers.
            dtype: defaults to the dtype of the buffers (float64 unless converted).

        Returns:
            ``(x, log_prob)`` of shapes ``(n, d)`` and ``(n,)``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"Expected a non-negative integer number of points; got {n!r}.")
        self._check_has_density()
        device = self.low.device if device is None else device
        dtype = self.low.dtype if dtype is None else dtype
        u = rand(n, self.d, generator=generator, device=device, dtype=dtype)
        x, log_det = self.forward(u)
        return x, -log_det

    def sample(self, n: int, *, generator: torch.Generator | None = None, **kwargs) -> Tensor:
        """Draw ``n`` points, shape ``(n, d)`` (keywords as :meth:`sample_and_log_prob`)."""
        return self.sample_and_log_prob(n, generator=generator, **kwargs)[0]


class Identity(Mapping):
    """The identity map on [0, 1]^d (``domain="unit"``) or on R^d (``domain="real"``).

    The flat channel of a multi-channel integrator, or the untouched coordinates of a
    :class:`~nisflow.mappings.Product`.

    Args:
        d: dimension.
        domain: ``"unit"`` or ``"real"``.
    """

    def __init__(self, d: int, domain: Domain = "unit"):
        if domain not in _DOMAINS:
            raise ValueError(f"Expected domain 'unit' or 'real'; got {domain!r}.")
        if domain == "unit":
            super().__init__(d, 0.0, 1.0)
        else:
            super().__init__(d, -math.inf, math.inf)
        self.domain_in = domain
        self.domain_out = domain

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        return u, u.new_zeros(u.shape[0])

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x, x.new_zeros(x.shape[0])
