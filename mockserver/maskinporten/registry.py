"""Maskinporten clients and Skatteetaten's side of access: which org holds which rettighetspakke,
and which consumer has delegated which scope to which supplier (Altinn "På vegne av").

Format of a clients file (`--clients-file FILE`, YAML; JSON Schema in mockserver/schemas/clients.schema.json,
which every file is validated against at start)::

    clients:
      - client_id: my-vendor-client          # `iss` of the grant
        orgnr: "310000108"                   # the owner, synthetic (starts with 2 or 3)
        scopes: [skatteetaten:summertskattegrunnlag, skatteetaten:inntekt]
        access_token_lifetime: 120           # seconds, optional
        jwks_file: my-key.jwk.json           # a JWK or JWKS file, relative to this file; or inline:
                                             #   jwks: [{kty: RSA, kid: my-key-1, n: <base64url>, e: AQAB}]
      - client_id: my-vendor-x5c
        orgnr: "310000108"
        scopes: [skatteetaten:summertskattegrunnlag]
        x5c: true                            # trust business certificates carrying `orgnr`
        certificates: [my-cert.pem]          # optional: only these certificates (pinned)
    consumers:                               # the orgs holding rettighetspakker; a supplier's own org
      - orgnr: "310000116"                   # needs none: its grants carry consumer_org (`client new
        name: Sandvik kommune                #   --consumer-orgnr` writes this for a supplier)
        rettighetspakker: [kommuneboligsosialeformaal]
        delegations:                         # Altinn delegations to a supplier
          - supplier: "310000108"
            scopes: [skatteetaten:summertskattegrunnlag, skatteetaten:inntekt]
    system_users:                            # Altinn system users (grants with urn:altinn:systemuser)
      - client_id: my-vendor-client          # the vendor's system, i.e. its Maskinporten client
        orgnr: "310000116"                   # the customer who approved it (systemuser_org)
        external_ref: kunde-42               # optional; then every grant must carry this externalRef
        id: 3f0c8a4e-5b1d-4c7e-9a2f-1d2e3f4a5b6c  # optional; a UUID derived from the above otherwise
        system_id: 310000108_fagsystem       # optional; "<vendor orgnr>_<client_id>" otherwise
    consents:                                # Altinn 3 consents (grants with urn:altinn:consent)
      - id: 0a7d59f8-8c62-4312-9fb4-62456664c96f
        from: "15838512671"                  # the person (or organisation) who consented
        to: "310000116"                      # the organisation it was given to (the token's consumer)
        valid_to: "2027-12-31T23:00:00Z"
        consented: "2026-11-01T08:00:00Z"    # optional; a year before valid_to otherwise
        resource: ske-sandbox-samtykke       # optional: the Altinn resource consented to
        metadata: {inntektsaar: "2025"}      # optional
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from ..configfiles import ConfigError, load, where
from ..identifiers import InvalidIdentifier, is_synthetic_orgnr, make_orgnr, parse_person_number
from ..services import SCOPE_INNTEKT, SCOPE_SSG
from .authdetails import ORG_URN, PERSON_URN, Consent, SystemUser, parse_uuid
from .errors import GrantError
from .keys import load_private_key, private_key_pem, public_jwk, seeded_private_key_pem

KOMMUNE_PAKKE = "kommuneboligsosialeformaal"
DEFAULT_LIFETIME = 120


class RegistryError(ConfigError):
    """A clients file that cannot be used; says which entry and why."""


@dataclass
class Client:
    client_id: str
    orgnr: str
    scopes: frozenset[str]
    jwks: dict[str, dict[str, Any]] = field(default_factory=dict)
    x5c: bool = False
    certificates: list[x509.Certificate] = field(default_factory=list)
    access_token_lifetime: int = DEFAULT_LIFETIME

    def public_key(self, kid: str) -> RSAPublicKey | None:
        jwk = self.jwks.get(kid)
        if jwk is None:
            return None
        key = RSAAlgorithm.from_jwk(jwk)
        return key if isinstance(key, RSAPublicKey) else None


@dataclass
class Consumer:
    orgnr: str
    name: str = ""
    rettighetspakker: frozenset[str] = frozenset()
    delegations: dict[str, frozenset[str]] = field(default_factory=dict)  # supplier -> scopes


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    orgnr: str
    kid: str
    private_key_pem: str
    scopes: list[str]
    # The parsed key, so signing a grant does not parse (and check) the PEM again: that costs ~40 ms a time.
    private_key: RSAPrivateKey = field(repr=False, compare=False)

    def grant(self, aud: str, now: float, scopes: list[str] | None = None, /, **claims: Any) -> str:
        """A JWT-bearer grant as a careful client signs it: this client's key and kid, 120 s, a fresh jti;
        `claims` add to or replace the usual ones (a test's deliberate mistake)."""
        iat = int(now)
        body: dict[str, Any] = {"aud": aud, "iss": self.client_id, "scope": " ".join(scopes or self.scopes),
                                "iat": iat, "exp": iat + 120, "jti": str(uuid.uuid4())}
        body.update(claims)
        # the parsed key: jwt.encode would parse and check a PEM string again on every grant (~40 ms)
        return jwt.encode(body, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "orgnr": self.orgnr,
            "kid": self.kid,
            "private_key_pem": self.private_key_pem,
            "scopes": self.scopes,
        }


@lru_cache(maxsize=8)
def demo_client(seed: int) -> DemoClient:
    """The built-in client of a seed: a municipality of its own, granted the housing package."""
    key = load_private_key(seeded_private_key_pem(f"demo-client:{seed}"), trusted=True)
    return DemoClient(
        client_id=f"ske-sandbox-demo-{seed}",
        orgnr=make_orgnr(10_000_000 + 910_000 + seed),
        kid=f"ske-sandbox-demo-{seed}-key",
        private_key_pem=private_key_pem(key),
        scopes=[SCOPE_SSG, SCOPE_INNTEKT],
        private_key=key,
    )


class Registry:
    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.consumers: dict[str, Consumer] = {}
        self.system_users: dict[tuple[str, str], list[SystemUser]] = {}  # (client_id, customer orgnr) ->
        self.consents: dict[str, Consent] = {}

    def add_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def consumer(self, orgnr: str) -> Consumer:
        return self.consumers.setdefault(orgnr, Consumer(orgnr))

    def granted(self, orgnr: str, rettighetspakke: str) -> bool:
        c = self.consumers.get(orgnr)
        return c is not None and rettighetspakke.lower() in c.rettighetspakker

    def delegated(self, consumer: str, supplier: str, scope: str) -> bool:
        c = self.consumers.get(consumer)
        return c is not None and scope in c.delegations.get(supplier, frozenset())

    def system_users_for(self, client_id: str, customer: str) -> list[SystemUser]:
        return self.system_users.get((client_id, customer), [])

    @classmethod
    def build(cls, seed: int, clients_file: Path | None = None, pakker: frozenset[str] | None = None) -> Registry:
        reg = cls()
        demo = demo_client(seed)
        pub = demo.private_key.public_key()
        reg.add_client(
            Client(demo.client_id, demo.orgnr, frozenset(demo.scopes), {demo.kid: public_jwk(pub, demo.kid)})
        )
        home = reg.consumer(demo.orgnr)
        home.name = "Sandvik kommune (sandkasse)"
        home.rettighetspakker = frozenset({KOMMUNE_PAKKE})
        if clients_file is not None:
            reg.load(clients_file, pakker)
        return reg

    def load(self, path: Path, pakker: frozenset[str] | None = None) -> None:
        """Read a clients file: schema first (every problem with its line), then what a schema cannot say."""
        try:
            doc, lines = load(path, "clients", "clients file")
        except ConfigError as exc:
            raise RegistryError(str(exc)) from exc
        for i, entry in enumerate(doc.get("clients") or []):
            here = where(path, lines, ("clients", i))
            if entry["client_id"] in self.clients:
                demo = entry["client_id"].startswith("ske-sandbox-demo-")
                whose = "the built-in demo client's" if demo else "used twice"
                raise RegistryError(f"{here}: client_id {entry['client_id']!r} is {whose}; choose another")
            self.add_client(_parse_client(entry, path.parent, here))
        for i, entry in enumerate(doc.get("consumers") or []):
            for j, name in enumerate(entry.get("rettighetspakker") or []):
                if pakker is not None and name.lower() not in pakker:
                    at = where(path, lines, ("consumers", i, "rettighetspakker", j))
                    raise RegistryError(f"{at}: unknown rettighetspakke {name!r}; known: {', '.join(sorted(pakker))}")
            _parse_consumer(self, entry, where(path, lines, ("consumers", i)))
        for i, entry in enumerate(doc.get("system_users") or []):
            self._add_system_user(entry, where(path, lines, ("system_users", i)))
        for i, entry in enumerate(doc.get("consents") or []):
            self._add_consent(entry, where(path, lines, ("consents", i)))

    def _add_system_user(self, entry: dict[str, Any], here: str) -> None:
        client = self.clients.get(str(entry["client_id"]))
        if client is None:
            raise RegistryError(f"{here}: client_id {entry['client_id']!r} is not a client of this file (or the demo "
                                "client); a system user belongs to a vendor's system, which is a client")
        customer = _orgnr(entry["orgnr"], here)
        ref = str(entry.get("external_ref", customer))
        ident = _uuid(entry.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"systemuser:{client.client_id}:"
                                                                             f"{customer}:{ref}")), here)
        user = SystemUser(ident, client.client_id, customer, str(entry.get("system_id")
                                                                   or f"{client.orgnr}_{client.client_id}"), ref)
        self.system_users.setdefault((client.client_id, customer), []).append(user)

    def _add_consent(self, entry: dict[str, Any], here: str) -> None:
        ident = _uuid(entry["id"], here)
        if ident in self.consents:
            raise RegistryError(f"{here}: consent id {ident} is used twice")
        giver = str(entry["from"])
        if len(giver) == 11:
            try:
                giver = PERSON_URN + parse_person_number(giver).value
            except InvalidIdentifier as exc:
                raise RegistryError(f"{here}: from {giver!r} is not a valid fødselsnummer or D-nummer: {exc}") from exc
        else:
            giver = ORG_URN + _orgnr(giver, here)
        valid_to = _moment(entry["valid_to"], f"{here}.valid_to")
        consented = (_moment(entry["consented"], f"{here}.consented") if "consented" in entry
                     else valid_to - dt.timedelta(days=365))
        right: dict[str, Any] = {"action": ["consent"], "resource": [
            {"type": "urn:altinn:resource", "value": str(entry.get("resource", "ske-sandbox-samtykke"))}]}
        if entry.get("metadata"):
            right["metadata"] = {str(k): str(v) for k, v in entry["metadata"].items()}
        self.consents[ident] = Consent(ident, giver, _orgnr(entry["to"], here), consented, valid_to, [right])


def _uuid(value: Any, where: str) -> str:
    try:
        return parse_uuid(str(value), "id")
    except GrantError as exc:
        raise RegistryError(f"{where}: id {value!r} must be a UUID (8-4-4-4-12 hex digits)") from exc


def _moment(value: Any, where: str) -> dt.datetime:
    """A YAML timestamp (read as a datetime) or an ISO 8601 string; UTC when it names no zone."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise RegistryError(f"{where}: {value!r} is not an ISO 8601 time (e.g. 2027-12-31T23:00:00Z)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _orgnr(value: Any, where: str) -> str:
    text = str(value)
    if not is_synthetic_orgnr(text):
        raise RegistryError(f"{where}: orgnr {text!r} must be 9 digits, start with 2 or 3, valid mod 11")
    return text


def _read_jwks(path: Path, where: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{where}: cannot read {path}: {exc}") from exc
    return doc["keys"] if isinstance(doc, dict) and "keys" in doc else [doc]


def _parse_client(entry: Any, base: Path, where: str) -> Client:
    if not isinstance(entry, dict) or "client_id" not in entry or "orgnr" not in entry:
        raise RegistryError(f"{where}: needs at least client_id and orgnr")
    jwk_list = list(entry.get("jwks") or [])
    if entry.get("jwks_file"):
        jwk_list += _read_jwks(base / entry["jwks_file"], where)
    jwks: dict[str, dict[str, Any]] = {}
    for jwk in jwk_list:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
            raise RegistryError(f"{where}: every JWK needs kty RSA and a kid")
        jwks[jwk["kid"]] = jwk
    certs = []
    for name in entry.get("certificates") or []:
        try:
            certs.append(x509.load_pem_x509_certificate((base / name).read_bytes()))
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{where}: cannot read certificate {name}: {exc}") from exc
    x5c = bool(entry.get("x5c")) or bool(certs)
    if not jwks and not x5c:
        raise RegistryError(f"{where}: register keys (jwks/jwks_file) or x5c: true")
    lifetime = int(entry.get("access_token_lifetime", DEFAULT_LIFETIME))
    if lifetime <= 0:
        raise RegistryError(f"{where}: access_token_lifetime must be positive")
    return Client(
        client_id=str(entry["client_id"]),
        orgnr=_orgnr(entry["orgnr"], where),
        scopes=frozenset(entry.get("scopes") or []),
        jwks=jwks,
        x5c=x5c,
        certificates=certs,
        access_token_lifetime=lifetime,
    )


def _parse_consumer(reg: Registry, entry: Any, where: str) -> None:
    if not isinstance(entry, dict) or "orgnr" not in entry:
        raise RegistryError(f"{where}: needs orgnr")
    c = reg.consumer(_orgnr(entry["orgnr"], where))
    c.name = str(entry.get("name", c.name))
    c.rettighetspakker = c.rettighetspakker | {p.lower() for p in entry.get("rettighetspakker") or []}
    for j, d in enumerate(entry.get("delegations") or []):
        supplier = _orgnr(d.get("supplier"), f"{where}.delegations[{j}]")
        c.delegations[supplier] = c.delegations.get(supplier, frozenset()) | frozenset(d.get("scopes") or [])
