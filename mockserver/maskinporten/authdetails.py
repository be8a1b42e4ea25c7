"""Maskinporten's rich authorization requests (RFC 9396 `authorization_details`): the Altinn system user
(`urn:altinn:systemuser`) and the Altinn 3 consent (`urn:altinn:consent`).

The grant asks for one element; Maskinporten looks it up in Altinn (here: the clients file) and puts the
element, filled in, into the access token. The element shapes and codes are Digdir's
(`maskinporten_func_systembruker`, `maskinporten_func_samtykke`, `maskinporten_feilsoking`) and Altinn's
(system user `usetoken`, troubleshooting `mp-303-error`); the choices where they are silent are listed in
contracts/README.md.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..identifiers import InvalidIdentifier, parse_person_number
from .errors import GrantError

SYSTEMUSER = "urn:altinn:systemuser"
CONSENT = "urn:altinn:consent"
TYPES = (SYSTEMUSER, CONSENT)
ORG_AUTHORITY = "iso6523-actorid-upis"
PERSON_URN = "urn:altinn:person:identifier-no:"
ORG_URN = "urn:altinn:organization:identifier-no:"
_FIELDS = {SYSTEMUSER: frozenset({"type", "systemuser_org", "externalRef"}),
           CONSENT: frozenset({"type", "id", "from"})}
_ORG_ID = re.compile(r"0192:([0-9]{9})", re.ASCII)
_ORGNR = re.compile(r"[0-9]{9}", re.ASCII)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
MAX_REF = 255  # Altinn's externalRef is free text set by the vendor; a bound keeps the token small


@dataclass(frozen=True)
class SystemUser:
    """An Altinn system user: the customer `orgnr` has approved the vendor's system (a Maskinporten client)."""

    id: str
    client_id: str
    orgnr: str  # the customer owning the system user (systemuser_org)
    system_id: str  # "<vendor orgnr>_<system name>"
    external_ref: str  # Altinn's default when the request had none: the customer's orgnr


@dataclass(frozen=True)
class Consent:
    """An Altinn 3 consent given by a person or organisation (`giver`, a URN) to organisation `to`."""

    id: str
    giver: str  # urn:altinn:person:identifier-no:<pid> or urn:altinn:organization:identifier-no:<orgnr>
    to: str
    consented: dt.datetime
    valid_to: dt.datetime
    rights: list[dict[str, Any]] = field(default_factory=list)


def org(orgnr: str) -> dict[str, str]:
    return {"authority": ORG_AUTHORITY, "ID": f"0192:{orgnr}"}


def _stamp(moment: dt.datetime) -> str:
    """ISO 8601 with microseconds and +00:00, as in Digdir's example token."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def invalid_values(detail: str) -> GrantError:
    # Digdir's text for MP-303; `error` is RFC 9396's, Maskinporten's own `error` for it is not public
    return GrantError("MP-303", f"Invalid authorization details values. {detail}", "invalid_authorization_details")


def customer_configuration(detail: str) -> GrantError:
    """MP-303 as Altinn documents it: no system user matches the request (client, systemuser_org, externalRef)."""
    return GrantError("MP-303", detail, "invalid_altinn_customer_configuration")


def parse_giver(value: Any) -> str:
    """The `from` of a consent request, checked: a valid pid or organisation number in Altinn's URN form."""
    text = value if isinstance(value, str) else ""
    if text.startswith(PERSON_URN):
        try:
            return PERSON_URN + parse_person_number(text[len(PERSON_URN):]).value
        except InvalidIdentifier:
            pass
    elif text.startswith(ORG_URN) and _ORGNR.fullmatch(text[len(ORG_URN):]):
        return text
    raise invalid_values(f"from must be {PERSON_URN}<fødselsnummer> or {ORG_URN}<organisasjonsnummer>")


def parse_uuid(value: Any, name: str) -> str:
    """A UUID in its canonical 8-4-4-4-12 form (as Altinn writes it), lower case."""
    if not (isinstance(value, str) and _UUID.fullmatch(value)):
        raise invalid_values(f"{name} must be a UUID (8-4-4-4-12 hex digits)")
    return str(uuid.UUID(value))


def requested(claims: dict[str, Any]) -> dict[str, Any] | None:
    """The one element the grant asks for, its type known and its fields the type's (MP-301, MP-302, MP-303)."""
    details = claims.get("authorization_details")
    if details is None:
        return None
    if not isinstance(details, list) or not details:
        raise invalid_values("authorization_details must be a non-empty JSON array")
    if not all(isinstance(d, dict) for d in details):
        raise invalid_values("every element of authorization_details must be a JSON object")
    for d in details:
        if d.get("type") not in TYPES:
            raise GrantError("MP-301", f"Unknown authorization details type {str(d.get('type'))[:80]!r}; known: "
                             f"{', '.join(TYPES)}", "invalid_authorization_details")
        unknown = sorted(set(d) - _FIELDS[d["type"]])
        if unknown:
            raise GrantError("MP-302", f"Unknown fields in the authorization details: {', '.join(unknown)[:200]} "
                             f"(type {d['type']} takes {', '.join(sorted(_FIELDS[d['type']]))})",
                             "invalid_authorization_details")
    if len(details) > 1:  # Digdir: one party (system user) or one consent per grant
        raise invalid_values("only one element per grant: one party or one consent at a time")
    return details[0]


def checked(claims: dict[str, Any]) -> dict[str, Any] | None:
    """`requested`, with the element's values checked too: everything that can be told without Altinn."""
    detail = requested(claims)
    if detail is None:
        return None
    if detail["type"] == SYSTEMUSER:
        external_ref(detail, systemuser_org(detail))
    else:
        parse_uuid(detail.get("id"), "id")
        parse_giver(detail.get("from"))
    return detail


def systemuser_org(detail: dict[str, Any]) -> str:
    """The customer's organisation number from `systemuser_org` ({authority, ID: 0192:<orgnr>})."""
    value = detail.get("systemuser_org")
    if not isinstance(value, dict) or set(value) != {"authority", "ID"}:
        raise invalid_values('systemuser_org must be {"authority": "iso6523-actorid-upis", "ID": "0192:<orgnr>"}')
    m = _ORG_ID.fullmatch(value["ID"]) if isinstance(value["ID"], str) else None
    if value["authority"] != ORG_AUTHORITY or m is None:
        raise invalid_values('systemuser_org must be {"authority": "iso6523-actorid-upis", "ID": "0192:<orgnr>"}')
    return m.group(1)


def external_ref(detail: dict[str, Any], customer: str) -> str:
    """The grant's externalRef; Altinn's default (the customer's orgnr) when it has none."""
    ref = detail.get("externalRef", customer)
    if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REF:
        raise invalid_values(f"externalRef must be a non-empty string of at most {MAX_REF} characters")
    return ref


def systemuser_element(users: list[SystemUser], customer: str) -> dict[str, Any]:
    """The token's element: every matching system user of the customer for this system."""
    return {"type": SYSTEMUSER, "systemuser_id": [u.id for u in users], "systemuser_org": org(customer),
            "system_id": users[0].system_id}


def consent_element(consent: Consent) -> dict[str, Any]:
    return {"type": CONSENT, "id": consent.id, "from": consent.giver, "to": org(consent.to),
            "consented": _stamp(consent.consented), "validTo": _stamp(consent.valid_to),
            "consentRights": consent.rights}


# --- what a client puts in its grant (the pytest kit's `grant(authorization_details=[...])`) ---------------
def systemuser_request(customer: str, external_ref: str | None = None) -> dict[str, Any]:
    """The grant's element asking for the system user of organisation `customer`."""
    detail: dict[str, Any] = {"type": SYSTEMUSER, "systemuser_org": org(customer)}
    if external_ref is not None:
        detail["externalRef"] = external_ref
    return detail


def consent_request(consent_id: str, fnr: str) -> dict[str, Any]:
    """The grant's element asking for consent `consent_id`, given by the person `fnr`."""
    return {"type": CONSENT, "id": consent_id, "from": PERSON_URN + fnr}


# --- the API side: what a Skatteetaten API reads from a verified token ------------------------------------
def of_type(claims: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    details = claims.get("authorization_details")
    if not isinstance(details, list):
        return []
    return [d for d in details if isinstance(d, dict) and d.get("type") == kind]


def consent_covers(claims: dict[str, Any], fnr: str, consumer: str, now: float) -> str | None:
    """Why the token's consent does not let `consumer` read `fnr` now (None: it does), or "none" without one."""
    consents = of_type(claims, CONSENT)
    if not consents:
        return "none"
    c = consents[0]
    if c.get("from") != PERSON_URN + fnr:
        return f"samtykket i tokenet er gitt av {str(c.get('from'))[:80]}, ikke av personen {fnr}"
    to = c.get("to")
    if not (isinstance(to, dict) and to.get("ID") == f"0192:{consumer}"):
        return f"samtykket i tokenet er ikke gitt til konsumenten {consumer}"
    try:
        valid_to = dt.datetime.fromisoformat(str(c.get("validTo")))
    except ValueError:
        return "samtykket i tokenet har ingen gyldig validTo"
    if valid_to.timestamp() <= now:
        return f"samtykket i tokenet gikk ut {c.get('validTo')}"
    return None
