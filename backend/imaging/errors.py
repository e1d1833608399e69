"""Domain errors of the imaging layer.

Every error is a ``ValueError`` whose ``str()`` is a message for the user: what is wrong and how
to fix it. The API maps each class to one HTTP status (noted per class); the imaging code never
imports anything HTTP.
"""


class ImagingError(ValueError):
    """Base class: the uploaded bytes cannot be used as they are."""


class InvalidImage(ImagingError):
    """Empty, not an image, truncated or corrupt, no finite pixel, zero-sized (HTTP 422)."""


class UnsupportedImageType(ImagingError):
    """A real file in a format or encoding this service does not read (HTTP 415)."""


class ImageTooLarge(ImagingError):
    """The header claims more pixels than allowed, checked before decoding (HTTP 413)."""


class UnsupportedLayout(ImagingError):
    """Z-stacks, time series, too many channels: a valid image we cannot use yet (HTTP 422)."""


class InvalidMask(ImagingError):
    """A mask of the wrong size, dtype or values for its image and collection (HTTP 422)."""


class InvalidArchive(ImagingError):
    """An unsafe, corrupt, encrypted or oversized zip archive (HTTP 422)."""


def check_pixel_count(width: int, height: int, max_pixels: int, filename: str) -> None:
    """Raise ImageTooLarge when a header's width x height exceeds ``max_pixels``."""
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"'{filename}' is {width}x{height} = {width * height} pixels, more than the "
            f"limit of {max_pixels}; crop or downscale it before uploading."
        )
