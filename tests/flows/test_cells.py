"""Masks, conditioner networks, coupling cells, permutations, rotations and the Gaussian CDF.

The generic invariants run over every entry of :data:`cases.BIJECTIONS` (one coupling cell per
registered transform, the talk's user-defined linear cell, every permutation and rotation) in
float32 and float64 for d in {1, 2, 3, 5, 8}.
"""

from __future__ import annotations

import io
import itertools
import math

import pytest
import torch
from scipy import special, stats

from nisflow.flows import (
    MLP,
    TRANSFORMS,
    CouplingCell,
    ExchangePermutation,
    Flow,
    GaussianCDF,
    GaussianPrior,
    Permutation,
    RandomPermutation,
    Rotation,
    SoftRotation,
    TrainableRotation,
    auto_mask,
    checkerboard_masks,
    euler_rotation_matrix,
    explicit_masks,
    iflow_masks,
    make_masks,
    random_masks,
)
from nisflow.flows.masks import default_n_masks
from nisflow.flows.rotations import n_euler_angles, normal_icdf

from .cases import BIJECTIONS, DIMS, DTYPES, LinearCouplingCell, inputs, perturb_

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
JAC_TOL = {torch.float32: 2e-3, torch.float64: 1e-8}
EDGES = (0.0, 1.0, 1 - 1e-7)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _make(name: str, d: int, dtype: torch.dtype, device: torch.device):
    return BIJECTIONS[name](d, _gen(d)).to(device=device, dtype=dtype)


def _edge_points(d: int, dtype: torch.dtype, device, g: torch.Generator) -> torch.Tensor:
    """Points whose coordinates mix 0, 1, 1 - 1e-7 and interior values."""
    vals = torch.tensor(EDGES, dtype=dtype)
    rows = [torch.full((d,), float(v), dtype=dtype) for v in vals]
    for _ in range(32):
        r = torch.rand(d, generator=g, dtype=dtype)
        pick = torch.randint(0, 4, (d,), generator=g)
        r = torch.where(pick < 3, vals[pick.clamp(max=2)], r)
        rows.append(r)
    return torch.stack(rows).to(device)


def _rounding_bound(
    b, a_pts: torch.Tensor, b_pts: torch.Tensor, transpose: bool
) -> torch.Tensor | None:
    """First-order float32 error of a Phi-wrapped map caused by rounding its input ``b_pts``.

    For ``a = Phi(M Phi^{-1}(b))`` (a wrapped rotation, ``M = R`` or ``R^T``) the Jacobian is
    ``da_i/db_j = phi(za_i) M_ij / phi(zb_j)``; for the Gaussian CDF's inverse ``a = Phi^{-1}(b)``
    it is ``1 / phi(a)``. Near the upper face, where float32 resolves ``b`` only to ``eps``, these
    maps are ill-conditioned, so inverse(forward(x)) can only be as exact as
    ``sum_j |da_i/db_j| ulp(b_j)``. Returns 4x that bound, shape ``(n, d)``, or ``None`` for
    bijections that are not Phi-wrapped (their tolerance is the plain one).
    """
    eps = torch.finfo(torch.float32).eps
    ulp = eps * b_pts.double().cpu().abs()
    if isinstance(b, GaussianCDF):
        za = a_pts.double().cpu()
        phi = torch.exp(-0.5 * za * za) / math.sqrt(2 * math.pi)
        return 4 * ulp / phi
    if isinstance(b, Rotation) and b.domain_in == "unit":
        m = b.matrix(torch.float64).cpu()
        m = m.T if transpose else m
        za, zb = normal_icdf(a_pts.double().cpu()), normal_icdf(b_pts.double().cpu())
        jac = (
            torch.exp(-0.5 * za * za)[:, :, None] * m[None] / torch.exp(-0.5 * zb * zb)[:, None, :]
        )
        return 4 * (jac.abs() * ulp[:, None, :]).sum(-1)
    return None


def _assert_close(b, got, want, via, tol, dtype, *, transpose, from_real=False):
    """``|got - want| < tol``; in float32, Phi-wrapped maps get their rounding bound added."""
    err = (got - want).abs().detach()
    bound = None
    if dtype == torch.float32 and not from_real:
        bound = _rounding_bound(b, want, via, transpose)
    if bound is None:
        assert float(err.max()) < tol, float(err.max())
        return
    limit = tol + bound.to(err.device)
    excess = err.double() - limit
    assert bool((excess <= 0).all()), f"max excess {float(excess.max())}"
    assert float((err <= tol).double().mean()) > 0.9, "most points must meet the plain tolerance"


# --------------------------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("d", range(1, 34))
def test_iflow_masks_split_every_pair(d):
    masks = iflow_masks(d)
    assert len(masks) == (1 if d == 1 else 2 * math.ceil(math.log2(d)))
    stacked = torch.stack(masks)
    assert stacked.shape == (len(masks), d) and stacked.dtype == torch.bool
    assert bool((~stacked).any(0).all()), "every coordinate must be transformed by some mask"
    assert bool((~stacked).any(1).all()), "every mask must transform a coordinate"
    for i, j in itertools.combinations(range(d), 2):
        split = (stacked[:, i] != stacked[:, j]).any()
        assert split, f"coordinates {i} and {j} are never split"
    if d > 1:
        assert bool(stacked.any(0).all()), "every coordinate must condition some mask"


@pytest.mark.parametrize("d", range(1, 34))
def test_auto_masks_are_the_checkerboard_up_to_8d_then_iflow(d):
    expected = checkerboard_masks(d) if d <= 8 else iflow_masks(d)
    assert auto_mask(d) == ("checkerboard" if d <= 8 else "iflow")
    got = make_masks(d, None, "auto")
    assert len(got) == len(expected) == default_n_masks(d, "auto")
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    assert len(make_masks(d, 5, "auto")) == 5
    if d >= 3:  # what the i-flow masks fix: a checkerboard never splits coordinates 0 and 2
        assert all(bool(m[0]) == bool(m[2]) for m in checkerboard_masks(d))


@pytest.mark.parametrize("d", DIMS)
def test_checkerboard_and_random_masks(d):
    cb = checkerboard_masks(d)
    if d == 1:
        assert [m.tolist() for m in cb] == [[False]]
    else:
        assert len(cb) == 2 and torch.equal(cb[0], ~cb[1]) and cb[0].tolist()[:2] == [True, False]
    r1 = random_masks(d, 5, generator=_gen(3))
    r2 = random_masks(d, 5, generator=_gen(3))
    assert all(torch.equal(a, b) for a, b in zip(r1, r2, strict=True))
    for i, m in enumerate(r1):
        assert m.shape == (d,) and int(m.sum()) == (d // 2 if i % 2 == 0 or d == 1 else d - d // 2)
    if d > 1:
        assert torch.equal(r1[0], ~r1[1]) and torch.equal(r1[2], ~r1[3])
    assert len(make_masks(d, 7, "iflow")) == 7
    assert len(make_masks(d, None, "iflow")) == len(iflow_masks(d))
    cyc = make_masks(d, 5, "checkerboard")
    assert all(torch.equal(cyc[i], cb[i % len(cb)]) for i in range(5))


def test_explicit_masks_validation():
    masks = explicit_masks(3, [[1, 0, 0], [False, True, True]])
    assert [m.tolist() for m in masks] == [[True, False, False], [False, True, True]]
    with pytest.raises(ValueError, match="Expected mask 0 to have shape"):
        explicit_masks(3, [[True, False]])
    with pytest.raises(ValueError, match="transform at least one"):
        explicit_masks(2, [[True, True]])
    with pytest.raises(ValueError, match="booleans"):
        explicit_masks(2, [[2, 0]])
    with pytest.raises(ValueError, match="checkerboard"):
        make_masks(2, 2, "chequer")
    with pytest.raises(ValueError, match="n_cells"):
        make_masks(2, 0, "iflow")


# --------------------------------------------------------------------------------------------
# conditioner network
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "activation", ["relu", "leaky_relu", "silu", "tanh", "gelu", torch.nn.ELU()]
)
def test_mlp_starts_at_zero(activation):
    net = MLP(3, 7, hidden=10, layers=2, activation=activation, generator=_gen())
    x = torch.randn(5, 3)
    assert net(x).shape == (5, 7) and bool((net(x) == 0).all())
    perturb_(net, 0.5, _gen(1))
    assert bool((net(x) != 0).any())


def test_mlp_without_inputs_learns_a_constant():
    net = MLP(0, 4)
    out = net(torch.empty(6, 0))
    assert out.shape == (6, 4) and bool((out == 0).all())
    out.sum().backward()
    assert [p.grad.tolist() for p in net.parameters()] == [[6.0, 6.0, 6.0, 6.0]]


def test_mlp_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b = MLP(3, 2, generator=_gen(7)), MLP(3, 2, generator=_gen(7))
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="activation"):
        MLP(3, 2, activation="swish")
    with pytest.raises(ValueError, match="d_in"):
        MLP(-1, 2)


# --------------------------------------------------------------------------------------------
# generic invariants of every bijection
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("name", BIJECTIONS)
@torch.no_grad()
def test_inverse_of_forward_is_identity(name, d, dtype, device):
    b = _make(name, d, dtype, device)
    g = _gen(11)
    x = inputs(b.domain_in, 256, d, dtype, g).to(device)
    y, ld = b(x)
    assert y.shape == (256, d) and ld.shape == (256,)
    x2, ld2 = b.inverse(y)
    tol = TOL[dtype]
    _assert_close(b, x2, x, y, tol, dtype, transpose=True)
    assert float(((ld + ld2).abs() / (1 + ld.abs())).max()) < 10 * tol
    # and the other way round, from the output domain
    y0 = inputs(b.domain_out, 64, d, dtype, g).to(device)
    x0, l1 = b.inverse(y0)
    y1, l0 = b(x0)
    _assert_close(b, y1, y0, x0, tol, dtype, transpose=False, from_real=b.domain_in == "real")
    assert float(((l0 + l1).abs() / (1 + l0.abs())).max()) < 10 * tol


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("name", BIJECTIONS)
def test_log_det_matches_autograd(name, d, dtype, device):
    b = _make(name, d, dtype, device)
    n = 4
    x = inputs(b.domain_in, n, d, dtype, _gen(5)).to(device)
    for direction, fn in (("forward", b.forward), ("inverse", b.inverse)):
        if direction == "inverse":
            x = b(x)[0].detach()
        jac = torch.autograd.functional.jacobian(lambda t, fn=fn: fn(t)[0], x, vectorize=True)
        blocks = jac[torch.arange(n), :, torch.arange(n), :]  # (n, d, d): per-point Jacobian
        expected = torch.linalg.slogdet(blocks.double())[1]
        got = fn(x)[1].double()
        assert torch.allclose(got, expected, atol=JAC_TOL[dtype], rtol=JAC_TOL[dtype]), (
            direction,
            got,
            expected,
        )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("name", BIJECTIONS)
@torch.no_grad()
def test_boundary_points_and_domains(name, d, dtype, device):
    b = _make(name, d, dtype, device)
    g = _gen(2)
    if b.domain_in == "unit":
        x = _edge_points(d, dtype, device, g)
    else:
        x = torch.randn(64, d, generator=g, dtype=dtype).to(device) * 8
    with torch.no_grad():
        y, ld = b(x)
    assert bool(torch.isfinite(y).all()) and bool(torch.isfinite(ld).all())
    if b.domain_out == "unit":
        assert bool(((y >= 0) & (y <= 1)).all())
        y = _edge_points(d, dtype, device, g)
    with torch.no_grad():
        x2, ld2 = b.inverse(y)
    assert bool(torch.isfinite(x2).all()) and bool(torch.isfinite(ld2).all())
    if b.domain_in == "unit":
        assert bool(((x2 >= 0) & (x2 <= 1)).all())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", BIJECTIONS)
def test_state_dict_round_trip_and_gradients(name, dtype, device):
    d = 3
    a = _make(name, d, dtype, device)
    fresh = BIJECTIONS[name](d, _gen(99)).to(device=device, dtype=dtype)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    x = inputs(a.domain_in, 32, d, dtype, _gen(4)).to(device)
    ya, la = a(x)
    yb, lb = fresh(x)
    assert torch.equal(ya, yb) and torch.equal(la, lb)
    # every parameter receives a gradient from a loss on the output and the log-det
    params = [p for p in a.parameters() if p.numel() > 0]
    if not params:
        return
    loss = (ya.sin().sum(-1) + la).sum() + a.inverse(x)[1].sum()
    loss.backward()
    for p in params:
        assert p.grad is not None and bool(torch.isfinite(p.grad).all())
        assert bool((p.grad != 0).any())


# --------------------------------------------------------------------------------------------
# coupling cells
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("transform", TRANSFORMS)
@torch.no_grad()
def test_new_cell_is_identity_and_keeps_conditioning_coordinates(transform, d):
    mask = checkerboard_masks(d)[-1]
    cell = CouplingCell(d, mask, transform, n_bins=4, hidden=8)
    assert cell.domain_in == cell.domain_out == TRANSFORMS[transform].domain
    x = inputs(cell.domain_in, 50, d, torch.float64, _gen()).float()
    y, ld = cell(x)
    assert float((y - x).abs().max()) < 1e-6 and float(ld.abs().max()) < 1e-6
    perturb_(cell, 0.5, _gen(1))
    y, ld = cell(x)
    assert torch.equal(y[:, mask], x[:, mask])
    assert float((y[:, ~mask] - x[:, ~mask]).abs().max()) > 1e-3


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("transform", TRANSFORMS)
@torch.no_grad()
def test_cell_with_huge_conditioner_outputs(transform, d, dtype, device):
    """Large random conditioner outputs (|params| ~ 1e3) keep every number finite."""
    g = _gen(d)
    cell = CouplingCell(d, checkerboard_masks(d)[0], transform, n_bins=6, hidden=16, generator=g)
    perturb_(cell, 1.0, g)
    last = cell.conditioner.constant if d == 1 else cell.conditioner.net[-1].weight
    with torch.no_grad():
        last.mul_(300.0)
    cell = cell.to(device=device, dtype=dtype)
    x = (
        _edge_points(d, dtype, device, g)
        if cell.domain_in == "unit"
        else torch.randn(40, d, generator=g, dtype=dtype).to(device) * 10
    )
    h = 2 * x[:, cell.mask] - 1 if cell.domain_in == "unit" else x[:, cell.mask]
    assert d == 1 or float(cell.conditioner(h).abs().max()) > 100
    for fn in (cell.forward, cell.inverse):
        y, ld = fn(x)
        assert bool(torch.isfinite(y).all()) and bool(torch.isfinite(ld).all())
        if cell.domain_in == "unit":
            assert bool(((y >= 0) & (y <= 1)).all())


def test_cell_validates_its_arguments():
    with pytest.raises(ValueError, match="Expected mask 0 to have shape"):
        CouplingCell(3, [True, False], "pwlinear")
    with pytest.raises(ValueError, match="pwlinear"):
        CouplingCell(2, [True, False], "spline")
    with pytest.raises(ValueError, match="transform at least one"):
        CouplingCell(2, [True, True], "pwlinear")


def test_user_defined_linear_coupling_cell():
    """The talk's LinearCouplingCell: y_A = x_A, y_B = exp(T(x_A)) x_B on R^d."""
    d, mask = 3, [True, False, False]
    with torch.random.fork_rng():
        torch.manual_seed(6)  # the cell's initial weights come from the global generator
        cell = LinearCouplingCell(d, mask, nn_width=8, nn_depth=2)
    assert cell.domain_in == "real" and cell.conditioner.d_in == 1
    perturb_(cell, 0.5, _gen(3))
    x = torch.randn(10, d, generator=_gen(4), dtype=torch.float32)
    y, ld = cell(x)
    t = cell.conditioner(x[:, :1])[:, 0]
    assert torch.allclose(y[:, 1:], torch.exp(t)[:, None] * x[:, 1:])
    assert torch.equal(y[:, 0], x[:, 0])
    assert torch.allclose(ld, 2 * t)
    # in a flow on a Gaussian prior, ended by the Gaussian CDF: density on [0, 1]^d, normalised
    flow = Flow(GaussianPrior(d), [cell, GaussianCDF(d)]).double()
    g = _gen(5)
    u = torch.rand(200_000, d, generator=g, dtype=torch.float64)
    q = flow.log_prob(u).detach().exp()
    mean, err = float(q.mean()), float(q.std() / math.sqrt(q.numel()))
    assert float(q.std()) > 0.05 and abs(mean - 1) < 5 * err
    xs, lq = flow.sample_and_log_prob(1000, generator=g)
    lp = flow.log_prob(xs)
    assert torch.isfinite(lp).all()
    # Φ rounds points deep in a Gaussian tail onto x within ~1e-11 of a face, where the density
    # of the rounded point differs slightly from the sampled one; compare away from the faces.
    interior = torch.minimum(xs, 1 - xs).min(-1).values > 1e-6
    assert interior.sum() > 500
    assert torch.allclose(lp[interior], lq[interior], atol=1e-9)


# --------------------------------------------------------------------------------------------
# permutations, rotations, the Gaussian CDF
# --------------------------------------------------------------------------------------------
def test_permutations():
    x = torch.arange(5.0)[None]
    assert ExchangePermutation(5)(x)[0].tolist() == [[4.0, 3.0, 2.0, 1.0, 0.0]]
    p1, p2 = RandomPermutation(8, generator=_gen(2)), RandomPermutation(8, generator=_gen(2))
    assert torch.equal(p1.perm, p2.perm) and sorted(p1.perm.tolist()) == list(range(8))
    y, log_det = Permutation(3, [2, 0, 1])(torch.tensor([[10.0, 20.0, 30.0]]))
    assert y.tolist() == [[30.0, 10.0, 20.0]] and log_det.tolist() == [0.0]
    with pytest.raises(ValueError, match="permutation of range"):
        Permutation(3, [0, 0, 1])
    with pytest.raises(ValueError, match="domain"):
        ExchangePermutation(3, domain="sphere")


def _givens_product(angles: list[float], d: int) -> torch.Tensor:
    """Reference: R = A^(d-1) ... A^(1), A^(m) = G_{m-1,m} ... G_{0,m}, one Givens at a time."""
    r = torch.eye(d, dtype=torch.float64)
    it = iter(angles)
    for m in range(1, d):
        a = torch.eye(d, dtype=torch.float64)
        for i in range(m):
            t = next(it)
            gm = torch.eye(d, dtype=torch.float64)
            gm[i, i] = gm[m, m] = math.cos(t)
            gm[m, i], gm[i, m] = -math.sin(t), math.sin(t)
            a = gm @ a
        r = a @ r
    return r


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8, 13])
def test_euler_rotation_matrix(d):
    n = n_euler_angles(d)
    assert n == d * (d - 1) // 2
    eye = torch.eye(d, dtype=torch.float64)
    assert torch.equal(euler_rotation_matrix(torch.zeros(n, dtype=torch.float64), d), eye)
    angles = (torch.rand(n, generator=_gen(d), dtype=torch.float64) * 2 - 1) * math.pi
    r = euler_rotation_matrix(angles, d)
    assert torch.allclose(r, _givens_product(angles.tolist(), d), atol=1e-13)
    assert torch.allclose(r @ r.T, eye, atol=1e-13)
    assert abs(float(torch.linalg.det(r)) - 1) < 1e-12
    if d >= 3:
        # MadNIS eq. (30): the last column is the unit vector of the first step's angles
        th = angles[n - (d - 1) :]
        cos_prod = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(th.cos(), 0)])
        a_d = torch.cat([th.sin(), torch.ones(1, dtype=torch.float64)]) * cos_prod
        assert torch.allclose(r[:, -1], a_d, atol=1e-13)
    with pytest.raises(ValueError, match="angles of shape"):
        euler_rotation_matrix(torch.zeros(n + 1), d)


def test_trainable_rotation_parameters_and_identity_start():
    rot = TrainableRotation(5)
    assert sum(p.numel() for p in rot.parameters()) == 10
    x = torch.rand(20, 5, dtype=torch.float64)
    assert torch.allclose(rot.double()(x)[0], x, atol=1e-14)
    with pytest.raises(ValueError, match="init"):
        TrainableRotation(3, init="haar")
    a, b = SoftRotation(4, generator=_gen(1)), SoftRotation(4, generator=_gen(1))
    assert torch.equal(a.matrix(), b.matrix()) and sum(1 for _ in a.parameters()) == 0


@pytest.mark.parametrize("d", [2, 5])
def test_wrapped_rotation_preserves_the_uniform_density(d):
    """Phi(R Phi^{-1}(u)) of uniform u is uniform: per-coordinate KS test and a zero mean of the
    centred coordinates' products (the coordinates stay independent)."""
    rot = SoftRotation(d, generator=_gen(d)).double()
    u = torch.rand(20_000, d, generator=_gen(1), dtype=torch.float64)
    y = rot(u)[0]
    for j in range(d):
        assert stats.kstest(y[:, j].numpy(), "uniform").pvalue > 1e-4
    c = (y - 0.5) * math.sqrt(12)
    cov = (c.T @ c) / u.shape[0]
    assert torch.allclose(cov, torch.eye(d, dtype=torch.float64), atol=5 * 2 / math.sqrt(20_000))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_normal_icdf_precision_and_edges(dtype):
    x = torch.tensor([0.0, 1e-30, 1e-7, 0.3, 0.5, 0.9, 1 - 1e-7, 1 - 1e-12, 1.0], dtype=dtype)
    z = normal_icdf(x)
    assert bool(torch.isfinite(z).all()) and bool((z[1:] >= z[:-1]).all())
    inner = (x > 0) & (x < 1)
    ref = torch.from_numpy(special.ndtri(x.double().numpy()))
    # 1 - 1e-12 rounds to 1 in float32: compare only where the input is representable
    ok = inner & (x.double() == x.double())
    rel = ((z.double() - ref).abs() / ref.abs().clamp_min(1e-3))[ok]
    assert float(rel.max()) < (1e-5 if dtype == torch.float32 else 1e-12)
    cdf = GaussianCDF(1).to(dtype)
    _, ld = cdf.inverse(x[:, None])
    assert bool(torch.isfinite(ld).all())
