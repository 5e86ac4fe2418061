"""`status` on the configurations the guide's troubleshooting section meets: each gets its exact reason."""

from __future__ import annotations

import pytest

from site_under_test import Site, UPSTREAM


@pytest.fixture
def site(stack, tmp_path):
    return Site(stack, tmp_path)


def upstream(*servers: str) -> str:
    return f"upstream {UPSTREAM} {{\n" + "".join(f"    server {s};\n" for s in servers) + "}\n"


def problems_for(site, text):
    site.stack.write_nginx_file(f"conf.d/{UPSTREAM}.upstream.conf", text)
    code, doc = site.status()
    return code, {p["id"] for p in doc["problems"]}, doc


def test_guide_sample_names_the_same_container_twice(site):
    """The guide's own sample (green active and green backup) is reported as named twice."""
    green = site.container("green")
    code, problems, _ = problems_for(site, upstream(f"{green}:8000 max_fails=3 fail_timeout=30s",
                                                   f"{green}:8000 max_fails=3 fail_timeout=30s backup"))
    assert code == 3 and "named_twice" in problems


@pytest.mark.parametrize("servers, expected", [
    (("{blue}:8000", "{green}:8000"), "two_primaries"),
    (("{blue}:8000 backup", "{green}:8000 backup"), "two_backups"),
    (("{blue}:8000 backup",), "no_primary"),
    (("{blue}:8000",), "not_running"),
])
def test_ambiguous_upstreams(site, servers, expected):
    """Two primaries, two backups, no primary, a named container that does not run: each named."""
    names = {"blue": site.container("blue"), "green": site.container("green")}
    code, problems, _ = problems_for(site, upstream(*(s.format(**names) for s in servers)))
    assert code == 3 and expected in problems, problems


def test_no_upstream_block(site):
    """A file without the upstream block is reported as such; nginx itself cannot read that configuration (the
    site proxies to the block), which status says too, with nginx's own error."""
    code, problems, doc = problems_for(site, "upstream something_else { server 127.0.0.1:9 down; }\n")
    assert code == 3 and problems == {"no_block", "unreadable"}
    unreadable = next(p for p in doc["problems"] if p["id"] == "unreadable")
    assert f'host not found in upstream "{UPSTREAM}"' in unreadable["message"] and unreadable["refuses"]


def test_consistent_after_deploy_and_text_output(site):
    """After a deploy status is consistent (exit 0); the human form lists both colors."""
    assert site.deploy("v1").returncode == 0
    result = site.bg("status", "backend")
    assert result.returncode == 0 and "✅ Consistent" in result.stdout
    assert site.container("blue") in result.stdout and site.container("green") in result.stdout


def test_config_on_disk_not_the_one_loaded(site):
    """A hand edit of the owned file after a deploy is reported: nginx does not serve what is on disk."""
    assert site.deploy("v1").returncode == 0
    text = site.upstream_text().replace("max_fails=3", "max_fails=4")
    code, problems, doc = problems_for(site, text)
    assert code == 3 and problems == {"edited_not_loaded"}
    assert doc["active"] == "blue" and doc["served"]["known_by"] == "confirmed"
    assert doc["served"]["disk_is_loaded"] is False


def test_active_container_stopped(site):
    """The active color's container stopped by hand: reported as named but not running."""
    assert site.deploy("v1").returncode == 0
    site.stack.client.containers.get(site.container("blue")).stop(timeout=1)
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == {"not_running"}
    assert next(c for c in doc["containers"] if c["color"] == "blue")["state"] == "exited"


def test_nginx_container_not_running_is_exit_6(site):
    """With the nginx container stopped, status and deploy say so and exit 6; no app container is started."""
    site.stack.nginx.stop(timeout=1)
    for result in (site.bg("status", "backend"), site.deploy("v1")):
        assert result.returncode == 6, result.stdout + result.stderr
        assert f"The nginx container '{site.stack.nginx_name}' does not run" in result.stderr
    assert site.running_names() == set()


def test_docker_engine_unreachable_is_exit_6(site):
    """No Docker engine at DOCKER_HOST: one clear line, exit 6."""
    result = site.bg("status", "backend", DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert result.returncode == 6 and "Cannot reach the Docker engine" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
