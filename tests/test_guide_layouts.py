"""The guide's own system, before bluegreen ever ran (tests/guide_layout.py), each layout its guide and
troubleshooting page show, under load: bluegreen reads what nginx loaded (`nginx -T`) and reports the truth; with
the upstream block inline in `conf.d/default.conf` every operation refuses (exit 3) naming the file and line and
`bluegreen init`, nothing changed; with the block already in its own file the first deploy goes to the idle color
and a rollback works. The serving container is never touched (same container, still running, never restarted)."""

from __future__ import annotations

import time

import pytest

from guide_layout import GuideSite
from site_under_test import UPSTREAM_FILE

DEFAULT_CONF = "/etc/nginx/conf.d/default.conf"
LAYOUTS = {  # the guide's architecture picture, after one of its deploys, one color alone, the monitoring sample
    "blue-serving": dict(serving="blue", backup="green"),
    "green-serving": dict(serving="green", backup="blue"),
    "only-blue-runs": dict(serving="blue", backup=None, running=("blue",)),
    "green-named-twice": dict(serving="green", backup="blue", ambiguous=True),
}


def fingerprint(site, color: str) -> tuple:
    """What changes if a container is stopped, replaced, set aside or restarted."""
    c = site.stack.client.containers.get(site.container(color))
    state = c.attrs["State"]
    return c.id, c.name, state["Running"], state["StartedAt"], c.attrs["RestartCount"]


def containers(site) -> dict[str, str]:
    return {c.name: c.id for c in site.stack.client.containers.list(all=True, filters={"name": site.stack.prefix},
                                                                     ignore_removed=True)}


def nginx_files(site) -> str:
    """Every file under /etc/nginx, byte for byte (bluegreen's own file included, or its absence)."""
    code, out = site.stack.nginx_exec("sh", "-c", 'for f in $(find /etc/nginx -type f | sort); do '
                                                  'echo "== $f"; cat "$f"; done')
    assert code == 0, out
    return out


def said(result) -> str:
    return result.stdout + result.stderr


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_block_in_default_conf_is_detected_and_every_operation_refuses(stack, tmp_path, request_loop, layout):
    """status: the serving color, from default.conf:1 (JSON and human); deploy, rollback and promote: exit 3
    naming default.conf:1 and `bluegreen init --apply`, recorded as refused; files, containers and traffic
    untouched, 0 failed requests."""
    site = GuideSite(stack, tmp_path, **LAYOUTS[layout])
    serving, files, names = fingerprint(site, site.serving), nginx_files(site), containers(site)
    loop = request_loop(stack.public_url + "/", interval=0.02)

    code, doc = site.status()
    assert code == 3 and doc["active"] == site.serving, doc
    assert doc["upstream"]["where"] == f"{DEFAULT_CONF}:1" and doc["upstream"]["in_file"] is False
    assert doc["served"]["scanned"] is True
    problems = {p["id"] for p in doc["problems"]}
    assert problems == ({"block_outside", "named_twice"} if LAYOUTS[layout].get("ambiguous") else {"block_outside"})
    human = said(site.bg("status", "backend"))
    assert f"Current active environment: {site.serving} (nginx serves it from {DEFAULT_CONF}:1)" in human
    assert "No active environment" not in human and "does not exist" not in human

    for command in ("deploy", "rollback", "promote"):
        result = site.bg(command, "backend", APP_TAG="v2")
        assert result.returncode == 3, said(result)
        assert f"from {DEFAULT_CONF}:1 (active: {site.serving})" in result.stderr
        assert "`bluegreen init --apply` moves the block" in result.stderr and "Nothing was changed" in result.stderr
    assert [e["result"] for e in site.history()] == ["refused"] * 3

    traffic = loop.stop()
    assert traffic.failures == [] and set(traffic.versions) == {site.versions[site.serving]}, traffic.summary()
    assert fingerprint(site, site.serving) == serving
    assert nginx_files(site) == files and containers(site) == names


def test_the_refusal_speaks_the_guides_language(stack, tmp_path):
    site = GuideSite(stack, tmp_path)
    result = site.bg("deploy", "backend", APP_TAG="v2", BLUEGREEN_LANG="ko")
    assert result.returncode == 3
    assert f"Nginx가 `upstream bgt_backend`을(를) bluegreen 파일 {UPSTREAM_FILE}이(가) 아닌 {DEFAULT_CONF}:1에서" \
        in result.stderr and "아무것도 변경하지 않았습니다" in result.stderr


def test_shared_dict_mode_refuses_the_guides_layout_too(dict_stack, tmp_path):
    """With `switch: shared-dict` configured, the block inline in default.conf is refused the same way."""
    site = GuideSite(dict_stack, tmp_path, nginx={"switch": "shared-dict"})
    files, serving = nginx_files(site), fingerprint(site, "blue")
    result = site.deploy("v2")
    assert result.returncode == 3 and f"from {DEFAULT_CONF}:1 (active: blue)" in result.stderr, said(result)
    assert nginx_files(site) == files and fingerprint(site, "blue") == serving


OWN_LAYOUTS = {  # (layout, the idle color the first deploy goes to)
    "blue-serving": (LAYOUTS["blue-serving"], "green"),
    "green-serving": (LAYOUTS["green-serving"], "blue"),
    "only-blue-runs": (LAYOUTS["only-blue-runs"], "green"),
    "green-named-twice": (LAYOUTS["green-named-twice"], "blue"),  # blue runs, but nginx does not name it
}


@pytest.mark.parametrize("layout", OWN_LAYOUTS)
def test_the_block_in_its_own_file_deploys_to_the_idle_color_and_rolls_back(stack, tmp_path, request_loop, layout):
    """The first deploy goes to the color nginx does not serve, the serving container is never touched, and the
    rollback puts traffic back on it; 0 failed requests."""
    kwargs, idle = OWN_LAYOUTS[layout]
    site = GuideSite(stack, tmp_path, block_in="own", **kwargs)
    serving, before = fingerprint(site, site.serving), site.versions[site.serving]
    loop = request_loop(stack.public_url + "/", interval=0.02)

    code, doc = site.status()
    assert doc["active"] == site.serving and doc["upstream"]["where"] == f"{UPSTREAM_FILE}:1", doc
    assert doc["upstream"]["in_file"] is True and not any(p["refuses"] for p in doc["problems"])

    result = site.deploy("v2")
    assert result.returncode == 0, said(result)
    assert f"Current active environment: {site.serving}" in result.stdout
    assert f"New deploy environment: {idle}" in result.stdout
    assert fingerprint(site, site.serving) == serving
    code, doc = site.status()
    assert code == 0 and doc["active"] == idle, doc["problems"]

    result = site.bg("rollback", "backend")
    assert result.returncode == 0, said(result)
    code, doc = site.status()
    assert code == 0 and doc["active"] == site.serving, doc["problems"]
    assert fingerprint(site, site.serving) == serving

    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    seen = traffic.transitions()
    assert (seen[0], seen[-1], set(seen)) == (before, before, {before, "v2"}), traffic.summary()


def test_a_site_proxying_straight_to_a_color_refuses_naming_the_line(stack, tmp_path, request_loop):
    """No upstream block anywhere, the site's proxy_pass names blue's container: what serves cannot be told."""
    site = GuideSite(stack, tmp_path, backup=None, running=("blue",))
    stack.write_nginx_file("conf.d/default.conf", "server {\n    listen 80 default_server;\n    location / {\n"
                                                  f"        proxy_pass http://{site.container('blue')}:8000;\n    }}\n}}\n")
    stack.reload_nginx()
    files, serving = nginx_files(site), fingerprint(site, "blue")
    loop = request_loop(stack.public_url + "/", interval=0.02)
    result = site.deploy("v2")
    assert result.returncode == 3, said(result)
    assert f"nginx names {site.container('blue')} at {DEFAULT_CONF}:4 (proxy_pass)" in result.stderr
    code, doc = site.status()
    assert code == 3 and "unmanaged" in {p["id"] for p in doc["problems"]}
    assert loop.stop().failures == []
    assert nginx_files(site) == files and fingerprint(site, "blue") == serving


def test_a_file_edited_and_not_loaded_refuses_the_first_deploy(stack, tmp_path):
    """The block in its own file, but default.conf changed on disk after nginx loaded it (its time says so): what
    nginx serves from it is not known, so the first deploy refuses, naming the file; nothing changed."""
    site = GuideSite(stack, tmp_path, block_in="own")
    text = site.default_conf().replace("    location / {", "    location /edited { return 204; }\n    location / {")
    stack.write_nginx_file("conf.d/default.conf", text, mtime=time.time() + 30)
    files, serving = nginx_files(site), fingerprint(site, "blue")
    result = site.deploy("v2")
    assert result.returncode == 3, said(result)
    assert f"{DEFAULT_CONF} was edited after nginx last loaded it" in result.stderr
    assert nginx_files(site) == files and fingerprint(site, "blue") == serving
    code, doc = site.status()
    assert code == 3 and "edited_elsewhere" in {p["id"] for p in doc["problems"]}
