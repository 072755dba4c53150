"""Random draws that accept a generator on any device.

A ``torch.Generator`` lives on one device, and ``torch.rand(..., generator=g, device=d)`` fails
when the two differ. These helpers draw on the generator's device and move the result to the
requested one, so a CPU generator drives a CUDA flow (and gives the same numbers as on the CPU)
and a CUDA generator drives CPU work.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["draw_device", "rand", "randn"]


def draw_device(
    generator: torch.Generator | None, device: torch.device | str | None
) -> torch.device:
    """The device to draw on: the generator's if one is given, else ``device`` (CPU if None)."""
    if generator is not None:
        return generator.device
    return torch.device(device) if device is not None else torch.device("cpu")


def _draw(
    fn: Callable[..., Tensor],
    size: tuple[int, ...],
    generator: torch.Generator | None,
    device: torch.device | str | None,
    dtype: torch.dtype | None,
) -> Tensor:
    out = fn(*size, generator=generator, device=draw_device(generator, device), dtype=dtype)
    return out if device is None else out.to(device)


def rand(
    *size: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Uniform draws on [0, 1) of shape ``size`` on ``device``, whatever the generator's device."""
    return _draw(torch.rand, size, generator, device, dtype)


def randn(
    *size: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Standard-normal draws of shape ``size`` on ``device``, whatever the generator's device."""
    return _draw(torch.randn, size, generator, device, dtype)
