"""What brings a site back after a reboot (the engine restarted without live-restore: every container stopped, then
started again by its restart policy), shown without restarting the engine (bench/chaos rows 11a and 11c do that,
on an engine of their own):

- bluegreen's reloads leave nginx to its restart policy: Docker marks a container that was sent a signal through
  its API as stopped by hand, and `unless-stopped` then leaves it down at the next engine start (moby/moby#41302);
- what bluegreen starts runs with the service's `restart:`; what it keeps aside is set to `no` (nginx no longer
  names it); what it puts back gets the service's policy again.
"""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from helpers import wait_until
from site_under_test import Site, give_up_sooner


def stopped_by_hand(client: docker.DockerClient, name: str) -> bool:
    """The engine's own record of the container (not shown by `docker inspect`): would a restart of the engine
    leave it down although its policy is `unless-stopped`?"""
    container = client.containers.get(name)
    record = Path(client.info()["DockerRootDir"]) / "containers" / container.id / "config.v2.json"
    if not record.is_file():
        pytest.skip(f"the engine's container records are not readable here ({record})")
    return bool(json.loads(record.read_text())["HasBeenManuallyStopped"])


def policy(client: docker.DockerClient, name: str) -> str:
    return client.containers.get(name).attrs["HostConfig"]["RestartPolicy"]["Name"] or "no"


def test_deploys_and_rollbacks_leave_nginx_to_its_restart_policy(stack, tmp_path):
    """After a deploy, a second deploy and a rollback (each reloads nginx with `reload: signal`, the default),
    nginx is not marked stopped by hand, so `unless-stopped` brings it back with the engine."""
    client = stack.client
    client.containers.get(stack.nginx_name).update(restart_policy={"Name": "unless-stopped"})
    site = Site(stack, tmp_path)
    for version in ("v1", "v2"):
        result = site.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    back = site.bg("rollback", "backend")
    assert back.returncode == 0, back.stdout + back.stderr
    assert not stopped_by_hand(client, stack.nginx_name)
    # What the observation would show had the reload gone through Docker's kill API:
    client.containers.get(stack.nginx_name).kill(signal="SIGHUP")
    assert stopped_by_hand(client, stack.nginx_name)


def test_what_bluegreen_starts_keeps_aside_and_puts_back_carries_the_right_restart_policy(stack, tmp_path):
    """Started: the service's `restart:`. Kept aside while a candidate takes its place: `no` (nginx does not name
    it: an engine start must not bring back a container nobody routes to, under a name in use). Put back after a
    failed candidate: the service's policy again."""
    client = stack.client
    site = Site(stack, tmp_path, service={"restart": "unless-stopped"})
    for version in ("v1", "v2"):
        result = site.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    blue, green = site.container("blue"), site.container("green")
    assert policy(client, blue) == policy(client, green) == "unless-stopped"

    killed = site.deploy("v3", BLUEGREEN_FAILPOINT="deploy.candidate_started")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert policy(client, f"{blue}-replaced") == "no"  # the previous blue, stopped aside
    assert policy(client, blue) == "unless-stopped"  # the candidate

    failed = give_up_sooner(site).deploy("v3", APP_HEALTH="fail")  # repairs the killed run, then its own candidate fails
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert client.containers.get(blue).labels.get("bluegreen.image", "").endswith(":v1")  # v1 put back
    assert policy(client, blue) == "unless-stopped"
    assert client.containers.get(blue).status == "running"


@pytest.mark.parametrize("command", [("status", "backend"), ("deploy", "backend")])
def test_a_command_arriving_while_docker_restarts_nginx_waits_for_it(stack, tmp_path, command):
    """A reboot's race, on this stack alone: nginx (`--restart always`) started while the container its upstream
    names was not up, so it exits ("host not found in upstream") and Docker retries it with its back-off
    (`restarting`). The container comes back; a command that arrives before nginx's next try waits for it, bounded,
    and goes on — instead of exit 6 "the nginx container does not run" (what it did before)."""
    client = stack.client
    stack.nginx_that_restarts("always")
    site = Site(stack, tmp_path, service={"restart": "unless-stopped"})
    first = site.deploy("v1")
    assert first.returncode == 0, first.stdout + first.stderr
    nginx, blue = client.containers.get(stack.nginx_name), client.containers.get(site.container("blue"))
    blue.stop(timeout=2)
    nginx.restart(timeout=2)

    def just_failed_again(last=[-1]) -> bool:
        """nginx failed its 4th try or a later one a moment ago: its next try is >= 1.6 s away (Docker's back-off
        doubles from 0.1 s), time enough for the command to find it restarting."""
        attrs = client.api.inspect_container(stack.nginx_name)
        count, previous = attrs["RestartCount"], last[0]
        last[0] = count
        return count >= 4 and count != previous and attrs["State"]["Status"] == "restarting"

    wait_until(just_failed_again, 30, "Docker to restart nginx a 4th time (its upstream names a stopped container)",
               interval=0.02)
    blue.start()  # what the engine does for the app at a reboot, a moment after nginx's try
    result = site.bg(*command, APP_TAG="v2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Docker is restarting " + stack.nginx_name in result.stdout
    assert client.containers.get(stack.nginx_name).status == "running"
    code, doc = site.status()
    assert code == 0 and doc["active"] == ("blue" if command[0] == "status" else "green"), doc
