"""Invariants of every element-wise transform in ``nisflow.flows.TRANSFORMS`` (and of a user one).

Every test is parametrized over the registry and over float32/float64, so a transform added to
the registry is checked automatically: identity at zero parameters, inverse(forward(x)) = x,
log-determinants against autograd, outputs inside [0, 1], finiteness at the boundary and under
huge conditioner outputs (values and gradients), normalisation of the induced density and
gradients reaching every parameter.

About float32 tolerances: where a map is steep in the inverse direction, the rounding of ``y``
(half an ulp) is amplified by ``|dx/dy|`` however the inverse is computed. Round trips are
therefore checked elementwise against ``tol + 8 eps max(1, |y|) |dx/dy|`` with ``tol`` = 1e-5
(float32) or 1e-10 (float64): for well-conditioned maps this is the plain ``tol`` (and a plain
check at moderate parameters is done too); it only loosens where no implementation can do
better, e.g. the logit-affine map near 0 and 1, where ``y`` saturates to 0 or 1 in float32.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from nisflow.flows import (
    TRANSFORMS,
    Affine,
    InvertibleTransform,
    PiecewiseLinear,
    PiecewiseQuadratic,
    RationalQuadraticSpline,
    UnitAffine,
    make_transform,
)

NAMES = sorted(TRANSFORMS)
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
LOG_DET_TOL = {torch.float32: 2e-4, torch.float64: 1e-9}
EDGES = [0.0, 1e-7, 1.0 - 1e-7, 1.0]
# (n_bins, k): every bin count in {2, 8, 32} and k from 1 to 8.
SHAPES = [(2, 1), (8, 3), (32, 8), (8, 2)]


class LinearTransform(InvertibleTransform):
    """The talk's user-defined transform (flows/base.py docstring): ``y = x exp(T)`` on R."""

    domain = "real"

    def param_shape(self, k: int) -> tuple[int, ...]:
        return (1,)

    def forward(self, x: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return x * params.exp(), params[:, 0] * x.shape[-1]

    def backward(self, y: Tensor, params: Tensor) -> tuple[Tensor, Tensor]:
        return y * (-params).exp(), -params[:, 0] * y.shape[-1]


def _points(transform: InvertibleTransform, n: int, k: int, dtype, device, g, *, edges=True):
    """``(n, k)`` points of the transform's domain; the first rows hold the boundary values."""
    if transform.domain == "unit":
        x = torch.rand(n, k, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    else:
        x = 2.0 * torch.randn(n, k, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    if edges:
        x[: len(EDGES)] = torch.tensor(EDGES, dtype=dtype, device=device).unsqueeze(-1)
    return x


def _params(transform: InvertibleTransform, n: int, k: int, scale: float, dtype, device, g):
    raw = torch.randn(n, *transform.param_shape(k), generator=g, dtype=torch.float64)
    return (scale * raw).to(device=device, dtype=dtype)


def _slope(transform: InvertibleTransform, x: Tensor, params: Tensor, *, inverse: bool = False):
    """Elementwise derivative of the map (forward or backward) by autograd, and the map's output."""
    x = x.detach().requires_grad_(True)
    y, log_det = (transform.backward if inverse else transform.forward)(x, params)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return grad, y.detach(), log_det.detach()


def _check_round_trip(transform: InvertibleTransform, x: Tensor, params: Tensor) -> None:
    """inverse(forward(x)) = x and forward(inverse(y)) = y up to the conditioning, log-dets cancel."""
    dtype = x.dtype
    eps, tol = torch.finfo(dtype).eps, TOL[dtype]
    dydx, y, log_det = _slope(transform, x, params)
    x2, log_det2 = transform.backward(y, params)
    if transform.domain == "unit":
        assert bool(((y >= 0) & (y <= 1) & (x2 >= 0) & (x2 <= 1)).all())
    bound = tol + 8 * eps * y.abs().clamp_min(1.0) / dydx.abs()
    err = (x2 - x).abs()
    assert bool((err <= bound).all()), (
        f"round trip off by {err.max().item():.3g} at x={x[(err - bound).argmax() // x.shape[1]]}"
    )
    dxdy, x3, _ = _slope(transform, y, params, inverse=True)
    y3, _ = transform.forward(x3, params)
    bound_y = tol + 8 * eps * x3.abs().clamp_min(1.0) / dxdy.abs()
    assert bool(((y3 - y).abs() <= bound_y).all())
    _assert_log_dets_cancel(transform, x, x2, log_det, log_det2, params)


def _assert_log_dets_cancel(transform, x, x2, log_det, log_det2, params) -> None:
    """log_det(x) + log_det2(forward(x)) = 0, up to the first-order effect of the measured round
    trip error ``|x2 - x|`` (which is zero for a well-conditioned map and grows only where the
    rounding of ``y`` loses information, e.g. a steep logit-affine map near 0 or 1).

    Rows whose image rounded exactly onto 0 or 1 although ``x`` is inside (``y`` saturated: the
    point's position is lost, the round trip returns the endpoint) are left out; there must be
    few of them (at most 5%).
    """
    x = x.detach().requires_grad_(True)
    y, ld = transform.forward(x, params)
    if ld.requires_grad:
        (dld_dx,) = torch.autograd.grad(ld.sum(), x)
    else:  # a log-det that does not depend on x (e.g. piecewise-linear, affine)
        dld_dx = torch.zeros_like(x)
    x = x.detach()
    keep = torch.ones_like(log_det, dtype=torch.bool)
    if transform.domain == "unit":
        inside = (x > 0) & (x < 1)
        saturated = (inside & ((y == 0) | (y == 1))).any(-1)
        assert int(saturated.sum()) <= 0.05 * x.shape[0]
        keep = ~saturated
    eps = torch.finfo(x.dtype).eps
    err = (x2 - x).abs() + eps * x.abs()
    bound = LOG_DET_TOL[x.dtype] + 2 * (dld_dx.abs() * err).sum(-1)
    gap = (log_det + log_det2).abs()
    assert bool((gap <= bound)[keep].all()), f"log-dets do not cancel: gap {gap[keep].max():.3g}"


def _log_det_slope(transform: InvertibleTransform, x: Tensor, params: Tensor) -> Tensor:
    """``sum_j |d log_det / d x_j|`` per row, in float64, shape ``(n,)``."""
    x64 = x.detach().double().requires_grad_(True)
    ld = transform.forward(x64, params.double())[1]
    if not ld.requires_grad:  # a log-det that does not depend on x (piecewise-linear, affine)
        return torch.zeros_like(ld)
    (grad,) = torch.autograd.grad(ld.sum(), x64)
    return grad.abs().sum(-1)


def _check_log_det(transform: InvertibleTransform, x: Tensor, params: Tensor) -> None:
    """Forward and backward log-dets equal the summed log of autograd's elementwise derivative.

    The reference derivative is taken by autograd in float64 with the same parameters, so that
    a float32 log-det is compared with an accurate reference; the tolerance adds ``4 eps`` times
    ``sum_j |d log_det / d x_j|``, the effect of the float32 rounding of the knots and of the
    point (which matters only where the log-det is steep in x, e.g. a narrow bin). The backward
    map's reference is taken at ``forward(x')``, ``x'`` the computed preimage: the backward
    log-det must be the log-slope at the point it returns (where ``dx/dy`` is large, the float32
    preimage of ``y`` is only as good as the conditioning allows; the round-trip test covers
    that). For unit-domain maps, rows whose image lies within 1e-6 of 0 or 1 are left out: there
    autograd's derivative is itself inaccurate (a sigmoid's ``y (1 - y)`` loses its digits) while the
    analytic log-det is not; at least 80% of the rows must remain.
    """
    atol = {torch.float32: 1e-4, torch.float64: 1e-9}[x.dtype]
    params64 = params.double()
    y, log_det = transform.forward(x, params)
    x_back, log_det_back = transform.backward(y, params)
    y_ref = transform.forward(x_back.double(), params64)[0]
    for inverse, points, ld in ((False, x, log_det), (True, y_ref, log_det_back)):
        assert ld.shape == (x.shape[0],) and ld.dtype == x.dtype
        slope, out64, _ = _slope(transform, points.double(), params64, inverse=inverse)
        keep = torch.ones_like(ld, dtype=torch.bool)
        if transform.domain == "unit":
            keep = ((out64 > 1e-6) & (out64 < 1 - 1e-6)).all(-1)
            assert int(keep.sum()) >= 0.8 * x.shape[0]
        reference = slope.abs().log().sum(-1)
        gap = (ld.double() - reference).abs()
        bound = atol + 1e-5 * reference.abs()
        # In float32 the knots and the preimage are known to a few ulps (~eps): allow their
        # effect on a log-det that is steep in x (a narrow bin with a fast-changing slope).
        where = x_back if inverse else x
        bound = bound + 4 * torch.finfo(x.dtype).eps * _log_det_slope(transform, where, params)
        assert bool((gap <= bound)[keep].all()), (
            f"log-det off autograd's by {gap[keep].max():.3g} (inverse={inverse})"
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [1, 4])
def test_zero_params_give_identity(name, dtype, k, device):
    t = make_transform(name, n_bins=8)
    g = torch.Generator().manual_seed(1)
    x = _points(t, 500, k, dtype, device, g)
    zero = torch.zeros(500, *t.param_shape(k), dtype=dtype, device=device)
    atol = 4 * torch.finfo(dtype).eps
    for direction in (t.forward, t.backward):
        y, log_det = direction(x, zero)
        assert y.shape == x.shape and y.dtype == dtype and log_det.shape == (500,)
        torch.testing.assert_close(y, x, atol=atol, rtol=atol)
        torch.testing.assert_close(log_det, torch.zeros_like(log_det), atol=50 * atol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("n_bins", "k"), SHAPES)
def test_round_trip(name, dtype, n_bins, k, device):
    t = make_transform(name, n_bins=n_bins)
    g = torch.Generator().manual_seed(2)
    x = _points(t, 2000, k, dtype, device, g)
    _check_round_trip(t, x, _params(t, 2000, k, 1.0, dtype, device, g))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_round_trip_plain_tolerance_at_moderate_params(name, dtype, device):
    """With moderate conditioner outputs the round trip meets the plain tolerance everywhere."""
    t = make_transform(name, n_bins=8)
    g = torch.Generator().manual_seed(3)
    x = _points(t, 2000, 3, dtype, device, g)
    params = _params(t, 2000, 3, 0.1, dtype, device, g)
    y, log_det = t.forward(x, params)
    x2, log_det2 = t.backward(y, params)
    torch.testing.assert_close(x2, x, atol=TOL[dtype], rtol=0)
    _assert_log_dets_cancel(t, x, x2, log_det, log_det2, params)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("n_bins", "k"), SHAPES)
def test_log_det_matches_autograd(name, dtype, n_bins, k, device):
    t = make_transform(name, n_bins=n_bins)
    g = torch.Generator().manual_seed(4)
    x = _points(t, 1000, k, dtype, device, g, edges=False)
    if t.domain == "unit":
        x = x.clamp(1e-3, 1 - 1e-3)
    _check_log_det(t, x, _params(t, 1000, k, 1.0, dtype, device, g))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e3])
def test_finite_at_boundary_and_under_huge_params(name, dtype, scale, device):
    """Values, log-dets and gradients stay finite at 0, 1e-7, 1-1e-7, 1 and for huge params."""
    t = make_transform(name, n_bins=8)
    g = torch.Generator().manual_seed(5)
    k = 3
    for direction in (t.forward, t.backward):
        x = _points(t, 400, k, dtype, device, g).requires_grad_(True)
        params = _params(t, 400, k, scale, dtype, device, g).requires_grad_(True)
        y, log_det = direction(x, params)
        assert bool(torch.isfinite(y).all()) and bool(torch.isfinite(log_det).all())
        if t.domain == "unit":
            assert bool(((y >= 0) & (y <= 1)).all())
        (y.sum() + log_det.sum()).backward()
        assert bool(torch.isfinite(x.grad).all()) and bool(torch.isfinite(params.grad).all())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [n for n in NAMES if TRANSFORMS[n].domain == "unit"])
def test_unit_transforms_are_onto_and_monotone(name, dtype, device):
    """y(0) = 0, y(1) = 1 and y non-decreasing on a fine grid: the image of [0, 1] is [0, 1]."""
    t = make_transform(name, n_bins=8)
    g = torch.Generator().manual_seed(6)
    grid = torch.linspace(0, 1, 4001, dtype=dtype, device=device)
    params = _params(t, 1, 1, 2.0, dtype, device, g).expand(grid.shape[0], 1, -1)
    for direction in (t.forward, t.backward):
        y, _ = direction(grid.unsqueeze(-1), params)
        y = y[:, 0]
        assert y[0].item() == pytest.approx(0.0, abs=1e-6)
        assert y[-1].item() == pytest.approx(1.0, abs=1e-6)
        assert bool((y[1:] >= y[:-1]).all())


@pytest.mark.parametrize("name", [n for n in NAMES if TRANSFORMS[n].domain == "unit"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_density_integrates_to_one(name, dtype, device):
    """E_{y ~ U[0,1]^k}[q(y)] = 1 within 5 sigma, where q(y) = exp(backward log_det) is the
    density of ``y = forward(x)`` for uniform ``x``; the parameters are fixed across points."""
    t = make_transform(name, n_bins=8)
    g = torch.Generator().manual_seed(7)
    n, k = 200_000, 2
    params = _params(t, 1, k, 0.5, dtype, device, g).expand(n, k, -1)
    y = torch.rand(n, k, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    q = t.backward(y, params)[1].double().exp()
    mean, err = q.mean().item(), q.std().item() / n**0.5
    assert abs(mean - 1.0) < 5 * err + 1e-6, f"integral {mean} +- {err}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_gradient_reaches_every_param(name, dtype, device):
    t = make_transform(name, n_bins=8)
    g = torch.Generator().manual_seed(8)
    k = 2
    shared = _params(t, 1, k, 1.0, dtype, device, g)[0].requires_grad_(True)
    x = _points(t, 4000, k, dtype, device, g, edges=False)
    weights = torch.randn(4000, k, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    for direction in (t.forward, t.backward):
        shared.grad = None
        y, log_det = direction(x, shared.expand(4000, *shared.shape))
        ((y * weights).sum() + log_det.sum()).backward()
        assert bool(torch.isfinite(shared.grad).all())
        assert bool((shared.grad != 0).all()), f"no gradient for {(shared.grad == 0).nonzero()}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_user_defined_linear_transform(dtype, device):
    """The talk's LinearTransform, subclassing InvertibleTransform, passes the same checks."""
    t = LinearTransform()
    g = torch.Generator().manual_seed(9)
    for k in (1, 3, 8):
        x = _points(t, 1000, k, dtype, device, g)
        params = _params(t, 1000, k, 1.0, dtype, device, g)
        _check_round_trip(t, x, params)
        _check_log_det(t, x, params)
    assert make_transform(t) is t


def test_registry_and_make_transform():
    assert TRANSFORMS == {
        "pwlinear": PiecewiseLinear,
        "pwquad": PiecewiseQuadratic,
        "rq_spline": RationalQuadraticSpline,
        "affine": UnitAffine,
        "affine_real": Affine,
    }
    assert make_transform("rq_spline", n_bins=16).param_shape(3) == (3, 49)
    assert make_transform("pwquad", n_bins=5).param_shape(2) == (2, 11)
    assert make_transform("pwlinear", n_bins=4).param_shape(7) == (7, 4)
    assert make_transform("affine", n_bins=16).param_shape(3) == (3, 2)
    assert make_transform(PiecewiseLinear, n_bins=3).n_bins == 3
    assert UnitAffine.domain == "unit" and Affine.domain == "real"
    with pytest.raises(ValueError, match="pwlinear.*rq_spline"):
        make_transform("spline")
    with pytest.raises(TypeError, match="Expected"):
        make_transform(3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_bins"):
        PiecewiseLinear(n_bins=0)
    with pytest.raises(ValueError, match="min_bin_width"):
        RationalQuadraticSpline(n_bins=8, min_bin_width=0.2)
    with pytest.raises(ValueError, match="min_density"):
        PiecewiseQuadratic(n_bins=8, min_density=1.0)
    with pytest.raises(ValueError, match="scale_bound"):
        Affine(scale_bound=0.0)
    t = RationalQuadraticSpline(n_bins=4)
    with pytest.raises(ValueError, match=r"Expected params of shape \(5, 2, 13\)"):
        t(torch.rand(5, 2), torch.zeros(5, 2, 12))
    with pytest.raises(ValueError, match=r"shape \(n, k\)"):
        t(torch.rand(5), torch.zeros(5, 13))


def test_single_bin_and_affine_scale_is_bounded():
    """n_bins = 1 works (pwlinear is then the identity); huge affine scales stay bounded."""
    x = torch.rand(100, 2, dtype=torch.float64)
    y, log_det = PiecewiseLinear(n_bins=1)(x, torch.randn(100, 2, 1, dtype=torch.float64))
    torch.testing.assert_close(y, x)
    assert bool((log_det == 0).all())
    rq = RationalQuadraticSpline(n_bins=1)
    p = torch.randn(100, 2, 4, dtype=torch.float64)
    x2, _ = rq.backward(rq(x, p)[0], p)
    torch.testing.assert_close(x2, x, atol=1e-10, rtol=0)
    t = Affine(scale_bound=3.0)
    params = torch.tensor([[[1e30, 0.0]]], dtype=torch.float64)
    y, log_det = t(torch.ones(1, 1, dtype=torch.float64), params)
    assert log_det.item() == pytest.approx(3.0) and y.item() == pytest.approx(torch.e**3)


@pytest.mark.gpu
def test_cuda_bin_cumsum_equals_the_cpu_one():
    """The CUDA path of the splines' cumulative sum (along a leading axis) adds in the same order."""
    from nisflow.flows.splines import _cumsum

    t = torch.rand(5000, 3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(_cumsum(t.cuda()).cpu(), torch.cumsum(t, dim=-1))
