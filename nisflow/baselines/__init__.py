"""nisflow.baselines: uniform MC and VEGAS behind the benchmark's common interface."""

from nisflow.baselines.record import Budget, RunRecord, unweighting_efficiency
from nisflow.baselines.uniform import run_uniform
from nisflow.baselines.vegas import run_vegas

__all__ = ["Budget", "RunRecord", "unweighting_efficiency", "run_uniform", "run_vegas"]
