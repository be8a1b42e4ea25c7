"""«Prøv selv»: the whole client flow through the sandbox's HTTP services, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from ..maskinporten.registry import KOMMUNE_PAKKE
from ..months import add_months
from ..sandbox import population_of
from ..services import INNTEKT, SISTETILGJENGELIGESKATTEOPPGJOER, SUMMERTSKATTEGRUNNLAG
from .client import Exchange, SandboxClient, decode_jwt
from .labels import advice

SSG_PATH = SUMMERTSKATTEGRUNNLAG.name
IM_PATH = INNTEKT.name
TD_PATH = SISTETILGJENGELIGESKATTEOPPGJOER.name
INNTEKT_MONTHS = 3
FLOW = (SUMMERTSKATTEGRUNNLAG, INNTEKT, SISTETILGJENGELIGESKATTEOPPGJOER)  # the services the flow calls


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    target: str  # which service gets the scenario header


def scenario_choices() -> list[tuple[str, list[Choice]]]:
    """The picker's groups: every documented code of each API the flow calls, plus the sandbox's own extras."""
    groups = []
    for service in FLOW:
        title, catalogue, target = service.title, service.errors, service.name
        if catalogue is None:
            continue
        seen, choices = set(), []
        for code, status, melding in catalogue.table():
            if code not in seen:
                seen.add(code)
                choices.append(Choice(f"{target}:{code}", f"{code} ({status}) {melding}", target))
        groups.append((title, choices))
    groups.append(("Drift", [
        Choice(f"{SSG_PATH}:429", "429 For mange samtidige kall (Summert skattegrunnlag)", SSG_PATH),
        Choice(f"{SSG_PATH}:503", "503 Midlertidig utilgjengelig (Summert skattegrunnlag)", SSG_PATH),
        Choice(f"{IM_PATH}:slow:1500ms", "Treg tjeneste: Inntekt svarer etter 1,5 s", IM_PATH),
    ]))
    return groups


def parse_choice(value: str) -> tuple[str, str] | None:
    """'summertskattegrunnlag:SSG-008' → (service, header value), only for values the picker offers."""
    for _, choices in scenario_choices():
        for choice in choices:
            if choice.value == value:
                return choice.target, value.split(":", 1)[1]
    return None


@dataclass
class Step:
    exchange: Exchange | None
    note: str = ""
    advice: str = ""


@dataclass
class Flow:
    fnr: str
    scenario: str | None
    grant: dict = field(default_factory=dict)
    grant_jwt: str = ""
    steps: list[Step] = field(default_factory=list)


async def run_flow(request: Request, fnr: str, scenario: tuple[str, str] | None, accept: str) -> Flow:
    flow = Flow(fnr, scenario[1] if scenario else None)
    async with SandboxClient(request) as client:
        issuer = await client.issuer()
        flow.grant_jwt = client.grant(issuer)
        flow.grant = decode_jwt(flow.grant_jwt)
        token_ex = await client.token(flow.grant_jwt)
        flow.steps.append(Step(token_ex, "Klienten signerer et grant (JWT) med sin nøkkel og bytter det mot et "
                                         "access token.", advice(token_ex.code, token_ex.status)))
        token = (token_ex.json() or {}).get("access_token") if token_ex.ok else None
        if not token:
            return flow

        def headers(service: str) -> dict[str, str]:
            h = {"Authorization": f"Bearer {token}", "Accept": accept}
            if scenario and scenario[0] == service:
                h["Ske-Sandbox-Scenario"] = scenario[1]
            return h

        siste = await client.call("Siste tilgjengelige skatteoppgjør", "GET", f"/{TD_PATH}/v1/{fnr}",
                                  headers(TD_PATH))
        flow.steps.append(Step(siste, "Først: hvilket år er siste skatteoppgjør?", advice(siste.code, siste.status)))
        year = _year_of(siste)
        if year is None:
            flow.steps.append(Step(None, "Ingen tilgjengelig skatteoppgjør: klienten spør ikke Summert "
                                         "skattegrunnlag."))
        else:
            ssg = await client.call(f"Summert skattegrunnlag {year}", "GET",
                                    f"/{SSG_PATH}/v2/oppgjoer/{KOMMUNE_PAKKE}/{year}/{fnr}", headers(SSG_PATH))
            flow.steps.append(Step(ssg, f"Det summerte skattegrunnlaget for {year}, filtrert for "
                                        f"rettighetspakken {KOMMUNE_PAKKE}.", advice(ssg.code, ssg.status)))
        last = population_of(request).calendar.last_available_month()
        first = add_months(last, -(INNTEKT_MONTHS - 1))
        period = f"fraOgMed={first[0]:04d}-{first[1]:02d}&tilOgMed={last[0]:04d}-{last[1]:02d}"
        inntekt = await client.call("Inntekt (a-ordningen)", "GET",
                                    f"/{IM_PATH}/v1/{KOMMUNE_PAKKE}/{fnr}/inntekter?{period}", headers(IM_PATH))
        flow.steps.append(Step(inntekt, f"Inntektene de siste {INNTEKT_MONTHS} månedene som er levert.",
                               advice(inntekt.code, inntekt.status)))
    return flow


def _year_of(ex: Exchange) -> str | None:
    if not ex.ok:
        return None
    if "json" in ex.response_headers.get("content-type", ""):
        value = (ex.json() or {}).get("sisteTilgjengeligePeriode")
        return str(value) if value else None
    start = ex.body.find("<sisteTilgjengeligePeriode>")
    return ex.body[start + 27:start + 31] if start >= 0 else None


