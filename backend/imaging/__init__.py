"""Image handling for maskloop: pure functions over bytes and numpy arrays.

No HTTP, database or file store here; the API maps :class:`ImagingError` subclasses to status
codes (InvalidImage, UnsupportedLayout, InvalidMask, InvalidArchive: 422; UnsupportedImageType:
415; ImageTooLarge: 413).
"""

from backend.imaging.archive import extract_zip, is_zip
from backend.imaging.decode import DecodedImage, decode_image
from backend.imaging.errors import (
    ImageTooLarge,
    ImagingError,
    InvalidArchive,
    InvalidImage,
    InvalidMask,
    UnsupportedImageType,
    UnsupportedLayout,
)
from backend.imaging.masks import decode_mask, encode_mask, mask_objects
from backend.imaging.render import encode_png, make_thumbnail, render_display

__all__ = [
    "DecodedImage",
    "ImageTooLarge",
    "ImagingError",
    "InvalidArchive",
    "InvalidImage",
    "InvalidMask",
    "UnsupportedImageType",
    "UnsupportedLayout",
    "decode_image",
    "decode_mask",
    "encode_mask",
    "encode_png",
    "extract_zip",
    "is_zip",
    "make_thumbnail",
    "mask_objects",
    "render_display",
]
