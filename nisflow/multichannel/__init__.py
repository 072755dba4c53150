"""Multi-channel integration (MadNIS): channels, channel weights, stratified allocation."""

from .allocation import allocate, channels_to_keep
from .channel import Channel
from .integrator import ChannelBatch, MultiChannelIntegrator, MultiChannelTrainingConfig
from .weights import (
    ChannelWeightNet,
    ChannelWeights,
    FunctionPrior,
    SherpaPrior,
    UniformWeights,
    masked_softmax,
)

__all__ = [
    "Channel",
    "MultiChannelIntegrator",
    "MultiChannelTrainingConfig",
    "ChannelBatch",
    "ChannelWeights",
    "UniformWeights",
    "SherpaPrior",
    "FunctionPrior",
    "ChannelWeightNet",
    "masked_softmax",
    "allocate",
    "channels_to_keep",
]
