"""Content-addressed blob store.

Blobs are named by the SHA-256 of their bytes, so writing the same bytes twice is free and a blob
can never be half-replaced. ``BlobStore`` is the seam where an object store can be added later.
"""

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; return (key, created) where created is False if it already existed."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys(self, older_than_s: float = 0) -> Iterator[str]: ...

    def local_path(self, key: str) -> Path:
        """A file holding the blob, for libraries that read paths (checkpoints)."""
        ...


class LocalBlobStore:
    """Blobs under ``root/ab/abcdef...``; temporary files under ``root/../tmp``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root.parent / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise BlobNotFound(key)
        return self.root / key[:2] / key

    def put(self, data: bytes) -> tuple[str, bool]:
        key = sha256_hex(data)
        path = self._path(key)
        if path.exists():
            return key, False
        path.parent.mkdir(exist_ok=True)
        # Write, fsync, then rename: a crash leaves either no blob or a whole one, never a part.
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return key, True

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except BlobNotFound:
            return False

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key)
        return path

    def keys(self, older_than_s: float = 0) -> Iterator[str]:
        cutoff = time.time() - older_than_s
        for path in self.root.glob("??/*"):
            if path.is_file() and path.stat().st_mtime <= cutoff:
                yield path.name

    def clear_tmp(self, older_than_s: float = 0) -> int:
        """Remove temporary files left by a crash. Writes take seconds, so with a margin of
        minutes this is safe beside processes that are writing now."""
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.tmp.iterdir():
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:  # renamed into place or removed meanwhile
                continue
            removed += 1
        return removed
