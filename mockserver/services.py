"""Every real service the sandbox fakes, listed once.

Routing, environments, the journal, limits, conformance, the kit, the CLI and the page read this list;
adding a service is one entry here and one room (a folder with its routes) beside it. The module holds data
only and sits low in the layers: it imports the rooms' error catalogues (plain tables), never their routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .hendelser.errors import FA
from .inntekt.errors import IM
from .sistetilgjengeligeskatteoppgjoer.errors import TD
from .skatteetaten_errors import ErrorCatalogue
from .summertskattegrunnlag.errors import SSG

SCOPE_SSG = "skatteetaten:summertskattegrunnlag"
SCOPE_SSG_LEGACY = "skatteetaten:spesifisertsummertskattegrunnlag"  # the older name real tokens still carry
SCOPE_INNTEKT = "skatteetaten:inntekt"
SCOPE_TENOR = "skatteetaten:testnorge/testdata.read"  # Tenor's search; the sandbox does not require it


@dataclass(frozen=True)
class Service:
    name: str  # the real host's first label: the sandbox prefix, the contract's file name, the journal's name
    title: str
    short_title: str  # where space is short (the page's journal)
    hosts: Mapping[str, str]  # environment ("test", "prod") -> the real hostname; a test-only service has no prod
    base_path: str  # the version segment the contract's paths are relative to ("" for Maskinporten)
    routes: str  # the module whose `routes` are mounted under the prefix
    scopes: frozenset[str] = frozenset()  # Maskinporten scopes that open it (none for Maskinporten itself)
    errors: ErrorCatalogue | None = None  # Skatteetaten's documented codes, for the data APIs
    xml_root: str = ""
    xml_namespace: str = ""
    xml_items: Mapping[str, str] = field(default_factory=dict)  # a top-level list's element name, if not its own
    rettighetspakke: bool = False  # its paths name a rettighetspakke, which filters what it answers
    token_required: bool = True  # False: the sandbox answers without a token although the real one wants one

    @property
    def prefix(self) -> str:
        """The sandbox's path prefix; the real host's root maps onto it."""
        return f"/{self.name}"

    @property
    def mount_path(self) -> str:
        """Prefix and version: where the contract's paths start under the sandbox's address."""
        return self.prefix + self.base_path

    @property
    def is_data_api(self) -> bool:
        return self.errors is not None

    def sandbox_url(self, base_url: str) -> str:
        """The base URL a client configures for this service under the sandbox's address."""
        return base_url.rstrip("/") + (self.mount_path if self.base_path else self.prefix + "/")


MASKINPORTEN = Service(
    name="maskinporten", title="Maskinporten", short_title="Maskinporten",
    hosts={"test": "test.maskinporten.no", "prod": "maskinporten.no"},
    base_path="", routes="mockserver.maskinporten.routes",
)
SUMMERTSKATTEGRUNNLAG = Service(
    name="summertskattegrunnlag", title="Summert skattegrunnlag", short_title="Summert skattegrunnlag",
    hosts={"test": "summertskattegrunnlag.api.skatteetaten-test.no",
           "prod": "summertskattegrunnlag.api.skatteetaten.no"},
    base_path="/v2", routes="mockserver.summertskattegrunnlag.routes",
    scopes=frozenset({SCOPE_SSG, SCOPE_SSG_LEGACY}), errors=SSG, rettighetspakke=True,
    xml_root="summertSkattegrunnlag",
    xml_namespace="urn:no:skatteetaten:datasamarbeid:summertskattegrunnlag:v2",
)
INNTEKT = Service(
    name="inntekt", title="Inntekt", short_title="Inntekt",
    hosts={"test": "inntekt.api.skatteetaten-test.no", "prod": "inntekt.api.skatteetaten.no"},
    base_path="/v1", routes="mockserver.inntekt.routes",
    scopes=frozenset({SCOPE_INNTEKT}), errors=IM, rettighetspakke=True,
    xml_root="inntekter", xml_namespace="urn:no:skatteetaten:datasamarbeid:inntekt:v1",
)
SISTETILGJENGELIGESKATTEOPPGJOER = Service(
    name="sistetilgjengeligeskatteoppgjoer", title="Siste tilgjengelige skatteoppgjør",
    short_title="Siste tilgjengelige",
    hosts={"test": "sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no",
           "prod": "sistetilgjengeligeskatteoppgjoer.api.skatteetaten.no"},
    base_path="/v1", routes="mockserver.sistetilgjengeligeskatteoppgjoer.routes",
    scopes=frozenset({SCOPE_SSG, SCOPE_SSG_LEGACY}), errors=TD,
    xml_root="tilgjengeligdata", xml_namespace="urn:no:skatteetaten:datasamarbeid:tilgjengeligdata:v1",
)
# The event feeds: no scope of their own (the data APIs' scopes open them) and one code list, FA, for both.
HENDELSER_NAMESPACE = "urn:no:skatteetaten:datasamarbeid:hendelser:v1"
HENDELSE_ITEMS = {"hendelser": "hendelse"}  # one <hendelse> per event, as the published XML has it
SKATTEOPPGJOERHENDELSER = Service(
    name="skatteoppgjoerhendelser", title="Skatteoppgjør hendelser", short_title="Skatteoppgjør hendelser",
    hosts={"test": "skatteoppgjoerhendelser.api.skatteetaten-test.no",
           "prod": "skatteoppgjoerhendelser.api.skatteetaten.no"},
    base_path="/v1", routes="mockserver.skatteoppgjoerhendelser.routes",
    scopes=frozenset({SCOPE_SSG, SCOPE_SSG_LEGACY}), errors=FA,
    xml_root="hendelser", xml_namespace=HENDELSER_NAMESPACE, xml_items=HENDELSE_ITEMS,
)
INNTEKTHENDELSER = Service(
    name="inntekthendelser", title="Inntekt hendelser", short_title="Inntekt hendelser",
    hosts={"test": "inntekthendelser.api.skatteetaten-test.no", "prod": "inntekthendelser.api.skatteetaten.no"},
    base_path="/v1", routes="mockserver.inntekthendelser.routes",
    scopes=frozenset({SCOPE_INNTEKT}), errors=FA,
    xml_root="hendelser", xml_namespace=HENDELSER_NAMESPACE, xml_items=HENDELSE_ITEMS,
)
# Tenor testdatasøk: one host, reached with tokens from Maskinporten's test environment, so it belongs to "test";
# named by the product, since its host's first label ("testdata") says nothing.
TENOR = Service(
    name="tenor", title="Tenor testdatasøk", short_title="Tenor",
    hosts={"test": "testdata.api.skatteetaten.no"},
    base_path="/api/testnorge/v2", routes="mockserver.tenor.routes", scopes=frozenset({SCOPE_TENOR}),
    token_required=False,  # finding test people offline is the point; the journal still notes a missing token
)

SERVICES: tuple[Service, ...] = (MASKINPORTEN, SUMMERTSKATTEGRUNNLAG, INNTEKT, SISTETILGJENGELIGESKATTEOPPGJOER,
                                 SKATTEOPPGJOERHENDELSER, INNTEKTHENDELSER, TENOR)
BY_NAME: Mapping[str, Service] = {s.name: s for s in SERVICES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
DATA_APIS: tuple[Service, ...] = tuple(s for s in SERVICES if s.is_data_api)
DATA_API_NAMES: tuple[str, ...] = tuple(s.name for s in DATA_APIS)
# each has contracts/<name>.yaml; the data APIs first, Maskinporten last (the order `verify` runs them in)
CONTRACTS: tuple[str, ...] = (*DATA_API_NAMES, TENOR.name, MASKINPORTEN.name)
# code prefix -> the APIs answering it (the feeds share FA)
ERROR_PREFIXES: Mapping[str, tuple[Service, ...]] = {
    prefix: tuple(s for s in DATA_APIS if s.errors is not None and s.errors.prefix == prefix)
    for prefix in dict.fromkeys(s.errors.prefix for s in DATA_APIS if s.errors is not None)
}


class UnknownService(ValueError):
    """A service name the registry does not list."""


def named(name: str) -> Service:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownService(f"unknown API {name!r}; expected one of {', '.join(NAMES)}") from None


# Every prefix is one path segment (the real host's first label), so a path's service is one look-up of its
# first segment; this runs for every call.
BY_PREFIX: Mapping[str, Service] = {s.prefix: s for s in SERVICES}


def split_path(path: str) -> tuple[Service, str] | None:
    """The service under whose prefix `path` lies, and the rest of the path ("/" at least); None elsewhere."""
    end = path.find("/", 1)
    service = BY_PREFIX.get(path if end < 0 else path[:end])
    if service is None:
        return None
    return service, path[end:] if end >= 0 else "/"


def of_path(path: str) -> Service | None:
    hit = split_path(path)
    return hit[0] if hit is not None else None
