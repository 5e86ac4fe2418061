"""Each of `bluegreen doctor`'s checks over hand-made facts: ok, warn and fail, and the fix the operator reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen import checks
from bluegreen.checks import docker_side, host_side, nginx_side
from bluegreen.parts.facts import FAIL, OK, WARN, PathFacts
from bluegreen.messages import ko
from bluegreen.parts.engine import EngineFacts
from doctor_facts import NGINX_CONF, OWN, SITE, UPSTREAM_FILE, config, container, dump_text, facts, said

GUIDE_SITE = OWN + SITE  # the guide's layout: the block inline in default.conf


def test_a_well_set_up_system_is_ok_everywhere():
    """Restart policies, live-restore, bluegreen's own file, the log, state_dir: every check ok, none skipped."""
    found, skipped = checks.run(facts())
    assert [(f.id, f.level) for f in found if f.level != OK] == [] and skipped == []
    assert [f.id for f in found] == list(checks.ALL)


# --- nginx_test ----------------------------------------------------------------------------------------------
def test_nginx_t_failing_on_someone_elses_file_fails_refuses_a_deploy_and_skips_what_reads_the_configuration():
    """No dump: nginx_test fails with nginx's line and the file to correct; the checks of the configuration wait."""
    error = 'nginx: [emerg] unknown directive "servr" in /etc/nginx/conf.d/default.conf:3'
    f = facts(nginx={"dump": None, "error": error})
    finding = nginx_side.nginx_test(f)
    assert (finding.level, finding.refuses) == (FAIL, True)
    line, fix = said(finding)
    assert 'unknown directive "servr"' in line
    assert fix == "correct /etc/nginx/conf.d/default.conf:3 until `docker exec nginx nginx -t` passes"
    _, skipped = checks.run(f)
    assert skipped == ["upstream_block", "access_log", "websocket", "retries", "reboot"]


def test_nginx_t_failing_on_bluegreens_own_file_is_left_to_the_runs_repair():
    """A failure inside the upstream file bluegreen owns is a finding, but a deploy is not refused for it."""
    error = f'nginx: [emerg] host not found in upstream "maice-back-green:8000" in {UPSTREAM_FILE}:3'
    finding = nginx_side.nginx_test(facts(nginx={"dump": None, "error": error}))
    assert (finding.level, finding.refuses) == (FAIL, False)


def test_a_site_missing_what_bluegreens_file_defines_is_fixed_in_bluegreens_file():
    """bluegreen's file emptied by hand: nginx names the site's proxy_pass, but the fix is in bluegreen's file."""
    error = 'nginx: [emerg] host not found in upstream "maice_backend" in /etc/nginx/conf.d/default.conf:4'
    finding = nginx_side.nginx_test(facts(nginx={"dump": None, "error": error}))
    assert (finding.level, finding.refuses) == (FAIL, False)
    assert said(finding)[1] == (f"the site lacks what bluegreen's file {UPSTREAM_FILE} defines: undo the hand edit "
                                f"of {UPSTREAM_FILE} (`bluegreen status backend` says what it holds) until "
                                "`docker exec nginx nginx -t` passes")


# --- upstream_block ------------------------------------------------------------------------------------------
def test_the_guides_inline_block_fails_with_its_place_and_init_apply():
    """The block in default.conf (the guide's layout): fail, its file:line, the fix is `bluegreen init --apply`;
    not the deploy's first checks' to refuse (detection refuses it)."""
    finding = nginx_side.upstream_block(facts(dump=dump_text(GUIDE_SITE, None)))
    line, fix = said(finding)
    assert (finding.level, finding.refuses) == (FAIL, False)
    assert "/etc/nginx/conf.d/default.conf:1" in line and fix.startswith("`bluegreen init --apply`")


def test_a_shared_dict_color_block_outside_bluegreens_file_fails_too():
    """maice_backend_green defined in default.conf is the service's block as much as maice_backend is."""
    site = "upstream maice_backend_green { server maice-back-green:8000; }\n" + SITE
    finding = nginx_side.upstream_block(facts(dump=dump_text(site), cfg=config(switch="shared-dict")))
    assert finding.level == FAIL and finding.params["upstream"] == "maice_backend_green"


def test_bluegreens_file_not_written_yet_is_ok_when_an_include_reads_it():
    """Before the first deploy the file is missing; conf.d/*.conf will read it: ok, the first deploy writes it."""
    finding = nginx_side.upstream_block(facts(dump=dump_text(SITE, None)))
    assert (finding.level, finding.key) == (OK, "doctor.upstream_block.first_deploy")


def test_bluegreens_file_that_no_include_reads_fails_with_the_include_line():
    """upstream_file outside every include: a switch would change nothing."""
    cfg = config(upstream_file="/etc/nginx/sites/conf.d/maice_backend.conf")
    finding = nginx_side.upstream_block(facts(cfg=cfg, dump=dump_text(SITE, None)))
    assert finding.level == FAIL
    assert said(finding)[1].startswith("add `include /etc/nginx/sites/conf.d/maice_backend.conf;` inside nginx's http")


def test_no_location_proxying_to_the_upstream_fails():
    """The block is bluegreen's, but the site proxies elsewhere: switching it reaches no user."""
    site = SITE.replace("http://maice_backend", "http://other:80")
    finding = nginx_side.upstream_block(facts(dump=dump_text(site)))
    assert finding.level == FAIL and said(finding)[1] == "in the site's location: `proxy_pass http://maice_backend;`"


# --- njs -----------------------------------------------------------------------------------------------------
def test_njs_is_not_needed_with_switch_reload():
    assert nginx_side.njs(facts()).level == OK


def test_shared_dict_without_njs_fails_and_refuses_a_deploy():
    """No load_module, not compiled in: the first shared-dict switch would fail at nginx -t."""
    finding = nginx_side.njs(facts(cfg=config(switch="shared-dict")))
    assert (finding.level, finding.refuses) == (FAIL, True)
    assert "load_module modules/ngx_http_js_module.so;" in said(finding)[1]


@pytest.mark.parametrize("conf, configure", [
    ("load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n", ""),
    ("", "configure arguments: --add-module=/build/njs-0.8.4/nginx"),
])
def test_njs_loaded_or_compiled_in_is_ok(conf, configure):
    f = facts(cfg=config(switch="shared-dict"), dump=dump_text(SITE, OWN, conf + NGINX_CONF),
              nginx={"configure": configure})
    assert nginx_side.njs(f).level == OK


# --- access_log ----------------------------------------------------------------------------------------------
def test_the_log_the_monitor_reads_in_its_format_is_ok():
    assert nginx_side.access_log(facts()).key == "doctor.access_log.ok"


def test_access_log_off_is_ok_probes_only():
    assert nginx_side.access_log(facts(cfg=config(access_log="off"))).key == "doctor.access_log.off"


def test_docker_logs_through_the_official_images_link_is_ok_and_a_plain_file_is_not():
    """`docker-logs` needs the lines on stdout: /var/log/nginx/access.log is fine as a link to /dev/stdout."""
    cfg = config(access_log="docker-logs")
    linked = facts(cfg=cfg, nginx={"links": {"/var/log/nginx/access.log": "/dev/stdout"}})
    assert nginx_side.access_log(linked).level == OK
    finding = nginx_side.access_log(facts(cfg=cfg))
    assert finding.key == "doctor.access_log.elsewhere"
    assert said(finding)[1] == "set nginx.access_log in bluegreen.yml to /var/log/nginx/access.log"


def test_another_format_with_the_fields_says_the_yml_line_and_one_without_them_the_nginx_lines():
    """nginx logs with a format of its own: bluegreen.yml follows it when it has the fields, else nginx gets ours."""
    fields = "$status $request_time $upstream_addr 'q'"
    conf = NGINX_CONF.replace("log_format bluegreen '", f"log_format mine \"{fields}\";\n    log_format bluegreen '")
    conf = conf.replace("access.log bluegreen", "access.log mine")
    finding = nginx_side.access_log(facts(dump=dump_text(SITE, OWN, conf)))
    assert finding.key == "doctor.access_log.other_format"
    assert said(finding)[1] == "set nginx.log_format in bluegreen.yml to '$status $request_time $upstream_addr ''q'''"
    combined = NGINX_CONF.replace(" bluegreen;", ";")  # access_log without a format: combined
    finding = nginx_side.access_log(facts(dump=dump_text(SITE, OWN, combined)))
    assert finding.key == "doctor.access_log.fields" and finding.params["missing"] == "$request_time, $upstream_addr"
    assert said(finding)[1].startswith("in nginx's http block: `log_format bluegreen 'time=$time_iso8601")


def test_a_location_with_its_own_access_log_overrides_the_http_one():
    """nginx's inheritance: the location's access_log off-and-elsewhere is what applies to the service."""
    site = SITE.replace("proxy_set_header Host $host;", "proxy_set_header Host $host;\n        access_log /tmp/x.log;")
    finding = nginx_side.access_log(facts(dump=dump_text(site)))
    assert finding.level == FAIL and finding.params["path"] == "/tmp/x.log"


# --- websocket -----------------------------------------------------------------------------------------------
WS = 'proxy_http_version 1.1;\n proxy_set_header Upgrade $http_upgrade;\n proxy_set_header Connection "upgrade";'


def _site_with(lines: str) -> str:
    return SITE.replace("proxy_set_header Host $host;", f"proxy_set_header Host $host;\n {lines}")


def test_no_websocket_config_is_ok_and_says_how_to_add_it():
    line, fix = said(nginx_side.websocket(facts()))
    assert fix is None and "proxy_set_header Upgrade $http_upgrade" in line


def test_complete_websocket_headers_are_ok():
    assert nginx_side.websocket(facts(dump=dump_text(_site_with(WS)))).key == "doctor.websocket.ok"


@pytest.mark.parametrize("lines, missing", [
    ("proxy_set_header Upgrade $http_upgrade;", 'proxy_set_header Connection "upgrade"; proxy_http_version 1.1'),
    ('proxy_set_header Connection "upgrade"; proxy_http_version 1.1;', "proxy_set_header Upgrade $http_upgrade"),
    ('proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;',
     "proxy_http_version 1.1"),
])
def test_part_of_the_websocket_headers_fails_naming_what_is_missing(lines, missing):
    finding = nginx_side.websocket(facts(dump=dump_text(_site_with(lines))))
    assert finding.level == FAIL and finding.params["missing"] == missing
    assert finding.params["where"] == "location / (/etc/nginx/conf.d/default.conf:3)"
    assert 'proxy_set_header Connection "upgrade";' in said(finding)[1]


def test_headers_inherited_from_the_server_count_and_nginx_1_29_7_speaks_http_1_1_by_default():
    """A location without proxy_set_header of its own inherits its server's; no proxy_http_version is 1.1 from
    nginx 1.29.7 on, 1.0 before."""
    site = ("server {\n listen 80;\n proxy_set_header Upgrade $http_upgrade;\n proxy_set_header Connection upgrade;\n"
            " location /ws { proxy_pass http://maice-back-blue:8000; }\n}\n")
    assert nginx_side.websocket(facts(dump=dump_text(site), version="1.30.6")).level == OK
    assert nginx_side.websocket(facts(dump=dump_text(site), version="1.22.1")).params["missing"] == \
        "proxy_http_version 1.1"


def test_headers_from_an_included_snippet_count():
    """Debian's `include proxy_params;` style: the snippet's headers are the location's."""
    site = SITE.replace("proxy_set_header Host $host;", "include snippets/ws.conf;")
    text = dump_text(site, OWN, NGINX_CONF, ("/etc/nginx/snippets/ws.conf", WS + "\n"))
    assert nginx_side.websocket(facts(dump=text)).key == "doctor.websocket.ok"


# --- retries ---------------------------------------------------------------------------------------------------
def test_proxy_next_upstream_off_is_ok():
    finding = nginx_side.retries(facts())
    assert finding.level == OK and "(proxy_next_upstream off)" in said(finding)[0]


@pytest.mark.parametrize("site, flags", [
    (SITE.replace("proxy_next_upstream off;", ""), "error timeout"),  # nginx's default re-sends
    (SITE.replace("proxy_next_upstream off;", "proxy_next_upstream error timeout non_idempotent;"),
     "error timeout non_idempotent"),
    # set at the server: the location inherits it
    (SITE.replace("proxy_next_upstream off;", "").replace("listen 80;", "listen 80;\n proxy_next_upstream http_502;"),
     "http_502"),
])
def test_a_location_that_re_sends_to_the_next_server_warns_with_its_place_and_the_fix(site, flags):
    """The guide's site (no proxy_next_upstream): nginx re-sends a GET cut before its answer to the backup —
    another release (measured, docs/real-backend.md). A warning, not a failure: nothing breaks a deploy."""
    finding = nginx_side.retries(facts(dump=dump_text(site)))
    assert (finding.level, finding.refuses, finding.params["flags"]) == (WARN, False, flags)
    line, fix = said(finding)
    where = finding.params["where"]
    assert where.startswith("location / (/etc/nginx/conf.d/default.conf:")
    assert line.startswith(f"{where}: proxy_next_upstream {flags}: ") and "another release" in line
    assert fix.startswith(f"in {where}: `proxy_next_upstream off;`")
    assert said(finding, "ko")[1].startswith(f"{where}에: `proxy_next_upstream off;`")


def test_one_try_re_sends_nothing_and_every_location_that_re_sends_is_named():
    """`proxy_next_upstream_tries 1` is `off` in effect; a second location without either is named too."""
    tried_once = SITE.replace("proxy_next_upstream off;", "proxy_next_upstream_tries 1;")
    assert nginx_side.retries(facts(dump=dump_text(tried_once))).level == OK
    two = SITE.replace("proxy_next_upstream off;", "").replace(
        "    }\n}", "    }\n    location /chat { proxy_pass http://maice_backend; }\n}")
    finding = nginx_side.retries(facts(dump=dump_text(two)))
    assert finding.params["where"].count("location ") == 2, finding.params


# --- restart policies, live-restore ----------------------------------------------------------------------------
@pytest.mark.parametrize("policy, level", [("unless-stopped", OK), ("always", OK), ("on-failure", WARN), ("no", FAIL)])
def test_nginx_restart_policy(policy, level):
    finding = docker_side.restart_nginx(facts(nginx_container=container("nginx", policy)))
    assert finding.level == level
    if level != OK:
        assert said(finding)[1].startswith("docker update --restart unless-stopped nginx, then restart once")
        assert "Docker 20.10 (this engine: 20.10.24) does not honour a policy added to a running container" in \
            said(finding)[1]


def test_colors_without_a_restart_policy_fail_by_name():
    colors = {"blue": (container("maice-back-blue", "no"),), "green": (container("maice-back-green"),)}
    finding = docker_side.restart_colors(facts(colors=colors))
    assert finding.level == FAIL and finding.params["names"] == "maice-back-blue"
    assert said(finding)[1].startswith("docker update --restart unless-stopped maice-back-blue,")


def test_a_config_that_starts_colors_without_a_policy_fails_with_the_yml_line():
    finding = docker_side.restart_colors(facts(cfg=config(restart="no")))
    assert finding.level == FAIL
    assert said(finding)[1].startswith("set `restart: unless-stopped` under services.backend in bluegreen.yml")


def test_colors_on_failure_warn_and_none_running_yet_is_ok():
    colors = {"blue": (container("maice-back-blue", "on-failure"),), "green": ()}
    assert docker_side.restart_colors(facts(colors=colors)).level == WARN
    assert docker_side.restart_colors(facts(colors={"blue": (), "green": ()})).key == "doctor.restart_colors.none_yet"


def test_swarm_colors_are_restarted_by_swarm():
    cfg = config(runtime="swarm")
    assert docker_side.restart_colors(facts(cfg=cfg, colors={})).key == "doctor.restart_colors.swarm"


def test_live_restore_off_warns_with_the_daemon_json_line():
    finding = docker_side.live_restore(facts(engine=EngineFacts("20.10.24", False, False)))
    assert finding.level == WARN and '"live-restore": true to /etc/docker/daemon.json' in said(finding)[1]
    assert docker_side.live_restore(facts()).level == OK


# --- reboot ----------------------------------------------------------------------------------------------------
def test_after_a_reboot_nginx_without_a_policy_leaves_the_site_down():
    finding = docker_side.reboot(facts(nginx_container=container("nginx", "no")))
    assert finding.key == "doctor.reboot.nginx_stays" and finding.level == FAIL


def test_after_a_reboot_a_named_container_without_a_policy_keeps_nginx_1_22_down():
    """nginx 1.22 resolves maice-back-green when it starts; green has no policy: nginx never starts."""
    named = {"maice-back-blue": container("maice-back-blue"), "maice-back-green": container("maice-back-green", "no")}
    finding = docker_side.reboot(facts(named=named))
    assert finding.level == FAIL and finding.params["where"] == f"{UPSTREAM_FILE}:3"
    line, fix = said(finding)
    assert "host not found in upstream" in line
    assert fix.startswith("docker update --restart unless-stopped maice-back-green")
    newer = docker_side.reboot(facts(named=named, version="1.30.6"))
    assert "give those upstream servers `resolve`" in said(newer)[1]


def test_after_a_reboot_with_every_policy_set_nginx_comes_back_after_the_names_it_resolves():
    finding = docker_side.reboot(facts())
    assert (finding.level, finding.key) == (OK, "doctor.reboot.after_names")
    assert finding.params["names"] == "maice-back-blue, maice-back-green"


def test_names_with_resolve_or_behind_a_variable_do_not_hold_nginx_back():
    own = OWN.replace(":8000 max", ":8000 resolve max")
    site = SITE.replace("http://maice_backend", "http://$backend")
    named = {c: container(c, "no") for c in ("maice-back-blue", "maice-back-green")}
    assert docker_side.reboot(facts(dump=dump_text(site, own), named=named)).key == "doctor.reboot.ok"


def test_on_failure_names_may_stay_down():
    named = {"maice-back-blue": container("maice-back-blue", "on-failure")}
    assert docker_side.reboot(facts(named=named)).level == WARN


# --- admin_dir -------------------------------------------------------------------------------------------------
ADMIN = "/run/bluegreen"
MOUNTED = container("nginx", mounts=[("bind", ADMIN, ADMIN)])


def _dict_facts(admin: PathFacts, nginx=MOUNTED):
    return facts(cfg=config(switch="shared-dict"), admin_dir=admin, nginx_container=nginx)


def test_the_admin_directory_is_not_used_with_switch_reload():
    assert host_side.admin_dir(facts()).key == "doctor.admin_dir.not_needed"


def test_an_admin_directory_of_ours_0700_mounted_at_the_same_path_is_ok():
    assert host_side.admin_dir(_dict_facts(PathFacts(ADMIN, mode=0o700))).level == OK
    parent = container("nginx", mounts=[("bind", "/run", "/run")])
    assert host_side.admin_dir(_dict_facts(PathFacts(ADMIN, mode=0o700), parent)).level == OK


@pytest.mark.parametrize("mode", [0o755, 0o711, 0o777])
def test_a_loose_admin_directory_warns_and_leaves_the_repair_to_the_run(mode):
    """nginx admits only bluegreen's key (parts/admin_key.py) and every deploy or rollback sets the directory back to
    0700 under the lock (parts/admin_dir.secure): a loose mode is said, not a reason to refuse."""
    finding = host_side.admin_dir(_dict_facts(PathFacts(ADMIN, mode=mode), MOUNTED))
    assert (finding.key, finding.level, finding.refuses) == ("doctor.admin_dir.open", WARN, False)
    assert said(finding)[1] == "chmod 0700 /run/bluegreen"


@pytest.mark.parametrize("admin, nginx, key, fix", [
    (PathFacts(ADMIN, uid=1000, mode=0o700), MOUNTED, "doctor.admin_dir.owner",
     "chown 0 /run/bluegreen && chmod 0700 /run/bluegreen"),
    (PathFacts(ADMIN, exists=False, kind=""), MOUNTED, "doctor.admin_dir.missing",
     "mkdir -m 0700 /run/bluegreen && chown 0 /run/bluegreen, and run nginx with -v /run/bluegreen:/run/bluegreen"),
    (PathFacts(ADMIN, kind="symbolic link"), MOUNTED, "doctor.admin_dir.not_dir",
     "rm /run/bluegreen && mkdir -m 0700 /run/bluegreen && chown 0 /run/bluegreen, then recreate nginx with "
     "-v /run/bluegreen:/run/bluegreen (a link is never followed: whoever can change it points the socket anywhere)"),
    (PathFacts(ADMIN, mode=0o700), container("nginx", mounts=[("bind", "/srv/x", ADMIN)]),
     "doctor.admin_dir.not_mounted", "recreate nginx with -v /run/bluegreen:/run/bluegreen"),
])
def test_an_admin_directory_others_can_enter_or_nginx_cannot_see_fails_and_refuses_a_deploy(admin, nginx, key, fix):
    finding = host_side.admin_dir(_dict_facts(admin, nginx))
    assert (finding.key, finding.level, finding.refuses) == (key, FAIL, True)
    assert said(finding)[1] == fix


def test_an_admin_directory_on_a_tmpfs_warns_with_a_tmpfiles_line():
    """/run is emptied at boot and Docker recreates the directory as root 0755."""
    finding = host_side.admin_dir(_dict_facts(PathFacts(ADMIN, mode=0o700, tmpfs=True)))
    assert finding.level == WARN and not finding.refuses
    assert said(finding)[1].startswith("echo 'd /run/bluegreen 0700 0 - -' > /etc/tmpfiles.d/bluegreen.conf")


# --- state_dir -------------------------------------------------------------------------------------------------
def test_a_relative_state_dir_fails_but_is_no_deploys_refusal():
    finding = host_side.state_dir(facts(declared_state_dir="state", state_dir=PathFacts("/ws/job/state")))
    assert (finding.level, finding.refuses) == (FAIL, False)
    assert "/ws/job/state" in said(finding)[0] and said(finding)[1].startswith("state_dir: /var/lib/bluegreen")


@pytest.mark.parametrize("path, key, fix", [
    (PathFacts("/var/lib/bluegreen", mode=0o775), "doctor.state_dir.open", "chmod go-w /var/lib/bluegreen"),
    (PathFacts("/var/lib/bluegreen", uid=1000), "doctor.state_dir.owner", "chown 0 /var/lib/bluegreen"),
    (PathFacts("/var/lib/bluegreen", kind="symbolic link"), "doctor.state_dir.not_dir",
     "set state_dir to a directory of its own (a link is not followed: name the directory it points to)"),
    (PathFacts("/var/lib/bluegreen", free=8 << 20), "doctor.state_dir.full",
     "free space on the filesystem of /var/lib/bluegreen (docker image prune, old logs), or move state_dir"),
])
def test_an_unsafe_or_full_state_dir_fails(path, key, fix):
    finding = host_side.state_dir(facts(state_dir=path))
    assert (finding.key, finding.level, finding.refuses) == (key, FAIL, True)
    assert said(finding)[1] == fix


def test_low_space_warns_and_a_missing_state_dir_is_created_by_the_first_deploy():
    assert host_side.state_dir(facts(state_dir=PathFacts("/var/lib/bluegreen", free=100 << 20))).level == WARN
    missing = host_side.state_dir(facts(state_dir=PathFacts("/var/lib/bluegreen", exists=False, free=1 << 30)))
    assert (missing.level, missing.key) == (OK, "doctor.state_dir.not_yet")


# --- quick_rollback, python ---------------------------------------------------------------------------------------
def test_an_nginx_not_seen_from_here_warns_with_pid_host():
    finding = host_side.quick_rollback(facts(nginx={"sees_master": False}))
    assert finding.level == WARN and "--pid=host" in said(finding)[1]


@pytest.mark.parametrize("quick, key", [("ready", "doctor.quick_rollback.ready"),
                                        (None, "doctor.quick_rollback.after_switch"),
                                        ("nginx_reloaded", "doctor.quick_rollback.not_now")])
def test_the_quick_path_seen_from_here_is_ok_with_statuss_reason(quick, key):
    finding = host_side.quick_rollback(facts(quick=quick))
    assert (finding.level, finding.key) == (OK, key)


def test_shared_dict_before_its_first_switch_and_replicas_are_ok():
    f = facts(cfg=config(switch="shared-dict"), nginx={"sees_master": False}, quick=None)
    assert host_side.quick_rollback(f).key == "doctor.quick_rollback.first_switch"
    assert host_side.quick_rollback(facts(cfg=config(replicas=3))).key == "doctor.quick_rollback.not_applicable"


def test_python_older_than_3_10_fails():
    assert checks.python(facts(python=(3, 9, 18))).level == FAIL
    assert said(checks.python(facts()))[0] == "python 3.11.2 (bluegreen supports 3.10 and later)"


def test_every_finding_that_is_not_ok_has_a_fix_in_both_languages():
    """Over many broken facts at once: each warn or fail carries a fix, said in English and Korean."""
    broken = facts(cfg=config(switch="shared-dict", restart="no"), nginx_container=container("nginx", "no"),
                   engine=EngineFacts("20.10", False, False), admin_dir=PathFacts(ADMIN, mode=0o755, tmpfs=True),
                   declared_state_dir="state",
                   dump=dump_text(GUIDE_SITE + _site_with("proxy_set_header Upgrade x;"), None),
                   nginx={"sees_master": False}, python=(3, 8, 1))
    found, _ = checks.run(broken)
    assert {f.id for f in found if f.level != OK} >= {"upstream_block", "njs", "websocket", "restart_nginx",
                                                      "restart_colors", "live_restore", "reboot", "admin_dir",
                                                      "state_dir", "python"}
    for f in found:
        if f.level != OK:
            assert f.fix in ko.MESSAGES and f.key in ko.MESSAGES and said(f, "ko")[1]


def test_fixes_name_the_user_bluegreen_runs_as():
    """A Jenkins agent's user: `chown jenkins`, not a number, when the user has a name."""
    f = _dict_facts(PathFacts(ADMIN, uid=0, mode=0o700))
    finding = host_side.admin_dir(replace(f, user=1000, user_name="jenkins"))
    assert said(finding)[1] == "chown jenkins /run/bluegreen && chmod 0700 /run/bluegreen"
