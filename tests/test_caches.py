"""The hot path's caches change nothing a client can see: same bytes, same refusals, bounded memory."""

from __future__ import annotations

import base64
import os
import random

import jwt
import pytest
from jwt.api_jws import PyJWS
from mp_helpers import PAKKE, MpBox, assert_ske_error, make_settings, write_clients_file

from mockserver import fastjwt
from mockserver.caching import Bounded, Caches
from mockserver.maskinporten import keys
from mockserver.maskinporten.grant import SKEW, JtiCache
from mockserver.population.slots import NumberIndex

SSG = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}"
INNTEKT = f"/inntekt/v1/{PAKKE}"
# personas with different bodies: ordinary, two employers, skjermet, svalbard, SSG-008, SSG-007, deleted year
PEOPLE = ["15838512671", "02879012344", "17819112452", "08888412566", "01928812312", "04847512461",
          "28817212346"]


@pytest.fixture
def box(tmp_path) -> MpBox:
    return MpBox(make_settings(write_clients_file(tmp_path)))


def calls() -> list[tuple[str, dict[str, str]]]:
    out = []
    for fnr in PEOPLE + [NumberIndex(1).number(i) for i in range(5)]:
        for year in (2023, 2024, 2025):
            for accept in ("application/json", "application/xml"):
                out.append((f"{SSG}/{year}/{fnr}", {"Accept": accept}))
        for span in ("fraOgMed=2025-10&tilOgMed=2026-09", "fraOgMed=2026-01", "fraOgMed=2026-10"):
            out.append((f"{INNTEKT}/{fnr}/inntekter?{span}", {"Accept": "application/json"}))
        out.append((f"{INNTEKT}/{fnr}/inntekter?fraOgMed=2026-02", {"Accept": "application/xml"}))
    return out


def answers(box: MpBox, token: str, repeat: int = 1) -> list[tuple[int, str | None, bytes]]:
    out = []
    for url, headers in calls():
        for _ in range(repeat):
            r = box.api(url, token, headers)
            body = r.content
            if r.status_code >= 400:  # the korrelasjonsid is new on every call
                body = body.replace(r.headers["korrelasjonsid"].encode(), b"<id>")
            out.append((r.status_code, r.headers.get("content-type"), body))
    return out


class NoCaches(Caches):
    """What the sandbox did before it cached: verify and build on every call."""

    def verified_claims(self, token, issuer, keys, clock):
        from mockserver.maskinporten.tokens import verify_access_token

        return verify_access_token(token, issuer, keys, clock)

    def encoded(self, key, build, media_type, *, xml_root, xml_namespace):
        from mockserver.representation import encode

        return encode(build(), media_type, xml_root=xml_root, xml_namespace=xml_namespace)


def test_answers_are_byte_identical_with_and_without_caches(tmp_path) -> None:
    cached = MpBox(make_settings(write_clients_file(tmp_path)))
    plain = MpBox(make_settings(write_clients_file(tmp_path)))
    plain.sandbox.caches = NoCaches()
    token = cached.token()  # same seed, same key: both sandboxes accept it
    first = answers(cached, token, repeat=2)
    assert first[0::2] == first[1::2]  # a cache hit gives the bytes the miss gave
    assert first[0::2] == answers(plain, token)
    statuses = {status for status, _, _ in first}
    assert {200, 404, 410} <= statuses, statuses  # answers and remembered errors were both compared
    assert len(cached.sandbox.caches.bodies) > 0


def test_caches_are_bounded_and_still_answer_right(box: MpBox) -> None:
    box.sandbox.caches = Caches(tokens=2, bodies=3)
    token = box.token()
    for fnr in PEOPLE:
        r = box.api(f"{SSG}/2024/{fnr}", token)
        assert r.status_code in (200, 404)
        assert len(box.sandbox.caches.bodies) <= 3
    others = [box.token() for _ in range(3)]
    for t in others:
        assert box.api(f"{SSG}/2024/{PEOPLE[0]}", t).status_code == 200
    assert len(box.sandbox.caches.tokens) == 2
    assert box.api(f"{SSG}/2024/{PEOPLE[0]}", token).json()["personidentifikator"] == PEOPLE[0]


def test_bounded_forgets_the_least_recently_used() -> None:
    cache = Bounded(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
    with pytest.raises(ValueError):
        Bounded(0)


def test_expired_token_is_refused_although_it_was_cached(box: MpBox) -> None:
    token = box.token()
    url = f"{SSG}/2024/{PEOPLE[0]}"
    assert box.api(url, token).status_code == 200
    assert box.api(url, token).status_code == 200  # served from the cache
    box.clock.advance(119)
    assert box.api(url, token).status_code == 200
    box.clock.advance(1)  # exp reached on the injected clock
    assert_ske_error(box.api(url, token), 401, "SSG-004", "utløpt")
    assert_ske_error(box.api(url, token), 401, "SSG-004", "utløpt")
    box.clock.advance(-1000)  # a clock set back before iat: "issued in the future", as without the cache
    assert_ske_error(box.api(url, token), 401, "SSG-004", "fram i tid")


def test_a_refused_token_is_never_cached(box: MpBox) -> None:
    token = box.token()
    head, claims, sig = token.split(".")
    forged = f"{head}.{claims}.{sig[:-4]}AAAA"
    for _ in range(2):
        assert_ske_error(box.api(f"{SSG}/2024/{PEOPLE[0]}", forged), 401, "SSG-004", "Ugyldig token")
    assert len(box.sandbox.caches.tokens) == 0


def test_token_cache_is_per_issuer(box: MpBox) -> None:
    """A token of the sandbox's own issuer is not valid through a real host's environment, cached or not."""
    token = box.token()
    assert box.api(f"{SSG}/2024/{PEOPLE[0]}", token).status_code == 200
    r = box.client.get(f"https://summertskattegrunnlag.api.skatteetaten-test.no/v2/oppgjoer/{PAKKE}/2024/"
                       f"{PEOPLE[0]}", headers={"Authorization": f"Bearer {token}"})
    assert_ske_error(r, 401, "SSG-004", "annen utsteder")


def test_jti_replay_is_caught_after_pruning() -> None:
    cache = JtiCache()
    assert cache.use("c", "long-lived", exp=1_000, now=0)
    for i in range(5_000):  # short-lived ids, all gone by t=200
        assert cache.use("c", f"short-{i}", exp=100, now=0)
    assert len(cache) == 5_001
    assert cache.use("c", "trigger", exp=300, now=200)  # prunes on the way in
    assert len(cache) == 2
    assert not cache.use("c", "long-lived", exp=1_000, now=250)  # still remembered: a replay
    assert cache.seen("c", "long-lived", 250)
    assert cache.use("c", "short-7", exp=400, now=250)  # expired ids may come again
    assert not cache.use("c", "short-7", exp=400, now=260)


def test_jti_reused_after_expiry_keeps_its_new_expiry() -> None:
    cache = JtiCache()
    assert cache.use("c", "id", exp=10, now=0)
    assert cache.use("c", "id", exp=100, now=10 + SKEW + 1)  # the old entry ran out; a later one is kept
    assert cache.use("c", "other", exp=200, now=50)  # pruning pops the stale (10 + SKEW, id) heap entry
    assert not cache.use("c", "id", exp=100, now=60)


def test_jti_replay_over_http_after_many_grants(box: MpBox) -> None:
    first = box.grant()
    assert box.post_grant(first).status_code == 200
    box.clock.advance(60)
    for _ in range(3):
        assert box.post_grant(box.grant()).status_code == 200
    r = box.post_grant(first)
    assert r.status_code == 400 and "MP-012" in r.json().get("error_uri", ""), r.text


def _segments() -> list[bytes]:
    rng = random.Random(7)
    out = [b"", b"=", b"==", b"===", b"A", b"AA", b"AAA", b"AAAA", b"AB==", b"AB=", b"ABC=", b"AB=C", b"!!!!",
           b"a+b/", b"ab cd", b"\xff\xfe", b"QQ", b"QR", b"QQ==", b"QQA", b"QQB", b"eyJhbGciOiJSUzI1NiJ9"]
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. \n"
    for _ in range(3000):
        out.append(bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))))
    for _ in range(500):
        raw = os.urandom(rng.randrange(0, 40))
        out.append(base64.urlsafe_b64encode(raw).rstrip(b"=" if rng.random() < 0.5 else b""))
    return out


def test_fast_segment_decoder_has_pyjwts_verdicts() -> None:
    def verdict(fn, segment):
        try:
            return fn(segment, "header")
        except jwt.DecodeError as exc:
            return f"error: {exc}"

    original = PyJWS._decode_base64url_segment
    for segment in _segments():
        assert verdict(fastjwt.decode_segment, segment) == verdict(original, segment), segment


def test_fast_decoder_agrees_with_pyjwt_on_tokens(box: MpBox) -> None:
    token = box.token()
    key = box.sandbox.keys.active.private.public_key()
    options = {"verify_exp": False, "verify_iat": False, "verify_aud": False}
    assert fastjwt.decode(token, key, algorithms=["RS256"], options=options) == \
        jwt.decode(token, key, algorithms=["RS256"], options=options)
    assert fastjwt.get_unverified_header(token) == jwt.get_unverified_header(token)
    with pytest.raises(jwt.InvalidSignatureError):
        fastjwt.decode(token[:-4] + "AAAA", key, algorithms=["RS256"], options=options)


def test_shipped_keys_are_the_seeded_keys() -> None:
    for label in ("maskinporten:1", "demo-client:1"):
        shipped = keys.SHIPPED / keys._file_name(label, 2048)
        assert shipped.read_bytes() == keys.generate_private_key_pem(label), label


def test_keys_of_other_seeds_are_made_once_and_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SKE_SANDBOX_CACHE", str(tmp_path))
    label = "maskinporten:424242"
    assert keys.stored_key_pem(label) is None
    made = keys.seeded_private_key_pem.__wrapped__(label)
    assert keys.stored_key_pem(label) == made == keys.generate_private_key_pem(label)
    assert [p.name for p in (tmp_path / "keys").iterdir()] == [keys._file_name(label, 2048)]


def test_correlation_ids_are_random_version_4_uuids_and_a_forked_worker_makes_its_own() -> None:
    import uuid

    from mockserver.dataapi.gateway import correlation_id

    ids = [correlation_id() for _ in range(600)]  # more than one pool of random bytes
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a worker forked after the parent drew from its pool
        os.write(write, correlation_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert uuid.UUID(child).version == 4 and child != correlation_id()


def test_a_call_s_headers_are_read_once_and_the_first_value_wins() -> None:
    from mockserver.callheaders import KEY, headers_of

    scope = {"headers": [(b"accept", b"application/xml"), (b"host", b"a"), (b"accept", b"application/json")]}
    found = headers_of(scope)
    assert found == {b"accept": b"application/xml", b"host": b"a"} and scope[KEY] is found
    assert headers_of(scope) is found  # made once per call


@pytest.mark.parametrize("status", [200, 204, 304, 404, 503])
@pytest.mark.parametrize("headers", [None, {"Korrelasjonsid": "k", "Retry-After": "1"}, {"Content-Type": "text/x"}])
@pytest.mark.parametrize("media", ["application/json", "application/xml"])
def test_a_rendered_answer_has_the_headers_starlette_would_give_it(status, headers, media) -> None:
    from starlette.responses import Response

    from mockserver.representation import XML_CONTENT_TYPE, render

    ours = render(b"<x/>", media, status=status, xml_root="r", xml_namespace="n", headers=headers)
    theirs = Response(b"<x/>", status, headers=headers,
                      media_type=XML_CONTENT_TYPE if media == "application/xml" else media)
    assert (ours.status_code, ours.raw_headers, ours.body) == (theirs.status_code, theirs.raw_headers, theirs.body)


def _front_door(box: MpBox):
    from mockserver.front import FrontDoor

    box.client.get("/__sandbox/health")  # builds the middleware stack
    layer = box.app.middleware_stack
    while not isinstance(layer, FrontDoor):
        layer = layer.app
    return layer


def test_data_calls_routed_directly_answer_and_journal_as_the_full_routing_does(tmp_path) -> None:
    direct = MpBox(make_settings(write_clients_file(tmp_path)))
    routed = MpBox(make_settings(write_clients_file(tmp_path)))
    assert _front_door(direct).direct
    _front_door(routed).direct = {}  # every call through Starlette's exception layer and routers
    token = direct.token()
    odd = [(f"{SSG}/2024/{PEOPLE[0]}%0A", {}), (f"{SSG}/2024", {}), ("/summertskattegrunnlag/v2", {}),
           (f"{SSG}/2024/{PEOPLE[0]}/more", {}), (f"{INNTEKT}/{PEOPLE[0]}/inntekter", {"Accept": "text/csv"})]
    for box in (direct, routed):
        box.sandbox.journal.clear()
    for box in (direct, routed):
        for url, headers in odd:
            box.api(url, token, headers)
    assert answers(direct, token) == answers(routed, token)
    for url, _ in odd:  # and the same for other methods, which only the full routing answers
        a, b = (box.client.post(url, headers={"Authorization": f"Bearer {token}"}) for box in (direct, routed))
        assert (a.status_code, a.headers.get("content-type")) == (b.status_code, b.headers.get("content-type"))
    keep = ("method", "path", "status", "outcome", "consumer", "service", "conforms")
    journals = [[{k: e.get(k) for k in keep} for e in box.sandbox.journal.entries()] for box in (direct, routed)]
    assert journals[0] == journals[1] and len(journals[0]) > len(calls())
