"""Following Skatteoppgjør hendelser, as Skatteetaten asks consumers to ("where event lists exist, they shall
be used; we do not want periodic look-ups"), written as a vendor writes it for the test environment.

The follower keeps its place in the feed in a checkpoint file (the next `sekvensnummer` to ask for), written
only after the events before it were handled, so a restart never skips one and at worst handles one again;
handling is idempotent (the latest answer per person and year replaces the one before). Sequence numbers
have gaps: it continues from the last number + 1 and never counts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from kommune_client import KommuneClient, ServiceError

PAGE = 100  # events per call


@dataclass(frozen=True)
class Change:
    sekvensnummer: int
    fnr: str
    year: int
    kind: str  # NY, ENDRET or SLETTET


@dataclass
class Store:
    """The municipality's copy: the oppgjør it holds per (fnr, year)."""

    oppgjoer: dict[tuple[str, int], dict] = field(default_factory=dict)


class FeedFollower:
    def __init__(self, client: KommuneClient, checkpoint: Path, store: Store | None = None) -> None:
        self.client = client
        self.checkpoint = checkpoint
        self.store = store if store is not None else Store()

    @property
    def feed(self) -> str:
        return f"{self.client.config.skatteoppgjoerhendelser}/hendelser"

    # --- where to continue ------------------------------------------------------------------------
    def position(self) -> int | None:
        try:
            return int(json.loads(self.checkpoint.read_text())["neste"])
        except FileNotFoundError:
            return None

    def _save(self, neste: int) -> None:
        """Written whole or not at all: a crash between the two steps leaves the old checkpoint."""
        tmp = self.checkpoint.with_suffix(".tmp")
        tmp.write_text(json.dumps({"neste": neste}))
        os.replace(tmp, self.checkpoint)

    def start_at(self, day: dt.date) -> int:
        """Begin with the events registered on or after `day`, unless a checkpoint says where we are."""
        known = self.position()
        if known is not None:
            return known
        r = self.client.get(f"{self.feed}/start", {"dato": day.isoformat()})
        if r.status_code != 200:
            raise self.client.fail("Skatteoppgjør hendelser", r)
        neste = int(r.json()["sekvensnummer"])
        self._save(neste)
        return neste

    # --- reading and handling ---------------------------------------------------------------------
    def poll(self) -> list[Change]:
        """Every event after the checkpoint, handled in order; the checkpoint moves after each page."""
        neste = self.position()
        if neste is None:
            raise ServiceError("no checkpoint: call start_at(date) first")
        handled: list[Change] = []
        while True:
            r = self.client.get(self.feed, {"fraSekvensnummer": str(neste), "antall": str(PAGE)})
            if r.status_code == 404 and self.client.code(r) == "FA-005":
                break  # nothing new yet
            if r.status_code != 200:
                raise self.client.fail("Skatteoppgjør hendelser", r)
            events = r.json().get("hendelser", [])
            if not events:
                break
            for event in events:
                handled.append(self.handle(event))
            neste = int(events[-1]["sekvensnummer"]) + 1
            self._save(neste)
            if len(events) < PAGE:
                break
        return handled

    def handle(self, event: dict) -> Change:
        change = Change(int(event["sekvensnummer"]), event["identifikator"], int(event["gjelderPeriode"]),
                        event.get("hendelsetype") or "NY")
        key = (change.fnr, change.year)
        body = self.client.skattegrunnlag(change.fnr, change.year)  # None for 404 SSG-008 and 410 SSG-011
        if change.kind == "SLETTET" or body is None:
            self.store.oppgjoer.pop(key, None)
        else:
            self.store.oppgjoer[key] = body
        return change
