"""deploy/kubernetes: the manifests' structure (every object, in-process), and the manifests played with
`podman kube play` (marked container): the sandbox and Redis pods get ready, a real Maskinporten token and a
data call pass through the published port, the admin token from the Secret guards the control API, the
pods run as non-root, Redis answers PING, a second replica accepts the first one's tokens.

podman kube play reads no kustomization and, before podman 4.5, publishes every containerPort on the host;
`kube_play_documents` makes what it plays from the files the kustomization lists, as docs/deploy.md tells:
one replica per play, the port published on 127.0.0.1, the Redis pod reached by its Service's name as a
network alias. HPA, Service and NetworkPolicy objects, which kube play ignores, are checked here by structure.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import yaml
from support import ROOT, TODAY, free_port
from test_container import _run, _tail, base_image, build_context, image, podman  # noqa: F401  (fixtures)

from mockserver.admintoken import TokenFileError, read_token_file
from mockserver.health import DEFAULT_URLS

KUBE = ROOT / "deploy" / "kubernetes"
HEALTH = "/__sandbox/health"
FNR = "15838512671"  # a curated persona with a settled 2024
SSG = "/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PENDING = ("SKE_SANDBOX_STATE", "SKE_SANDBOX_WORKERS")  # read once `serve --state`/`--workers` exist


# ---------------------------------------------------------------------------------------------------------
# the manifests as files


def _resources() -> list[str]:
    return yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]


def _documents() -> list[dict[str, Any]]:
    """Every object of the files the kustomization lists, in its order."""
    return [doc for name in _resources() for doc in yaml.safe_load_all((KUBE / name).read_text()) if doc]


def _one(kind: str, name: str, docs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    (doc,) = [d for d in docs or _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _serve_help() -> str:
    from mockserver.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return " ".join(sub.choices["serve"].format_help().split())


API_VERSIONS = {
    "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "Deployment": "apps/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2", "NetworkPolicy": "networking.k8s.io/v1",
}


def test_the_kustomization_lists_every_manifest_and_each_object_is_well_formed():
    listed = set(_resources())
    on_disk = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk, "a manifest the kustomization does not list, or one it lists that is missing"
    docs = _documents()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["ConfigMap", "Secret", "Deployment", "Deployment", "Service", "Service",
                            "HorizontalPodAutoscaler", "NetworkPolicy"])
    for doc in docs:
        assert doc["apiVersion"] == API_VERSIONS[doc["kind"]], doc["kind"]
        assert doc["metadata"]["name"].startswith("ske-sandbox")
        assert "namespace" not in doc["metadata"], "the namespace is the user's (kubectl -n, kustomize)"
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", ["ske-sandbox", "ske-sandbox-redis"])
def test_each_deployment_runs_non_root_with_resources_and_its_selector_matches_its_pods(name: str):
    deployment = _one("Deployment", name)
    template = deployment["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pod = template["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] not in (0, None)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    container = _container(deployment)
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()  # the autoscaler's utilisation needs cpu
    assert "memory" in resources["limits"]
    assert container["imagePullPolicy"] == "IfNotPresent"
    for probe in ("readinessProbe", "livenessProbe"):
        assert probe in container, f"{name} has no {probe}"
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} == volumes


def test_the_sandbox_probes_its_health_path_on_its_port():
    container = _container(_one("Deployment", "ske-sandbox"))
    (port,) = [p["containerPort"] for p in container["ports"]]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", str(port)]
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH, "port": port}
    # the liveness probe is the image's HEALTHCHECK command, which probes this path on this port first
    assert container["livenessProbe"]["exec"]["command"] == ["python3", "-m", "mockserver.health"]
    assert DEFAULT_URLS[0] == f"http://127.0.0.1:{port}{HEALTH}"
    # the autoscaler owns the replica count
    assert "replicas" not in _one("Deployment", "ske-sandbox")["spec"]


def test_the_admin_token_comes_from_the_secret_as_a_file_and_the_placeholder_is_refused(tmp_path: Path):
    deployment = _one("Deployment", "ske-sandbox")
    container, pod = _container(deployment), deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in container.get("env", [])}
    assert "SKE_SANDBOX_ADMIN_TOKEN" not in env, "the token goes in a file, not the environment"
    path = Path(env["SKE_SANDBOX_ADMIN_TOKEN_FILE"]["value"])
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True and Path(mount["mountPath"]) == path.parent
    secret = _one("Secret", volume["secret"]["secretName"])
    assert path.name in secret["stringData"]
    # the committed value is a placeholder the sandbox will not start with, so no one runs with a known token
    (tmp_path / "token").write_text(secret["stringData"][path.name])
    with pytest.raises(TokenFileError, match="without spaces"):
        read_token_file(tmp_path / "token")


def test_the_settings_are_ones_serve_reads_and_the_state_url_names_the_redis_service():
    deployment = _one("Deployment", "ske-sandbox")
    (source,) = _container(deployment)["envFrom"]
    settings = _one("ConfigMap", source["configMapRef"]["name"])["data"]
    assert all(isinstance(v, str) for v in settings.values()), "ConfigMap values are strings"
    served = _serve_help()
    for name in settings:
        if name in PENDING and "--state" not in served:
            continue  # set ahead of the shared-state option; ignored by a serve that does not read it
        assert f"env {name}" in served, f"`serve --help` names no {name}"
    state = urlsplit(settings["SKE_SANDBOX_STATE"])
    redis = _one("Service", "ske-sandbox-redis")
    assert state.scheme == "redis" and state.hostname == redis["metadata"]["name"]
    assert state.port == redis["spec"]["ports"][0]["port"]
    public = urlsplit(settings["SKE_SANDBOX_PUBLIC_URL"])
    sandbox = _one("Service", "ske-sandbox")
    assert public.hostname == sandbox["metadata"]["name"] and public.port == sandbox["spec"]["ports"][0]["port"]


@pytest.mark.parametrize("name", ["ske-sandbox", "ske-sandbox-redis"])
def test_each_service_selects_its_deployments_pods_and_targets_a_declared_port(name: str):
    service, deployment = _one("Service", name), _one("Deployment", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    other = _one("Deployment", "ske-sandbox-redis" if name == "ske-sandbox" else "ske-sandbox")
    assert not service["spec"]["selector"].items() <= other["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in _container(deployment)["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports and ports[port["targetPort"]] == port["port"]


def test_the_autoscaler_scales_the_sandbox_on_cpu():
    hpa = _one("HorizontalPodAutoscaler", "ske-sandbox")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", "ske-sandbox")
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert 0 < metric["resource"]["target"]["averageUtilization"] <= 100


def test_only_the_sandbox_pods_may_reach_redis():
    policy = _one("NetworkPolicy", "ske-sandbox-redis")
    redis_labels = _one("Deployment", "ske-sandbox-redis")["spec"]["template"]["metadata"]["labels"]
    sandbox_labels = _one("Deployment", "ske-sandbox")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= redis_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"].items() <= sandbox_labels.items()
    assert not peer["podSelector"]["matchLabels"].items() <= redis_labels.items()
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]


@pytest.mark.subprocess
def test_kubectl_kustomize_renders_the_listed_objects():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl here: the kustomization is checked by structure only")
    done = subprocess.run([kubectl, "kustomize", str(KUBE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rendered = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered) == \
        sorted((d["kind"], d["metadata"]["name"]) for d in _documents())
    assert all(d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "ske-sandbox" for d in rendered)


# ---------------------------------------------------------------------------------------------------------
# podman kube play


@dataclass
class Replica:
    pod: str
    container: str
    url: str


def kube_play_documents(run: str, *, sandbox_image: str, redis_image: str, secret_name: str,
                        public_url: str) -> dict[str, Any]:
    """What podman kube play is given, made from the kustomization's files: the images under test, names
    unique to this run (kube play's pods, secrets and emptyDir volumes are global names on the machine),
    one replica per play, the port published on 127.0.0.1 (hostPort), the issuer at the published URL."""
    docs = _documents()
    settings = copy.deepcopy(_one("ConfigMap", "ske-sandbox-settings", docs))
    settings["data"].update(SKE_SANDBOX_PUBLIC_URL=public_url, SKE_SANDBOX_TODAY=TODAY)

    def deployment(name: str, image_name: str, suffix: str, host_port: int) -> dict[str, Any]:
        doc = copy.deepcopy(_one("Deployment", name, docs))
        doc["metadata"]["name"] = f"{name}-{run}{suffix}"
        doc["spec"]["replicas"] = 1
        pod = doc["spec"]["template"]["spec"]
        container = _container(doc)
        container["image"] = image_name
        container["ports"][0].update(hostPort=host_port, hostIP="127.0.0.1")
        renamed = {}
        for volume in pod["volumes"]:
            if "secret" in volume:
                volume["secret"]["secretName"] = secret_name
            else:
                renamed[volume["name"]] = volume["name"] = f"{volume['name']}-{run}{suffix}"
        for mount in container["volumeMounts"]:
            mount["name"] = renamed.get(mount["name"], mount["name"])
        return doc

    def sandbox(suffix: str, host_port: int) -> list[dict[str, Any]]:
        return [settings, deployment("ske-sandbox", sandbox_image, suffix, host_port)]

    return {"redis": [deployment("ske-sandbox-redis", redis_image, "", free_port())],
            "redis_service": _one("Service", "ske-sandbox-redis", docs)["metadata"]["name"],
            "sandbox": sandbox, "secret": _one("Secret", "ske-sandbox-admin", docs)}


@pytest.fixture(scope="module")
def redis_image(podman: str, base_image: str) -> Iterator[str]:  # noqa: F811
    tag = f"localhost/ske-sandbox-redis-test:{os.getpid()}"
    started = time.monotonic()
    done = _run([podman, "build", "--format", "docker", "--layers=false", "--build-arg", f"BASE={base_image}",
                 "-t", tag, str(KUBE / "redis")], timeout=900)
    unreachable = ("Could not resolve", "Temporary failure resolving", "Unable to locate package")
    if done.returncode != 0 and any(text in done.stdout + done.stderr for text in unreachable):
        pytest.skip(f"the Redis image needs Debian's packages, unreachable here: {_tail(done, 5)}")
    assert done.returncode == 0, f"the Redis image did not build:\n{_tail(done, 30)}"
    print(f"\nRedis image {tag}: built in {time.monotonic() - started:.0f} s")
    try:
        yield tag
    finally:
        _run([podman, "rmi", "--force", tag])


@dataclass
class Played:
    token: str
    redis_container: str
    redis_port: int
    replicas: list[Replica]
    ready_seconds: float


def _wait_ready(podman: str, replica: Replica, timeout: float = 120) -> float:  # noqa: F811
    """Seconds until the readiness probe's path answers 200 through the published port."""
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"{replica.url}{HEALTH}", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        state = _run([podman, "inspect", replica.container, "--format", "{{.State.Status}}"]).stdout.strip()
        if time.monotonic() - started > timeout:
            logs = _run([podman, "logs", replica.container])
            pytest.fail(f"{replica.container} did not get ready ({state}):\n{_tail(logs, 30)}")
        time.sleep(0.25)


def _play(podman: str, docs: list[dict[str, Any]], path: Path, *network: str) -> None:  # noqa: F811
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    done = _run([podman, "kube", "play", *(a for n in network for a in ("--network", n)), str(path)], timeout=300)
    assert done.returncode == 0, f"podman kube play {path.name} failed:\n{_tail(done, 30)}"


@pytest.fixture(scope="module")
def played(podman: str, image: str, redis_image: str,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    run = f"k{os.getpid()}"
    work = tmp_path_factory.mktemp("kube")
    network, secret_name = f"ske-sandbox-{run}", f"ske-sandbox-admin-{run}"
    ports = [free_port(), free_port()]
    public = f"http://127.0.0.1:{ports[0]}"  # both replicas answer as one service: one issuer
    plan = kube_play_documents(run, sandbox_image=image, redis_image=redis_image, secret_name=secret_name,
                               public_url=public)
    token = secrets.token_hex(24)
    pods: list[str] = []
    try:
        done = _run([podman, "network", "create", network])
        if done.returncode != 0:
            pytest.skip(f"podman cannot create a network here: {_tail(done, 3)}")
        # the Secret with a real token, as `data:` (podman 4.3 reads no `stringData:`); kube play makes a
        # podman secret of it (given the network, it makes no default network of its own)
        secret = copy.deepcopy(plan["secret"])
        secret["metadata"]["name"] = secret_name
        secret["data"] = {key: base64.b64encode(token.encode()).decode() for key in secret.pop("stringData")}
        _play(podman, [secret], work / "secret.yaml", network)
        assert _run([podman, "secret", "inspect", secret_name]).returncode == 0

        redis_doc = plan["redis"][0]
        pods.append(f"{redis_doc['metadata']['name']}-pod-0")
        # the Redis pod answers to its Service's name on the network, as in a cluster
        _play(podman, plan["redis"], work / "redis.yaml", f"{network}:alias={plan['redis_service']}")
        replicas, timings = [], []
        for suffix, port in zip(("a", "b"), ports, strict=True):
            docs = plan["sandbox"](suffix, port)
            pod = f"{docs[1]['metadata']['name']}-pod-0"
            pods.append(pod)
            started = time.monotonic()
            _play(podman, docs, work / f"sandbox-{suffix}.yaml", network)
            played_at = time.monotonic()
            replica = Replica(pod, f"{pod}-{_container(docs[1])['name']}", f"http://127.0.0.1:{port}")
            _wait_ready(podman, replica)
            timings.append((played_at - started, time.monotonic() - started))
            replicas.append(replica)
        print("\nkube play to ready: " + "; ".join(f"replica {i + 1} {total:.1f} s (the play command {play:.1f} s)"
                                                 for i, (play, total) in enumerate(timings)))
        yield Played(token, f"{pods[0]}-{_container(redis_doc)['name']}",
                     redis_doc["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"],
                     replicas, max(total for _, total in timings))
    finally:
        for pod in pods:
            _run([podman, "pod", "rm", "--force", "--time", "2", pod])
        volumes = _run([podman, "volume", "ls", "--format", "{{.Name}}"]).stdout.split()
        for volume in volumes:
            if volume.endswith(tuple(f"-{run}{s}" for s in ("", "a", "b"))) or volume == secret_name:
                _run([podman, "volume", "rm", "--force", volume])
        _run([podman, "secret", "rm", secret_name])
        _run([podman, "network", "rm", "--force", network])


def _demo_client() -> dict[str, Any]:
    seed = _one("ConfigMap", "ske-sandbox-settings")["data"]["SKE_SANDBOX_SEED"]
    out = _run([sys.executable, "-m", "mockserver.cli", "demo-client", "--json", "--seed", seed], check=True)
    return json.loads(out.stdout)


def _grant(issuer: str, client: dict[str, Any]) -> str:
    now = int(time.time())
    return jwt.encode({"aud": issuer, "iss": client["client_id"], "scope": "skatteetaten:summertskattegrunnlag",
                       "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())},
                      client["private_key_pem"], algorithm="RS256", headers={"kid": client["kid"]})


def _token(http: httpx.Client, replica: Replica, grant: str) -> httpx.Response:
    return http.post(f"{replica.url}/maskinporten/token", data={"grant_type": JWT_BEARER, "assertion": grant})


def _issuer(http: httpx.Client, replica: Replica) -> str:
    issuer: str = http.get(f"{replica.url}/maskinporten/.well-known/oauth-authorization-server").json()["issuer"]
    return issuer


@pytest.mark.container
def test_the_played_pods_get_ready_and_run_as_non_root(podman: str, played: Played):  # noqa: F811
    assert played.ready_seconds < 120
    for container in (played.redis_container, *(r.container for r in played.replicas)):
        assert _run([podman, "exec", container, "id", "-u"]).stdout.strip() == "10001", container
        inspect = _run([podman, "inspect", container, "--format", "{{.HostConfig.ReadonlyRootfs}}"])
        assert inspect.stdout.strip() == "true", container
        # the liveness probes (exec) as podman runs them
        health = _run([podman, "healthcheck", "run", container])
        assert health.returncode == 0, f"{container}: liveness probe failed: {_tail(health)}"


@pytest.mark.container
def test_a_token_and_a_data_call_pass_through_the_published_port_at_either_replica(played: Played):
    first, second = played.replicas
    with httpx.Client(timeout=10) as http:
        issuer = _issuer(http, first)
        assert issuer == f"{first.url}/maskinporten/"  # SKE_SANDBOX_PUBLIC_URL from the ConfigMap
        r = _token(http, first, _grant(issuer, _demo_client()))
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        # the second replica (same seed, same signing key) accepts the first one's token
        for replica in (first, second):
            data = http.get(f"{replica.url}{SSG}{FNR}",
                            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            assert data.status_code == 200, data.text
            assert data.json()["personidentifikator"] == FNR


@pytest.mark.container
def test_the_admin_token_from_the_secret_guards_the_control_api(podman: str, played: Played):  # noqa: F811
    replica = played.replicas[0]
    mounted = _run([podman, "exec", replica.container, "cat", "/run/secrets/ske-sandbox/admin-token"]).stdout
    encoded = base64.b64encode(played.token.encode()).decode()
    # a cluster (and podman from 4.4) writes the decoded value; podman 4.3 writes a data value still encoded
    assert mounted in (played.token, encoded), mounted
    with httpx.Client(timeout=10) as http:
        journal = f"{replica.url}/__sandbox/journal"
        refused = http.get(journal)
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        assert http.get(journal, headers={"Authorization": "Bearer not-the-token"}).status_code == 401
        allowed = http.get(journal, headers={"Authorization": f"Bearer {mounted}"})
        assert allowed.status_code == 200, allowed.text
        assert http.get(f"{replica.url}{HEALTH}").status_code == 200  # the probes need no token


@pytest.mark.container
def test_redis_answers_ping_on_its_port_and_by_its_service_name_from_the_sandbox_pod(podman: str,  # noqa: F811
                                                                                    played: Played):
    import redis

    client = redis.Redis(host="127.0.0.1", port=played.redis_port, socket_timeout=5)
    try:
        assert client.ping() is True
    finally:
        client.close()
    state = _one("ConfigMap", "ske-sandbox-settings")["data"]["SKE_SANDBOX_STATE"]
    probe = ("import os, socket, urllib.parse; u = urllib.parse.urlsplit(os.environ['SKE_SANDBOX_STATE']); "
             "s = socket.create_connection((u.hostname, u.port), timeout=5); s.sendall(b'PING\\r\\n'); "
             "print(s.recv(64).decode().strip())")
    done = _run([podman, "exec", played.replicas[0].container, "python3", "-c", probe])
    assert done.returncode == 0 and done.stdout.strip() == "+PONG", f"{state}: {_tail(done)}"


@pytest.mark.container
def test_a_replayed_grant_is_refused_by_the_replica_that_took_it(played: Played):
    replica = played.replicas[0]
    with httpx.Client(timeout=10) as http:
        grant = _grant(_issuer(http, replica), _demo_client())
        assert _token(http, replica, grant).status_code == 200
        again = _token(http, replica, grant)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    assert again.json()["error_uri"].endswith("/MP-012")


@pytest.mark.container
def test_a_grant_taken_by_one_replica_is_refused_by_the_other(podman: str, played: Played):  # noqa: F811
    first, second = played.replicas
    served = _run([podman, "exec", second.container, "ske-sandbox", "serve", "--help"]).stdout
    if "--state" not in served:
        pytest.skip("the image's `serve` has no --state yet: each replica keeps the grants it saw to itself")
    with httpx.Client(timeout=10) as http:
        grant = _grant(_issuer(http, first), _demo_client())
        assert _token(http, first, grant).status_code == 200
        again = _token(http, second, grant)
    assert again.status_code == 400 and again.json()["error_uri"].endswith("/MP-012"), again.text
