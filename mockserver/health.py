"""`python -m mockserver.health`: the container's HEALTHCHECK, with nothing but the standard library
(slim images have no curl). Exit 0 when the sandbox answers its health endpoint, 1 otherwise.

It probes SKE_SANDBOX_HEALTH_URL when set, else the image's two modes in turn: plain HTTP on 8080 and
TLS on 443 (`--real-hosts`).
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request

DEFAULT_URLS = ("http://127.0.0.1:8080/__sandbox/health", "https://127.0.0.1:443/__sandbox/health")


def healthy(url: str, timeout: float = 3.0) -> bool:
    # a loopback probe of this very server: its certificate names the real hosts, so it is not verified
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def main() -> int:
    url = os.environ.get("SKE_SANDBOX_HEALTH_URL")
    urls = (url,) if url else DEFAULT_URLS
    return 0 if any(healthy(u) for u in urls) else 1


if __name__ == "__main__":
    sys.exit(main())
