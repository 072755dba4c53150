"""Training flows for importance sampling: the trainer, survey strategies and the buffer."""

from .batch import SampleBatch
from .buffer import SampleBuffer
from .survey import (
    SURVEY_STRATEGIES,
    AdaptiveSurvey,
    BufferedSurvey,
    FlatSurvey,
    ForwardSurvey,
    OnlineSurvey,
    SurveyStep,
    SurveyStrategy,
    get_survey_strategy,
)
from .trainer import Trainer, auto_batch_size

__all__ = [
    "SampleBatch",
    "SampleBuffer",
    "Trainer",
    "auto_batch_size",
    "SurveyStep",
    "SurveyStrategy",
    "FlatSurvey",
    "ForwardSurvey",
    "AdaptiveSurvey",
    "OnlineSurvey",
    "BufferedSurvey",
    "SURVEY_STRATEGIES",
    "get_survey_strategy",
]
