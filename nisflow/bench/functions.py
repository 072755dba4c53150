"""Benchmark integrands on [0,1]^d with their exact integrals (BENCHMARKS.md Suite A).

Every integrand is a torch function ``f(x: Tensor[n, d]) -> Tensor[n]`` that keeps the dtype and
device of ``x``. :func:`get_function` resolves a name (``"camel4"``, or ``"camel"`` with
``d=4``) to a :class:`BenchFunction`; :data:`SUITE_A` lists the suite in its documented order.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from nisflow.checks import check_dimension

__all__ = [
    "BenchFunction",
    "Camel",
    "Sinusoidal",
    "SlashedCircle",
    "camel",
    "default_camel_sigma",
    "sinusoidal",
    "slashed_circle",
    "slashed_reference",
    "slashed_quadrature",
    "get_function",
    "function_names",
    "SUITE_A",
    "SLASHED2_REFERENCE",
    "SLASHED2_REFERENCE_SEED",
    "SLASHED2_REFERENCE_N",
]

SUITE_A: tuple[str, ...] = ("camel2", "sinusoidal2", "slashed2", "camel4", "camel8", "camel16")

#: An independent Monte Carlo check of the default slashed circle's integral (r=0.3, sigma=0.1,
#: width=0.05) and its error, from ``slashed_reference(n=SLASHED2_REFERENCE_N,
#: seed=SLASHED2_REFERENCE_SEED)``: 10^8 uniform float64 points in chunks of 10^6. The benchmark's
#: value is :func:`slashed_quadrature` (0.308516517873, 0.6 of this error below it).
SLASHED2_REFERENCE: tuple[float, float] = (0.3085382559951885, 3.511e-05)
SLASHED2_REFERENCE_SEED = 20240601
SLASHED2_REFERENCE_N = 100_000_000


@dataclass(frozen=True)
class BenchFunction:
    """A benchmark integrand with its reference value.

    Attributes:
        name: registry name (``"camel4"``).
        d: dimension.
        f: the integrand, ``f(x: Tensor[n, d]) -> Tensor[n]``.
        exact: the integral over [0,1]^d.
        exact_error: uncertainty of ``exact`` (0 for closed forms; the MC error otherwise).
        description: one line saying what the function is.
    """

    name: str
    d: int
    f: Callable[[Tensor], Tensor]
    exact: float
    exact_error: float
    description: str


class Camel:
    """Sum of Gaussians exp(-|x - mu|^2 / sigma^2) centred on the diagonal at each ``mu``.

    Args:
        sigma: width of each Gaussian.
        mu: diagonal positions of the peaks (each peak sits at ``(mu, ..., mu)``).
    """

    def __init__(self, sigma: float, mu: Sequence[float] = (0.25, 0.75)) -> None:
        if not sigma > 0:
            raise ValueError(f"Expected sigma > 0; got {sigma!r}.")
        self.sigma = float(sigma)
        self.mu = tuple(float(m) for m in mu)

    def __call__(self, x: Tensor) -> Tensor:
        """Values at ``x`` of shape ``(n, d)``; returns shape ``(n,)``."""
        out = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for m in self.mu:
            out = out + torch.exp(-((x - m) ** 2).sum(-1) / self.sigma**2)
        return out

    def integral(self, d: int) -> float:
        """Exact integral over [0,1]^d (a product of error functions per peak)."""
        s = self.sigma

        def one(m: float) -> float:
            return s * math.sqrt(math.pi) / 2 * (math.erf((1 - m) / s) + math.erf(m / s))

        return sum(one(m) ** d for m in self.mu)

    def __repr__(self) -> str:
        return f"Camel(sigma={self.sigma}, mu={self.mu})"


class Sinusoidal:
    """cos(k * sum_i x_i)^2.

    Args:
        k: frequency.
    """

    def __init__(self, k: float = 6.0) -> None:
        self.k = float(k)

    def __call__(self, x: Tensor) -> Tensor:
        """Values at ``x`` of shape ``(n, d)``; returns shape ``(n,)``."""
        return torch.cos(self.k * x.sum(-1)) ** 2

    def integral(self, d: int) -> float:
        """Exact integral: 1/2 + 1/2 Re[((e^{2ik} - 1) / (2ik))^d]."""
        a = 2 * self.k
        z = (cmath.exp(1j * a) - 1) / (1j * a)
        return 0.5 + 0.5 * (z**d).real

    def __repr__(self) -> str:
        return f"Sinusoidal(k={self.k})"


class SlashedCircle:
    """A Gaussian ring around (0.5, 0.5) with the band |x_1 - x_2| < width set to zero (2D).

    Args:
        radius: ring radius.
        sigma: ring width.
        width: half-width of the diagonal band that is cut out.
    """

    def __init__(self, radius: float = 0.3, sigma: float = 0.1, width: float = 0.05) -> None:
        self.radius = float(radius)
        self.sigma = float(sigma)
        self.width = float(width)

    def __call__(self, x: Tensor) -> Tensor:
        """Values at ``x`` of shape ``(n, 2)``; returns shape ``(n,)``."""
        r = ((x - 0.5) ** 2).sum(-1).sqrt()
        ring = torch.exp(-((r - self.radius) ** 2) / self.sigma**2)
        slash = (x[:, 0] - x[:, 1]).abs() < self.width
        return torch.where(slash, torch.zeros_like(ring), ring)

    def __repr__(self) -> str:
        return f"SlashedCircle(radius={self.radius}, sigma={self.sigma}, width={self.width})"


def default_camel_sigma(d: int) -> float:
    """Suite A's camel width: 0.1 * log2(d) (0.1, 0.2, 0.3, 0.4 for d = 2, 4, 8, 16); 0.1 for d=1."""
    return 0.1 * max(1.0, math.log2(d))


def camel(d: int, sigma: float | None = None, mu: Sequence[float] = (0.25, 0.75)) -> BenchFunction:
    """The camel function in ``d`` dimensions.

    Args:
        d: dimension.
        sigma: Gaussian width; default :func:`default_camel_sigma` (Suite A's choice).
        mu: diagonal peak positions.
    """
    d = check_dimension(d)
    sigma = default_camel_sigma(d) if sigma is None else float(sigma)
    fn = Camel(sigma, mu)
    return BenchFunction(
        name=f"camel{d}",
        d=d,
        f=fn,
        exact=fn.integral(d),
        exact_error=0.0,
        description=f"two Gaussians on the diagonal at {fn.mu}, sigma={sigma:g}",
    )


def sinusoidal(d: int = 2, k: float = 6.0) -> BenchFunction:
    """cos(k * sum x)^2 in ``d`` dimensions."""
    d = check_dimension(d)
    fn = Sinusoidal(k)
    return BenchFunction(
        name=f"sinusoidal{d}",
        d=d,
        f=fn,
        exact=fn.integral(d),
        exact_error=0.0,
        description=f"cos({k:g} * sum x)^2",
    )


def slashed_circle(radius: float = 0.3, sigma: float = 0.1, width: float = 0.05) -> BenchFunction:
    """The slashed circle (2D); its integral by Gauss–Legendre quadrature (:func:`slashed_quadrature`)."""
    fn = SlashedCircle(radius, sigma, width)
    return BenchFunction(
        name="slashed2",
        d=2,
        f=fn,
        exact=slashed_quadrature(fn),
        exact_error=0.0,
        description=f"Gaussian ring r={radius:g}, sigma={sigma:g}, band |x1-x2|<{width:g} removed",
    )


def slashed_quadrature(fn: SlashedCircle | None = None, n: int = 400) -> float:
    """Integral of a slashed circle over [0, 1]^2 by tensor Gauss–Legendre quadrature.

    The integrand is smooth on each side of the cut band and symmetric under ``x1 <-> x2``, so
    the integral is twice that over ``{x1 >= x2 + width}``: an outer rule in ``x2`` on
    ``[0, 1 - width]`` and, for each node, an inner rule in ``x1`` on ``[x2 + width, 1]`` (``n``
    nodes each; nodes are interior, so the band's edges are never evaluated). For the default
    circle, n = 200, 400 and 800 agree to 1e-14.

    Args:
        fn: the integrand (default :class:`SlashedCircle` with default parameters).
        n: nodes per rule.
    """
    fn = SlashedCircle() if fn is None else fn
    if not 0 <= fn.width < 1:
        raise ValueError(f"Expected a band half-width in [0, 1); got {fn.width!r}.")
    t, wt = np.polynomial.legendre.leggauss(int(n))
    t, wt = torch.from_numpy(t), torch.from_numpy(wt)
    span = 1.0 - fn.width
    x2, w2 = span * (t + 1) / 2, span * wt / 2  # outer nodes, shape (n,)
    lo = x2 + fn.width  # inner interval [lo, 1] per outer node
    x1 = lo[:, None] + (1.0 - lo[:, None]) * (t[None, :] + 1) / 2  # shape (n, n)
    w1 = (1.0 - lo[:, None]) * wt[None, :] / 2
    points = torch.stack([x1.reshape(-1), x2[:, None].expand(-1, int(n)).reshape(-1)], dim=1)
    values = fn(points).reshape(int(n), int(n))
    return float(2.0 * (w2 * (w1 * values).sum(1)).sum())


def slashed_reference(
    fn: Callable[[Tensor], Tensor] | None = None,
    n: int = SLASHED2_REFERENCE_N,
    seed: int = SLASHED2_REFERENCE_SEED,
    chunk: int = 1_000_000,
) -> tuple[float, float]:
    """Uniform-MC reference value of a 2D integrand (default: the slashed circle).

    Args:
        fn: integrand on [0,1]^2; default :class:`SlashedCircle` with default parameters.
        n: number of float64 points (drawn in chunks of ``chunk``, shape ``(chunk, 2)``).
        seed: seed of the CPU torch generator.
        chunk: points per chunk.

    Returns:
        ``(mean, standard error)``.
    """
    fn = SlashedCircle() if fn is None else fn
    gen = torch.Generator().manual_seed(int(seed))
    s = s2 = 0.0
    done = 0
    while done < n:
        m = min(chunk, n - done)
        v = fn(torch.rand(m, 2, generator=gen, dtype=torch.float64))
        s += float(v.sum())
        s2 += float((v * v).sum())
        done += m
    mean = s / n
    var = max(s2 / n - mean * mean, 0.0)
    return mean, math.sqrt(var / (n - 1))


_FAMILIES: dict[str, Callable[[int], BenchFunction]] = {
    "camel": lambda d: camel(d),
    "sinusoidal": lambda d: sinusoidal(d),
    "slashed": lambda d: _only_2d("slashed", d, slashed_circle),
}


def _only_2d(name: str, d: int, make: Callable[[], BenchFunction]) -> BenchFunction:
    if d != 2:
        raise ValueError(f"Expected dimension 2 for {name!r}; got {d}.")
    return make()


def function_names() -> list[str]:
    """Names :func:`get_function` accepts: Suite A's and the families (with a dimension)."""
    return list(SUITE_A) + sorted(_FAMILIES)


def get_function(name: str, d: int | None = None) -> BenchFunction:
    """Resolve a benchmark function by name.

    Args:
        name: a Suite A name (``"camel4"``, ``"slashed2"``) or a family (``"camel"``,
            ``"sinusoidal"``, ``"slashed"``) with a trailing dimension or with ``d``.
        d: dimension; required for a family name without digits, checked against a name with them.

    Raises:
        KeyError: for an unknown name.
        ValueError: for a missing or mismatched dimension.
    """
    family = name.rstrip("0123456789")
    digits = name[len(family) :]
    if family not in _FAMILIES:
        raise KeyError(f"Expected one of {function_names()}; got {name!r}.")
    if digits:
        d_name = int(digits)
        if d is not None and d != d_name:
            raise ValueError(f"Expected dimension {d_name} for {name!r}; got {d}.")
        d = d_name
    if d is None:
        raise ValueError(f"Expected a dimension for {name!r} (e.g. --dim 4); got none.")
    return _FAMILIES[family](check_dimension(d))
