import io
import struct
import zipfile

import pytest

from backend.imaging import InvalidArchive, extract_zip, is_zip

LIMITS = {"max_members": 10, "max_total_bytes": 10_000_000}
PNG_LIKE = b"\x89PNG\r\n\x1a\n" + b"pixels"


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def patch_central_directory(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite a field of the first central directory entry."""
    start = data.index(b"PK\x01\x02") + offset
    return data[:start] + struct.pack(fmt, value) + data[start + struct.calcsize(fmt) :]


def test_extract_zip_returns_files_with_relative_names():
    data = zip_bytes({"a.png": PNG_LIKE, "plate1/b.png": b"tiff", "./c.png": b"c"})
    assert extract_zip(data, **LIMITS) == [
        ("a.png", PNG_LIKE),
        ("plate1/b.png", b"tiff"),
        ("c.png", b"c"),
    ]


def test_extract_zip_skips_directories_macos_and_dotfiles():
    data = zip_bytes(
        {
            "imgs/": b"",
            "imgs/a.png": PNG_LIKE,
            "__MACOSX/imgs/._a.png": b"junk",
            "imgs/._a.png": b"junk",
            ".DS_Store": b"junk",
            ".git/config": b"junk",
        }
    )
    assert extract_zip(data, **LIMITS) == [("imgs/a.png", PNG_LIKE)]


@pytest.mark.parametrize("name", ["../evil.png", "imgs/../../evil.png", "..\\evil.png"])
def test_extract_zip_rejects_parent_components(name):
    with pytest.raises(InvalidArchive, match=r"outside the archive"):
        extract_zip(zip_bytes({name: b"x"}), **LIMITS)


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/evil.png", "c:\\evil.png", "\\\\host\\x"])
def test_extract_zip_rejects_absolute_names(name):
    with pytest.raises(InvalidArchive, match="absolute path"):
        extract_zip(zip_bytes({name: b"x"}), **LIMITS)


def test_extract_zip_rejects_nested_zip_by_name():
    inner = zip_bytes({"a.png": PNG_LIKE})
    with pytest.raises(InvalidArchive, match="nested archives"):
        extract_zip(zip_bytes({"inner.zip": inner}), **LIMITS)


def test_extract_zip_rejects_nested_zip_by_magic():
    inner = zip_bytes({"a.png": PNG_LIKE})
    with pytest.raises(InvalidArchive, match="nested archives"):
        extract_zip(zip_bytes({"disguised.png": inner}), **LIMITS)


def test_extract_zip_rejects_high_compression_ratio():
    data = zip_bytes({"zeros.tif": bytes(4_000_000)})
    assert len(data) < 20_000
    with pytest.raises(InvalidArchive, match="zip bomb"):
        extract_zip(data, **LIMITS)


def test_extract_zip_rejects_declared_total_over_limit():
    data = zip_bytes({"a.tif": bytes(3000), "b.tif": bytes(3000)}, zipfile.ZIP_STORED)
    with pytest.raises(InvalidArchive, match="more than 5000 bytes"):
        extract_zip(data, max_members=10, max_total_bytes=5000)


def test_extract_zip_rejects_member_larger_than_its_header_says():
    data = zip_bytes({"zeros.tif": bytes(2_000_000)})
    lying = patch_central_directory(data, 24, "<I", 1000)  # uncompressed size
    with pytest.raises(InvalidArchive, match=r"cannot be read|declared"):
        extract_zip(lying, **LIMITS)


def test_extract_zip_rejects_too_many_members():
    data = zip_bytes({f"{i}.png": PNG_LIKE for i in range(4)})
    with pytest.raises(InvalidArchive, match="4 files, more than the limit of 3"):
        extract_zip(data, max_members=3, max_total_bytes=10_000)


def test_extract_zip_rejects_encrypted_member():
    data = patch_central_directory(zip_bytes({"a.png": PNG_LIKE}), 8, "<H", 0x1)
    with pytest.raises(InvalidArchive, match="password-protected"):
        extract_zip(data, **LIMITS)


def test_extract_zip_rejects_corrupt_zip():
    data = zip_bytes({"a.png": PNG_LIKE * 100})
    with pytest.raises(InvalidArchive, match="corrupt"):
        extract_zip(data[: len(data) // 2], **LIMITS)


def test_extract_zip_rejects_bad_crc():
    data = patch_central_directory(zip_bytes({"a.png": PNG_LIKE}), 16, "<I", 0)  # CRC-32
    with pytest.raises(InvalidArchive, match="cannot be read"):
        extract_zip(data, **LIMITS)


def test_extract_zip_rejects_non_zip():
    with pytest.raises(InvalidArchive, match="not a zip"):
        extract_zip(PNG_LIKE, **LIMITS)


def test_is_zip_recognises_zip_magic():
    assert is_zip(zip_bytes({"a.png": b"x"}))
    assert is_zip(zip_bytes({}))
    assert not is_zip(PNG_LIKE)
    assert not is_zip(b"")
