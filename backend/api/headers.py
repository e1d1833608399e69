"""Response header values built from user-supplied text."""

from urllib.parse import quote


def attachment(filename: str) -> str:
    """``Content-Disposition`` for a download named ``filename`` (RFC 6266).

    Header values must be latin-1, so the plain ``filename`` carries an ASCII stand-in and
    ``filename*`` the real name, UTF-8 percent-encoded, which browsers prefer when present.
    """
    name = filename.rsplit("/", 1)[-1] or "download"
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
