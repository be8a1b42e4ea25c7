"""The feed follower through a settlement season, written with the kit only: the clock moves from 1 March to
1 November 2026, and every 2025 oppgjør that became ready in between arrives as a NY event, in sequence
order, and is read at once; a deleted year arrives as SLETTET and is dropped; a restarted follower and a
sandbox started at the later date agree with what was followed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from feed_follower import FeedFollower
from kommune_client import Config, KommuneClient

from mockserver.settings import Settings

SEASON_START, SEASON_END = dt.date(2026, 3, 1), dt.date(2026, 11, 1)
pytestmark = pytest.mark.ske_sandbox_conform  # every request the follower makes is held to the contracts


@pytest.fixture
def ske_sandbox_settings() -> Settings:
    return Settings(seed=1, population=150, today=SEASON_START)


def make_follower(kit, checkpoint: Path) -> FeedFollower:
    demo = kit.demo_client
    clock = kit.sandbox.clock
    client = KommuneClient(Config(demo.client_id, demo.kid, demo.private_key_pem), today=lambda: kit.today,
                           clock=clock.now, sleep=clock.advance)
    return FeedFollower(client, checkpoint)


def settled_in_season(kit) -> set[str]:
    """Who the world says got a 2025 oppgjør between the two dates (none before 21 March)."""
    from mockserver.population.settlement import settlement_date

    population = kit.sandbox.population
    people = [population.lookup(p.fnr) for p in population.personas.values()]
    people += [population.lookup(population.numbers.number(i)) for i in range(population.size)]
    return {life.fnr for life in people if life is not None and 2025 not in life.no_settlement
            and SEASON_START < settlement_date(life, 2025) <= SEASON_END and 2025 not in life.deleted}


def test_a_settlement_season_arrives_as_ny_events_each_read_once(ske_sandbox, tmp_path):
    # a person whose 2025 basis is deleted: minted by the control API, as a presenter would add one
    made = ske_sandbox.client.post("/__sandbox/personas", json={"first_name": "Slettet", "archetype": "employee",
                                                                "deleted": [2025]}).json()
    follower = make_follower(ske_sandbox, tmp_path / "checkpoint.json")
    start = follower.start_at(SEASON_START)
    assert follower.poll() == []  # nothing settled before the season

    ske_sandbox.travel_to(SEASON_END)
    changes = follower.poll()
    numbers = [c.sekvensnummer for c in changes]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers) and numbers[0] >= start
    assert any(b - a > 1 for a, b in zip(numbers, numbers[1:], strict=False)), "numbers have gaps"
    ny = {c.fnr for c in changes if c.kind == "NY" and c.year == 2025}
    assert ny == settled_in_season(ske_sandbox) and len(ny) > 20
    assert all(c.year == 2025 for c in changes)
    for fnr in ny:  # each NY was read at once: the store holds its oppgjør
        assert follower.store.oppgjoer[(fnr, 2025)]["inntektsaar"] == "2025"

    deleted = [c for c in changes if c.fnr == made["fnr"]]
    assert [(c.kind, c.year) for c in deleted] == [("SLETTET", 2025)]
    assert (made["fnr"], 2025) not in follower.store.oppgjoer
    r = follower.client.get(f"{follower.client.config.summertskattegrunnlag}/oppgjoer/kommuneboligsosialeformaal/"
                            f"2025/{made['fnr']}")
    assert (r.status_code, r.json()["kode"]) == (410, "SSG-011")

    # a restart reads the checkpoint: nothing is handled twice, nothing skipped
    again = make_follower(ske_sandbox, tmp_path / "checkpoint.json")
    assert again.position() == numbers[-1] + 1 and again.poll() == []


def test_a_sandbox_started_at_the_later_date_serves_the_same_feed_and_answers(ske_sandbox, tmp_path):
    follower = make_follower(ske_sandbox, tmp_path / "moved.json")
    follower.start_at(SEASON_START)
    ske_sandbox.travel_to(SEASON_END)
    moved = follower.poll()
    moved_store = dict(follower.store.oppgjoer)

    from mockserver.testkit.kit import SandboxKit

    later = SandboxKit(dataclasses.replace(ske_sandbox.settings, today=SEASON_END), ske_sandbox.environment)
    ske_sandbox.end()
    later.begin()
    try:
        fresh = make_follower(later, tmp_path / "fresh.json")
        fresh.start_at(SEASON_START)
        assert fresh.poll() == moved
        assert fresh.store.oppgjoer == moved_store
    finally:
        later.end()
        ske_sandbox.begin()
