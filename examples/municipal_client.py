"""A minimal municipal case-system client: Maskinporten token, then both Skatteetaten APIs.

It is written the way a vendor writes it for the real services (httpx + PyJWT); only the base URLs
point at the sandbox. Usage, with the sandbox running (`make run`):

    ske-sandbox demo-client --json > demo-client.json
    python examples/municipal_client.py --client demo-client.json --fnr 15838512671
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import uuid
from pathlib import Path

import httpx
import jwt

RETTIGHETSPAKKE = "kommuneboligsosialeformaal"


def maskinporten_token(http: httpx.Client, issuer: str, client: dict, scopes: list[str]) -> str:
    """RFC 7523 JWT-bearer grant, signed with the client's registered key (kid)."""
    now = int(time.time())
    grant = jwt.encode(
        {"aud": issuer, "iss": client["client_id"], "scope": " ".join(scopes),
         "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())},
        client["private_key_pem"], algorithm="RS256", headers={"kid": client["kid"]},
    )
    r = http.post(f"{issuer}token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
    if r.status_code != 200:
        raise SystemExit(f"Maskinporten refused the grant: {r.status_code} {r.text}")
    return r.json()["access_token"]


def last_complete_month(today: dt.date) -> dt.date:
    """a-ordningen data are complete on the 10th of the following month."""
    back = 1 if today.day >= 10 else 2
    month = today.month - back
    year = today.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def run(base: str, client: dict, fnr: str, today: dt.date) -> dict:
    issuer = f"{base}/maskinporten/"
    with httpx.Client(timeout=10) as http:
        token = maskinporten_token(http, issuer, client,
                                   ["skatteetaten:summertskattegrunnlag", "skatteetaten:inntekt"])
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

        siste = http.get(f"{base}/sistetilgjengeligeskatteoppgjoer/v1/{fnr}", headers=auth)
        result: dict = {"sisteTilgjengeligeSkatteoppgjoer": siste.json()}
        if siste.status_code == 200:
            year = siste.json()["sisteTilgjengeligePeriode"]
            ssg = http.get(f"{base}/summertskattegrunnlag/v2/oppgjoer/{RETTIGHETSPAKKE}/{year}/{fnr}", headers=auth)
            result["summertSkattegrunnlag"] = {"status": ssg.status_code, "body": ssg.json()}

        til = last_complete_month(today)
        fra = dt.date(til.year - (til.month <= 2), (til.month - 3) % 12 + 1, 1)
        inntekt = http.get(f"{base}/inntekt/v1/{RETTIGHETSPAKKE}/{fnr}/inntekter", headers=auth,
                           params={"fraOgMed": fra.strftime("%Y-%m"), "tilOgMed": til.strftime("%Y-%m")})
        result["inntekt"] = {"status": inntekt.status_code, "body": inntekt.json()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8080", help="sandbox address")
    parser.add_argument("--client", type=Path, required=True, help="JSON from `ske-sandbox demo-client --json`")
    parser.add_argument("--fnr", required=True, help="a personidentifikator from `ske-sandbox people`")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(),
                        help="the sandbox's --today, to pick complete months")
    args = parser.parse_args()
    result = run(args.base.rstrip("/"), json.loads(args.client.read_text()), args.fnr, args.today)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
