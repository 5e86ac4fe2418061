"""The test infrastructure itself: the app and nginx images, the stack, the request loop."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import docker
import httpx
import pytest

from helpers import WaitTimeout, wait_until
from stack import Stack

# ------------------------------------------------------------------ app image


@pytest.fixture(scope="module")
def shared_stack(docker_client, images):
    """One stack for the app image's tests: each starts its app on the network and none uses nginx, so a fresh
    stack per test (nginx, network: about a second) buys nothing."""
    s = Stack(docker_client, images)
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture
def app_stack(shared_stack):
    """The shared stack; the apps a test started are removed after it (they reuse names)."""
    yield shared_stack
    started = shared_stack.client.containers.list(all=True, filters={"name": shared_stack.prefix}, ignore_removed=True)
    for app in started:
        app.remove(force=True)


def test_app_reports_version_and_color(app_stack):
    """GET / answers 200 with the version and color in body and headers."""
    app = app_stack.run_app("a", version="v7", env={"BLUEGREEN_COLOR": "green"}, publish=True)
    r = httpx.get(app_stack.app_url(app) + "/")
    assert r.status_code == 200
    assert r.text == "version=v7 color=green\n"
    assert r.headers["X-App-Version"] == "v7"
    assert r.headers["X-App-Color"] == "green"
    assert r.headers["Content-Length"] == str(len(r.content))
    assert b"app v7 listening on :8000" in app.logs()


def test_app_versioned_images_bake_in_their_version(app_stack, images):
    """bluegreen-test/app:v2 reports v2 without any env, and is a distinct image."""
    app = app_stack.run_app("v2", image=images.app_version("v2"), publish=True)
    assert httpx.get(app_stack.app_url(app)).headers["X-App-Version"] == "v2"
    ids = {app_stack.client.images.get(images.app_version(v)).id for v in ("v1", "v2", "v3")}
    assert len(ids) == 3


def test_app_post_answers_body_byte_count(app_stack):
    """POST to any path reads the body and answers its length."""
    app = app_stack.run_app("a", publish=True)
    url = app_stack.app_url(app)
    assert httpx.post(url + "/anything", content=b"x" * 12345).text == "12345\n"

    def chunks():
        yield b"a" * 1000
        yield b"b" * 24

    assert httpx.post(url + "/", content=chunks()).text == "1024\n"  # chunked


@pytest.mark.parametrize(
    ("mode", "status"), [("ok", 200), ("fail", 503), ("redirect", 301)]
)
def test_app_health_modes(app_stack, mode, status):
    """APP_HEALTH sets what /health and /health/simple answer; / stays 200."""
    app = app_stack.run_app("a", env={"APP_HEALTH": mode}, publish=True)
    url = app_stack.app_url(app)
    for path in ("/health", "/health/simple"):
        r = httpx.get(url + path)
        assert r.status_code == status, path
    if mode == "redirect":
        assert r.headers["Location"] == "/login"
    assert httpx.get(url + "/").status_code == 200


def test_app_health_flap_alternates(app_stack):
    """APP_HEALTH=flap alternates 200 and 503, across connections."""
    app = app_stack.run_app("a", env={"APP_HEALTH": "flap"}, publish=True)
    url = app_stack.app_url(app) + "/health"
    assert [httpx.get(url).status_code for _ in range(4)] == [200, 503, 200, 503]


def test_app_health_slow_delays_the_answer(app_stack):
    """APP_HEALTH=slow answers 200 only after APP_HEALTH_DELAY seconds."""
    app = app_stack.run_app("a", env={"APP_HEALTH": "slow", "APP_HEALTH_DELAY": "0.6"}, publish=True)
    start = time.monotonic()
    r = httpx.get(app_stack.app_url(app) + "/health", timeout=5)
    assert r.status_code == 200
    assert time.monotonic() - start >= 0.6
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(app_stack.app_url(app) + "/health", timeout=0.2)


def test_app_env_endpoint_never_echoes_the_value(app_stack):
    """/env?name=X says set/unset and never leaks the value."""
    secret = "s3cr3t-VALUE-42"
    app = app_stack.run_app("a", env={"DB_PASSWORD": secret}, publish=True)
    url = app_stack.app_url(app)
    r = httpx.get(url + "/env", params={"name": "DB_PASSWORD"})
    assert (r.status_code, r.text) == (200, "set\n")
    assert secret not in r.text and secret not in str(r.headers)
    assert httpx.get(url + "/env", params={"name": "NOT_THERE"}).text == "unset\n"
    assert httpx.get(url + "/env").status_code == 400


def test_app_slow_endpoint_sleeps_and_serves_concurrently(app_stack):
    """/slow?s=0.5 takes 0.5 s; 20 of them in parallel still finish in well under 20 x 0.5 s."""
    app = app_stack.run_app("a", publish=True)
    url = app_stack.app_url(app) + "/slow?s=0.5"
    start = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: httpx.get(url, timeout=10).status_code, range(20)))
    elapsed = time.monotonic() - start
    assert statuses == [200] * 20
    assert 0.5 <= elapsed < 3


def test_app_keeps_connections_alive_under_load(app_stack):
    """400 requests over 8 keep-alive connections all succeed."""
    app = app_stack.run_app("a", publish=True)
    url = app_stack.app_url(app) + "/"

    def worker(_):
        with httpx.Client(timeout=5) as client:
            return [client.get(url).status_code for _ in range(50)]

    with ThreadPoolExecutor(8) as pool:
        results = [s for batch in pool.map(worker, range(8)) for s in batch]
    assert results == [200] * 400


def test_app_fail_after_turns_requests_into_500(app_stack):
    """After APP_FAIL_AFTER seconds, / answers 500 while health stays 200."""
    app = app_stack.run_app("a", env={"APP_FAIL_AFTER": "1"}, publish=True)
    url = app_stack.app_url(app)
    wait_until(lambda: httpx.get(url + "/").status_code == 500, 10, "/ to start failing")
    assert httpx.get(url + "/health").status_code == 200


def test_app_fail_health_also_fails_health(app_stack):
    """APP_FAIL_HEALTH=1 makes health answer 500 too after APP_FAIL_AFTER."""
    app = app_stack.run_app("a", env={"APP_FAIL_AFTER": "0", "APP_FAIL_HEALTH": "1"}, publish=True)
    assert httpx.get(app_stack.app_url(app) + "/health").status_code == 500


def test_app_slow_after_adds_latency(app_stack):
    """After APP_SLOW_AFTER, non-health requests take APP_SLOW_MS longer."""
    app = app_stack.run_app("a", env={"APP_SLOW_AFTER": "0", "APP_SLOW_MS": "400"}, publish=True)
    url = app_stack.app_url(app)
    start = time.monotonic()
    assert httpx.get(url + "/").status_code == 200
    assert time.monotonic() - start >= 0.4
    start = time.monotonic()
    httpx.get(url + "/health")
    assert time.monotonic() - start < 0.4


def test_app_start_delay_postpones_listening(app_stack):
    """APP_START_DELAY keeps the port closed until the delay has passed."""
    start = time.monotonic()
    app = app_stack.run_app("a", env={"APP_START_DELAY": "1.5"}, wait_ready=False)
    assert b"listening" not in app.logs()
    app_stack.wait_app_ready(app)
    assert time.monotonic() - start >= 1.5


def test_app_die_after_exits_with_code_3(app_stack):
    """APP_DIE_AFTER makes the process exit with code 3."""
    app = app_stack.run_app("a", env={"APP_DIE_AFTER": "0.5"})

    def exited():
        app.reload()
        return app.status == "exited"

    wait_until(exited, 10, "the app to die")
    assert app.attrs["State"]["ExitCode"] == 3


def test_app_stops_promptly_on_sigterm(app_stack):
    """docker stop (SIGTERM) ends the app in under 2 s with exit code 0."""
    app = app_stack.run_app("a")
    start = time.monotonic()
    app.stop(timeout=10)
    elapsed = time.monotonic() - start
    app.reload()
    assert elapsed < 2
    assert app.attrs["State"]["ExitCode"] == 0


def test_app_image_has_busybox_for_debugging(app_stack):
    """docker exec sh works in the app image."""
    app = app_stack.run_app("a")
    code, out = app.exec_run(["sh", "-c", "echo hi && ls /usr/local/bin"])
    assert code == 0 and b"hi" in out and b"app" in out


# ------------------------------------------------------------------ nginx image


def test_nginx_serves_placeholder_until_configured(stack):
    """A fresh nginx answers 503 from the placeholder site on the published port."""
    r = httpx.get(stack.public_url)
    assert r.status_code == 503
    assert r.headers["X-Bluegreen-Placeholder"] == "1"
    assert "X-App-Version" not in r.headers


def test_nginx_config_test_passes_in_the_container(stack):
    """docker exec <nginx> nginx -t exits 0."""
    code, output = stack.nginx_exec("nginx", "-t")
    assert code == 0, output
    assert "test is successful" in output


def test_nginx_t_rejects_unknown_upstream_host(stack):
    """nginx -t fails on a proxy_pass to a name that does not resolve (fact 4)."""
    stack.write_nginx_file("conf.d/default.conf",
                           "server { listen 80; location / { proxy_pass http://bgt-nope-nowhere:8000; } }\n")
    code, output = stack.nginx_exec("nginx", "-t")
    assert code != 0
    assert "host not found" in output


def test_nginx_reload_replaces_the_workers(stack):
    """nginx -s reload starts new workers and the old ones exit."""
    before = stack.nginx_worker_pids()
    assert len(before) == 2
    stack.reload_nginx()
    after = wait_until(
        lambda: (pids := stack.nginx_worker_pids()) and not (pids & before) and len(pids) == 2 and pids,
        10, "a new generation of nginx workers")
    assert after.isdisjoint(before)


def test_nginx_atomic_swap_with_mv_and_read_back(stack):
    """Files written with put_archive can be swapped with mv -f and read back."""
    stack.write_nginx_file("conf.d/site.conf.tmp", "# new\n")
    code, output = stack.nginx_exec("mv", "-f", "/etc/nginx/conf.d/site.conf.tmp",
                                    "/etc/nginx/conf.d/site.conf")
    assert code == 0, output
    assert stack.read_nginx_file("conf.d/site.conf") == "# new\n"
    with pytest.raises(docker.errors.NotFound):
        stack.read_nginx_file("conf.d/site.conf.tmp")


def test_nginx_proxies_to_app_by_container_name(stack):
    """Through the published 127.0.0.1 port, nginx reaches an app by its container name."""
    app = stack.run_app("blue", version="v1", env={"BLUEGREEN_COLOR": "blue"})
    stack.proxy_to(app.name)
    r = httpx.get(stack.public_url + "/")
    assert r.status_code == 200
    assert (r.headers["X-App-Version"], r.headers["X-App-Color"]) == ("v1", "blue")
    log = stack.read_nginx_file("/var/log/nginx/access.log")
    assert 'ustatus="200"' in log and ":8000" in log


# ------------------------------------------------------------------ stack and request loop


def test_request_loop_records_a_switch_without_failures(stack, request_loop):
    """A switch between two running apps (reload) loses no request on new connections."""
    blue = stack.run_app("blue", version="v1")
    green = stack.run_app("green", version="v2")
    stack.proxy_to(blue.name)
    loop = request_loop(interval=0.01)
    wait_until(lambda: loop.count >= 20, 10, "20 requests before the switch")
    stack.proxy_to(green.name)
    switched = loop.now()
    seen = loop.count
    wait_until(lambda: loop.count >= seen + 20, 10, "20 requests after the switch")
    result = loop.stop()
    assert not result.failures, result.summary()
    # While nginx replaces its workers both generations accept for an instant (v1, v2, v1, v2 is possible);
    # once proxy_to returned (old workers gone) only v2 answers.
    assert result.transitions()[0] == "v1" and result.transitions()[-1] == "v2", result.summary()
    assert {h.version for h in result.hits if h.t >= switched} == {"v2"}, result.summary()


def test_request_loop_counts_failures(stack, request_loop):
    """Errors and non-2xx answers are recorded as failures."""
    loop = request_loop()  # the placeholder site answers 503
    wait_until(lambda: loop.count >= 5, 10, "5 requests")
    result = loop.stop()
    assert result.counts[503] == len(result.hits) == len(result.failures)
    refused = request_loop(url="http://127.0.0.1:9/")  # nothing listens on the discard port
    wait_until(lambda: refused.count >= 3, 10, "3 refused requests")
    assert all(h.error == "ConnectError" for h in refused.stop().hits)


def test_request_loop_ends_by_itself_after_max_duration(stack, request_loop):
    """A loop never outlives max_duration, even if nobody stops it."""
    loop = request_loop(max_duration=0.3)
    wait_until(lambda: not loop._thread.is_alive(), 5, "the loop to end by itself")


def test_stack_close_removes_everything_it_named(docker_client, images):
    """close() removes the network and every bgt-<id>… container, engine-made ones included."""
    s = Stack(docker_client, images).start()
    try:
        s.run_app("x")
        # What an engine under test would create on its own:
        docker_client.containers.run(images.app, name=f"{s.prefix}-blue", network=s.network, detach=True)
    finally:
        s.close()
    assert docker_client.containers.list(all=True, filters={"name": s.name}) == []
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(s.network)


def test_wait_until_names_what_it_waited_for():
    """wait_until raises WaitTimeout with the awaited thing in the message."""
    with pytest.raises(WaitTimeout, match="the moon"):
        wait_until(lambda: False, 0.1, "the moon")
    assert wait_until(lambda: 42, 1, "an answer") == 42
