"""Security headers on every answer: `nosniff` everywhere, and on HTML pages a policy that allows only the
sandbox's own scripts, styles and forms, and no framing.

The header bytes are built once; per answer the front door (front.py) looks only at the content type it
already has.
The pages carry no inline script, event handler or style attribute, so the policy needs no 'unsafe-inline'.
"""

from __future__ import annotations

from typing import Any

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
NOSNIFF = ((b"x-content-type-options", b"nosniff"),)
HTML = (
    *NOSNIFF,
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    # not no-referrer: under it a browser sends `Origin: null` with the page's own form posts, which the guard
    # must refuse
    (b"referrer-policy", b"same-origin"),
)


def _is_html(headers: Any) -> bool:
    for name, value in headers:
        if name == b"content-type":
            return value.startswith(b"text/html")
    return False


def secured(headers: Any) -> list[tuple[bytes, bytes]]:
    """A response start's headers with the headers above: a new list, so a cached response's own list never
    grows with each answer."""
    return [*headers, *(HTML if _is_html(headers) else NOSNIFF)]
