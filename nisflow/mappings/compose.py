"""Combining mappings: a product acting on blocks of coordinates, and a chain of maps.

* :class:`Product` applies mapping ``k`` to its own block of consecutive coordinates (e.g. a
  Breit–Wigner on coordinate 0 and the identity on the rest); the log-determinants add.
* :class:`Chain` composes mappings and flows in the sampling direction; the log-determinants add
  and the domains must match where the maps meet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_dimension, check_points
from ..flows.base import Bijection
from .base import Mapping, bounds_of, domain_in_of, snap_to_box

__all__ = ["Product", "Chain"]


class Product(Mapping):
    """The product map ``(u_1, ..., u_k) -> (G_1(u_1), ..., G_k(u_k))`` on consecutive blocks.

    Args:
        factors: mappings (or any bijections); factor ``k`` acts on the next ``factors[k].d``
            coordinates. They must all take inputs in the same domain.

    Attributes:
        d: the sum of the factors' dimensions.
        domain_out: ``"unit"`` if every factor ends on [0, 1], else ``"real"``; the precise range
            is the product of the factors' ranges (:attr:`low`, :attr:`high`, :meth:`contains`).

    Example:
        >>> # a Breit–Wigner in coordinate 0, coordinates 1 and 2 untouched
        >>> m = Product([BreitWigner(0.5, 0.1, 0.0, 1.0), Identity(2)])
    """

    def __init__(self, factors: Sequence[Bijection]):
        factors = list(factors)
        if not factors:
            raise ValueError("Expected at least one factor; got none.")
        for k, f in enumerate(factors):
            if not hasattr(f, "forward") or not hasattr(f, "inverse"):
                raise TypeError(f"Expected factor {k} to be a Bijection; got {type(f).__name__}.")
            check_dimension(getattr(f, "d", None), f"the dimension of factor {k}")
        domains = {domain_in_of(f) for f in factors}
        if len(domains) != 1:
            raise ValueError(
                f"Expected every factor to take inputs in one domain; got "
                f"{[domain_in_of(f) for f in factors]}."
            )
        dims = [f.d for f in factors]
        bounds = [bounds_of(f, f.d) for f in factors]
        low = torch.cat([b[0] for b in bounds])
        high = torch.cat([b[1] for b in bounds])
        super().__init__(sum(dims), low, high)
        self.factors = nn.ModuleList(factors)
        self.dims = dims
        self.domain_in = domains.pop()
        outs = {getattr(f, "domain_out", "unit") for f in factors}
        self.domain_out = "unit" if outs == {"unit"} else "real"

    def _blocks(self, x: Tensor) -> list[Tensor]:
        return list(torch.split(x, self.dims, dim=-1))

    def contains(self, x: Tensor) -> Tensor:
        """Whether each block of each point lies in its factor's range; returns ``(n,)`` bool."""
        inside = super().contains(x)
        for f, xb in zip(self.factors, self._blocks(x), strict=True):
            if isinstance(f, Mapping):
                inside = inside & f.contains(xb)
        return inside

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        outs, log_det = [], u.new_zeros(u.shape[0])
        for f, ub in zip(self.factors, self._blocks(u), strict=True):
            xb, ld = f._forward(ub) if isinstance(f, Mapping) else f.forward(ub)
            outs.append(xb)
            log_det = log_det + ld
        return torch.cat(outs, dim=-1), log_det

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        outs, log_det = [], x.new_zeros(x.shape[0])
        for f, xb in zip(self.factors, self._blocks(x), strict=True):
            ub, ld = f._inverse(xb) if isinstance(f, Mapping) else f.inverse(xb)
            outs.append(ub)
            log_det = log_det + ld
        return torch.cat(outs, dim=-1), log_det


def _compatible(domain_out: str, domain_in: str) -> bool:
    # R^d contains every point; [0, 1]^d only accepts points that are known to stay in it.
    return domain_in == "real" or domain_out == domain_in


class Chain(Mapping):
    """Maps applied one after the other in the sampling direction: ``x = G_k(...G_1(u))``.

    The steps may be mappings, bijections of :mod:`nisflow.flows`, or a whole
    :class:`~nisflow.flows.Flow` (which then brings its latent prior: as the first step, its
    prior gives the density; elsewhere only its bijections are used). Each step's ``domain_out``
    must fit the next step's ``domain_in``: equal, or the next step takes any point of R^d.

    Args:
        steps: the maps in the sampling direction, all of the same dimension.

    Attributes:
        domain_in: that of the first step (a flow's prior domain).
        domain_out: that of the last step; :attr:`low` and :attr:`high` are the last step's box.
        contains: exact membership in the chain's image (walks back through the steps).

    :meth:`inverse` and :meth:`log_prob` check the last step's range up front and every earlier
    step's on the way back; an error names the step that rejected the points.
    :meth:`log_prob` with a flow as the first step adds the flow's density; otherwise the chain
    must start from [0, 1]^d (uniform latent points).

    Raises:
        ValueError: no steps, dimensions that differ, or domains that do not fit.

    Example:
        >>> # the crossed ring's line channel: Breit–Wigners in (y1, y2), then rotate by -45°
        >>> line = Chain([Product([BreitWigner(0.0, 0.3), BreitWigner(0.0, 2.0)]),
        ...               Rotation(-math.pi / 4)])
    """

    def __init__(self, steps: Sequence[nn.Module]):
        steps = list(steps)
        if not steps:
            raise ValueError("Expected at least one step; got none.")
        d = check_dimension(getattr(steps[0], "d", None), "the dimension of step 0")
        for k, s in enumerate(steps):
            if not hasattr(s, "forward") or not hasattr(s, "inverse"):
                raise TypeError(f"Expected step {k} to be a bijection; got {type(s).__name__}.")
            if getattr(s, "d", None) != d:
                raise ValueError(
                    f"Expected every step of dimension {d}; got step {k} ({type(s).__name__}) of "
                    f"dimension {getattr(s, 'd', None)}."
                )
        for k in range(1, len(steps)):
            out = getattr(steps[k - 1], "domain_out", "unit")
            inn = domain_in_of(steps[k])
            if not _compatible(out, inn):
                raise ValueError(
                    f"Expected step {k} ({type(steps[k]).__name__}) to take the points of step "
                    f"{k - 1} ({type(steps[k - 1]).__name__}) in the '{out}' domain; it takes "
                    f"'{inn}'. Insert a map from '{out}' to '{inn}'."
                )
        low, high = bounds_of(steps[-1], d)
        super().__init__(d, low, high)
        self.steps = nn.ModuleList(steps)
        # output boxes of the steps, shape (n_steps, d), for snapping rounding errors
        boxes = [bounds_of(s, d) for s in steps]
        self.register_buffer("step_low", torch.stack([b[0] for b in boxes]))
        self.register_buffer("step_high", torch.stack([b[1] for b in boxes]))
        self.domain_in = domain_in_of(steps[0])
        self.domain_out = getattr(steps[-1], "domain_out", "unit")

    @staticmethod
    def _is_flow(step: nn.Module) -> bool:
        return hasattr(step, "prior") and hasattr(step, "sample_and_log_prob")

    def contains(self, x: Tensor) -> Tensor:
        """Whether each point of ``x`` (n, d) lies in the image of the chain; returns ``(n,)``.

        Walks back through the steps and checks each step's range (a mapping's
        :meth:`~Mapping.contains`, [0, 1]^d for a step that ends on the unit hypercube), so a point
        of R^d outside, e.g., a rotated box is reported as outside.
        """
        inside = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        with torch.no_grad():
            y = x
            for k in range(len(self.steps) - 1, -1, -1):
                s = self.steps[k]
                if isinstance(s, Mapping):
                    inside = inside & s.contains(y)
                elif getattr(s, "domain_out", "unit") == "unit":
                    inside = inside & ((y >= 0) & (y <= 1)).all(-1)
                if k == 0:
                    break
                safe = self._step_central_point(s, y)
                y = s.inverse(torch.where(inside[:, None], y, safe))[0]
                y = snap_to_box(y, self.step_low[k - 1], self.step_high[k - 1])
        return inside

    @staticmethod
    def _step_central_point(step: nn.Module, like: Tensor) -> Tensor:
        if isinstance(step, Mapping):
            return step.central_point(like)
        centre = 0.5 if domain_in_of(step) == "unit" else 0.0
        z = torch.full((1, like.shape[1]), centre, dtype=like.dtype, device=like.device)
        return step.forward(z)[0]

    def _forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        log_det = u.new_zeros(u.shape[0])
        for s in self.steps:
            u, ld = s.forward(u)
            log_det = log_det + ld
        return u, log_det

    def check_range(self, x: object, name: str = "x") -> Tensor:
        """Check shape, finiteness and the last step's range; earlier steps check theirs on the way.

        Raises:
            TypeError: ``x`` is not a floating tensor.
            ValueError: wrong shape, non-finite entries, or points outside the last step's range.
        """
        x = check_points(x, self.d, name)
        last = self.steps[-1]
        if isinstance(last, Mapping):
            last.check_range(x, name)
        return x

    def _invert_steps(self, x: Tensor, first: int) -> tuple[Tensor, Tensor]:
        # Invert steps len-1, ..., first; between steps, rounding that leaves the previous step's
        # box is snapped back (points further out are reported by that step's range check).
        log_det = x.new_zeros(x.shape[0])
        for k in range(len(self.steps) - 1, first - 1, -1):
            s = self.steps[k]
            try:
                x, ld = s.inverse(x)
            except ValueError as err:
                raise ValueError(
                    f"Expected points inside the image of the chain; step {k} "
                    f"({type(s).__name__}) rejected them: {err}"
                ) from err
            if k > 0:
                x = snap_to_box(x, self.step_low[k - 1], self.step_high[k - 1])
            log_det = log_det + ld
        return x, log_det

    def _inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._invert_steps(x, 0)

    def _check_has_density(self) -> None:
        if not self._is_flow(self.steps[0]) and self.domain_in != "unit":
            raise TypeError(
                f"Expected a chain that starts with a flow or from the unit hypercube to define a "
                f"density; its first step ({type(self.steps[0]).__name__}) takes "
                f"'{self.domain_in}' points."
            )

    def _log_prob(self, x: Tensor) -> Tensor:
        # With a flow as the first step, its density is pushed through the later steps;
        # otherwise the latent density is uniform on [0, 1]^d.
        first = self.steps[0]
        x, log_det = self._invert_steps(x, 1)
        if self._is_flow(first):
            return first.log_prob(x) + log_det
        return first.inverse(x)[1] + log_det

    def sample_and_log_prob(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points and their log-density, shapes ``(n, d)`` and ``(n,)``.

        The latent points come from the first step's flow prior if it is a flow (``device`` and
        ``dtype`` are then the flow's), else they are uniform on [0, 1]^d.
        """
        first = self.steps[0]
        if not self._is_flow(first):
            return super().sample_and_log_prob(n, generator=generator, device=device, dtype=dtype)
        x, log_q = first.sample_and_log_prob(n, generator=generator)
        for s in self.steps[1:]:
            x, ld = s.forward(x)
            log_q = log_q - ld
        return x, log_q
