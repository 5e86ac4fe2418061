"""The Swarm runtime on a real single-node swarm (`runtime: swarm`, 3 replicas, `endpoint_mode: dnsrr`): each color
is a service on an attachable overlay, every task is probed from inside the overlay by the nginx container,
traffic moves with no failed request, a task that never answers stops the switch, a task that dies after the
switch is rolled back by the monitor, a killed run is repaired by the next one, and status has a row per task."""

from __future__ import annotations

import ipaddress
import re
import signal
import threading

import pytest

from helpers import wait_until
from site_under_test import ELSEWHERE, SITE, UPSTREAM, Site, name_elsewhere, run_paused

SWARM = {"runtime": "swarm", "replicas": 3, "endpoint_mode": "dnsrr"}
POOL = ipaddress.ip_network("10.213.0.0/16")  # the tests' swarm address pool (conftest.py)
# A request nginx already sent to a task that was killed waits for its connect to fail: bounded (docs/growing.md).
SHORT_CONNECT = SITE.replace("location / {", "location / {\n        proxy_connect_timeout 1s;")


def make_site(stack, tmp_path, **service) -> Site:
    site = Site(stack, tmp_path, service={**SWARM, **service}, health={"timeout": "6s"})
    stack.write_nginx_file("conf.d/default.conf", SHORT_CONNECT)
    stack.reload_nginx()
    return site


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def upstream_lines(site) -> list[str]:
    text = site.upstream_text()
    return [line.strip() for line in text[text.index(f"upstream {UPSTREAM}"):].split("}")[0].splitlines()
            if line.strip().startswith(("server", "zone", "resolver"))]


def task_container(client, service: str, slot: int, image: str | None = None):
    """The running container of task `<service>.<slot>` (running `image`, when given), or None."""
    labels = {"label": f"bluegreen.image={image}"} if image else {}
    found = client.containers.list(filters={"name": f"^/{re.escape(service)}\\.{slot}\\.", "status": "running",
                                            **labels}, ignore_removed=True)
    return found[0] if found else None


def freeze_task_when_running(client, service: str, slot: int, image: str) -> threading.Thread:
    """SIGSTOP task `<service>.<slot>` of `image` as soon as its container runs: it never answers."""
    def run():
        wait_until(lambda: task_container(client, service, slot, image), 30, f"{service}.{slot} to run",
                   interval=0.02).kill(signal="SIGSTOP")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def scale(client, service: str, replicas: int) -> None:
    """`docker service scale`: only the replica count changes (the SDK's Service.scale updates every task)."""
    current = client.api.inspect_service(service)
    spec = current["Spec"]
    client.api.update_service(current["ID"], current["Version"]["Index"], task_template=spec["TaskTemplate"],
                              name=spec["Name"], labels=spec.get("Labels"), mode={"Replicated": {"Replicas": replicas}},
                              update_config=spec.get("UpdateConfig"), endpoint_spec=spec.get("EndpointSpec"))


def services(site) -> set[str]:
    return {s.name for s in site.stack.client.services.list(filters={"name": site.stack.name})}


def test_deploy_and_rollback_with_three_replicas_under_load(swarm_stack, tmp_path, request_loop):
    """nginx names each task's overlay address; v1 → v2 → v3 → rollback under load fails no request, and once a
    deploy returned only its version answers (no replaced task lingers); status has a row per task."""
    site = make_site(swarm_stack(), tmp_path)
    blue, green = site.container("blue"), site.container("green")
    out = ok(site.deploy("v1")).stdout
    assert "3 instances started" in out and "on each of 3 instances" in out
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    ok(site.deploy("v2"))
    lines = upstream_lines(site)  # each task's overlay address, its task beside it
    assert [line.split("# instance ")[1] for line in lines] == [f"{green}.{i}" for i in (1, 2, 3)] + \
        [f"{blue}.{i}" for i in (1, 2, 3)], lines
    assert all(ipaddress.ip_address(line.split()[1].split(":")[0]) in POOL for line in lines)
    ok(site.deploy("v3"))  # blue's v1 tasks are replaced: none of them may answer once the deploy returned
    v3_done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > v3_done + 0.5, 10, "requests after the deploy")
    rollback_start = loop.now()
    rolled = ok(site.bg("rollback", "backend"))
    assert "Nginx upstream rolled back: blue → green" in rolled.stdout
    done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > done + 0.3, 10, "requests after the rollback")
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    # (while nginx replaces its workers both generations accept for an instant, so v2, v1, v2 may show inside a
    # switch; once a command returned, only the version it switched to answers: the line below)
    assert traffic.transitions()[0] == "v1" and traffic.transitions()[-1] == "v2", traffic.summary()
    assert set(traffic.versions) == {"v1", "v2", "v3"}, traffic.summary()
    assert {h.version for h in traffic.hits if v3_done <= h.t < rollback_start} == {"v3"}, traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and doc["active"] == "green", doc["problems"]
    assert doc["runtime"] == {"kind": "swarm", "replicas": 3, "min_healthy": 3, "running": {"blue": 3, "green": 3}}
    rows = [(c["name"], c["role"], c["state"], c["image"]) for c in doc["containers"]]
    assert rows == [(f"{blue}.{i}", "backup", "running", "bluegreen-test/app:v3") for i in (1, 2, 3)] + \
        [(f"{green}.{i}", "active", "running", "bluegreen-test/app:v2") for i in (1, 2, 3)]
    assert all(ipaddress.ip_address(c["address"]) in POOL for c in doc["containers"])
    assert services(site) == {blue, green}


def test_nginx_122_gets_task_addresses_and_a_replaced_task_is_rendered_again(swarm_stack, images, tmp_path,
                                                                           request_loop):
    """nginx 1.22 cannot resolve at run time: bluegreen renders each task's address (named beside it). A task
    Swarm replaced leaves a stale address: status says so, and the next operation renders the new one first."""
    stack = swarm_stack(nginx_image=images.nginx)  # Debian 12's nginx 1.22: no `resolve`
    site = make_site(stack, tmp_path, restart="unless-stopped")  # Swarm restarts a task that dies
    green = site.container("green")
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    lines = upstream_lines(site)
    assert len(lines) == 6 and all(re.fullmatch(r"server 10\.213\.\d+\.\d+:8000 max_fails=3 fail_timeout=30s"
                                                r"( backup)?; # instance \S+\.[123]", line) for line in lines), lines
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    old = task_container(site.stack.client, green, 2)
    old.kill()
    wait_until(lambda: site.status()[1]["runtime"]["running"]["green"] == 3, 30, "Swarm to replace the task")
    code, doc = site.status()
    assert code == 3 and [p["id"] for p in doc["problems"]] == ["stale_servers"], doc["problems"]
    assert doc["problems"][0]["repairable"]
    rolled = ok(site.bg("rollback", "backend"))
    assert "rendering the addresses the tasks have now" in rolled.stdout
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue", doc["problems"]
    addresses = {c["address"] for c in doc["containers"] if c["color"] == "green"}
    assert {line.split()[1].split(":")[0] for line in upstream_lines(site) if "backup" in line} == addresses


def test_nginx_resolving_task_names_itself_follows_a_replaced_task(swarm_stack, tmp_path):
    """`upstream_resolve: on` (nginx 1.30): the upstream names tasks.<service> with `resolve`; a task Swarm
    replaces is followed by nginx without a new file, and a rollback still switches. (Not the default: nginx
    loses requests at reloads with it, docs/growing.md.)"""
    site = make_site(swarm_stack(), tmp_path, upstream_resolve="on", restart="unless-stopped")
    blue, green = site.container("blue"), site.container("green")
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    assert upstream_lines(site) == [
        f"zone {UPSTREAM} 64k;", "resolver 127.0.0.11 valid=2s;",
        f"server tasks.{green}:8000 resolve max_fails=3 fail_timeout=30s;",
        f"server tasks.{blue}:8000 resolve max_fails=3 fail_timeout=30s backup;"]
    before = site.upstream_text()
    task_container(site.stack.client, green, 1).kill()
    wait_until(lambda: site.status()[1]["runtime"]["running"]["green"] == 3, 30, "Swarm to replace the task")
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and site.upstream_text() == before, doc["problems"]
    assert "Nginx upstream rolled back: green → blue" in ok(site.bg("rollback", "backend")).stdout


def test_a_task_that_never_answers_stops_the_switch(swarm_stack, tmp_path, request_loop):
    """One task of three hangs: no switch, the candidate service goes, the previous blue service is put back
    from the spec kept aside (and is a rollback target again), and the error names the task."""
    site = make_site(swarm_stack(), tmp_path)
    blue = site.container("blue")
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))  # green v2 active, blue v1 the rollback target
    before = upstream_lines(site)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    freeze_task_when_running(site.stack.client, blue, 2, "bluegreen-test/app:v3")
    result = site.deploy("v3", APP_START_DELAY="1")
    traffic = loop.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"Health check of the new blue environment failed for good: {blue}.2: " in output
    assert f"Keeping the previous {blue} aside as {blue}-replaced" in output
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    after = upstream_lines(site)  # green's tasks as before; blue's v1 back as backup, at its new tasks' addresses
    assert [line for line in after if "backup" not in line] == [line for line in before if "backup" not in line]
    assert [line.split("# instance ")[1] for line in after if "backup" in line] == [f"{blue}.{i}" for i in (1, 2, 3)]
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green", doc["problems"]
    assert {c["image"] for c in doc["containers"] if c["color"] == "blue"} == {"bluegreen-test/app:v1"}
    assert services(site) == {blue, site.container("green")}
    assert "Nginx upstream rolled back: green → blue" in ok(site.bg("rollback", "backend")).stdout


def test_a_task_that_dies_after_the_switch_is_rolled_back_by_the_monitor(swarm_stack, tmp_path, request_loop):
    """The monitor watches each task from inside the overlay: one killed during the watch rolls back (exit 5)."""
    site = make_site(swarm_stack(), tmp_path)
    site.config["services"]["backend"]["monitor"] = {"interval": "0.5s", "min_requests": 1000, "failures": 3}
    site.write_config()
    green = site.container("green")
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    run = site.spawn("deploy", "backend", "--monitor", "20s", APP_TAG="v2")
    wait_until(lambda: [e["action"] for e in site.history()] == ["deploy", "deploy"], 40, "the watch to begin")
    task_container(site.stack.client, green, 3).kill()
    out, err = run.communicate(timeout=60)
    done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > done + 0.3, 10, "requests after the rollback")
    traffic = loop.stop()
    assert run.returncode == 5, out + err
    assert f"{green}.3 failed 3 times in a row" in out
    assert traffic.failures == [], traffic.summary()
    assert traffic.transitions()[-1] == "v1", traffic.summary()
    assert site.status()[1]["active"] == "blue"


@pytest.mark.parametrize("point, left", [
    ("deploy.candidate_started", {"stale_lock", "orphan", "kept"}),
    ("nginx.reloaded#2", {"stale_lock", "orphan", "kept", "unfinished_switch"}),
])
def test_a_killed_deploy_is_repaired_by_the_next_one(swarm_stack, tmp_path, request_loop, point, left):
    """SIGKILL while the candidate service runs (or right after nginx switched to it): status says what was
    left, and the next deploy repairs it (the previous version back, then the deploy) with no failed request."""
    site = make_site(swarm_stack(), tmp_path)
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    killed = site.deploy("v3", BLUEGREEN_FAILPOINT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == left, doc["problems"]
    again = ok(site.deploy("v3"))
    assert "Putting back" in again.stdout and "unfinished candidate" in again.stdout
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    assert traffic.transitions()[-1] == "v3", traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and doc["kept"] == [], doc["problems"]
    assert services(site) == {site.container("blue"), site.container("green")}


def test_status_has_a_row_per_task_in_every_state(swarm_stack, tmp_path):
    """A task killed (restart: no, so Swarm leaves it failed) and one scaled away by hand: status has a row for
    each slot, with its state and why, and says both colors are short of replicas."""
    site = make_site(swarm_stack(), tmp_path)
    blue, green = site.container("blue"), site.container("green")
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    task_container(site.stack.client, green, 2).kill()
    scale(site.stack.client, blue, 2)
    def states():
        return {c["name"]: c["state"] for c in site.status()[1]["containers"]}

    wait_until(lambda: states() == {f"{blue}.1": "running", f"{blue}.2": "running", f"{blue}.3": "absent",
                                    f"{green}.1": "running", f"{green}.2": "failed", f"{green}.3": "running"},
               30, "the killed task to fail and the scaled one to go")
    result = site.bg("status", "backend")
    assert result.returncode == 3
    assert re.search(rf"{re.escape(green)}\.2 +active +failed .*\(task: non-zero exit \(137\)\)", result.stdout), \
        result.stdout
    assert re.search(rf"{re.escape(blue)}\.3 +backup +absent", result.stdout), result.stdout
    code, doc = site.status()
    problems = [p["message"] for p in doc["problems"]]
    assert any(f"{green}.2 (green) is not running (failed): 2 of 3" in m for m in problems), problems
    assert any(f"{blue}.3 (blue) is not running (absent): 2 of 3" in m for m in problems), problems


def test_a_service_nginx_names_elsewhere_is_never_replaced(swarm_stack, tmp_path, request_loop):
    """Another site starts proxying to blue's tasks by name (`tasks.<service>`) while a deploy into blue runs: the
    service is neither set aside nor updated in place; everything is put back (exit 1), blue's tasks run on."""
    site = make_site(swarm_stack(), tmp_path, replicas=2)
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    blue = site.container("blue")

    def tasks() -> set[str]:
        return {t["ID"] for t in site.stack.client.api.tasks(filters={"service": blue, "desired-state": "running"})}

    before = tasks()
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = run_paused(site, "deploy.room_made", lambda: name_elsewhere(site, f"tasks.{blue}"), "deploy", "backend",
                        APP_TAG="v3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"nginx names tasks.{blue} at /etc/nginx/{ELSEWHERE}:4 (proxy_pass)" in result.stderr
    traffic = loop.stop()
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    assert tasks() == before and len(before) == 2
    assert services(site) == {blue, site.container("green")}
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green", doc["problems"]
