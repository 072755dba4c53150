"""Invariants every mapping obeys, driven by the registry: inverse, log-det, normalisation, range."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from nisflow.mappings import Mapping

from .registry import CASES, Case

DTYPES = [torch.float32, torch.float64]
INV_TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
DENSITY_CASES = [c for c in CASES if c.norm is not None]
NORM_CASES = [c for c in CASES if c.norm in ("quad", "polar", "mc")]


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


def _latent(m: Mapping, n: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    """Interior latent points: [0.02, 0.98]^d for unit-domain maps, N(0, 4) for R^d maps."""
    g = torch.Generator().manual_seed(seed)
    if m.domain_in == "unit":
        return 0.02 + 0.96 * torch.rand(n, m.d, generator=g, dtype=dtype)
    return 2.0 * torch.randn(n, m.d, generator=g, dtype=dtype)


def _make(case: Case, dtype: torch.dtype, device: torch.device | str = "cpu") -> Mapping:
    return case.make().to(device=device, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_shapes_and_inverse_of_forward(case: Case, dtype: torch.dtype, device) -> None:
    m = _make(case, dtype, device)
    u = _latent(m, 256, dtype).to(device)
    x, ld_fwd = m(u)
    assert x.shape == u.shape and ld_fwd.shape == (256,)
    assert x.dtype == dtype and ld_fwd.dtype == dtype and x.device == u.device
    u_back, ld_inv = m.inverse(x)
    assert u_back.shape == u.shape and ld_inv.shape == (256,)
    torch.testing.assert_close(u_back, u, atol=INV_TOL[dtype], rtol=0)
    rtol = 1e-5 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(ld_inv, -ld_fwd, atol=rtol * (1 + ld_fwd.abs().max().item()), rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_log_det_matches_autograd(case: Case, dtype: torch.dtype) -> None:
    m = _make(case, dtype)
    u = _latent(m, 16, dtype, seed=1)
    x, ld = m(u)
    # Points are independent, so the Jacobian of the batch sum holds each point's (d, d) block.
    jac = jacobian(lambda v: m(v)[0].sum(0), u).permute(1, 0, 2)
    expected = torch.linalg.slogdet(jac.double())[1].to(dtype)
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(ld, expected, atol=tol * (1 + expected.abs().max().item()), rtol=0)
    jac_inv = jacobian(lambda y: m.inverse(y)[0].sum(0), x.detach()).permute(1, 0, 2)
    expected_inv = torch.linalg.slogdet(jac_inv.double())[1].to(dtype)
    ld_inv = m.inverse(x.detach())[1]
    torch.testing.assert_close(
        ld_inv, expected_inv, atol=tol * (1 + expected_inv.abs().max().item()), rtol=0
    )


@functools.lru_cache
def _composite_gauss_legendre(n: int, per_panel: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on (0, 1): ``ceil(n / per_panel)`` equal panels of Gauss–Legendre."""
    t, w = np.polynomial.legendre.leggauss(min(n, per_panel))
    panels = -(-n // len(t))
    left = np.arange(panels)[:, None] / panels
    nodes = (left + 0.5 * (t + 1.0) / panels).reshape(-1)
    weights = np.broadcast_to(0.5 * w / panels, (panels, len(w))).reshape(-1)
    return nodes, weights


def _gauss_legendre_axis(case: Case, m: Mapping, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (Jacobian included) of coordinate ``k`` of the range, float64."""
    center, scale, n = case.quad[k]
    t, w = _composite_gauss_legendre(n)
    lo, hi = float(m.low[k]), float(m.high[k])
    if math.isfinite(lo) and math.isfinite(hi):
        return lo + (hi - lo) * t, w * (hi - lo)
    if math.isfinite(lo):  # [lo, inf): x = lo + s tan(pi t / 2)
        ang = 0.5 * np.pi * t
        return lo + scale * np.tan(ang), w * scale * 0.5 * np.pi / np.cos(ang) ** 2
    ang = np.pi * (t - 0.5)  # R: x = c + s tan(pi (t - 1/2))
    return center + scale * np.tan(ang), w * scale * np.pi / np.cos(ang) ** 2


def _density(m: Mapping, x: torch.Tensor) -> torch.Tensor:
    """g(x), zero outside the image (non-strict log_prob)."""
    return m.log_prob(x, strict=False).double().exp()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", NORM_CASES, ids=_ids(NORM_CASES))
def test_density_integrates_to_one(case: Case, dtype: torch.dtype) -> None:
    m = _make(case, dtype)
    if case.norm == "polar":
        # ∫ g dx = ∫_0^∞ dr ∫_0^2π dθ r g(r cos θ, r sin θ): removes the 1/r peak at the origin.
        (_, scale, n_r), (_, _, n_t) = case.quad
        t, w = _composite_gauss_legendre(n_r)
        ang = 0.5 * np.pi * t
        r, w_r = scale * np.tan(ang), w * scale * 0.5 * np.pi / np.cos(ang) ** 2
        theta = 2 * np.pi * (np.arange(n_t) + 0.5) / n_t  # midpoint = exact for trig. polynomials
        rr, tt = np.meshgrid(r, theta, indexing="ij")
        nodes = np.stack([rr * np.cos(tt), rr * np.sin(tt)], -1).reshape(-1, 2)
        weights = (w_r[:, None] * rr * (2 * np.pi / n_t)).reshape(-1)
        x = torch.as_tensor(nodes, dtype=dtype)
        total = float((_density(m, x) * torch.as_tensor(weights)).sum())
        tol = 2e-3 if dtype == torch.float32 else 2e-4
        assert total == pytest.approx(1.0, abs=tol), f"integral of the density = {total}"
    elif case.norm == "quad":
        axes = [_gauss_legendre_axis(case, m, k) for k in range(m.d)]
        nodes = np.stack(np.meshgrid(*[a[0] for a in axes], indexing="ij"), -1).reshape(-1, m.d)
        weights = np.ones(1)
        for a in axes:
            weights = np.multiply.outer(weights, a[1])
        x = torch.as_tensor(nodes, dtype=dtype)
        total = float((_density(m, x) * torch.as_tensor(weights.reshape(-1))).sum())
        tol = 2e-3 if dtype == torch.float32 else 2e-4
        assert total == pytest.approx(1.0, abs=tol), f"integral of the density = {total}"
    else:
        box = case.box or tuple(zip(m.low.tolist(), m.high.tolist(), strict=True))
        lo = torch.tensor([b[0] for b in box], dtype=torch.float64)
        hi = torch.tensor([b[1] for b in box], dtype=torch.float64)
        g = torch.Generator().manual_seed(2)
        n = 200_000
        x = lo + (hi - lo) * torch.rand(n, m.d, generator=g, dtype=torch.float64)
        vals = _density(m, x.to(dtype)) * float((hi - lo).prod())
        mean, err = float(vals.mean()), float(vals.std() / math.sqrt(n))
        assert abs(mean - 1.0) < 5 * err + 1e-6, f"integral {mean} +- {err}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DENSITY_CASES, ids=_ids(DENSITY_CASES))
def test_boundaries_finite_and_in_range(case: Case, dtype: torch.dtype) -> None:
    m = _make(case, dtype)
    edges = [0.0, 1e-7, 0.5, 1.0 - 1e-7, 1.0]
    u = torch.tensor(list(itertools.product(edges, repeat=m.d)), dtype=dtype)
    x, ld = m(u)
    assert torch.isfinite(x).all(), x[~torch.isfinite(x).all(-1)]
    assert torch.isfinite(ld).all(), u[~torch.isfinite(ld)]
    assert m.contains(x).all(), x[~m.contains(x)]
    u_back, ld_back = m.inverse(x)
    assert torch.isfinite(ld_back).all() and ((u_back >= 0) & (u_back <= 1)).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DENSITY_CASES, ids=_ids(DENSITY_CASES))
def test_samples_in_range_with_matching_log_prob(case: Case, dtype: torch.dtype) -> None:
    m = _make(case, dtype)
    x, log_q = m.sample_and_log_prob(1000, generator=torch.Generator().manual_seed(3))
    assert x.shape == (1000, m.d) and log_q.shape == (1000,) and x.dtype == dtype
    assert m.contains(x).all()
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(
        m.log_prob(x), log_q, atol=tol * (1 + log_q.abs().max().item()), rtol=0
    )
    again = m.sample(1000, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, x)


def _outside_batch(m: Mapping) -> torch.Tensor | None:
    """Five points of the image with point 2 moved outside the range, or None if it is all R^d."""
    x = m(_latent(m, 5, torch.float64, seed=4))[0].detach().clone()
    for k in range(m.d):
        if math.isfinite(float(m.high[k])):
            x[2, k] = float(m.high[k]) + 1.0
            return x
        if math.isfinite(float(m.low[k])):
            x[2, k] = float(m.low[k]) - 1.0
            return x
    return None


OUTSIDE_CASES = [c for c in CASES if _outside_batch(c.make().double()) is not None]


@pytest.mark.parametrize("case", OUTSIDE_CASES, ids=_ids(OUTSIDE_CASES))
def test_points_outside_the_range_are_errors(case: Case) -> None:
    m = case.make().double()
    x = _outside_batch(m)
    assert not bool(m.contains(x)[2]) and bool(m.contains(x[[0, 1, 3, 4]]).all())
    with pytest.raises(ValueError, match=r"Expected .*inside .*got 1 of 5 points outside, e\.g\."):
        m.inverse(x)
    if case.norm is not None:
        with pytest.raises(ValueError, match="1 of 5 points outside"):
            m.log_prob(x)
        lp = m.log_prob(x, strict=False)
        assert lp[2] == -math.inf and torch.isfinite(lp[[0, 1, 3, 4]]).all()


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_non_finite_and_misshaped_points_are_errors(case: Case) -> None:
    m = case.make().double()
    x = m(_latent(m, 4, torch.float64))[0]
    x[1, 0] = math.nan
    with pytest.raises(ValueError, match=r"Expected finite x; got 1 of 4 non-finite \(1 NaN"):
        m.inverse(x)
    with pytest.raises(ValueError, match=rf"Expected x of shape \(n, {m.d}\)"):
        m.inverse(torch.zeros(3, m.d + 1, dtype=torch.float64))
    if m.domain_in == "unit":
        with pytest.raises(ValueError, match=r"Expected u inside the unit hypercube"):
            m(torch.full((2, m.d), 1.5, dtype=torch.float64))
