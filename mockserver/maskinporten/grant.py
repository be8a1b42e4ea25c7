"""Validation of the JWT-bearer grant, in the order Maskinporten documents: the JWT first, then the
certificate or key that signed it, then what the client may have (scopes, delegation)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509.oid import NameOID

from .. import fastjwt
from ..clock import Clock, is_time
from ..identifiers import InvalidIdentifier, parse_person_number
from ..state import Store
from ..state.memory import MemoryStore
from ..tenants import ANONYMOUS, tenant
from . import authdetails
from .businessca import issued_by_ca, leaf_problem
from .errors import GrantError, auth_failed, invalid_request
from .registry import Client, Registry

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ALLOWED_ALGS = ("RS256", "RS384", "RS512")
MAX_LIFETIME = 120
SKEW = 10
_NTR_OID = x509.ObjectIdentifier("2.5.4.97")  # organizationIdentifier, e.g. NTRNO-310000001


@dataclass(frozen=True)
class ValidGrant:
    client: Client
    scopes: list[str]
    client_amr: str
    consumer: str  # the org the data is for
    supplier: str | None  # set when a supplier acts for consumer_org
    resource: list[str] | None
    pid: str | None = None  # end-user restriction, carried into the access token
    authorization_details: dict[str, Any] | None = None  # the filled-in element for the token

    @property
    def client_id(self) -> str:
        return self.client.client_id


class JtiCache:
    """Remembers used grant ids until their expiry (plus skew), per client, in the sandbox's store: workers
    and replicas sharing a store refuse each other's replays. Each id is noted with the tenant whose call
    used it, so a tenant's reset frees its own ids only."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else MemoryStore()

    @staticmethod
    def _key(client_id: str, jti: str) -> str:
        return f"{client_id}|{jti}"

    def seen(self, client_id: str, jti: str, now: float) -> bool:
        """An early, cheap look before the signature is checked; a shared store is asked once, by `use`
        (a replay then costs a signature check, an ordinary grant no extra round trip)."""
        if self.store.shared:
            return False
        return self.used(client_id, jti, now)

    def used(self, client_id: str, jti: str, now: float) -> bool:
        """Whether the id is used and live, asking the store whatever it is."""
        return self.store.grant_seen(self._key(client_id, jti), now)

    def use(self, client_id: str, jti: str, exp: float, now: float, tenant: str = ANONYMOUS) -> bool:
        return self.store.grant_use(self._key(client_id, jti), tenant, exp + SKEW, now)

    def __len__(self) -> int:
        live = getattr(self.store, "live_grants", None)
        return int(live()) if live is not None else 0


def _claims_without_verification(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(header, claims, signature) from one parse of the grant; the signature is checked later."""
    try:
        decoded = fastjwt.unverified(assertion)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise invalid_request("Invalid assertion. Invalid parameter value") from exc
    header, claims = decoded["header"], decoded["payload"]
    if not isinstance(claims, dict):
        raise invalid_request("Invalid assertion. Invalid parameter value")
    return header, claims, decoded["signature"]


def _signature_holds(assertion: str, alg: str, key: RSAPublicKey, signature: bytes) -> bool:
    """The grant's signature over its first two segments, with the bytes parsed once already."""
    signing_input = assertion.rsplit(".", 1)[0].encode()
    try:
        return fastjwt.get_algorithm_by_name(alg).verify(signing_input, key, signature)
    except (jwt.PyJWTError, ValueError, TypeError):
        return False


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if not is_time(value):  # also 10**400, which float() cannot take
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        raise auth_failed("MP-130", f"Invalid JWT. Claim {name} out of range" if numeric
                          else f"Invalid JWT. Missing or non-numeric claim {name}")
    return float(value)


def _org_of_certificate(cert: x509.Certificate) -> str | None:
    for attr in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        text = str(attr.value)
        if text.isdigit() and len(text) == 9:
            return text
    for attr in cert.subject.get_attributes_for_oid(_NTR_OID):
        text = str(attr.value)
        if text.upper().startswith("NTRNO-"):
            return text[6:]
    return None


def _leaf_certificate(header: dict[str, Any]) -> x509.Certificate:
    chain = header["x5c"]
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        raise GrantError("MP-123", "Invalid JWT header x5c")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (ValueError, binascii.Error) as exc:
        raise GrantError("MP-123", "Invalid JWT header x5c. Failed to extract certificate from jwt") from exc


class GrantValidator:
    def __init__(self, issuer: str, registry: Registry, clock: Clock, store: Store | None = None) -> None:
        self.issuer = issuer
        self.registry = registry
        self.clock = clock
        self.jti = JtiCache(store)

    def validate(self, form: dict[str, str], issuer: str | None = None, session: str | None = None
                 ) -> ValidGrant:
        """`issuer`: the environment's issuer the grant's `aud` must name (default: the sandbox's own).
        `session`: the call's Ske-Sandbox-Session, whose tenant the grant id is noted for."""
        issuer = issuer or self.issuer
        grant_type = form.get("grant_type")
        if grant_type != GRANT_TYPE:
            raise GrantError(
                "MP-011", f"Invalid grant_type {grant_type!r}; use {GRANT_TYPE}", "unsupported_grant_type"
            )
        assertion = (form.get("assertion") or "").strip()
        if not assertion:
            raise invalid_request("Invalid assertion. Missing parameter assertion")
        client, claims, amr = self.authenticated(assertion, issuer, session)

        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise invalid_request("Invalid assertion. Invalid parameter value scope: a space-separated string")
        scopes = scope.split()
        if not scopes:
            raise GrantError("MP-200", "Token request contains no scope", "invalid_scope")
        missing = [s for s in scopes if s not in client.scopes]
        if missing:
            raise GrantError(
                "MP-200", f"Token request contains invalid scopes for client, {' '.join(missing)}",
                "invalid_scope",
            )
        consumer, supplier = self._consumer(client, claims, scopes)
        resource, pid = self._resource(claims), self._pid(claims)
        details = self._authorization_details(client, claims, consumer, supplier)
        return ValidGrant(client, scopes, amr, consumer, supplier, resource, pid, details)

    def _authorization_details(self, client: Client, claims: dict[str, Any], consumer: str,
                               supplier: str | None) -> dict[str, Any] | None:
        """The element the grant asks for, looked up as Maskinporten asks Altinn (MP-301/302/303)."""
        detail = authdetails.checked(claims)
        if detail is None:
            return None
        if detail["type"] == authdetails.SYSTEMUSER:
            if supplier is not None:  # a system user replaces the scope delegation; the two are not combined
                raise invalid_request("Invalid assertion. consumer_org cannot be combined with authorization_details "
                                      "of type urn:altinn:systemuser: the customer is systemuser_org")
            customer = authdetails.systemuser_org(detail)
            ref = authdetails.external_ref(detail, customer)
            users = self.registry.system_users_for(client.client_id, customer)
            if not users:
                raise authdetails.customer_configuration(
                    f"No system user for the system of client {client.client_id} in organisation {customer}")
            matching = [u for u in users if u.external_ref == ref]
            if not matching:
                said = f"externalRef {ref!r}" if "externalRef" in detail else "no externalRef"
                raise authdetails.customer_configuration(
                    f"The grant carries {said}, but no system user of organisation {customer} for this system was "
                    "requested with it; send the externalRef of the system user request")
            return authdetails.systemuser_element(matching, customer)
        ident = authdetails.parse_uuid(detail.get("id"), "id")
        giver = authdetails.parse_giver(detail.get("from"))
        consent = self.registry.consents.get(ident)
        if consent is None or consent.giver != giver:
            raise authdetails.invalid_values(f"No consent {ident} from {giver} exists")
        if consent.to != consumer:
            raise authdetails.invalid_values(f"Consent {ident} is given to {consent.to}, not to the consumer "
                                             f"{consumer}")
        if consent.valid_to.timestamp() <= self.clock.now():
            raise authdetails.invalid_values(f"Consent {ident} expired at {consent.valid_to.isoformat()}")
        return authdetails.consent_element(consent)

    def authenticated(self, assertion: str, issuer: str, session: str | None = None
                      ) -> tuple[Client, dict[str, Any], str]:
        """(client, claims, client_amr) of a signed JWT whose header, aud, times, jti and signature hold: the
        grant at /token, and the client assertion that authenticates a client at /tokeninfo. `session`: the
        call's Ske-Sandbox-Session, whose tenant the used jti is noted for."""
        header, claims, signature = _claims_without_verification(assertion)

        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            raise auth_failed("MP-011", f"Invalid JWT. Unsupported signing algorithm {alg!r}; use RS256, "
                              "RS384 or RS512")
        # Digdir: "Either 'kid' or 'x5c' must be present"; shipping clients (KS Fiks .NET) send both.
        if "kid" not in header and "x5c" not in header:
            raise auth_failed("MP-011", "Invalid JWT. One of the headers kid and x5c must be present")
        if "x5c" in header and not isinstance(header["x5c"], list):
            raise GrantError("MP-123", "Invalid JWT header x5c")

        client = self.registry.clients.get(str(claims.get("iss", "")))
        if client is None:
            raise auth_failed("MP-100", "Client not found")
        aud = claims.get("aud")
        if aud != issuer and aud != [issuer]:
            raise auth_failed("MP-110", "Invalid JWT claim aud")

        now = self.clock.now()
        iat, exp = _number(claims, "iat"), _number(claims, "exp")
        if exp - iat > MAX_LIFETIME:
            raise auth_failed("MP-130", f"Invalid JWT. exp - iat must be at most {MAX_LIFETIME} seconds")
        if iat > now + SKEW:
            raise auth_failed("MP-130", "Issue time is after now")
        if iat < now - MAX_LIFETIME - SKEW or exp < now - SKEW:
            raise auth_failed("MP-130", "JWT is expired")

        jti = claims.get("jti")
        if jti is not None and self.jti.seen(client.client_id, str(jti), now):
            raise GrantError("MP-012", "Grant is used before")

        key, amr = self._signing_key(client, header)
        if not _signature_holds(assertion, alg, key, signature):
            raise auth_failed("MP-124", "Invalid JWT signature")

        # Remembered only once the signature holds, so a forged grant cannot burn a real client's jti.
        if jti is not None and not self.jti.use(client.client_id, str(jti), exp, now,
                                                tenant(session, client.orgnr)):
            raise GrantError("MP-012", "Grant is used before")

        return client, claims, amr

    def _signing_key(self, client: Client, header: dict[str, Any]) -> tuple[RSAPublicKey, str]:
        if "kid" in header:
            key = client.public_key(str(header["kid"]))
            if key is None:
                raise auth_failed("MP-124", "Unknown key identifier (kid) for client")
            if "x5c" not in header:
                return key, "private_key_jwt"
            # kid names the certificate uploaded for the client; the signature is checked with the certificate
            cert = _leaf_certificate(header)
            if cert.public_key() != key:
                raise auth_failed("MP-120", "The JWT is signed with an invalid certificate. The certificate in "
                                  "x5c is not the one registered under kid")
            return self._certificate_key(client, cert), "virksomhetssertifikat"
        cert = _leaf_certificate(header)
        if not client.x5c:
            raise auth_failed("MP-120", "Invalid JWT. The client requires pre-registered jwk and no key "
                              "identifier (kid) provided")
        if client.certificates and cert not in client.certificates:
            raise auth_failed("MP-120", "The JWT is signed with an invalid certificate.")
        if not client.certificates and not issued_by_ca(cert):  # only approved CAs, as Maskinporten
            raise auth_failed("MP-120", "The JWT is signed with an invalid certificate. Not issued by a trusted "
                              "CA (the sandbox trusts certificates from `ske-sandbox client new --x5c`, or pinned "
                              "under certificates in the clients file)")
        return self._certificate_key(client, cert), "virksomhetssertifikat"

    def _certificate_key(self, client: Client, cert: x509.Certificate) -> RSAPublicKey:
        """The certificate's key, once it is valid now, an end-entity certificate for signing with an RSA key of
        2048 bits or more, and issued to the client's organisation."""
        at = dt.datetime.fromtimestamp(self.clock.now(), dt.UTC)
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise auth_failed("MP-120", "The JWT is signed with an invalid certificate. Certificate expired "
                              "or not yet valid")
        try:
            public = cert.public_key()
        except (UnsupportedAlgorithm, ValueError) as exc:
            raise auth_failed("MP-120", "The JWT is signed with an invalid certificate. Unsupported key") from exc
        if not isinstance(public, RSAPublicKey):
            raise auth_failed("MP-120", "The JWT is signed with an invalid certificate. Not an RSA key")
        problem = leaf_problem(cert, public)
        if problem:
            raise auth_failed("MP-120", f"The JWT is signed with an invalid certificate. {problem}")
        org = _org_of_certificate(cert)
        if org != client.orgnr:
            raise GrantError("MP-122", "Invalid JWT. Invalid organization number for client. Does not match "
                             "certificate orgno")
        return public

    def _consumer(self, client: Client, claims: dict[str, Any], scopes: list[str]) -> tuple[str, str | None]:
        consumer_org = claims.get("consumer_org")
        if consumer_org is None:
            return client.orgnr, None
        text = str(consumer_org)
        if not (len(text) == 9 and text.isascii() and text.isdigit()):
            raise invalid_request("Invalid assertion. Invalid parameter value consumer_org: 9 digits expected")
        if text == client.orgnr:
            raise invalid_request("Validation of JWT claim failed: The combination consumer_org in claim and "
                                  "delegation scope on client is invalid")
        for scope in scopes:
            if not self.registry.delegated(text, client.orgnr, scope):
                raise GrantError(
                    "MP-251", f"Consumer {text} has not delegated access to the scope {scope} to supplier "
                    f"{client.orgnr}", "invalid_scope",
                )
        return text, client.orgnr

    @staticmethod
    def _pid(claims: dict[str, Any]) -> str | None:
        """Digdir checks only that a pid is syntactically valid: 11 digits with valid check digits."""
        pid = claims.get("pid")
        if pid is None:
            return None
        try:
            if not isinstance(pid, str):
                raise InvalidIdentifier("not a string")
            return parse_person_number(pid).value
        except InvalidIdentifier as exc:
            raise invalid_request("Invalid assertion. Invalid parameter value pid: a valid personidentifikator "
                                  "expected") from exc

    @staticmethod
    def _resource(claims: dict[str, Any]) -> list[str] | None:
        resource = claims.get("resource")
        if resource is None:
            return None
        if not isinstance(resource, list) or not resource or not all(isinstance(r, str) for r in resource):
            raise invalid_request("Invalid assertion. Invalid parameter value resource: only array supported")
        return resource
