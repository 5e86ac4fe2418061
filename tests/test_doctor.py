"""`bluegreen doctor` on real stacks, and a deploy refused by its first checks with nothing changed.

Stacks: nginx 1.22 (switch: reload) and nginx 1.30 + njs (switch: shared-dict, admin directory 0700), each
well set up (nginx and the colors with restart unless-stopped, the access log where the monitor reads it), then
broken one fact at a time; and the guide's own layout (tests/guide_layout.py).
"""

from __future__ import annotations

import io
import os
import json
import tarfile

import pytest

from guide_layout import GuideSite
from site_under_test import DICT_SITE, SITE, UPSTREAM_FILE, Site
from stack import Stack

WELL = {"nginx": {"access_log": "/var/log/nginx/access.log"}, "service": {"restart": "unless-stopped"}}


@pytest.fixture
def kept_stack(docker_client, images):
    """nginx 1.22 started with restart unless-stopped."""
    s = Stack(docker_client, images, nginx_restart="unless-stopped")
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture
def kept_dict_stack(docker_client, images, nginx_njs_image, tmp_path_factory):
    """nginx 1.30 + njs started with restart unless-stopped and an admin directory of mode 0700."""
    admin = tmp_path_factory.mktemp("admin")
    admin.chmod(0o700)
    s = Stack(docker_client, images, nginx_image=nginx_njs_image, admin_dir=str(admin), nginx_restart="unless-stopped")
    try:
        yield s.start()
    finally:
        s.close()


def deployed(stack: Stack, tmp_path, **nginx) -> Site:
    """v1 then v2 deployed: green serves, blue is kept for a rollback."""
    site = Site(stack, tmp_path, nginx={**WELL["nginx"], **nginx}, service=WELL["service"])
    # Well set up: a request cut before its answer is reported, not re-sent to the other release (retries).
    text = DICT_SITE if nginx.get("switch") == "shared-dict" else SITE
    stack.write_nginx_file("conf.d/default.conf", text.replace("; }", "; proxy_next_upstream off; }", 1))
    stack.reload_nginx()
    for version in ("v1", "v2"):
        result = site.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    return site


def doctor(site: Site) -> tuple[int, dict]:
    """`doctor --json`: its exit code and its one JSON document (json.loads refuses anything more on stdout)."""
    result = site.bg("doctor", "backend", "--json")
    return result.returncode, json.loads(result.stdout)


def levels(doc: dict) -> dict[str, str]:
    return {name: check["level"] for name, check in doc["checks"].items()}


def live_restore(docker_client) -> str:
    return "ok" if docker_client.info().get("LiveRestoreEnabled") else "warn"


def snapshot(site: Site) -> tuple:
    """What a refused deploy must leave as it was: every container (id, state, restarts), every file under
    /etc/nginx, nginx's workers (no reload), and state_dir's files."""
    stack = site.stack
    containers = {c.name: (c.id, c.status, c.attrs.get("RestartCount"))
                  for c in stack.client.containers.list(all=True, filters={"name": stack.name}, ignore_removed=True)}
    stream, _ = stack.nginx.get_archive("/etc/nginx")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    state = {p.name: p.read_bytes() for p in site.state_dir.iterdir()}
    return containers, files, stack.nginx_worker_pids(), state


def test_a_well_set_up_reload_stack_has_nothing_to_fix(kept_stack, tmp_path, docker_client):
    """nginx 1.22, policies set, bluegreen's own file: every check ok (live-restore as this engine has it), exit 0,
    one JSON document; the human form ends with "Nothing to fix"."""
    site = deployed(kept_stack, tmp_path)
    code, doc = doctor(site)
    assert code == 0, doc
    assert levels(doc) == {**{name: "ok" for name in doc["checks"]}, "live_restore": live_restore(docker_client)}
    assert doc["nginx"]["version"] == "1.22.1" and doc["failed"] == [] and doc["skipped"] == []
    assert doc["checks"]["quick_rollback"]["message"].startswith("ready")
    assert "bgt_backend.upstream.conf" in doc["checks"]["upstream_block"]["message"]
    human = site.bg("doctor", "backend")
    assert human.returncode == 0 and human.stdout.splitlines()[-1].startswith("✅ Nothing to fix"), human.stdout


def test_a_well_set_up_shared_dict_stack_has_nothing_to_fix(kept_dict_stack, tmp_path, docker_client):
    """nginx 1.30 + njs, admin directory 0700 mounted at the same path: njs and admin_dir ok, exit 0."""
    site = deployed(kept_dict_stack, tmp_path, switch="shared-dict")
    code, doc = doctor(site)
    assert code == 0, doc
    assert levels(doc) == {**{name: "ok" for name in doc["checks"]}, "live_restore": live_restore(docker_client)}
    assert doc["checks"]["njs"]["message"].startswith("the njs module is in nginx (load_module)")
    assert doc["checks"]["admin_dir"]["message"].startswith(f"the admin directory {kept_dict_stack.admin_dir} is")


def test_the_guides_layout_is_found_with_the_block_in_default_conf(stack, tmp_path):
    """The guide's own system: the block inline in default.conf (fix: `bluegreen init --apply`), nginx without a
    restart policy — and so the site down after a reboot."""
    site = GuideSite(stack, tmp_path, **WELL)
    code, doc = doctor(site)
    assert code == 1 and set(doc["failed"]) == {"upstream_block", "restart_nginx", "reboot"}, doc
    block = doc["checks"]["upstream_block"]
    assert "/etc/nginx/conf.d/default.conf:1" in block["message"] and block["fix"].startswith("`bluegreen init --apply`")
    assert doc["checks"]["restart_colors"]["level"] == "ok"  # the guide's colors run with unless-stopped


def test_a_loose_admin_directory_is_a_warning_and_the_deploy_sets_it_back(kept_dict_stack, tmp_path):
    """Mode 0755 (what Docker gives a directory it creates): nginx admits only bluegreen's key, so doctor warns
    (admin_dir, `chmod 0700`) and the next deploy goes on and makes the directory 0700 again."""
    site = deployed(kept_dict_stack, tmp_path, switch="shared-dict")
    admin = kept_dict_stack.admin_dir
    os.chmod(admin, 0o755)
    try:
        code, doc = doctor(site)
        assert code == 0 and "admin_dir" in doc["warnings"] and not doc["failed"], doc
        assert "mode 0755" in doc["checks"]["admin_dir"]["message"]
        assert doc["checks"]["admin_dir"]["fix"] == f"chmod 0700 {admin}"
        assert doc["checks"]["admin_dir"]["refuses_deploy"] is False
        deployed_again = site.bg("deploy", "backend", APP_TAG="v3")
        assert deployed_again.returncode == 0, deployed_again.stdout + deployed_again.stderr
        assert os.stat(admin).st_mode & 0o777 == 0o700
    finally:
        os.chmod(admin, 0o700)


def test_an_admin_directory_of_another_user_fails_doctor_and_refuses_a_deploy_with_nothing_changed(
        kept_dict_stack, tmp_path):
    """A directory another user owns (nobody): doctor names admin_dir and the chown; a deploy exits 3 before anything
    changed — containers, nginx's files and workers, state_dir identical."""
    site = deployed(kept_dict_stack, tmp_path, switch="shared-dict")
    admin = kept_dict_stack.admin_dir
    os.chown(admin, 65534, -1)
    try:
        code, doc = doctor(site)
        assert code == 1 and doc["failed"] == ["admin_dir"], doc
        assert doc["checks"]["admin_dir"]["fix"] == f"chown root {admin} && chmod 0700 {admin}"
        assert doc["checks"]["admin_dir"]["refuses_deploy"] is True
        before = snapshot(site)
        refused = site.bg("deploy", "backend", "--json", APP_TAG="v3")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "Deploy refused before anything changed (admin_dir)" in refused.stderr
        report = json.loads(refused.stdout)
        assert (report["result"], report["exit_code"]) == ("rejected", 3)
        assert snapshot(site) == before
    finally:
        os.chown(admin, 0, -1)


def test_a_color_without_a_restart_policy_fails_restart_colors_and_the_reboot(kept_stack, tmp_path):
    """`docker update --restart no` on the kept color (the upstream's backup): it stays down after a reboot, and
    nginx 1.22, which resolves it when it starts, with it."""
    site = deployed(kept_stack, tmp_path)
    kept_stack.client.containers.get(site.container("blue")).update(restart_policy={"Name": "no"})
    code, doc = doctor(site)
    assert code == 1 and doc["failed"] == ["restart_colors", "reboot"], doc
    assert site.container("blue") in doc["checks"]["restart_colors"]["message"]
    reboot = doc["checks"]["reboot"]["message"]
    assert "host not found in upstream" in reboot and UPSTREAM_FILE in reboot


def test_a_relative_state_dir_fails(kept_stack, tmp_path):
    """state_dir: state (the same directory, written relative to bluegreen.yml): doctor says why and exits 1."""
    site = deployed(kept_stack, tmp_path)
    site.config["state_dir"] = "state"
    site.write_config()
    code, doc = doctor(site)
    assert code == 1 and doc["failed"] == ["state_dir"], doc
    assert doc["checks"]["state_dir"]["fix"].startswith("state_dir: /var/lib/bluegreen in bluegreen.yml")


def test_nginx_t_failing_on_someone_elses_file_fails_doctor_and_refuses_a_deploy_with_nothing_changed(
        kept_stack, tmp_path):
    """A broken file of someone else's in conf.d (not loaded): doctor names nginx_test with nginx's line and skips
    what reads the configuration; a deploy exits 3, nothing changed (no candidate started, no reload)."""
    site = deployed(kept_stack, tmp_path)
    kept_stack.write_nginx_file("conf.d/zz-team.conf", "servr { listen 81; }\n")
    code, doc = doctor(site)
    assert code == 1 and doc["failed"] == ["nginx_test"], doc
    assert 'unknown directive "servr" in /etc/nginx/conf.d/zz-team.conf:1' in doc["checks"]["nginx_test"]["message"]
    assert doc["skipped"] == ["upstream_block", "access_log", "websocket", "retries", "reboot"]
    assert doc["checks"]["quick_rollback"]["message"].startswith("ready")  # nginx is still seen from here
    before = snapshot(site)
    refused = site.deploy("v3")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "Deploy refused before anything changed (nginx_test)" in refused.stderr
    assert "correct /etc/nginx/conf.d/zz-team.conf:1" in refused.stderr
    assert snapshot(site) == before
