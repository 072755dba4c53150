"""Channels: a mapping and, optionally, a flow of the mapping's dimension."""

from __future__ import annotations

import pytest
import torch

from nisflow import FlowConfig
from nisflow.mappings import Rectangle
from nisflow.multichannel.channel import Channel


@pytest.mark.parametrize("flow", [True, "rq_spline"])
def test_channel_flows_keep_the_transform_default_bins(flow):
    """FlowConfig's ``n_bins="auto"`` (16 in 2D) was measured for the single-channel Integrator;
    a channel's default flow keeps the transform's 8 bins."""
    channel = Channel(mapping=Rectangle([0.0, 0.0], [1.0, 1.0]), flow=flow)
    assert channel.flow_config is not None and channel.flow_config.bins(2) is None
    built = channel.flow_config.build(2, generator=torch.Generator().manual_seed(0))
    assert {c.transform.n_bins for c in built.cells} == {8}


def test_a_channel_keeps_the_flow_config_it_is_given():
    config = FlowConfig(n_bins=12)
    channel = Channel(mapping=Rectangle([0.0, 0.0], [1.0, 1.0]), flow=config)
    assert channel.flow_config is config
