"""Products and chains of mappings and flows: domains, errors, densities through a flow."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nisflow.flows import Flow, UniformPrior
from nisflow.mappings import (
    BreitWigner,
    Chain,
    Identity,
    MasslessPropagator,
    Product,
    Rectangle,
    RelativisticBreitWigner,
    Ring,
    Rotation,
)

F64 = torch.float64


def _line() -> Chain:
    return Chain([Product([BreitWigner(0.5, 0.4), BreitWigner(-1.0, 1.5)]), Rotation(-math.pi / 4)])


def test_line_channel_density_integrates_to_one() -> None:
    # ∫ g(x) dx = ∫ g(R y) dy for a rotation R (eq. 50 written out here, not taken from the code);
    # in y the density factorises, so a Cauchy substitution per axis resolves the tails.
    line = _line().double()
    t, w = np.polynomial.legendre.leggauss(200)
    ang = 0.5 * np.pi * t
    nodes, weights = [], []
    for center, scale in ((0.5, 0.4), (-1.0, 1.5)):
        nodes.append(center + scale * np.tan(ang))
        weights.append(0.5 * w * scale * np.pi / np.cos(ang) ** 2)
    y1, y2 = np.meshgrid(*nodes, indexing="ij")
    x = np.stack([(y2 + y1) / math.sqrt(2), (y2 - y1) / math.sqrt(2)], -1).reshape(-1, 2)
    g = line.log_prob(torch.as_tensor(x)).exp().numpy()
    total = float((g * np.multiply.outer(*weights).reshape(-1)).sum())
    assert total == pytest.approx(1.0, abs=1e-6)


def test_chain_domains_must_match() -> None:
    with pytest.raises(
        ValueError, match=r"Expected step 1 \(Product\) .* in the 'real' domain; it takes 'unit'"
    ):
        Chain([Rotation(0.3), Product([BreitWigner(0.0, 1.0), BreitWigner(0.0, 1.0)])])
    with pytest.raises(
        ValueError,
        match=r"Expected every step of dimension 2; got step 1 \(Rotation\) of dimension 3",
    ):
        Chain([Ring(1.0, 0.5), Rotation([0.1, 0.2, 0.3], d=3)])
    with pytest.raises(ValueError, match="Expected at least one step"):
        Chain([])
    # a flow on [0, 1]^2 takes the output of a mapping whose range lies in [0, 1]^2
    unit_bw = Product([BreitWigner(0.5, 0.1, 0.0, 1.0), BreitWigner(0.2, 0.3, 0.0, 1.0)])
    assert unit_bw.domain_out == "unit"
    flow = Flow(UniformPrior(2), [Identity(2)])
    assert Chain([unit_bw, flow]).domain_out == "unit"
    with pytest.raises(ValueError, match="'real' domain; it takes 'unit'"):
        Chain([Ring(1.0, 0.5), flow])


def test_product_factors_must_share_the_input_domain() -> None:
    with pytest.raises(ValueError, match="Expected every factor to take inputs in one domain"):
        Product([Rotation(0.3), BreitWigner(0.0, 1.0)])
    with pytest.raises(ValueError, match="Expected at least one factor"):
        Product([])


def test_product_acts_on_its_blocks() -> None:
    bw, prop = BreitWigner(2.0, 0.7), MasslessPropagator(1.0, 10.0)
    m = Product([bw, Identity(1), prop]).double()
    u = torch.rand(20, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    x, ld = m(u)
    x0, ld0 = bw.double()(u[:, :1])
    x2, ld2 = prop.double()(u[:, 2:])
    torch.testing.assert_close(x, torch.cat([x0, u[:, 1:2], x2], -1))
    torch.testing.assert_close(ld, ld0 + ld2)
    assert m.low.tolist() == [-math.inf, 0.0, 1.0] and m.high.tolist() == [math.inf, 1.0, 10.0]


def test_point_outside_the_image_of_a_chain_is_named() -> None:
    chain = Chain([Rectangle([-1.0, -2.0], [3.0, 1.0]), Rotation(0.7)]).double()
    x = chain(torch.rand(4, 2, generator=torch.Generator().manual_seed(0), dtype=F64))[0]
    x[3] = torch.tensor([10.0, 10.0], dtype=F64)  # in R^2, outside the rotated rectangle
    assert chain.contains(x).tolist() == [True, True, True, False]
    with pytest.raises(
        ValueError, match=r"step 0 \(Rectangle\) rejected them: .*got 1 of 4 points outside"
    ):
        chain.inverse(x)
    with pytest.raises(ValueError, match="1 of 4 points outside"):
        chain.log_prob(x)
    lp = chain.log_prob(x, strict=False)
    assert lp[3] == -math.inf
    torch.testing.assert_close(lp[:3], torch.full((3,), -math.log(12.0), dtype=F64))


def _flow_chain() -> Chain:
    flow = Flow(
        UniformPrior(2),
        [Product([BreitWigner(0.6, 0.2, 0.0, 1.0), BreitWigner(0.3, 0.4, 0.0, 1.0)])],
    )
    return Chain([flow, Ring(1.0, 0.5)]).double()


def test_chain_starting_with_a_flow_uses_its_density() -> None:
    chain = _flow_chain()
    state = torch.get_rng_state()
    x, log_q = chain.sample_and_log_prob(500, generator=torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    x_again, _ = chain.sample_and_log_prob(500, generator=torch.Generator().manual_seed(5))
    assert torch.equal(x, x_again)
    torch.testing.assert_close(chain.log_prob(x), log_q, atol=1e-10, rtol=0)
    # explicitly: flow density of z = Ring^-1(x) plus the ring's inverse log-det
    flow, ring = chain.steps
    z, ld = ring.inverse(x)
    torch.testing.assert_close(log_q, flow.log_prob(z) + ld, atol=1e-10, rtol=0)


def test_rotation_constructors_and_errors() -> None:
    r = Rotation([0.3, -1.1, 2.0], d=3)
    m = r.matrix
    torch.testing.assert_close(m @ m.T, torch.eye(3, dtype=F64))
    assert torch.linalg.det(m).item() == pytest.approx(1.0)
    same = Rotation(matrix=m)
    u = torch.randn(5, 3, dtype=F64)
    torch.testing.assert_close(same(u)[0], r(u)[0])
    with pytest.raises(ValueError, match="Expected 3 angles for a rotation of R\\^3; got 2"):
        Rotation([0.1, 0.2], d=3)
    with pytest.raises(ValueError, match="Expected an orthogonal matrix with determinant \\+1"):
        Rotation(matrix=torch.diag(torch.tensor([1.0, -1.0], dtype=F64)))
    with pytest.raises(TypeError, match="Expected a mapping from the unit hypercube"):
        Rotation(0.3).log_prob(torch.zeros(1, 2))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: BreitWigner(0.0, 0.0), "Expected a positive width"),
        (lambda: BreitWigner(0.0, 1.0, 2.0, 1.0), "Expected an output range with low < high"),
        (lambda: BreitWigner(math.nan, 1.0), "Expected mean to be a finite real number"),
        (lambda: BreitWigner(0.0, 1e-3, 1e20, 2e20), "Expected a range that resolves the peak"),
        (lambda: RelativisticBreitWigner(-1.0, 2.0), "Expected a positive mass and width"),
        (lambda: MasslessPropagator(0.0, 10.0, 2.0), "Expected s_min > 0 for nu >= 1"),
        (lambda: MasslessPropagator(1.0, math.inf, 1.0), "Expected a finite s_max for nu <= 1"),
        (lambda: MasslessPropagator(5.0, 1.0), "Expected 0 <= s_min < s_max"),
        (lambda: Rectangle([0.0, 1.0], [1.0, 1.0]), "Expected an output range with low < high"),
        (lambda: Rectangle([0.0], [math.inf]), "Expected finite corners"),
        (lambda: Identity(2, "box"), "Expected domain 'unit' or 'real'"),
    ],
)
def test_invalid_parameters_are_errors(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_buffers_follow_to(device) -> None:
    chain = _flow_chain().to(device=device, dtype=torch.float32)
    for name, b in chain.named_buffers():
        assert b.device.type == torch.device(device).type and b.dtype == torch.float32, name
    x, log_q = chain.sample_and_log_prob(10, generator=torch.Generator(device).manual_seed(0))
    assert x.device.type == torch.device(device).type and x.dtype == torch.float32
