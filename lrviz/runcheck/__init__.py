"""check-run's engine: models of what a run's scheduler did, matching logged points to updates, inferring the
schedule behind a log, and naming why a run departed from its schedule. No torch; matplotlib only in ``overlay``."""

from .check import Finding, Report, check_against, infer_run
from .infer import Inference, infer
from .models import DeepSpeedModel, HFModel, Model, SteppedModel

__all__ = ["DeepSpeedModel", "Finding", "HFModel", "Inference", "Model", "Report", "SteppedModel", "check_against",
           "infer", "infer_run"]
