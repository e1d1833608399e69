"""Losses, one per module, each an ``nn.Module`` with a narrow ``forward``."""

from models.losses.ce_dice import CEDiceLoss, Emphasis, class_weights_from_targets
from models.losses.dice import DiceLoss
from models.losses.masked_mse import MaskedMSELoss
from models.losses.vicreg import VICRegLoss

__all__ = [
    "CEDiceLoss",
    "DiceLoss",
    "Emphasis",
    "MaskedMSELoss",
    "VICRegLoss",
    "class_weights_from_targets",
]
