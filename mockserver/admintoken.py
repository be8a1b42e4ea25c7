"""The control API's admin token from a file (`--admin-token-file`), so it is not on a command line that
every user of the machine can read with `ps`."""

from __future__ import annotations

from pathlib import Path


class TokenFileError(ValueError):
    """An admin token file that cannot be read or holds no token."""


def read_token_file(path: Path) -> str:
    """The token in `path`, read once, surrounding whitespace dropped: one token on one line, as it goes
    into a header."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise TokenFileError(f"cannot read the admin token file {path}: {reason}") from exc
    if not token:
        raise TokenFileError(f"the admin token file {path} is empty")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise TokenFileError(f"the admin token file {path} must hold one token on one line, without spaces")
    return token
