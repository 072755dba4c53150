"""Stratified allocation (eq. 17) with a uniform floor, and channel dropping."""

from __future__ import annotations

import pytest
import torch

from nisflow.multichannel import allocate, channels_to_keep


@pytest.mark.parametrize("n", [2, 7, 100, 10_001])
@pytest.mark.parametrize("frac", [0.0, 0.1, 1.0])
def test_allocation_sums_to_n_and_respects_dropped(n, frac):
    sig = torch.tensor([1.0, 3.0, 0.0, 6.0])
    active = torch.tensor([True, True, True, False])
    counts = allocate(n, sig, active, uniform_fraction=frac)
    assert sum(counts) == n
    assert counts[3] == 0
    assert all(c >= 0 for c in counts)


def test_allocation_is_proportional_to_sigma_with_floor():
    counts = allocate(
        10_000, torch.tensor([1.0, 3.0]), torch.tensor([True, True]), uniform_fraction=0.2
    )
    # 0.2 * 5000 + 0.8 * 10000 * (1/4, 3/4)
    assert counts == [1000 + 2000, 1000 + 6000]


def test_allocation_without_sigmas_is_uniform():
    assert allocate(10, None, torch.tensor([True, True])) == [5, 5]
    assert allocate(10, torch.tensor([0.0, 0.0]), torch.tensor([True, True])) == [5, 5]


def test_minimum_points_per_active_channel():
    counts = allocate(
        100, torch.tensor([1.0, 0.0, 0.0]), torch.ones(3, dtype=torch.bool), uniform_fraction=0.0
    )
    assert counts[1] >= 2 and counts[2] >= 2 and sum(counts) == 100


def test_dropping_only_vanishing_channels_by_default():
    keep = channels_to_keep(
        torch.tensor([1.0, 0.0, 1e-9]),
        torch.tensor([0.1, 0.0, 1e-10]),
        torch.ones(3, dtype=torch.bool),
    )
    assert keep.tolist() == [True, False, True]
    keep = channels_to_keep(
        torch.tensor([1.0, 0.0, 1e-9]),
        torch.tensor([0.1, 0.0, 1e-10]),
        torch.ones(3, dtype=torch.bool),
        threshold=1e-6,
    )
    assert keep.tolist() == [True, False, False]


def test_no_active_channel_is_an_error():
    with pytest.raises(ValueError, match="Expected at least one active channel"):
        allocate(10, None, torch.zeros(2, dtype=torch.bool))
