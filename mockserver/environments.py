"""The environments a request can reach the sandbox through, and how each one names itself.

Under the sandbox's own address every real host is a path prefix (`/maskinporten/`, `/inntekt/v1`, …).
A request that arrives with a real hostname in `Host` (routed in-process by the pytest kit, or sent by a
client that resolves the real names to the sandbox) is answered as that environment: its issuer, the
grant's `aud`, `error_uri` and discovery all carry the real Maskinporten URL, so an unmodified client
configured for Skatteetaten's test environment works as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.types import Scope

from .callheaders import headers_of
from .services import BY_NAME, SERVICES


@dataclass(frozen=True)
class Environment:
    name: str  # "sandbox", "test" or "prod"
    issuer: str
    hosts: dict[str, str]  # service -> hostname; empty for the sandbox's own address

    def base_url(self, service: str) -> str:
        return f"https://{self.hosts[service]}{BY_NAME[service].base_path or '/'}"


def _real(name: str) -> Environment:
    hosts = {s.name: s.hosts[name] for s in SERVICES if name in s.hosts}  # Tenor has no prod host
    return Environment(name, f"https://{hosts['maskinporten']}/", hosts)


TEST = _real("test")
PROD = _real("prod")
REAL = (TEST, PROD)
# real hostname -> (environment, service)
REAL_HOSTS: dict[str, tuple[Environment, str]] = {
    host: (env, service) for env in REAL for service, host in env.hosts.items()
}


def sandbox_environment(base_url: str) -> Environment:
    return Environment("sandbox", f"{base_url.rstrip('/')}/maskinporten/", {})


@lru_cache(maxsize=256)  # a client sends the same Host on every call
def _real_host(value: bytes) -> tuple[Environment, str] | None:
    host = value.decode("latin-1").rsplit(":", 1)[0].lower() if not value.startswith(b"[") else ""
    return REAL_HOSTS.get(host)


def route_real_host(scope: Scope) -> Scope:
    """A request for a real hostname as the sandbox serves it: the scope with the service's prefix before its
    path, and its environment in `scope["state"]["environment"]` (read back by `environment_of`)."""
    value = headers_of(scope).get(b"host")
    hit = _real_host(value) if value is not None and len(value) <= 255 else None  # no real host is longer
    if hit is None:
        return scope
    env, service = hit
    scope.setdefault("state", {})["environment"] = env  # the state dict is shared with the copy below
    prefix = BY_NAME[service].prefix
    return {**scope, "path": prefix + scope["path"],
            "raw_path": prefix.encode() + scope.get("raw_path", scope["path"].encode())}


def environment_of(request: Any) -> Environment:
    """The environment a request came through (the sandbox's own address unless a real host was used)."""
    state = request.scope.get("state")  # the dict itself: Starlette's State raises to say "not set"
    env = state.get("environment") if state else None
    return env if env is not None else request.app.sandbox.own  # the attribute: app.state's look-up is slower
