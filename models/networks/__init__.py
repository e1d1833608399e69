"""Networks: encoders by name, a U-Net decoder sized from the encoder, heads, the segmenter."""

from models.networks.decoder import UNetDecoder
from models.networks.encoders import ENCODERS, Encoder, ResNetEncoder, SmallEncoder, build_encoder
from models.networks.heads import SegmentationHead
from models.networks.segmenter import Segmenter, build_segmenter, pad_to_multiple

__all__ = [
    "ENCODERS",
    "Encoder",
    "ResNetEncoder",
    "SegmentationHead",
    "Segmenter",
    "SmallEncoder",
    "UNetDecoder",
    "build_encoder",
    "build_segmenter",
    "pad_to_multiple",
]
