"""`bluegreen doctor`'s report and exit, and the checks a deploy runs first (operations/doctor.py), over hand-made
facts."""

from __future__ import annotations

import io
import json

import pytest

from bluegreen.parts.facts import PathFacts
from bluegreen.errors import Inconsistent, ToFix, exit_code_for
from bluegreen.operations.doctor import examine, preflight, run_doctor
from bluegreen.output import Reporter
from bluegreen.parts.engine import EngineFacts
from doctor_facts import NGINX_CONF, OWN, SITE, UPSTREAM_FILE, config, container, dump_text, facts

OPEN_ADMIN = dict(cfg=config(switch="shared-dict"), admin_dir=PathFacts("/run/bluegreen", mode=0o755),
                  nginx_container=container("nginx", mounts=[("bind", "/run/bluegreen", "/run/bluegreen")]),
                  dump=dump_text(SITE, OWN, "load_module modules/ngx_http_js_module.so;\n" + NGINX_CONF))


def reporter(lang: str = "en", json_mode: bool = False) -> tuple[Reporter, io.StringIO]:
    stream = io.StringIO()
    return Reporter(lang, json_mode=json_mode, stream=stream), stream


def test_the_document_has_each_check_under_its_id_with_level_message_and_fix():
    out, _ = reporter()
    doc = examine(out, facts(nginx_container=container("nginx", "no"), engine=EngineFacts("20.10.24", False, False)))
    assert list(doc["checks"])[:2] == ["nginx_test", "upstream_block"]
    assert doc["failed"] == ["restart_nginx", "reboot"] and doc["warnings"] == ["live_restore"]
    restart = doc["checks"]["restart_nginx"]
    assert restart["level"] == "fail" and restart["refuses_deploy"] is False
    assert restart["fix"].startswith("docker update --restart unless-stopped nginx")
    assert doc["checks"]["python"] == {"level": "ok", "message": "python 3.11.2 (bluegreen supports 3.10 and later)",
                                       "fix": None, "refuses_deploy": False}


def test_doctor_exits_1_when_a_check_fails_and_0_with_warnings_only():
    """A failed check is ToFix (exit 1, its ids named); a warning is said, and doctor still exits 0."""
    out, stream = reporter()
    with pytest.raises(ToFix) as raised:
        run_doctor(out, facts(nginx_container=container("nginx", "no")))
    assert exit_code_for(raised.value) == 1 and raised.value.params["ids"] == "restart_nginx, reboot"
    assert "     ↳ fix: docker update --restart unless-stopped nginx" in stream.getvalue()
    out, stream = reporter()
    run_doctor(out, facts(engine=EngineFacts("20.10.24", False, False)))
    assert stream.getvalue().splitlines()[-1] == "✅ Nothing to fix (1 warning(s))"
    assert "⚠️  live_restore: Docker live-restore is off" in stream.getvalue()


def test_json_mode_prints_one_document_on_stdout_and_nothing_else(capsys):
    out, stream = reporter(json_mode=True)
    with pytest.raises(ToFix):
        run_doctor(out, facts(declared_state_dir="state"))
    doc = json.loads(capsys.readouterr().out)
    assert doc["failed"] == ["state_dir"] and stream.getvalue() == ""


def test_korean_lines_in_the_guides_style():
    out, stream = reporter("ko")
    with pytest.raises(ToFix):
        run_doctor(out, facts(nginx_container=container("nginx", "no")))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("ℹ️  bluegreen doctor backend: nginx nginx (1.22.1)")
    assert "❌ restart_nginx: nginx에 재시작 정책이 없습니다" in stream.getvalue()
    assert "     ↳ 조치: docker update --restart unless-stopped nginx" in stream.getvalue()


# --- a deploy's first checks -------------------------------------------------------------------------------------
def test_a_deploy_is_refused_on_an_admin_directory_of_another_user():
    out, _ = reporter()
    with pytest.raises(Inconsistent) as raised:
        preflight(out, facts(**{**OPEN_ADMIN, "admin_dir": PathFacts("/run/bluegreen", uid=1000, mode=0o700)}))
    assert exit_code_for(raised.value) == 3 and raised.value.params["id"] == "admin_dir"
    assert raised.value.params["fix"] == "chown 0 /run/bluegreen && chmod 0700 /run/bluegreen"
    assert str(raised.value).startswith("❌ Deploy refused before anything changed (admin_dir): the admin directory")


def test_a_deploy_goes_on_on_a_loose_admin_directory_it_repairs_itself():
    out, _ = reporter()
    assert "admin_dir" not in preflight(out, facts(**OPEN_ADMIN))


@pytest.mark.parametrize("error", [
    'nginx: [emerg] unknown directive "x" in /etc/nginx/conf.d/default.conf:2',
    # the guide's inline block beside bluegreen's file: the site's to correct (or init's), not the run's
    'nginx: [emerg] duplicate upstream "maice_backend" in /etc/nginx/conf.d/default.conf:1',
])
def test_a_deploy_is_refused_when_nginx_t_fails_on_someone_elses_file(error):
    out, _ = reporter()
    with pytest.raises(Inconsistent) as raised:
        preflight(out, facts(nginx={"dump": None, "error": error}))
    assert raised.value.params["id"] == "nginx_test"


def test_what_detection_or_doctor_alone_reports_does_not_refuse_a_deploy():
    """The block in default.conf is the detection's to refuse (one message); a relative state_dir is doctor's."""
    out, stream = reporter()
    assert preflight(out, facts(dump=dump_text(OWN + SITE, None), declared_state_dir="state")) == []
    assert stream.getvalue() == ""


def test_a_deploy_says_each_warning_in_one_line_and_goes_on():
    out, stream = reporter()
    warned = preflight(out, facts(nginx_container=container("nginx", "no"), engine=EngineFacts("20.10", False, False),
                                  colors={"blue": (container("maice-back-blue", "no"),), "green": ()}))
    assert warned == ["restart_nginx", "restart_colors", "live_restore"]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("⚠️  ") and ". Fix: " in line for line in lines)


def test_a_deploy_is_refused_when_state_dir_has_no_room_for_its_writes():
    out, _ = reporter()
    with pytest.raises(Inconsistent) as raised:
        preflight(out, facts(state_dir=PathFacts("/var/lib/bluegreen", free=1 << 20)))
    assert raised.value.params["id"] == "state_dir"


@pytest.mark.parametrize("error", [
    f'nginx: [emerg] host not found in upstream "maice-back-green:8000" in {UPSTREAM_FILE}:3',
    'nginx: [emerg] host not found in upstream "maice_backend" in /etc/nginx/conf.d/default.conf:4',
    'nginx: [emerg] unknown "maice_backend" variable in /etc/nginx/conf.d/default.conf:4',
])
def test_nginx_t_failing_on_or_for_bluegreens_own_file_is_left_to_the_run(error):
    """bluegreen's file emptied or broken by hand (nginx -t fails in it, or in the site for want of it): the run's
    look names it (edited, not loaded) and repairs it, so no refusal here."""
    out, _ = reporter()
    assert preflight(out, facts(nginx={"dump": None, "error": error})) == []

