"""Every mapping of :mod:`nisflow.mappings`, with what the generic invariant tests need to know."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from nisflow.flows import Flow, UniformPrior
from nisflow.mappings import (
    BreitWigner,
    Chain,
    Identity,
    Mapping,
    MasslessPropagator,
    MomentumFractions,
    Polar,
    Product,
    Rectangle,
    RelativisticBreitWigner,
    Ring,
    Rotation,
)

__all__ = ["Case", "CASES"]


@dataclass(frozen=True)
class Case:
    """A mapping factory and how to check its normalisation.

    ``norm`` is ``"polar"`` (the same in polar coordinates for a map onto R^2: radial
    ``(0, scale, n_r)``, angular ``(0, 0, n_theta)``), ``"quad"`` (Gauss–Legendre tensor grid; ``quad`` gives per coordinate
    ``(center, scale, n_nodes)``, the centre and scale of the Cauchy-type substitution used for
    an infinite range) or ``"mc"`` (uniform proposal over ``box``, default the finite bounding box
    of the range, 5 sigma), or
    ``None`` for maps that do not start from [0, 1]^d (no density).
    """

    name: str
    make: Callable[[], Mapping]
    norm: str | None = "quad"
    quad: tuple[tuple[float, float, int], ...] = field(default_factory=tuple)
    box: tuple[tuple[float, float], ...] | None = None


CASES: list[Case] = [
    Case("bw_real", lambda: BreitWigner(2.0, math.sqrt(2) * 0.5), quad=((0.0, 3.0, 400),)),
    Case("bw_narrow_real", lambda: BreitWigner(5.0, math.sqrt(2) * 0.1), quad=((5.0, 0.5, 400),)),
    Case("bw_box", lambda: BreitWigner(5.0, math.sqrt(2) * 0.1, 4.0, 7.0), quad=((0, 0, 2000),)),
    Case("bw_half_line", lambda: BreitWigner(1.0, 0.5, low=0.0), quad=((0.0, 1.0, 400),)),
    Case("bw_unit", lambda: BreitWigner(0.3, 0.05, 0.0, 1.0), quad=((0, 0, 2000),)),
    Case(
        "relativistic_bw",
        lambda: RelativisticBreitWigner(91.19, 2.44, 50.0**2, 200.0**2),
        quad=((0, 0, 4000),),
    ),
    Case("propagator_nu2", lambda: MasslessPropagator(1.0, 100.0, 2.0), quad=((0, 0, 1000),)),
    Case("propagator_nu1", lambda: MasslessPropagator(0.5, 50.0, 1.0), quad=((0, 0, 1000),)),
    Case("propagator_nu0.5", lambda: MasslessPropagator(0.2, 30.0, 0.5), quad=((0, 0, 1000),)),
    Case(
        "propagator_nu3_inf",
        lambda: MasslessPropagator(2.0, math.inf, 3.0),
        quad=((2.0, 2.0, 400),),
    ),
    Case(  # eq. 64 with the photon's power law; the τ range stops short of s (x1 = x2 = 1)
        "momentum_fractions_power",
        lambda: MomentumFractions(MasslessPropagator(1.0, 50.0, 2.0), 100.0),
        norm="mc",
    ),
    Case(
        "momentum_fractions_bw",
        lambda: MomentumFractions(RelativisticBreitWigner(5.0, 1.0, 4.0, 60.0), 80.0),
        norm="mc",
    ),
    Case("rotation_2d", lambda: Rotation(-math.pi / 4), norm=None),
    Case("rotation_3d", lambda: Rotation([0.3, -1.1, 2.0], d=3), norm=None),
    Case("identity_real", lambda: Identity(2, "real"), norm=None),
    Case("identity_unit", lambda: Identity(2), quad=((0, 0, 4), (0, 0, 4))),
    Case("rectangle", lambda: Rectangle([-1.0, 0.0, 2.0], [1.0, 5.0, 2.5]), norm="mc"),
    Case("ring", lambda: Ring(1.0, 0.5), norm="polar", quad=((0.0, 1.0, 400), (0.0, 0.0, 64))),
    Case("polar_annulus", lambda: Polar(BreitWigner(1.5, 0.4, 0.5, 3.0)), norm="mc"),
    Case(
        "product_bw_identity",
        lambda: Product([BreitWigner(0.5, 0.1, 0.0, 1.0), Identity(2)]),
        quad=((0, 0, 400), (0, 0, 3), (0, 0, 3)),
    ),
    Case(
        "product_mixed_ranges",
        lambda: Product([BreitWigner(2.0, 0.7), Identity(1), MasslessPropagator(1.0, 10.0)]),
        quad=((2.0, 1.0, 200), (0, 0, 3), (0, 0, 200)),
    ),
    Case(
        "chain_line",  # the crossed ring's line channel, eq. (50)-(51)
        lambda: Chain(
            [Product([BreitWigner(0.0, 0.4), BreitWigner(0.0, 1.5)]), Rotation(-math.pi / 4)]
        ),
        norm="none",  # normalisation: tests/mappings/test_compose.py (quadrature before rotating)
    ),
    Case(
        "chain_line_truncated",
        lambda: Chain(
            [
                Product([BreitWigner(0.5, 0.4, -2.0, 3.0), BreitWigner(0.0, 1.5, -4.0, 4.0)]),
                Rotation(-math.pi / 4),
            ]
        ),
        norm="mc",
        box=((-5.0, 5.0), (-5.0, 5.0)),
    ),
    Case(
        "chain_flow_ring",  # a flow on [0, 1]^2 (here: analytic unit maps) before the ring map
        lambda: Chain(
            [
                Flow(
                    UniformPrior(2),
                    [Product([BreitWigner(0.6, 0.2, 0.0, 1.0), BreitWigner(0.3, 0.4, 0.0, 1.0)])],
                ),
                Ring(1.0, 0.5),
            ]
        ),
        quad=((0.0, 1.5, 300), (0.0, 1.5, 300)),
    ),
    Case(
        "chain_box_rotation",
        lambda: Chain([Rectangle([-1.0, -2.0], [3.0, 1.0]), Rotation(0.7)]),
        norm="mc",
        box=((-4.0, 4.0), (-4.0, 4.0)),
    ),
]
