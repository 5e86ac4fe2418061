"""Every automatic-rollback trigger, each under traffic: the request loop sees zero failures, the candidate
is removed, nginx serves the previous file again, and status is consistent afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import pytest

from site_under_test import Site, UPSTREAM, give_up_sooner, run_paused


@pytest.fixture
def site(stack, tmp_path):
    s = Site(stack, tmp_path)
    first = s.deploy("v1")
    assert first.returncode == 0, first.stdout + first.stderr
    return s


def failed_deploy_keeps_v1(site, request_loop, version="v2", loop_path="/", switched=False,
                           meanwhile: Callable[[], None] | None = None, **env):
    """Deploy that must fail; returns its output after checking everything the rules promise. `meanwhile` breaks
    something once the candidate started (a deploy refuses to start on an nginx that is broken already)."""
    before = site.upstream_text()
    loop = request_loop(site.stack.public_url + loop_path, interval=0.02)
    result = run_paused(site, "deploy.candidate_started", meanwhile, "deploy", "backend", APP_TAG=version, **env) \
        if meanwhile else site.deploy(version, **env)
    traffic = loop.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Deploy failed and was rolled back; traffic stays on blue" in output
    assert traffic.failures == [], traffic.summary()
    if switched:  # traffic reached the candidate between the switch and the restore, and came back
        # (while a reload starts new workers, old and new generations both accept for an instant)
        seen = traffic.transitions()
        assert seen[0] == seen[-1] == "v1" and set(seen) <= {"v1", version}, traffic.summary()
    else:
        assert set(traffic.versions) == {"v1"}, traffic.summary()
    assert site.upstream_text() == before
    assert site.container("green") not in site.running_names()
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and doc["active"] == "blue", doc["problems"]
    entry = site.history()[0]
    assert entry["action"] == "deploy" and entry["result"] == "failed" and entry["reason"]
    return output


@contextmanager
def appearing_nginx_file(site, name: str, text: str):
    """`meanwhile` for failed_deploy_keeps_v1: another file appears in nginx's conf.d while the deploy runs (gone
    after the block)."""
    try:
        yield lambda: site.stack.write_nginx_file(f"conf.d/{name}", text)
    finally:
        site.stack.nginx_exec("rm", "-f", f"/etc/nginx/conf.d/{name}")


def test_candidate_exits_during_health_check(site, request_loop):
    """A candidate that crashes is detected at once (not at the deadline), and its log tail is shown."""
    output = failed_deploy_keeps_v1(site, request_loop, APP_DIE_AFTER="0.3", APP_START_DELAY="1")
    assert "exited during its health check" in output
    assert "app v2" in output or "│" in output  # the candidate's last log lines


def test_health_deadline_passes(site, request_loop):
    """A candidate whose health check keeps failing is given up at the deadline."""
    output = failed_deploy_keeps_v1(give_up_sooner(site), request_loop, APP_HEALTH="fail")
    assert "Health check of the new green environment failed for good: HTTP 503" in output


def test_health_redirect_fails_with_a_hint(site, request_loop):
    """A 301 from the health endpoint is a failure, with a hint about redirects."""
    output = failed_deploy_keeps_v1(give_up_sooner(site), request_loop, APP_HEALTH="redirect")
    assert "redirect → /login" in output and "a redirect is not healthy" in output


def test_image_that_cannot_start(site, request_loop):
    """An image that does not exist (and cannot be pulled) fails the deploy before nginx is touched."""
    output = failed_deploy_keeps_v1(site, request_loop, version="does-not-exist")
    assert "Cannot pull image" in output


def test_nginx_test_fails(site, request_loop):
    """`nginx -t` failing (a broken file appeared during the deploy) puts the previous file back without a reload;
    the candidate is removed though nginx cannot print its configuration any more (the guard knows what nginx
    serves from its reading before: nginx loaded nothing since)."""
    with appearing_nginx_file(site, "zz-broken.conf", "this is not nginx config;\n") as appear:
        output = failed_deploy_keeps_v1(site, request_loop, meanwhile=appear)
    assert "nginx -t" in output


def test_reload_that_nginx_does_not_apply(site, request_loop):
    """A reload the master refuses after `nginx -t` passed (a bind error, only logged) is not confirmed."""
    # `nginx -t` tolerates EADDRINUSE; the master at reload does not, logs it and keeps the old config.
    # So: something else in the nginx container holds 127.0.0.1:8081, and a server listens there too.
    code, out = site.stack.nginx_exec("busybox", "httpd", "-p", "127.0.0.1:8081", "-h", "/tmp")
    assert code == 0, out
    with appearing_nginx_file(site, "zz-bind.conf", "server { listen 127.0.0.1:8081; return 204; }\n") as appear:
        output = failed_deploy_keeps_v1(site, request_loop, meanwhile=appear)
    assert "did not confirm the reload" in output


def test_verification_through_nginx_fails(stack, tmp_path, request_loop):
    """Healthy on its direct path but failing through nginx: traffic goes back to the previous color."""
    site = Site(stack, tmp_path, health={"path": "/", "public_path": "/health"})
    assert site.deploy("v1").returncode == 0
    output = failed_deploy_keeps_v1(site, request_loop, switched=True, APP_HEALTH="fail")
    assert "Verification through nginx failed" in output and "Previous nginx upstream restored" in output


def test_missing_variables_are_all_listed_and_nothing_changes(site):
    """Every missing variable is named at once, exit 2, and no container or file is touched."""
    before, names = site.upstream_text(), site.running_names()
    result = site.bg("deploy", "backend", DATABASE_URL="")  # APP_TAG unset too
    assert result.returncode == 2
    assert "DATABASE_URL, APP_TAG" in result.stderr
    assert site.upstream_text() == before and site.running_names() == names


def test_lock_held_is_refused_with_its_holder(site):
    """A second operation while one runs exits 4 and names the holder; nothing changes."""
    from bluegreen.parts.state import StateDir

    holder = StateDir(site.state_dir, "backend")
    holder.acquire("deploy backend")
    try:
        before = site.upstream_text()
        result = site.deploy("v2")
        assert result.returncode == 4
        assert "Another operation on 'backend' is running: pid" in result.stderr
        assert "deploy backend" in result.stderr
        assert site.upstream_text() == before
        assert site.bg("rollback", "backend").returncode == 4
    finally:
        holder.unlock()


@pytest.mark.parametrize("change, key", [
    (lambda c: c["services"]["backend"].update(container_prefix="evil;rm"), "services.backend.container_prefix"),
    (lambda c: c["services"]["backend"].update(upstream="x{}"), "services.backend.upstream"),
    (lambda c: c["services"]["backend"].update(colour="blue"), "services.backend.colour"),
])
def test_bad_config_is_refused_before_anything(site, change, key):
    """A bad config value exits 2 naming the key; nothing changes."""
    change(site.config)
    site.write_config()
    before = site.upstream_text()
    result = site.deploy("v2")
    assert result.returncode == 2 and key in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert site.upstream_text() == before


def test_bad_image_reference_and_unknown_service(site):
    """An --image that is not a reference and an unknown service are usage errors (exit 2)."""
    result = site.bg("deploy", "backend", "--image", "app:1; rm -rf /", APP_TAG="v2")
    assert result.returncode == 2 and "--image" in result.stderr
    result = site.bg("deploy", "frontend")
    assert result.returncode == 2 and "Unknown service 'frontend'" in result.stderr
    assert UPSTREAM in site.upstream_text()
