"""A client as vendors write it, with nothing sandbox-specific but its trust store: it reads Maskinporten's
discovery document and JWKS from the real URL given as its argument (https://test.maskinporten.no/).

Standard library only; the trust comes from SSL_CERT_FILE. It waits for the server itself (a bounded retry
loop), because not every compose engine waits for a health check, and prints a last line the compose test
looks for. Exit 0 only when both documents were read and the issuer is the URL it called.
"""

import json
import os
import ssl
import sys
import time
import urllib.request

WAIT_SECONDS = float(os.environ.get("PROBE_WAIT_SECONDS", "120"))


def fetch(url: str) -> dict:
    # a fresh context per attempt: the CA file is rewritten when the sandbox starts
    context = ssl.create_default_context()
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        return json.load(response)


def main(issuer: str) -> int:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            discovery = fetch(issuer + ".well-known/oauth-authorization-server")
            break
        except (OSError, ValueError) as e:  # not up yet, or a CA from an earlier run
            if time.monotonic() > deadline:
                print(f"real-hosts-probe FAILED: {issuer} did not answer within {WAIT_SECONDS:.0f} s: {e}")
                return 1
            time.sleep(1)
    keys = fetch(discovery["jwks_uri"])["keys"]
    if discovery["issuer"] != issuer or not keys:
        print(f"real-hosts-probe FAILED: issuer {discovery['issuer']}, {len(keys)} keys")
        return 1
    print(f"real-hosts-probe OK: issuer {discovery['issuer']}, token endpoint {discovery['token_endpoint']}, "
          f"{len(keys)} signing key(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
