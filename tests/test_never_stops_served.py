"""The invariant, on the real engine in both switch modes: a container nginx serves is never stopped, replaced or
set aside by a deploy. Another site nginx serves proxies straight to the idle color's container (outside
bluegreen's file): a deploy into that color refuses before it changes anything (exit 3); when the site appears
while the deploy runs, the step that would set the container aside stops, the deploy puts everything back
(exit 1), and the container keeps serving that site. An interrupted run's candidate nginx has come to name is not
removed by the repair either. Every case under load: 0 failed requests."""

from __future__ import annotations

import pytest

from site_under_test import ELSEWHERE, hand_reload, name_elsewhere, run_paused, version

MODES = ("steady_site", "dict_site")  # switch: reload (nginx 1.22), switch: shared-dict (nginx 1.30 + njs)


def fingerprint(site, name: str) -> tuple:
    """What changes if a container is stopped, replaced, set aside or restarted."""
    c = site.stack.client.containers.get(name)
    return c.id, c.name, c.attrs["State"]["Running"], c.attrs["State"]["StartedAt"], c.attrs["RestartCount"]


def served_elsewhere(site) -> str | None:
    """The version the other site answers with (nginx proxying straight to the container it names)."""
    code, out = site.stack.nginx_exec("busybox", "wget", "-S", "-O", "/dev/null", "http://127.0.0.1:8082/")
    found = [line.split(":", 1)[1].strip() for line in out.splitlines() if "X-App-Version" in line]
    return found[0] if code == 0 and found else None


@pytest.mark.parametrize("mode", MODES)
def test_a_deploy_into_a_color_nginx_names_elsewhere_refuses_first(request, request_loop, mode):
    """Green serves, blue is named by another site: deploy v3 (into blue) exits 3 naming the file and line;
    nothing changed, recorded as refused."""
    site = request.getfixturevalue(mode)
    blue = site.container("blue")
    name_elsewhere(site, blue)
    before, names, kept = site.upstream_text(), site.running_names(), fingerprint(site, blue)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = site.deploy("v3")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"nginx names {blue} at /etc/nginx/{ELSEWHERE}:4 (proxy_pass)" in result.stderr
    assert "Nothing was changed" in result.stderr
    traffic = loop.stop()
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    assert site.upstream_text() == before and site.running_names() == names and fingerprint(site, blue) == kept
    assert site.history()[0]["result"] == "refused" and served_elsewhere(site) == "v1"


@pytest.mark.parametrize("mode", MODES)
def test_a_color_nginx_comes_to_name_while_the_deploy_runs_is_never_set_aside(request, request_loop, mode):
    """The other site appears (and nginx loads it) after the deploy took blue out of bluegreen's file: the set
    aside stops, the deploy puts nginx's file of before back (exit 1), blue keeps running and serving that site;
    traffic never leaves green."""
    site = request.getfixturevalue(mode)
    blue = site.container("blue")
    before, kept = site.upstream_text(), fingerprint(site, blue)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = run_paused(site, "deploy.room_made", lambda: name_elsewhere(site, blue), "deploy", "backend",
                        APP_TAG="v3")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"Not stopping {blue}: nginx names {blue} at /etc/nginx/{ELSEWHERE}:4 (proxy_pass)" in output
    assert "Deploy failed and was rolled back; traffic stays on green" in output
    traffic = loop.stop()
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    assert fingerprint(site, blue) == kept and served_elsewhere(site) == "v1"
    assert site.upstream_text() == before and site.running_names() == {blue, site.container("green")}
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green" and doc["upstream"]["backup"] == [blue], doc["problems"]


def test_an_interrupted_runs_candidate_that_nginx_names_is_not_removed_by_the_repair(steady_site, request_loop):
    """A deploy killed with its candidate started leaves an unfinished candidate; once another site names it, the
    next deploy's repair stops (exit 1) instead of removing it; with that site gone the next deploy repairs and
    finishes."""
    site = steady_site
    blue = site.container("blue")
    killed = site.deploy("v3", BLUEGREEN_FAILPOINT="deploy.candidate_started")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    name_elsewhere(site, blue)
    candidate = fingerprint(site, blue)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = site.deploy("v3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Not stopping {blue}: nginx names {blue} at /etc/nginx/{ELSEWHERE}:4" in result.stderr
    assert fingerprint(site, blue) == candidate and served_elsewhere(site) == "v3"
    code, doc = site.status()
    assert code == 3 and {"orphan", "kept"} <= {p["id"] for p in doc["problems"]}, doc["problems"]
    assert site.stack.nginx_exec("rm", f"/etc/nginx/{ELSEWHERE}")[0] == 0
    hand_reload(site)
    again = site.deploy("v3")
    assert again.returncode == 0, again.stdout + again.stderr
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    assert version(site) == "v3" and site.status()[0] == 0
