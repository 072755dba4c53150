"""Draws with a generator on any device (the CUDA case is in tests/training/test_graphs.py)."""

from __future__ import annotations

import torch

from nisflow.rng import draw_device, rand, randn


def test_draws_equal_torch_on_the_generators_device():
    for ours, theirs in ((rand, torch.rand), (randn, torch.randn)):
        a = ours(
            5, 3, generator=torch.Generator().manual_seed(1), device="cpu", dtype=torch.float64
        )
        b = theirs(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        assert torch.equal(a, b) and a.shape == (5, 3) and a.dtype == torch.float64


def test_draw_device_prefers_the_generator():
    assert draw_device(None, None) == torch.device("cpu")
    assert draw_device(None, "cpu") == torch.device("cpu")
    assert draw_device(torch.Generator(), "meta") == torch.device("cpu")
    # no device asked: the result stays where it was drawn
    assert rand(4).device.type == "cpu"
