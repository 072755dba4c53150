"""The registry of element-wise transforms of coupling cells, by name.

``TRANSFORMS`` maps the names accepted by :func:`make_transform` (and by
:class:`nisflow.flows.CouplingFlow`'s ``transform=``) to their classes. A transform added here is
tested automatically by ``tests/flows/test_transforms.py``.
"""

from __future__ import annotations

import inspect

from .affine import Affine, UnitAffine
from .base import InvertibleTransform
from .splines import PiecewiseLinear, PiecewiseQuadratic, RationalQuadraticSpline

__all__ = ["TRANSFORMS", "make_transform"]

TRANSFORMS: dict[str, type[InvertibleTransform]] = {
    "pwlinear": PiecewiseLinear,
    "pwquad": PiecewiseQuadratic,
    "rq_spline": RationalQuadraticSpline,
    "affine": UnitAffine,
    "affine_real": Affine,
}
"""Transform classes by name: ``"pwlinear"``, ``"pwquad"``, ``"rq_spline"`` and ``"affine"``
act on [0, 1]; ``"affine_real"`` acts on R."""


def make_transform(
    name_or_instance: str | InvertibleTransform | type[InvertibleTransform],
    n_bins: int | None = None,
) -> InvertibleTransform:
    """Build a transform from its registry name, or pass an instance through.

    Args:
        name_or_instance: a key of :data:`TRANSFORMS`, an :class:`InvertibleTransform` instance
            (returned as is), or an :class:`InvertibleTransform` subclass (instantiated).
        n_bins: number of bins for the binned transforms; ``None`` keeps the class default.
            Ignored by transforms without bins (the affine ones) and for instances.

    Returns:
        The transform.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for anything that is neither a name, a transform nor a transform class.

    Example::

        >>> make_transform("rq_spline", n_bins=16).param_shape(3)
        (3, 49)
    """
    if isinstance(name_or_instance, InvertibleTransform):
        return name_or_instance
    if isinstance(name_or_instance, str):
        if name_or_instance not in TRANSFORMS:
            valid = ", ".join(repr(k) for k in TRANSFORMS)
            raise ValueError(
                f"Expected a transform name among {valid}, or an InvertibleTransform; "
                f"got {name_or_instance!r}."
            )
        cls = TRANSFORMS[name_or_instance]
    elif isinstance(name_or_instance, type) and issubclass(name_or_instance, InvertibleTransform):
        cls = name_or_instance
    else:
        raise TypeError(
            f"Expected a transform name, an InvertibleTransform or its subclass; "
            f"got {type(name_or_instance).__name__}."
        )
    takes_bins = "n_bins" in inspect.signature(cls).parameters
    if n_bins is not None and takes_bins:
        return cls(n_bins=n_bins)
    return cls()
