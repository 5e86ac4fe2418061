"""A reboot, for real: the Docker engine stopped and started again without live-restore (every container stopped,
then started by its restart policy), and the site comes back by itself — nginx serving within 5 s of the engine
answering, on the color status reports, a command run at once works, and so does the next deploy.

This restarts an engine, so it runs only against an engine of its own (bench/chaos/engine.py: a dockerd in a network
namespace of its own), never the machine's; elsewhere it skips. Run it inside that namespace:

    python bench/chaos/engine.py up bgh-reboot
    nsenter --net=/run/netns/bgh-reboot env DOCKER_HOST=unix:///run/docker-bgh-reboot.sock \\
        .venv/bin/pytest tests/test_reboot_engine.py -q
    python bench/chaos/engine.py down bgh-reboot
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

from helpers import wait_until
from site_under_test import Site

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from chaos.engine import of_docker_host  # noqa: E402

OWN = of_docker_host()
pytestmark = pytest.mark.skipif(OWN is None, reason="restarts the engine: only against an engine of its own "
                                                    "(DOCKER_HOST=unix:///run/docker-NAME.sock, see the docstring)")
SERVING_WITHIN = 5.0  # issue 21: seconds after the engine answers


def served(url: str) -> str | None:
    """The color that answered a 2xx through nginx, None when nothing did (a 502 is not service)."""
    try:
        answer = httpx.get(url + "/", timeout=1)
    except httpx.HTTPError:
        return None
    return answer.headers.get("X-App-Color", "?") if answer.is_success else None


@pytest.mark.parametrize("policy", ["unless-stopped", "always"])
def test_the_site_comes_back_by_itself_after_the_engine_restarts_without_live_restore(stack, tmp_path, policy):
    """nginx with either policy that brings it back. `unless-stopped` also proves bluegreen's reloads (two deploys)
    never went through Docker's kill API, which would have marked nginx stopped by hand (moby/moby#41302)."""
    client = stack.client
    assert not client.info().get("LiveRestoreEnabled"), "the engine must run without live-restore (a reboot)"
    stack.nginx_that_restarts(policy)
    site = Site(stack, tmp_path, service={"restart": "unless-stopped"})
    for version in ("v1", "v2"):
        result = site.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    assert served(stack.public_url) == "green"

    OWN.stop()
    OWN.start()  # returns once the engine answers: the moment a reboot's operator (or Jenkins) can act
    answered = time.monotonic()

    status = site.bg("status", "backend", "--json")  # at once, whatever nginx is doing: waits, bounded, not exit 6
    assert status.returncode == 0, status.stdout + status.stderr

    url = stack.public_url
    color = wait_until(lambda: served(url), SERVING_WITHIN, f"nginx to serve on {url} after the engine restart")
    assert time.monotonic() - answered <= SERVING_WITHIN
    assert color == "green"
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green", doc

    after = site.deploy("v3")
    assert after.returncode == 0, after.stdout + after.stderr
    assert served(url) == "blue"
