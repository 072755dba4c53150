"""User integrands: wrapping torch or numpy callables, checking what they return, domains.

:class:`Integrand` turns a user's ``f(x) -> values`` on a rectangular domain
``[a_1, b_1] × … × [a_d, b_d]`` into a function of unit-hypercube points ``u`` that returns float64
values including the Jacobian of ``x = a + (b − a) u``::

    integral over the domain of f(x) dx  =  integral over [0, 1]^d of f(a + (b − a) u) · Π(b − a) du

Every batch the user's function returns is checked: its shape must be ``(n,)`` or ``(n, 1)``,
its dtype real, its entries finite. Non-finite values raise a ``ValueError`` that gives their
count and one offending point, or, with ``nonfinite="zero"``, are replaced by zero with a warning
giving the count. Evaluation is chunked to bound memory.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .checks import check_dimension, describe_nonfinite

__all__ = ["Integrand", "check_domain"]


def check_domain(domain: object, d: int) -> list[tuple[float, float]] | None:
    """Validate ``domain``: ``None`` (the unit hypercube) or ``d`` pairs ``(a, b)`` with ``a < b``.

    Returns:
        The limits as a list of float pairs, or ``None``.

    Raises:
        ValueError: wrong number of pairs, non-finite limits or ``a >= b``.
    """
    if domain is None:
        return None
    try:
        pairs = [tuple(float(v) for v in pair) for pair in domain]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(
            f"Expected domain as a sequence of {d} pairs (a, b) of numbers; got {domain!r}."
        ) from None
    if len(pairs) != d or any(len(p) != 2 for p in pairs):
        raise ValueError(f"Expected domain as {d} pairs (a, b); got {domain!r}.")
    for i, (a, b) in enumerate(pairs):
        if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
            raise ValueError(f"Expected finite limits a < b in domain[{i}]; got ({a}, {b}).")
    return [(a, b) for a, b in pairs]  # type: ignore[misc]


class Integrand(nn.Module):
    """A checked, chunked integrand on the unit hypercube.

    Args:
        f: the user's function, ``f(x)`` with ``x`` of shape ``(n, d)`` (a torch tensor, or a
            numpy array with ``backend="numpy"``) returning shape ``(n,)`` or ``(n, 1)``.
        d: the dimension.
        domain: ``None`` for [0, 1]^d, or ``d`` pairs ``(a, b)`` of integration limits.
        nonfinite: ``"raise"`` (default) or ``"zero"``: what to do with NaN/inf values.
        chunk_size: at most this many points are passed to ``f`` at once.
        backend: ``"torch"``, ``"numpy"`` or ``"auto"`` (try torch; if ``f`` fails on a tensor
            with a ``TypeError``/``AttributeError``, retry with numpy once and keep numpy).

    Attributes:
        n_evals: the number of points evaluated so far.
        n_nonfinite: how many non-finite values were replaced by zero so far.
    """

    def __init__(
        self,
        f: Callable,
        d: int,
        *,
        domain: Sequence[Sequence[float]] | None = None,
        nonfinite: str = "raise",
        chunk_size: int = 1_000_000,
        backend: str = "auto",
    ):
        super().__init__()
        if not callable(f):
            raise TypeError(f"Expected f to be callable; got {type(f).__name__}.")
        if nonfinite not in ("raise", "zero"):
            raise ValueError(f"Expected nonfinite to be 'raise' or 'zero'; got {nonfinite!r}.")
        if backend not in ("auto", "torch", "numpy"):
            raise ValueError(f"Expected backend 'auto', 'torch' or 'numpy'; got {backend!r}.")
        self.f = f
        self.d = check_dimension(d)
        self.domain = check_domain(domain, self.d)
        self.nonfinite = nonfinite
        self.chunk_size = check_dimension(chunk_size, "chunk_size")
        self.backend = backend
        self.n_evals = 0
        self.n_nonfinite = 0
        lo = [a for a, _ in self.domain] if self.domain else [0.0] * self.d
        hi = [b for _, b in self.domain] if self.domain else [1.0] * self.d
        self.register_buffer("lower", torch.tensor(lo, dtype=torch.float64))
        self.register_buffer("width", torch.tensor(hi, dtype=torch.float64) - self.lower)
        self.volume = math.prod(b - a for a, b in zip(lo, hi, strict=True))
        self.log_volume = sum(math.log(b - a) for a, b in zip(lo, hi, strict=True))

    # -- coordinates --------------------------------------------------------------------------
    def to_domain(self, u: Tensor) -> Tensor:
        """Map unit points ``u`` of shape ``(n, d)`` to the domain (same dtype as ``u``)."""
        if self.domain is None:
            return u
        return (self.lower + self.width * u.to(torch.float64)).to(u.dtype)

    def from_domain(self, x: Tensor) -> Tensor:
        """Map domain points ``x`` of shape ``(n, d)`` to the unit hypercube."""
        if self.domain is None:
            return x
        return ((x.to(torch.float64) - self.lower) / self.width).to(x.dtype)

    # -- evaluation ---------------------------------------------------------------------------
    def forward(self, u: Tensor) -> Tensor:
        """Evaluate at unit points ``u`` (n, d); return float64 values times the Jacobian, (n,)."""
        if u.dim() != 2 or u.shape[1] != self.d:
            raise ValueError(f"Expected points of shape (n, {self.d}); got {tuple(u.shape)}.")
        n = u.shape[0]
        out = torch.empty(n, dtype=torch.float64, device=u.device)
        for start in range(0, n, self.chunk_size):
            x = self.to_domain(u[start : start + self.chunk_size])
            out[start : start + x.shape[0]] = self.evaluate(x)
        if self.domain is not None:
            out = out * self.volume
        return out

    def evaluate(self, x: Tensor) -> Tensor:
        """Call the user's ``f`` on domain points ``x`` (n, d) and check; float64 values (n,)."""
        x = x.detach()
        values = self._call(x)
        values = self._check_values(values, x)
        self.n_evals += x.shape[0]
        return values

    def _call(self, x: Tensor) -> object:
        if self.backend == "numpy":
            return self.f(x.cpu().numpy())
        if self.backend == "torch":
            return self.f(x)
        try:
            return self.f(x)
        except (TypeError, AttributeError) as err:
            try:
                values = self.f(x.cpu().numpy())
            except Exception:
                raise err from None
            self.backend = "numpy"
            return values

    def _check_values(self, values: object, x: Tensor) -> Tensor:
        n = x.shape[0]
        if isinstance(values, np.ndarray) or np.isscalar(values):
            arr = np.asarray(values)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"Expected f to return real numbers; got dtype {arr.dtype}.")
            values = torch.from_numpy(arr.astype(np.float64, copy=False)).to(x.device)
        elif isinstance(values, Tensor):
            if values.is_complex():
                raise TypeError(f"Expected f to return real numbers; got dtype {values.dtype}.")
        else:
            raise TypeError(
                "Expected f to return a torch.Tensor or numpy array of shape (n,); got "
                f"{type(values).__name__}."
            )
        if values.dim() == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.shape != (n,):
            raise ValueError(
                f"Expected f to return shape ({n},) or ({n}, 1) for {n} points; got "
                f"{tuple(values.shape)}."
            )
        values = values.detach().to(device=x.device, dtype=torch.float64)
        bad = ~torch.isfinite(values)
        if bool(bad.any()):
            what = describe_nonfinite(values, bad, x)
            if self.nonfinite == "raise":
                raise ValueError(
                    f"Expected finite integrand values; got {what}. Pass nonfinite='zero' to "
                    "treat them as zero."
                )
            self.n_nonfinite += int(bad.sum())
            warnings.warn(
                f"The integrand returned {what}; treating them as zero.",
                RuntimeWarning,
                stacklevel=4,
            )
            values = torch.where(bad, torch.zeros_like(values), values)
        return values
