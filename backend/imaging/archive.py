"""Unpack an uploaded zip of images, safely.

Refused (InvalidArchive): corrupt zips, member names with ``..`` components, absolute paths or
drive letters, encrypted members, nested archives (by name or by magic bytes), more than
``max_members`` files, and zip bombs: declared sizes summing over ``max_total_bytes``, or a
member larger than 1 MiB whose compression ratio exceeds ``max_ratio``. Headers can lie, so the
same limits are enforced again on the bytes actually inflated.

Skipped silently: directories, ``__MACOSX/`` and names with a component starting with ``.``
(``._foo.png``, ``.DS_Store``, ``.git/``).
"""

import io
import lzma
import re
import zipfile
import zlib

from backend.imaging.errors import InvalidArchive
from backend.imaging.sniff import ZIP_MAGICS

# Small members may compress very well (flat masks, blank tiles) without being a threat; the
# total size limit still bounds them.
RATIO_GRACE_BYTES = 1 << 20
_CHUNK = 1 << 16
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
_ARCHIVE_MAGICS = (
    *ZIP_MAGICS,
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\xfd7zXZ\x00",
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCRYPTED_FLAG = 0x1
# What zipfile and its decompressors raise on damaged or unsupported input.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
)


def is_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a zip archive (including an empty one)."""
    return data[:4] in ZIP_MAGICS


def extract_zip(
    data: bytes, *, max_members: int, max_total_bytes: int, max_ratio: float = 100.0
) -> list[tuple[str, bytes]]:
    """Return ``(relative name, bytes)`` of each file in the zip, in archive order."""
    if max_members < 1 or max_total_bytes < 1 or max_ratio < 1:
        raise ValueError(
            "max_members, max_total_bytes and max_ratio must be >= 1, got "
            f"{max_members}, {max_total_bytes}, {max_ratio}"
        )
    if not is_zip(data):
        raise InvalidArchive("the upload is not a zip archive; upload a .zip file.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise InvalidArchive(
            f"the zip archive is corrupt ({exc}); create it again and re-upload."
        ) from exc
    with archive:
        members = _select_members(archive.infolist(), max_members, max_total_bytes, max_ratio)
        return _read_members(archive, members, max_total_bytes, max_ratio)


def _select_members(
    infos: list[zipfile.ZipInfo], max_members: int, max_total_bytes: int, max_ratio: float
) -> list[tuple[str, zipfile.ZipInfo]]:
    selected: list[tuple[str, zipfile.ZipInfo]] = []
    for info in infos:
        name = _safe_name(info.filename)
        if info.is_dir() or not name or _is_skipped(name):
            continue
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise InvalidArchive(
                f"'{name}' in the zip is password-protected; upload an unencrypted zip."
            )
        if name.lower().endswith(_ARCHIVE_SUFFIXES):
            raise _nested(name)
        _check_ratio(name, info.file_size, info.compress_size, max_ratio)
        selected.append((name, info))
    if len(selected) > max_members:
        raise InvalidArchive(
            f"the zip holds {len(selected)} files, more than the limit of {max_members}; "
            "split it into smaller zips."
        )
    declared = sum(info.file_size for _, info in selected)
    if declared > max_total_bytes:
        raise _too_big(declared, max_total_bytes)
    return selected


def _read_members(
    archive: zipfile.ZipFile,
    members: list[tuple[str, zipfile.ZipInfo]],
    max_total_bytes: int,
    max_ratio: float,
) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    total = 0
    for name, info in members:
        chunks: list[bytes] = []
        size = 0
        try:
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > max_total_bytes:
                        raise _too_big(total, max_total_bytes)
                    if size > info.file_size:
                        raise InvalidArchive(
                            f"'{name}' in the zip inflates to more than its declared "
                            f"{info.file_size} bytes; the archive is corrupt or malicious."
                        )
                    _check_ratio(name, size, info.compress_size, max_ratio)
                    chunks.append(chunk)
        except InvalidArchive:
            raise
        except _ZIP_ERRORS as exc:
            raise InvalidArchive(
                f"'{name}' in the zip cannot be read ({exc}); create the zip again."
            ) from exc
        content = b"".join(chunks)
        if content[:6].startswith(_ARCHIVE_MAGICS):
            raise _nested(name)
        out.append((name, content))
    return out


def _safe_name(raw: str) -> str:
    """Normalised relative name, or InvalidArchive when it could escape the upload folder."""
    name = raw.replace("\\", "/")
    if "\x00" in name or name.startswith("/") or _DRIVE.match(name):
        raise InvalidArchive(
            f"the zip member '{raw}' has an absolute path; zip the files with relative names."
        )
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidArchive(
            f"the zip member '{raw}' points outside the archive ('..'); "
            "zip the files with plain relative names."
        )
    return "/".join(parts)


def _is_skipped(name: str) -> bool:
    parts = name.split("/")
    return any(part == "__MACOSX" or part.startswith(".") for part in parts)


def _check_ratio(name: str, size: int, compressed: int, max_ratio: float) -> None:
    if size > RATIO_GRACE_BYTES and size > max_ratio * max(compressed, 1):
        raise InvalidArchive(
            f"'{name}' in the zip expands {size / max(compressed, 1):.0f}-fold, more than the "
            f"limit of {max_ratio:g}; this looks like a zip bomb. Upload the images directly."
        )


def _too_big(size: int, limit: int) -> InvalidArchive:
    return InvalidArchive(
        f"the zip unpacks to more than {limit} bytes ({size} so far); split it into smaller zips."
    )


def _nested(name: str) -> InvalidArchive:
    return InvalidArchive(
        f"'{name}' inside the zip is itself an archive; nested archives are not supported. "
        "Unpack it and zip the images once."
    )
