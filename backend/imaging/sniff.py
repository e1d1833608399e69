"""Recognise a file by its first bytes, never by its name.

Only PNG, JPEG and TIFF are read. Other formats we can name get :class:`UnsupportedImageType` so
the user learns what the file really is; text and unknown bytes get :class:`InvalidImage`.
"""

from pathlib import PurePath

from backend.imaging.errors import InvalidImage, UnsupportedImageType

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

_SUPPORTED = "PNG, JPEG or TIFF"

# (offset, magic, name) of formats we recognise but do not read.
_KNOWN_UNSUPPORTED: tuple[tuple[int, bytes, str], ...] = (
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (0, b"%PDF", "PDF"),
    (0, b"8BPS", "Photoshop (PSD)"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"ZISRAWFILE", "Zeiss CZI"),
    (0, b"\x93NUMPY", "NumPy .npy"),
    (0, b"\x89HDF\r\n\x1a\n", "HDF5"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (0, b"Rar!\x1a\x07", "RAR"),
    (128, b"DICM", "DICOM"),
    *((0, magic, "zip archive") for magic in ZIP_MAGICS),
)

_EXPECTED_BY_SUFFIX = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


def sniff_format(data: bytes) -> str | None:
    """Return ``"png"``, ``"jpeg"`` or ``"tiff"`` from the magic bytes, else ``None``."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data[:4] in TIFF_MAGICS:
        return "tiff"
    return None


def detect_format(
    data: bytes, filename: str, *, what: str = "image", formats: str = _SUPPORTED
) -> str:
    """Return the format of ``data`` or raise a message that says what the bytes really are.

    ``formats``: the formats the caller reads, named in the advice (masks are never JPEG)."""
    if not data:
        raise InvalidImage(f"'{filename}' is empty (0 bytes); upload the {what} file again.")
    fmt = sniff_format(data)
    if fmt is not None:
        return fmt
    claimed = _EXPECTED_BY_SUFFIX.get(PurePath(filename).suffix.lower())
    if claimed:
        prefix = f"'{filename}' is not a {claimed} file"
    else:
        prefix = f"'{filename}' is not a {formats} {what}"
    known = _known_unsupported(data)
    if known is not None:
        if claimed:
            raise UnsupportedImageType(
                f"{prefix}: its content is {known}, which is not supported; "
                f"convert it to {formats}."
            )
        raise UnsupportedImageType(
            f"'{filename}' is a {known} file, which is not supported; convert it to {formats}."
        )
    if _looks_like_text(data):
        kind = "HTML" if b"<html" in data[:2048].lower() else "text"
        raise InvalidImage(
            f"{prefix}: its content is {kind}. Upload the {what} itself as {formats}."
        )
    raise InvalidImage(
        f"{prefix}: its first bytes match no known image format. Upload the {what} as {formats}."
    )


def _known_unsupported(data: bytes) -> str | None:
    for offset, magic, name in _KNOWN_UNSUPPORTED:
        if data[offset : offset + len(magic)] == magic:
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
        return "HEIF/AVIF"
    return None


def _looks_like_text(data: bytes) -> bool:
    head = data[:2048]
    if b"\x00" in head:
        return False
    printable = sum(32 <= byte < 127 or byte in b"\t\r\n" or byte >= 0x80 for byte in head)
    return printable >= 0.95 * len(head)
