"""maskloop's learning core: self-supervised pretraining, fine-tuning and inference.

The service calls ``pretrain``, ``train``, ``predict`` and ``embed``; this package never imports
``backend``.
"""

from models.checkpoint import Checkpoint
from models.config import PretrainConfig, Progress, TrainConfig
from models.inference import Prediction, embed, predict
from models.training import pretrain, train

__all__ = [
    "Checkpoint",
    "Prediction",
    "PretrainConfig",
    "Progress",
    "TrainConfig",
    "embed",
    "predict",
    "pretrain",
    "train",
]
