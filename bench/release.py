"""Releases under load (issue 20): requests failed while a release moves traffic, and how fast a failed analysis
takes the canary's traffic away. Run by bench/release.sh against a release build at default settings.

Three nginx replicas answer at once from aitip's sandbox (process runtime, on the socket aitip gives them): the stable
version, a healthy canary and a broken canary (every answer a 500). A paced client sends about 1,000 requests a
second through the gateway over 16 keep-alive connections and records, per request, when it was sent and answered,
the status and which version answered (the body names it).

  promotion  a release of the healthy canary promoted by hand 5 → 20 → 50 → 100 % every 4 s, then rolled back from
             production: failed requests during each move (target: none), and the share each stage received
  analysis   a release of the broken canary, at the default analysis (30 s intervals, first stage 5 %) and again at a
             50 % first stage with 5 s intervals (finer: the canary gets a request every 2 ms): the time from the
             analysis's verdict (its timeline entry) to the canary's last answer, the requests sent after the verdict
             that still reached it, and deploy → verdict; the canary's 500s before the verdict are what the analysis
             exists to stop, counted apart
"""
import asyncio
import datetime
import io
import json
import pathlib
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request

BASE, ADMIN_PASSWORD = sys.argv[1], sys.argv[2]
RATE = float(sys.argv[3]) if len(sys.argv) > 3 else 1000.0
CONNECTIONS = 16

NGINX = (pathlib.Path(__file__).parent / "replica-nginx.conf").read_text()


def call(method, path, token, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": content_type})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {path}: {error.code} {error.read().decode()[:500]}")


def setup():
    token = call("POST", "/api/v1/auth/login", None, {"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    project = call("GET", "/api/v1/projects", token)["items"][0]["id"]
    experiment = call("POST", "/api/2.0/mlflow/experiments/create", token, {"name": "release-bench"})["experiment_id"]
    run = call("POST", "/api/2.0/mlflow/runs/create", token, {"experiment_id": experiment})["run"]["info"]["run_id"]
    call("POST", "/api/2.0/mlflow/registered-models/create", token, {"name": "bench-model"})
    for _ in range(3):
        call("POST", "/api/2.0/mlflow/model-versions/create", token, {"name": "bench-model", "source": f"runs:/{run}/model", "run_id": run})
    package = io.BytesIO()
    with tarfile.open(fileobj=package, mode="w:gz") as archive:
        for name, status in (("stable", 200), ("canary", 200), ("broken", 500)):
            conf = NGINX.replace("STATUS", str(status)).replace("BODY", json.dumps({"version": name})).encode()
            info = tarfile.TarInfo(f"{name}.conf")
            info.size = len(conf)
            archive.addfile(info, io.BytesIO(conf))
    code = call("POST", f"/api/v1/training/code?project_id={project}", token, raw=package.getvalue(), content_type="application/gzip")["sha256"]

    def deploy(name, version, parent=None):
        body = {"project_id": project, "name": name, "model": f"models:/bench-model/{version}", "runtime": "process",
                "runtime_config": {"command": f"exec /usr/sbin/nginx -e /workspace/error.log -c /workspace/{name}.conf",
                                   "health_path": "/healthz", "code_archive": code},
                "resources": {"cpu": 0.5, "memory_mib": 256}}
        if parent:
            body.update(parent_service_id=parent, traffic_percentage=0)
        return call("POST", "/api/v1/inference/services", token, body)["id"]

    stable = deploy("stable", 1)
    canaries = {"canary": deploy("canary", 2, stable), "broken": deploy("broken", 3, stable)}
    deadline = time.monotonic() + 120
    for service in [stable, *canaries.values()]:
        while call("GET", f"/api/v1/inference/services/{service}", token)["health_status"] != "healthy":
            if time.monotonic() > deadline:
                sys.exit(f"service {service} did not become healthy")
            time.sleep(0.2)
    key = call("POST", "/api/v1/auth/api-keys", token, {"name": "app", "scopes": ["inference:invoke"]})["key"]
    return token, project, stable, canaries, key


class Load:
    """About RATE requests a second over CONNECTIONS keep-alive connections, each on its own schedule (a late answer
    does not push the next send back: the schedule is kept, as callers keep theirs)."""

    def __init__(self, service, key):
        self.request = (f"GET /serve/{service}/predict HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n").encode()
        host, port = BASE.split("//")[1].split(":")
        self.address = (host, int(port))
        self.records = []  # (sent, answered, status, version)
        self.running = True
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    async def connection(self, index):
        interval = CONNECTIONS / RATE
        next_send = time.monotonic() + index * interval / CONNECTIONS
        reader = writer = None
        while self.running:
            await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            next_send += interval
            sent = time.time()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(*self.address)
                writer.write(self.request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                version = json.loads(body).get("version", "?") if body.startswith(b"{") else "?"
            except Exception as error:  # a refused or dropped connection is a failed request
                status, version = 0, type(error).__name__
                writer = None
            self.records.append((sent, time.time(), status, version))

    async def main(self):
        await asyncio.gather(*(self.connection(i) for i in range(CONNECTIONS)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.running = False
        self.thread.join()

    def between(self, start, end):
        return [r for r in self.records if start <= r[0] < end]


def summary(records):
    failed = [r for r in records if r[2] != 200]
    versions = {}
    for record in records:
        versions[record[3]] = versions.get(record[3], 0) + 1
    share = ", ".join(f"{name} {count * 100 / max(len(records), 1):.1f} %" for name, count in sorted(versions.items()))
    return f"{len(records)} requests, {len(failed)} failed ({share})"


def main():
    token, project, stable, canaries, key = setup()
    print(f"  load: about {RATE:.0f} req/s offered over {CONNECTIONS} keep-alive connections, one API key (inference:invoke)")

    release = call("POST", "/api/v1/releases", token, {
        "project_id": project, "name": "promotion", "version": "2", "service_id": stable, "canary_service_id": canaries["canary"],
        "approval_policy": {"required": 0}, "analysis": {"auto_promote": False, "interval_seconds": 3600}})["id"]
    with Load(stable, key) as load:
        marks = [("stable only", time.time())]
        time.sleep(4)
        call("POST", f"/api/v1/releases/{release}/deploy", token)
        marks.append(("deploy → 5 %", time.time()))
        for label in ("promote → 20 %", "promote → 50 %", "promote → 100 %"):
            time.sleep(4)
            call("POST", f"/api/v1/releases/{release}/promote", token)
            marks.append((label, time.time()))
        time.sleep(4)
        call("POST", f"/api/v1/releases/{release}/rollback", token, {"reason": "bench"})
        marks.append(("rollback → 0 %", time.time()))
        time.sleep(4)
        marks.append(("end", time.time()))
    print("\n### promotion and rollback under load (stages moved by hand every 4 s)")
    for (label, start), (_, end) in zip(marks, marks[1:]):
        print(f"  {label:16} {summary(load.between(start, end))}")
    total = load.between(marks[0][1], marks[-1][1])
    elapsed = marks[-1][1] - marks[0][1]
    print(f"  whole run        {summary(total)}; {len(total) / elapsed:.0f} req/s achieved")

    print("\n### a broken canary (every answer 500): from the analysis's verdict to no request reaching the canary")
    broken(token, project, stable, canaries["broken"], key, "3.0", "default analysis and stages: interval 30 s, min_requests 20, max_error_rate 5 %, first stage 5 %", {}, {})
    # At 5 % the canary gets a request every 20 ms or so, which bounds how finely its last answer can be placed; at
    # 50 % it gets one every 2 ms.
    broken(token, project, stable, canaries["broken"], key, "3.1", "stages [50, 100] and interval_seconds 5 (changed from the defaults for resolution)",
           {"canary_stages": [50, 100]}, {"interval_seconds": 5})


def broken(token, project, stable, canary, key, version, label, fields, analysis):
    release = call("POST", "/api/v1/releases", token, {
        "project_id": project, "name": "broken", "version": version, "service_id": stable, "canary_service_id": canary,
        "approval_policy": {"required": 0}, "analysis": analysis, **fields})["id"]
    with Load(stable, key) as load:
        time.sleep(2)
        deployed = time.time()
        call("POST", f"/api/v1/releases/{release}/deploy", token)
        deadline = time.monotonic() + 120
        while (view := call("GET", f"/api/v1/releases/{release}", token))["status"] != "rolled_back":
            if time.monotonic() > deadline:
                sys.exit(f"the broken canary was not rolled back: {view['status']} {view['status_reason']}")
            time.sleep(0.5)
        time.sleep(3)
    verdict = next(e for e in view["timeline"] if e["kind"] == "analysis_failed")
    verdict_at = datetime.datetime.fromisoformat(verdict["at"].replace("Z", "+00:00")).timestamp()
    hits = [r for r in load.records if r[3] == "broken"]
    last = max(r[1] for r in hits)
    late = [r for r in hits if r[0] >= verdict_at]
    others = [r for r in load.records if r[3] != "broken"]
    print(f"  {label}:")
    print(f"    deploy → verdict (analysis_failed on the timeline): {verdict_at - deployed:.2f} s")
    print(f"    verdict → the canary's last answer: {(last - verdict_at) * 1000:+.0f} ms; requests sent after the verdict that reached the canary: {len(late)}")
    print(f"    the canary's answers before the rollback (what the analysis exists to stop): {len(hits)}, all 500")
    print(f"    every other request: {summary(others)}")

main()
