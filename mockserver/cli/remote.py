"""A running sandbox's journal, read the way `conformance` and `coverage` both need it: bounded in bytes, and
one clear error for anything that is not a journal."""

from __future__ import annotations

from typing import Any

# The journal keeps at most 1,000 entries / 2 MiB; with their verdicts it stays well under this.
MAX_JOURNAL_BYTES = 16 * 1024 * 1024


class JournalUnreadable(Exception):
    """The journal could not be read; the message says where and why."""


def read_journal(base_url: str, admin_token: str | None = None, session: str | None = None
                 ) -> list[dict[str, Any]]:
    """Everyone's journal, or with `session` only the calls sent with that Ske-Sandbox-Session."""
    import json

    import httpx

    from ..tenants import SESSION_HEADER

    url = f"{base_url.rstrip('/')}/__sandbox/journal"
    headers = {"X-Ske-Sandbox-Admin": admin_token} if admin_token else {}
    if session:
        headers[SESSION_HEADER] = session
    try:
        with httpx.stream("GET", url, timeout=30, headers=headers) as r:
            r.raise_for_status()
            body = bytearray()
            for chunk in r.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_JOURNAL_BYTES:
                    raise JournalUnreadable(f"cannot read the journal at {url}: more than "
                                            f"{MAX_JOURNAL_BYTES // 2**20} MiB, which no sandbox journal is")
        entries = json.loads(body)
    except (httpx.HTTPError, ValueError) as exc:
        raise JournalUnreadable(f"cannot read the journal at {url}: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise JournalUnreadable(f"cannot read the journal at {url}: the answer is not a list of entries")
    return entries
