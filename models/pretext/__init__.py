"""Self-supervised pretext tasks, one module each, selected by name."""

from models.pretext.base import Pretext
from models.pretext.contrastive import ContrastivePretext
from models.pretext.denoise import DenoisePretext
from models.pretext.masked import MaskedPretext
from models.pretext.rotation import RotationPretext
from models.pretext.superres import SuperResPretext

PRETEXTS: dict[str, type[Pretext]] = {
    cls.name: cls
    for cls in (MaskedPretext, ContrastivePretext, RotationPretext, DenoisePretext, SuperResPretext)
}


def build_pretext(method: str, encoder: str, in_channels: int) -> Pretext:
    """A fresh pretext task (with its network) from the registry."""
    if method not in PRETEXTS:
        raise ValueError(f"unknown pretext method {method!r}; choose one of {sorted(PRETEXTS)}")
    return PRETEXTS[method](encoder, in_channels)


__all__ = ["PRETEXTS", "Pretext", "build_pretext"]
