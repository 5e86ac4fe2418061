"""`bluegreen init` on the guide's own layouts (tests/guide_layout.py), on the real engine and nginx: a dry run
changes nothing and shows the diff; --apply under load fails no request, never touches the serving container,
keeps nginx on the same color and keeps copies of what it changed; a second run has nothing to do; the first
deploy then goes to the idle color and a rollback comes back. Refusals (exit 3) change nothing."""

from __future__ import annotations

import docker
import pytest

from guide_layout import GuideSite
from helpers import wait_until
from site_under_test import UPSTREAM, UPSTREAM_FILE, hand_reload, socket_call, version
from stack import Stack

LAYOUTS = {
    "blue-serving": dict(serving="blue", backup="green"),  # the guide's architecture picture
    "green-serving": dict(serving="green", backup="blue"),  # after one of the guide's deploys
    "one-color": dict(serving="blue", backup=None),  # only one color runs
    "own-file": dict(block_in="own"),  # the block already in a file of its own (bluegreen's path)
    "ambiguous": dict(ambiguous=True),  # the guide's monitoring sample: blue named as primary and as backup
}


def nginx_files(site: GuideSite) -> dict[str, str | None]:
    found = {}
    for path in ("conf.d/default.conf", UPSTREAM_FILE, "nginx.conf"):
        try:
            found[path] = site.stack.read_nginx_file(path)
        except docker.errors.NotFound:
            found[path] = None
    return found


def container(site: GuideSite, color: str) -> tuple[str, str, int]:
    """What proves a container untouched: its id, when it started, how often it restarted."""
    attrs = site.stack.client.containers.get(site.container(color)).attrs
    return attrs["Id"], attrs["State"]["StartedAt"], attrs["RestartCount"]


def init(site: GuideSite, *args: str, **env: str):
    return site.bg("init", "backend", *args, **env)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_dry_run_changes_nothing_and_apply_moves_the_block_with_the_same_color_serving(stack, tmp_path,
                                                                                        request_loop, layout):
    site = GuideSite(stack, tmp_path, **LAYOUTS[layout])
    serving, before = site.serving, nginx_files(site)
    backup = ("green" if serving == "blue" else "blue") if LAYOUTS[layout].get("backup", "green") else None
    workers, untouched = stack.nginx_worker_pids(), container(site, serving)

    dry = init(site)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    where = "conf.d/default.conf" if layout != "own-file" else UPSTREAM_FILE.removeprefix("/etc/nginx/")
    assert f"--- a/etc/nginx/{where}" in dry.stdout and "Dry run: nothing was changed" in dry.stdout
    assert nginx_files(site) == before and stack.nginx_worker_pids() == workers
    assert not site.state_dir.exists()  # not even the state directory

    loop = request_loop(stack.public_url + "/", interval=0.02)
    applied = init(site, "--apply")
    result = loop.stop()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert result.failures == [], result.summary()
    assert result.versions.keys() == {site.versions[serving]}, result.summary()  # never another color
    assert container(site, serving) == untouched and version(site) == site.versions[serving]

    after = nginx_files(site)
    owned = after[UPSTREAM_FILE]
    assert f"upstream {UPSTREAM} {{" not in (after["conf.d/default.conf"] or "")
    assert f"server {site.container(serving)}:8000 max_fails=3 fail_timeout=30s;" in owned
    assert (f"server {site.container(backup)}:8000 max_fails=3 fail_timeout=30s backup;" in owned) == bool(backup)
    assert "bluegreen-generation:" in owned
    [copies] = (site.state_dir / "backend.init-backup").iterdir()
    changed = "/etc/nginx/conf.d/default.conf" if layout != "own-file" else UPSTREAM_FILE
    assert (copies / changed.lstrip("/")).read_text() == before[changed.removeprefix("/etc/nginx/")
                                                                if layout != "own-file" else changed]
    assert str(copies) in applied.stdout

    code, doc = site.status()
    assert code == 0 and doc["active"] == serving and doc["served"]["known_by"] == "confirmed", doc
    again = init(site, "--apply")
    assert again.returncode == 0 and "Nothing to do" in again.stdout, again.stdout + again.stderr
    assert nginx_files(site) == after
    assert [e["action"] for e in site.history()] == ["init"]


@pytest.mark.parametrize("serving", ["blue", "green"])
def test_the_first_deploy_after_init_goes_to_the_idle_color_and_rollback_comes_back(stack, tmp_path, request_loop,
                                                                                   serving):
    """The issue's first run: nginx serves blue (or green) by hand; init, then deploy → the other color, rollback →
    back, under load, without one failed request."""
    idle = "green" if serving == "blue" else "blue"
    site = GuideSite(stack, tmp_path, serving=serving, backup=idle)
    loop = request_loop(stack.public_url + "/", interval=0.02)
    assert init(site, "--apply").returncode == 0
    untouched = container(site, serving)
    deployed = site.deploy("v2")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"New deploy environment: {idle}" in deployed.stdout
    assert container(site, serving) == untouched and version(site) == "v2"
    rolled = site.bg("rollback", "backend")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    result = loop.stop()
    assert result.failures == [], result.summary()
    assert version(site) == site.versions[serving] and container(site, serving) == untouched
    # (while a reload starts new workers, old and new generations both accept for an instant)
    seen = result.transitions()
    assert seen[0] == seen[-1] == site.versions[serving] and set(seen) == {site.versions[serving], "v2"}, \
        result.summary()


def test_without_a_bluegreen_yml_it_writes_one_that_deploys(stack, tmp_path):
    """No bluegreen.yml: the dry run shows the one it would write; --apply writes it (config check passes) and the
    first deploy with it goes to the idle color."""
    site = GuideSite(stack, tmp_path)
    new = tmp_path / "new" / "bluegreen.yml"
    new.parent.mkdir()
    args = ("--nginx", stack.nginx_name, "--state-dir", str(tmp_path / "new-state"))
    dry = site.bg("--config", str(new), "init", "backend", *args)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"+++ b/{str(new).lstrip('/')}" in dry.stdout and f"+network: {stack.network}" in dry.stdout
    assert "+      DATABASE_URL" not in dry.stdout and not new.exists()
    applied = site.bg("--config", str(new), "init", "backend", *args, "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert site.bg("--config", str(new), "config", "check").returncode == 0
    # the variables the hand-run container was given become the deploy's (bound from the environment)
    deployed = site.bg("--config", str(new), "deploy", "backend", "--image", "bluegreen-test/app:v2", APP_VERSION="v2")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "New deploy environment: green" in deployed.stdout and version(site) == "v2"


def test_a_failing_nginx_test_puts_every_file_back(stack, tmp_path):
    """`nginx -t` fails after init wrote its files (a broken include appears meanwhile): every file is as before,
    the bluegreen.yml it wrote is gone, nginx never reloaded, exit 1 with nginx's line."""
    site = GuideSite(stack, tmp_path)
    before, workers = nginx_files(site), stack.nginx_worker_pids()
    new = tmp_path / "new.yml"
    marker = tmp_path / "init.written.paused"
    proc = site.spawn("--config", str(new), "init", "backend", "--nginx", stack.nginx_name, "--state-dir",
                      str(tmp_path / "state2"), "--apply", BLUEGREEN_FAILPOINT="init.written:pause",
                      BLUEGREEN_FAILPOINT_DIR=str(tmp_path))
    wait_until(marker.exists, 30, "init to write its files")
    assert new.exists() and nginx_files(site)[UPSTREAM_FILE] is not None
    stack.write_nginx_file("conf.d/zz-broken.conf", "include /etc/nginx/snippets/missing.conf;\n")
    marker.unlink()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "missing.conf" in err
    stack.nginx_exec("rm", "-f", "/etc/nginx/conf.d/zz-broken.conf")
    assert nginx_files(site) == before and stack.nginx_worker_pids() == workers and not new.exists()
    assert version(site) == "v1"


def test_an_init_killed_before_the_reload_is_finished_by_the_next_one(stack, tmp_path, request_loop):
    """SIGKILL after init wrote its files, before `nginx -t` and the reload: nginx still serves the guide's block
    (blue). The next init refuses while nginx has not loaded the files; once the operator reloaded them, it does not
    take the file on disk for done (nginx -T reads the disk, and no state records nginx loading it): it installs
    bluegreen's file again, one reload, blue serving, and records it; the first deploy goes to green."""
    site = GuideSite(stack, tmp_path)
    proc = site.spawn("init", "backend", "--apply", BLUEGREEN_FAILPOINT="init.written:pause",
                      BLUEGREEN_FAILPOINT_DIR=str(tmp_path))
    wait_until((tmp_path / "init.written.paused").exists, 30, "init to write its files")
    proc.kill()
    proc.communicate(timeout=30)
    assert nginx_files(site)[UPSTREAM_FILE] is not None and version(site) == "v1"
    files = ["/etc/nginx/conf.d/default.conf", UPSTREAM_FILE]
    # edited after nginx's last load, beyond the evidence's one-second resolution, whatever the machine's speed
    assert stack.nginx_exec("touch", "-d", "2099-01-01 00:00:00", *files)[0] == 0
    unloaded = init(site, "--apply")
    assert unloaded.returncode == 3 and "has not loaded" in unloaded.stderr, unloaded.stdout + unloaded.stderr
    assert stack.nginx_exec("touch", *files)[0] == 0
    hand_reload(site)  # what the refusal says to do: nginx now reads the moved block, blue still serves
    loop = request_loop(stack.public_url + "/", interval=0.02)
    again = init(site, "--apply")
    result = loop.stop()
    assert again.returncode == 0 and "Nothing to do" not in again.stdout, again.stdout + again.stderr
    assert result.failures == [] and result.versions.keys() == {"v1"}, result.summary()
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and doc["served"]["known_by"] == "confirmed", doc
    assert [(e["action"], e["result"]) for e in site.history()] == [("init", "success")]
    assert "Nothing to do" in init(site, "--apply").stdout
    deployed = site.deploy("v2")
    assert deployed.returncode == 0 and "New deploy environment: green" in deployed.stdout, deployed.stdout


def test_a_same_named_upstream_in_two_files_or_an_unloaded_edit_is_refused_changing_nothing(stack, tmp_path):
    """Two `upstream bgt_backend` blocks (nginx -T refuses them), or a file edited after nginx loaded it: exit 3,
    the file named, nothing changed."""
    site = GuideSite(stack, tmp_path)
    before = nginx_files(site)
    stack.write_nginx_file("conf.d/second.conf", f"upstream {UPSTREAM} {{ server {site.container('green')}:8000; }}\n")
    twice = init(site, "--apply")
    assert twice.returncode == 3 and f'duplicate upstream "{UPSTREAM}"' in twice.stderr, twice.stdout + twice.stderr
    stack.nginx_exec("rm", "-f", "/etc/nginx/conf.d/second.conf")
    stack.write_nginx_file("conf.d/default.conf", before["conf.d/default.conf"].replace("max_fails=3", "max_fails=4"))
    # edited after nginx's last load, beyond the evidence's one-second resolution (process ages are whole seconds)
    assert stack.nginx_exec("touch", "-d", "2099-01-01 00:00:00", "/etc/nginx/conf.d/default.conf")[0] == 0
    unloaded = init(site, "--apply")
    assert unloaded.returncode == 3 and "/etc/nginx/conf.d/default.conf" in unloaded.stderr, unloaded.stderr
    assert "has not loaded" in unloaded.stderr
    assert nginx_files(site)[UPSTREAM_FILE] is None and not (site.state_dir / "backend.init-backup").exists()


def test_two_primaries_or_a_held_lock_refuse_with_their_exit_codes(stack, tmp_path):
    """Which color serves cannot be told (two primaries): exit 3 naming the file and line. Another operation holds
    the service's lock: exit 4. Nothing changed either time."""
    site = GuideSite(stack, tmp_path)
    guide = site.default_conf()
    stack.write_nginx_file("conf.d/default.conf", guide.replace(" backup;", ";"))
    hand_reload(site)
    refused = init(site, "--apply")
    assert refused.returncode == 3 and "/etc/nginx/conf.d/default.conf:1" in refused.stderr, refused.stderr
    assert "two primaries" in refused.stderr
    stack.write_nginx_file("conf.d/default.conf", guide)
    hand_reload(site)
    holder = site.spawn("deploy", "backend", APP_TAG="v2", BLUEGREEN_FAILPOINT="deploy.locked:pause",
                        BLUEGREEN_FAILPOINT_DIR=str(tmp_path))
    try:
        wait_until((tmp_path / "deploy.locked.paused").exists, 30, "a deploy to hold the lock")
        held = init(site, "--apply")
        assert held.returncode == 4 and "Another operation" in held.stderr, held.stdout + held.stderr
        assert nginx_files(site)[UPSTREAM_FILE] is None
    finally:
        holder.kill()
        holder.communicate(timeout=30)


def test_a_config_that_disagrees_with_the_system_is_never_overwritten(stack, tmp_path):
    """bluegreen.yml naming another network, prefix and port: one line each, exit 3, the file as it was."""
    site = GuideSite(stack, tmp_path)
    svc = site.config["services"]["backend"]
    site.config["network"], svc["container_prefix"], svc["port"] = "bridge", "other-app", 9000
    site.write_config()
    text = site.config_path.read_text()
    refused = init(site, "--apply")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    lines = [line for line in refused.stdout.splitlines() if line.startswith("❌")]
    assert [line.split(":")[0] for line in lines] == ["❌ network", "❌ services.backend.container_prefix",
                                                     "❌ services.backend.port"], refused.stdout
    assert site.config_path.read_text() == text and nginx_files(site)[UPSTREAM_FILE] is None


# --- switch: shared-dict, on nginx 1.30 with njs ---------------------------------------------------------------
def test_shared_dict_moves_proxy_pass_loads_njs_and_serves_the_same_color(dict_stack, tmp_path, request_loop):
    """nginx.conf without njs loaded: init adds the load_module line, points proxy_pass at the variable, writes
    the module and bluegreen's file, with one reload under load; the admin socket answers the same color."""
    nginx_conf = dict_stack.read_nginx_file("nginx.conf")
    without = "\n".join(line for line in nginx_conf.splitlines() if not line.startswith("load_module")) + "\n"
    dict_stack.write_nginx_file("nginx.conf", without)
    site = GuideSite(dict_stack, tmp_path, serving="green", backup="blue", nginx={"switch": "shared-dict"})
    untouched = container(site, "green")
    loop = request_loop(dict_stack.public_url + "/", interval=0.02)
    applied = init(site, "--apply")
    result = loop.stop()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert result.failures == [] and result.versions.keys() == {"v1"}, result.summary()
    assert container(site, "green") == untouched
    assert "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;" in dict_stack.read_nginx_file("nginx.conf")
    assert f"proxy_pass http://${UPSTREAM};" in site.default_conf()
    assert socket_call(site, "GET")["color"] == "green"
    assert init(site, "--apply").stdout.count("Nothing to do") == 1
    deployed = site.deploy("v2")
    assert deployed.returncode == 0 and "New deploy environment: blue" in deployed.stdout, deployed.stdout


def test_shared_dict_without_the_admin_directory_says_what_to_run_and_changes_nothing(tmp_path, nginx_njs_image,
                                                                                     docker_client, images):
    """A running container cannot get a new mount: init names the mkdir and the mount, exit 3, nothing changed."""
    njs = Stack(docker_client, images, nginx_image=nginx_njs_image)
    try:
        njs.start()
        site = GuideSite(njs, tmp_path)
        admin = tmp_path / "admin"
        site.config["nginx"].update(switch="shared-dict", admin_dir=str(admin))
        site.write_config()
        before = nginx_files(site)
        refused = init(site, "--apply")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"mkdir -p -m 0700 {admin}" in refused.stderr and f"-v {admin}:{admin}" in refused.stderr
        assert f"+++ b/etc/nginx/conf.d/default.conf" in refused.stdout  # the diff is shown first
        assert nginx_files(site) == before and not admin.exists()
    finally:
        njs.close()


def test_a_single_file_bind_mount_is_written_in_place(stack, tmp_path, request_loop):
    """default.conf bind-mounted alone (a rename onto it fails: EBUSY): written in place; the host file has the
    change, nginx serves the same color, 0 failed requests."""
    site = GuideSite(stack, tmp_path)
    host_file = tmp_path / "default.conf"
    host_file.write_text(site.default_conf())
    nginx = stack.client.containers.run(
        stack.nginx_image, name=f"{stack.name}-bound", network=stack.network, detach=True,
        volumes={str(host_file): {"bind": "/etc/nginx/conf.d/default.conf", "mode": "rw"}},
        ports={"80/tcp": ("127.0.0.1", None)})
    nginx.reload()
    url = f"http://127.0.0.1:{nginx.attrs['NetworkSettings']['Ports']['80/tcp'][0]['HostPort']}"
    site.config["nginx"].update(container=nginx.name, public_url=url)
    site.write_config()
    wait_until(lambda: version_at(url) == "v1", 15, "the bound nginx to serve blue")
    loop = request_loop(url + "/", interval=0.02)
    applied = init(site, "--apply")
    result = loop.stop()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "single-file bind mount" in applied.stdout and result.failures == [], result.summary()
    assert f"upstream {UPSTREAM}" not in host_file.read_text() and version_at(url) == "v1"


def test_debians_layout_a_linked_site_and_no_glob_reading_bluegreens_file(stack, tmp_path, request_loop):
    """nginx.conf reads only sites-enabled/* (no conf.d glob) and sites-enabled/default links to sites-available:
    the file the link names is edited (the link stays a link) and an `include` of bluegreen's file takes the
    block's place; blue serves throughout."""
    site = GuideSite(stack, tmp_path)
    conf = stack.read_nginx_file("nginx.conf")
    stack.write_nginx_file("nginx.conf", conf.replace("include /etc/nginx/conf.d/*.conf;",
                                                      "include /etc/nginx/sites-enabled/*;"))
    stack.nginx_exec("mkdir", "-p", "/etc/nginx/sites-available", "/etc/nginx/sites-enabled")
    stack.write_nginx_file("sites-available/default", site.default_conf())
    stack.nginx_exec("ln", "-s", "../sites-available/default", "/etc/nginx/sites-enabled/default")
    hand_reload(site)
    loop = request_loop(stack.public_url + "/", interval=0.02)
    applied = init(site, "--apply")
    result = loop.stop()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert result.failures == [] and result.versions.keys() == {"v1"}, result.summary()
    assert stack.nginx_exec("readlink", "/etc/nginx/sites-enabled/default")[1].strip() == "../sites-available/default"
    edited = stack.read_nginx_file("sites-available/default")
    assert edited.startswith(f"include {UPSTREAM_FILE};\n") and f"upstream {UPSTREAM}" not in edited
    assert site.deploy("v2").returncode == 0 and version(site) == "v2"


def version_at(url: str) -> str | None:
    import httpx

    return httpx.get(url + "/", timeout=2).headers.get("X-App-Version")


def test_korean_output_speaks_the_guides_language(stack, tmp_path):
    site = GuideSite(stack, tmp_path)
    dry = init(site, BLUEGREEN_LANG="ko")
    assert dry.returncode == 0 and "현재 활성 환경 blue" in dry.stdout and "Dry run: 아무것도" in dry.stdout
