"""Suite A functions: exact values against high-statistics MC, name resolution, dtype/device."""

from __future__ import annotations

import math

import pytest
import torch

from nisflow.bench.functions import (
    SLASHED2_REFERENCE,
    SLASHED2_REFERENCE_N,
    SUITE_A,
    SlashedCircle,
    camel,
    function_names,
    get_function,
    sinusoidal,
    slashed_quadrature,
    slashed_reference,
)


def mc(f, d: int, n: int, seed: int) -> tuple[float, float]:
    g = torch.Generator().manual_seed(seed)
    v = f(torch.rand(n, d, generator=g, dtype=torch.float64))
    return float(v.mean()), float(v.std() / math.sqrt(n))


@pytest.mark.parametrize("name", SUITE_A)
def test_exact_matches_mc(name: str) -> None:
    bench = get_function(name)
    mean, err = mc(bench.f, bench.d, 400_000, seed=11)
    tol = 5 * math.hypot(err, bench.exact_error)
    assert abs(mean - bench.exact) < tol, (mean, bench.exact, tol)
    assert name.endswith(str(bench.d))


@pytest.mark.parametrize("d", [1, 3])
def test_families_in_other_dimensions(d: int) -> None:
    for bench in (camel(d, sigma=0.3), sinusoidal(d, k=2.5)):
        mean, err = mc(bench.f, d, 400_000, seed=d)
        assert abs(mean - bench.exact) < 5 * err


def test_camel_in_one_dimension_is_closed_form() -> None:
    # 1D: two Gaussians integrate to sigma*sqrt(pi)/2 * (erf terms); compare with quadrature
    bench = camel(1, sigma=0.1)
    x = torch.linspace(0, 1, 200_001, dtype=torch.float64)[:, None]
    y = bench.f(x)
    trapezoid = float(((y[1:] + y[:-1]) / 2).sum() / 200_000)
    assert bench.exact == pytest.approx(trapezoid, rel=1e-9)


def test_names_and_dimensions() -> None:
    assert get_function("camel", 4).exact == get_function("camel4").exact
    assert get_function("camel", 16).f.sigma == pytest.approx(0.4)
    assert get_function("slashed", 2).exact == slashed_quadrature()
    with pytest.raises(ValueError, match="Expected dimension 4 for 'camel4'; got 8"):
        get_function("camel4", 8)
    with pytest.raises(ValueError, match="Expected dimension 2 for 'slashed'; got 3"):
        get_function("slashed", 3)
    with pytest.raises(ValueError, match="Expected a dimension"):
        get_function("camel")
    with pytest.raises(KeyError, match="Expected one of"):
        get_function("gauss3")
    assert set(SUITE_A) <= set(function_names())


@pytest.mark.parametrize("name", ["camel4", "sinusoidal2", "slashed2"])
def test_keeps_dtype_and_device(name: str, device: torch.device) -> None:
    bench = get_function(name)
    x = torch.rand(7, bench.d, device=device, dtype=torch.float32)
    y = bench.f(x)
    assert y.shape == (7,) and y.dtype == torch.float32 and y.device == x.device


def test_slashed_reference_is_reproducible_and_consistent() -> None:
    a = slashed_reference(n=200_000, seed=5)
    b = slashed_reference(n=200_000, seed=5)
    assert a == b
    value, err = SLASHED2_REFERENCE
    assert abs(a[0] - value) < 5 * math.hypot(a[1], err)
    # the stored error is what 10^8 points give: about sqrt(var / 1e8)
    assert err == pytest.approx(a[1] * math.sqrt(200_000 / SLASHED2_REFERENCE_N), rel=0.05)


def test_slashed_quadrature_converges_and_agrees_with_monte_carlo() -> None:
    exact = slashed_quadrature()
    assert exact == pytest.approx(slashed_quadrature(n=200), abs=1e-12)
    assert exact == pytest.approx(0.3085165178734, abs=1e-12)
    value, err = SLASHED2_REFERENCE  # 10^8 independent uniform points
    assert abs(exact - value) < 2 * err
    # no band: the plain ring, which a fine midpoint grid integrates to ~1e-9
    ring = SlashedCircle(width=0.0)
    g = (torch.arange(4000, dtype=torch.float64) + 0.5) / 4000
    grid = torch.cartesian_prod(g, g)
    assert slashed_quadrature(ring) == pytest.approx(float(ring(grid).mean()), rel=1e-6)
    # a wider band: quadrature against 2e6 uniform points
    wide = SlashedCircle(width=0.2)
    mc, mc_err = slashed_reference(wide, n=2_000_000, seed=1)
    assert abs(slashed_quadrature(wide) - mc) < 4 * mc_err
    with pytest.raises(ValueError, match="band half-width"):
        slashed_quadrature(SlashedCircle(width=1.5))


@pytest.mark.slow
def test_slashed_reference_recomputes_stored_value() -> None:
    value, err = slashed_reference()
    assert value == pytest.approx(SLASHED2_REFERENCE[0], rel=1e-12)
    assert err == pytest.approx(SLASHED2_REFERENCE[1], rel=1e-3)
