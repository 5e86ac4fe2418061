"""`bluegreen jenkins plan | sync | check` against the Jenkins stand-in, python-jenkins unmocked."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import yaml

from bluegreen.errors import BlueGreenError
from jenkins_standin import Standin
from jenkins_standin_xstream import Jenkinsfile
from jenkins_standin_fixtures import (  # noqa: F401 - fixtures
    DISTINCTIVE, EXAMPLE, FOLDER, ITEMS, ROLLBACK_SCRIPT, VALUES, create_by_hand, declaration, edit_declaration, env,
    post_config, run, standin,
)


def test_first_sync_creates_folders_jobs_and_credentials(run, standin: Standin):
    """The first sync creates the nested folders, both jobs and all six credentials, with their values."""
    result = run("sync")
    assert result.code == 0, result.text
    assert standin.find("team").children is not None and standin.find(FOLDER).children is not None
    assert set(standin.find(FOLDER).children) == {"deploy-backend", "Rollback"}
    store = standin.find(FOLDER).credentials
    assert set(store) == {"maice-database-url", "maice-openai-api-key", "maice-google-client-id",
                          "maice-google-client-secret", "maice-admin", "maice-session-secret-key"}
    assert standin.secret(FOLDER, "maice-database-url") == VALUES["DATABASE_URL"]
    assert standin.secret(FOLDER, "maice-admin", "username") == "admin"
    assert standin.secret(FOLDER, "maice-admin", "password") == VALUES["ADMIN_PASSWORD"]
    rollback = standin.find(f"{FOLDER}/Rollback").xml
    assert "<string>backend</string>" in rollback and "<name>REASON</name>" in rollback
    assert standin.find(f"{FOLDER}/deploy-backend").description.endswith(
        "\n[managed by bluegreen: declaration maice, job team/maice/deploy-backend]")


def test_second_sync_makes_no_writes_and_at_most_two_requests_per_item(run, standin: Standin):
    """With nothing changed, a second sync sends no POST and at most two requests per declared item."""
    assert run("sync").code == 0
    before = len(standin.log)
    result = run("sync")
    second = standin.log[before:]
    assert result.code == 0, result.text
    assert [r for r in second if r[0] != "GET"] == []
    assert len(second) <= 2 * ITEMS, second
    assert "8 unchanged" in result.out


def test_server_edit_is_reported_by_check_and_repaired_by_sync(run, standin: Standin):
    """An edit made in Jenkins makes `check` exit 3 naming the job, and `sync` puts the declared config back."""
    assert run("sync").code == 0
    job = f"{FOLDER}/deploy-backend"
    post_config(standin, job, standin.find(job).xml.replace("*/main", "*/hotfix"))
    check = run("check")
    assert check.code == 3, check.text
    assert job in check.out and "differs" in check.err
    sync = run("sync")
    assert sync.code == 0 and "updated job " + job in sync.out
    assert "*/main" in standin.find(job).xml and run("check").code == 0


def test_plan_writes_nothing_and_shows_a_unified_diff(run, standin: Standin):
    """`plan` prints a unified diff of the canonical XML of what differs and sends no write at all."""
    assert run("sync").code == 0
    job = f"{FOLDER}/deploy-backend"
    post_config(standin, job, standin.find(job).xml.replace("*/main", "*/hotfix"))
    writes = len(standin.writes())
    result = run("plan")
    assert result.code == 0, result.text
    assert len(standin.writes()) == writes
    assert f"--- jenkins: job {job}" in result.out
    assert "-          <name>*/hotfix</name>" in result.out and "+          <name>*/main</name>" in result.out
    assert "plugin=" not in result.out  # canonical form: no plugin versions


def test_first_plan_on_an_empty_jenkins_writes_nothing(run, standin: Standin):
    """On an empty Jenkins, `plan` lists every folder, job and credential to create and writes nothing."""
    result = run("plan")
    assert result.code == 0 and standin.writes() == []
    assert "create folder team" in result.out and "create folder team/maice" in result.out
    assert "create credential maice-admin" in result.out


def test_prune_deletes_only_managed_items(run, standin: Standin, declaration: Path):
    """Undeclared managed items are reported, kept without --prune, deleted with it; unmanaged ones survive."""
    assert run("sync").code == 0
    create_by_hand(standin, "handmade")
    standin.find(FOLDER).credentials["handmade-token"] = (
        "<org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl><id>handmade-token</id>"
        "<description>made by hand</description><secret>x</secret></org.jenkinsci.plugins.plaincredentials.impl"
        ".StringCredentialsImpl>")
    data = yaml.safe_load(declaration.read_text(encoding="utf-8"))
    data["jobs"] = data["jobs"][:1]
    data["credentials"] = [c for c in data["credentials"] if c["id"] != "maice-session-secret-key"]
    declaration.write_text(yaml.safe_dump(data), encoding="utf-8")

    kept = run("sync")
    assert kept.code == 0 and "sync --prune" in kept.out
    assert standin.find(f"{FOLDER}/Rollback") is not None
    assert run("check").code == 3
    pruned = run("sync", "--prune")
    assert pruned.code == 0, pruned.text
    folder = standin.find(FOLDER)
    assert set(folder.children) == {"deploy-backend", "handmade"}
    assert "maice-session-secret-key" not in folder.credentials and "handmade-token" in folder.credentials
    assert run("check").code == 0


def test_changed_credential_value_is_detected_and_updated(run, standin: Standin, env: pytest.MonkeyPatch):
    """A new value in the environment changes the fingerprint: `check` exits 3 naming it, `sync` updates it."""
    assert run("sync").code == 0
    env.setenv("DATABASE_URL", "postgresql://maice:rotated-pass@db:5432/maice")
    check = run("check")
    assert check.code == 3 and "maice-database-url" in check.out
    assert "maice-openai-api-key" not in check.out
    sync = run("sync")
    assert sync.code == 0 and "updated credential maice-database-url" in sync.out
    assert standin.secret(FOLDER, "maice-database-url") == "postgresql://maice:rotated-pass@db:5432/maice"
    assert run("check").code == 0


def test_missing_variables_are_all_named_and_nothing_is_sent(run, standin: Standin, env: pytest.MonkeyPatch):
    """Missing values exit 2 with one message naming every missing variable, before any request is made."""
    for name in ("DATABASE_URL", "ADMIN_PASSWORD", "BLUEGREEN_FINGERPRINT_KEY", "JENKINS_API_TOKEN"):
        env.delenv(name)
    result = run("sync")
    assert result.code == 2
    for name in ("DATABASE_URL", "ADMIN_PASSWORD", "BLUEGREEN_FINGERPRINT_KEY", "JENKINS_API_TOKEN"):
        assert name in result.err
    assert standin.log == []


def test_secret_never_appears_in_output_diffs_logs_or_errors(run, standin: Standin, env: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture, declaration: Path):
    """A distinctive secret reaches Jenkins but no output, diff, log record or exception, even on a 500."""
    caplog.set_level(logging.DEBUG)
    seen = [run("plan"), run("sync"), run("check")]
    env.setenv("OPENAI_API_KEY", DISTINCTIVE + "-v2")
    seen += [run("plan"), run("check")]
    standin.fail(500, path_contains="maice-openai-api-key/config.xml", echo_body=True)
    seen.append(run("sync"))
    assert seen[-1].code == 1 and "500" in seen[-1].err
    standin.fail(500, path_contains="maice-openai-api-key/config.xml", echo_body=True)
    from bluegreen.jenkins.commands import Settings, run_sync
    with pytest.raises(BlueGreenError) as error:
        run_sync(Settings(declaration, None, 30.0, None, "en"), prune=False)
    texts = [r.text for r in seen] + [record.getMessage() for record in caplog.records]
    texts += [str(error.value), repr(error.value), repr(error.value.params), str(standin.log)]
    assert not [t for t in texts if DISTINCTIVE in t]
    assert standin.secret(FOLDER, "maice-openai-api-key") == DISTINCTIVE  # it did reach Jenkins


def test_wrong_token_is_reported_as_bad_credentials(run, env: pytest.MonkeyPatch):
    """A wrong API token (Jenkins answers 401) exits 2 with a message about the credentials, not a guess."""
    env.setenv("JENKINS_API_TOKEN", "wrong-token")
    result = run("check")
    assert result.code == 2
    assert "rejected the credentials of user 'admin' (401)" in result.err
    assert "Possibly authentication failed" not in result.text


def test_user_without_permission_is_told_which_permission(run, standin: Standin):
    """A user Jenkins refuses (403) gets a message naming the missing permission."""
    standin.forbidden.add("admin")
    result = run("check")
    assert result.code == 2
    assert "may not GET" in result.err and "Overall/Read" in result.err


def test_read_only_user_is_refused_at_the_first_write(run, standin: Standin):
    """A user who may read but not create gets a 403 naming Job/Create when sync first writes (the folder)."""
    standin.readers.add("admin")
    result = run("sync")
    assert result.code == 2 and "may not POST" in result.err and "Job/Create" in result.err


def test_permission_in_the_one_of_format_is_named(run, standin: Standin):
    """Jenkins' other 403 format ("missing a permission, one of X, Y is required") is named too."""
    standin.forbidden_any.add("admin")
    result = run("check")
    assert result.code == 2 and "Overall/Read, Overall/Administer" in result.err


def test_missing_crumb_is_named(run, standin: Standin, env: pytest.MonkeyPatch):
    """A password login whose crumb Jenkins refuses (403 "No valid crumb") is told so and how to fix it."""
    standin.passwords["alice"] = "alice-password"
    env.setenv("JENKINS_USER", "alice")
    env.setenv("JENKINS_API_TOKEN", "alice-password")
    standin.reject_crumbs = True  # a proxy that drops the session cookie the crumb is bound to
    result = run("sync")
    assert result.code == 2
    assert "no valid CSRF crumb" in result.err


def test_password_login_works_with_its_session_bound_crumb(run, standin: Standin, env: pytest.MonkeyPatch):
    """A password login gets a crumb bound to its web session; python-jenkins keeps the cookie, so sync works."""
    standin.passwords["alice"] = "alice-password"
    env.setenv("JENKINS_USER", "alice")
    env.setenv("JENKINS_API_TOKEN", "alice-password")
    assert run("sync").code == 0
    assert standin.find(f"{FOLDER}/deploy-backend") is not None


def test_api_token_needs_no_crumb(run, standin: Standin):
    """Requests authenticated by an API token are exempt from CSRF: sync works even if no crumb is ever valid."""
    standin.reject_crumbs = True
    assert run("sync").code == 0


def test_sync_works_with_csrf_protection_off(run, standin: Standin):
    """With CSRF protection off (crumb issuer 404), sync creates everything; a second sync writes nothing."""
    standin.csrf = False
    assert run("sync").code == 0
    writes = len(standin.writes())
    assert run("sync").code == 0 and len(standin.writes()) == writes


def test_server_error_on_write_is_not_called_an_authentication_failure(run, standin: Standin):
    """A 500 on a write exits 1 with an internal-error message naming the request, not "authentication failed"."""
    standin.fail(500, path_contains="createItem?name=deploy-backend")
    result = run("sync")
    assert result.code == 1
    assert "internal error (500) on POST job/team/job/maice/createItem?name=deploy-backend" in result.err
    assert "Possibly authentication failed" not in result.text


def test_raw_409_on_create_is_translated(run, standin: Standin):
    """A 409 Conflict that python-jenkins would leak as a raw HTTPError becomes a clear rejection (exit 1)."""
    standin.fail(409, path_contains="createCredentials")
    result = run("sync")
    assert result.code == 1 and "rejected POST" in result.err and "(409)" in result.err


def test_duplicate_item_400_shows_jenkins_reason(standin: Standin):
    """Jenkins' 400 for a duplicate name surfaces with its X-Error reason (not a raw HTTPError)."""
    from bluegreen.jenkins.client import Client
    from bluegreen.jenkins.connection import Connection

    client = Client(Connection(standin.url, "admin", "admin-token"))
    client.create_folder("maice")
    with pytest.raises(BlueGreenError) as error:
        client.create_folder("maice")
    assert error.value.exit_code == 1
    assert "(400): A job already exists with the name ‘maice’" in str(error.value)


def test_unreachable_server_exits_6(run, standin: Standin):
    """When nothing answers at JENKINS_URL, the command exits 6 naming the URL."""
    standin.stop()
    result = run("check")
    assert result.code == 6 and f"Cannot reach Jenkins at {standin.url}" in result.err


def test_credentials_file_readable_by_others_is_refused(run, standin: Standin, env: pytest.MonkeyPatch,
                                                        tmp_path: Path):
    """A credentials file with mode 0644 is refused (exit 2, chmod hint) before it is read or Jenkins contacted."""
    for name in ("JENKINS_URL", "JENKINS_USER", "JENKINS_API_TOKEN"):
        env.delenv(name)
    path = tmp_path / "jenkins.env"
    path.write_text(f"JENKINS_URL={standin.url}\nJENKINS_USER=admin\nJENKINS_API_TOKEN=admin-token\n")
    path.chmod(0o644)
    refused = run("check", "--credentials-file", str(path))
    assert refused.code == 2 and "mode 0o644" in refused.err and f"chmod 600 {path}" in refused.err
    assert standin.log == []
    path.chmod(0o600)
    assert run("sync", "--credentials-file", str(path)).code == 0


def test_jenkinsfile_parameters_on_the_deploy_job_are_not_drift(run, standin: Standin, declaration: Path):
    """Properties a Declarative build wrote on the deploy job are not drift, and an update keeps them."""
    assert run("sync").code == 0
    job = f"{FOLDER}/deploy-backend"
    string = "hudson.model.StringParameterDefinition"
    standin.build(job, Jenkinsfile(parameters=[f"<{string}><name>DEPLOY_ENV</name></{string}>"]))
    assert "DEPLOY_ENV" in standin.find(job).xml
    assert run("check").code == 0
    edit_declaration(declaration, lambda d: d["jobs"][0].update(branch="*/release"))
    assert run("sync").code == 0
    saved = standin.find(job).xml
    assert "*/release" in saved and "<name>DEPLOY_ENV</name>" in saved and "DeclarativeJobPropertyTrackerAction" in saved


def test_rollback_parameters_are_owned_by_the_job_definition(run, standin: Standin):
    """Removing the Rollback job's SERVICE/REASON parameters on the server is drift that sync repairs."""
    assert run("sync").code == 0
    job = f"{FOLDER}/Rollback"
    xml = standin.find(job).xml
    start, end = xml.index("<properties>"), xml.index("</properties>") + len("</properties>")
    post_config(standin, job, xml[:start] + "<properties />" + xml[end:])
    assert run("check").code == 3
    assert run("sync").code == 0 and "<name>SERVICE</name>" in standin.find(job).xml


def test_unknown_declaration_key_is_named(run, declaration: Path, standin: Standin):
    """An unknown key in the declaration exits 2 naming the key; Jenkins is not contacted."""
    data = yaml.safe_load(declaration.read_text(encoding="utf-8"))
    data["credentials"][0]["from_envv"] = "X"
    declaration.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run("plan")
    assert result.code == 2 and "unknown key 'credentials[0].from_envv'" in result.err
    assert standin.log == []


def test_missing_rollback_script_is_named(run, declaration: Path):
    """A Rollback job whose script file is missing exits 2 naming the path."""
    (declaration.parent / "Rollback.Jenkinsfile").unlink()
    result = run("plan")
    assert result.code == 2 and "Rollback.Jenkinsfile" in result.err


def test_tls_verification_stays_on_even_with_pythonhttpsverify_0(monkeypatch: pytest.MonkeyPatch):
    """PYTHONHTTPSVERIFY=0, which python-jenkins obeys, does not turn certificate verification off."""
    from bluegreen.jenkins.client import Client
    from bluegreen.jenkins.connection import Connection

    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    client = Client(Connection("https://jenkins.example/", "admin", "token"))
    assert client._j._session.verify is True


def test_check_speaks_korean(run, env: pytest.MonkeyPatch):
    """With BLUEGREEN_LANG=ko the drift report is in Korean."""
    env.setenv("BLUEGREEN_LANG", "ko")
    result = run("check")
    assert result.code == 3 and "선언과" in result.err


def test_example_declaration_matches_the_example_config():
    """examples/maice/jenkins.yml parses and declares every non-optional credential id bluegreen.yml binds."""
    from bluegreen import config
    from bluegreen.jenkins import declaration

    decl = declaration.load(EXAMPLE / "jenkins.yml")
    wanted = {v.credential for s in config.load(EXAMPLE / "bluegreen.yml").services.values()
              for v in s.env if v.credential and not v.optional}
    assert wanted == {c.id for c in decl.credentials}
    names = {c.from_env or "" for c in decl.credentials} | {c.username_from_env or "" for c in decl.credentials} \
        | {c.password_from_env or "" for c in decl.credentials}
    assert {"DATABASE_URL", "OPENAI_API_KEY", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "ADMIN_USERNAME",
            "ADMIN_PASSWORD", "SESSION_SECRET_KEY"} <= names
    assert os.path.normpath(decl.rollback_jobs[0].script) == str(ROLLBACK_SCRIPT)


def test_xml_jenkins_cannot_load_is_a_server_error_not_an_auth_failure(standin: Standin):
    """Jenkins' 500 for XML it cannot read comes back as an internal-error message naming the item."""
    from bluegreen.jenkins.client import Client
    from bluegreen.jenkins.connection import Connection

    client = Client(Connection(standin.url, "admin", "admin-token"))
    client.create_folder("maice")
    client.create_job("maice/app", "<project/>")
    with pytest.raises(BlueGreenError) as error:
        client.reconfig_job("maice/app", "<project><unclosed></project>")
    assert "internal error (500) on POST job/maice/job/app/config.xml for 'maice/app'" in str(error.value)
    assert "authentication" not in str(error.value).split(".")[0]


def test_secret_from_file_is_read_without_its_trailing_newline(run, standin: Standin, declaration: Path):
    """A `from_file` secret is sent without the editor's trailing newline; a missing file is named like a variable."""
    data = yaml.safe_load(declaration.read_text(encoding="utf-8"))
    data["credentials"][0] = {"id": "maice-database-url", "type": "secret", "from_file": "db-url.txt"}
    declaration.write_text(yaml.safe_dump(data), encoding="utf-8")
    missing = run("plan")
    assert missing.code == 2 and "db-url.txt" in missing.err and standin.log == []
    (declaration.parent / "db-url.txt").write_text("postgresql://from-file@db/maice\n", encoding="utf-8")
    assert run("sync").code == 0
    assert standin.secret(FOLDER, "maice-database-url") == "postgresql://from-file@db/maice"


def test_without_bluegreen_config_the_file_beside_the_declaration_gives_the_services(run, standin: Standin,
                                                                                      declaration: Path):
    """A declaration without `bluegreen_config:` reads bluegreen.yml beside it: the Rollback job's SERVICE choices."""
    edit_declaration(declaration, lambda d: d.pop("bluegreen_config"))
    plan = run("plan")
    assert plan.code == 0, plan.text
    assert "<string>backend</string>" in plan.out and standin.writes() == []
    (declaration.parent / "bluegreen.yml").unlink()
    missing = run("plan")
    assert missing.code == 2 and "bluegreen.yml" in missing.err and "internal error" not in missing.text
