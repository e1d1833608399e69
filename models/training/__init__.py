"""Training loops: self-supervised pretraining and supervised fine-tuning."""

from models.training.budget import Budget, resolve_device
from models.training.finetune import train
from models.training.pretrain import pretrain

__all__ = ["Budget", "pretrain", "resolve_device", "train"]
