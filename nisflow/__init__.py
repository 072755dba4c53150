"""nisflow: neural importance sampling with normalizing flows on the unit hypercube."""

__version__ = "0.1.0"

from .diagnostics import Diagnostics, NisflowReliabilityWarning  # noqa: E402
from .integrator import FlowConfig, Integrator, SamplingConfig, TrainingConfig  # noqa: E402
from .multichannel import Channel, MultiChannelIntegrator  # noqa: E402
from .result import IntegrationResult  # noqa: E402

__all__ = [
    "__version__",
    "Integrator",
    "IntegrationResult",
    "FlowConfig",
    "TrainingConfig",
    "SamplingConfig",
    "Diagnostics",
    "NisflowReliabilityWarning",
    "Channel",
    "MultiChannelIntegrator",
]
