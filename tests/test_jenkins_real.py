"""Jenkins as it really is (issue 11): job sync against a stand-in that re-serializes, encrypts, runs Declarative
builds and mangles descriptions, in each Jenkins line it models. Unattended checks must stay quiet, real changes
must still be found, and a sync must never erase what it does not own."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_standin import MODES, Standin
from jenkins_standin_fixtures import (  # noqa: F401 - fixtures
    FOLDER, declaration, edit_declaration, env, post_config, run, standin,
)
from jenkins_standin_xstream import Jenkinsfile

DEPLOY = f"{FOLDER}/deploy-backend"
ROLLBACK = f"{FOLDER}/Rollback"
CHOICE = "hudson.model.ChoiceParameterDefinition"
BOOLEAN = "hudson.model.BooleanParameterDefinition"
PASSWORD = "hudson.model.PasswordParameterDefinition"
NO_CONCURRENT = "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty"


def param(kind: str, name: str, extra: str = "") -> str:
    return f"<{kind}><name>{name}</name><description>{name.lower()}</description>{extra}</{kind}>"


# The repository's Jenkinsfile: parameters DEPLOY_ENV and FORCE_REBUILD, options { disableConcurrentBuilds() };
# plus a password parameter, whose Secret default Jenkins re-encrypts on every save.
APP_JENKINSFILE = Jenkinsfile(
    parameters=[param(CHOICE, "DEPLOY_ENV", '<choices class="java.util.Arrays$ArrayList"><a class="string-array">'
                                            "<string>production</string><string>staging</string></a></choices>"),
                param(BOOLEAN, "FORCE_REBUILD", "<defaultValue>false</defaultValue>"),
                param(PASSWORD, "SMOKE_TOKEN", "<defaultValue>s3cret-default</defaultValue>")],
    properties=[f"<{NO_CONCURRENT}><abortPrevious>false</abortPrevious></{NO_CONCURRENT}>"])

pytestmark = pytest.mark.parametrize("standin", MODES, indirect=True)


def test_unattended_checks_stay_quiet_through_builds_and_resaves(run, standin: Standin):
    """sync → build → re-save, then 24 hourly checks with builds and UI saves between them: all exit 0, no writes."""
    assert run("sync").code == 0
    standin.build(DEPLOY, APP_JENKINSFILE)
    for job in (DEPLOY, ROLLBACK):
        standin.resave(job)
    writes = len(standin.writes())
    for hour in range(24):
        result = run("check")
        assert result.code == 0, (hour, result.text)
        if hour % 3 == 0:
            standin.build(DEPLOY, APP_JENKINSFILE)
            standin.resave(ROLLBACK)
    assert len(standin.writes()) == writes
    assert standin.builds == 1 + 8
    sync = run("sync")
    assert sync.code == 0 and "8 unchanged" in sync.out and len(standin.writes()) == writes


def test_declared_parameter_changed_in_jenkins_is_found_and_repaired_by_one_write(run, standin: Standin):
    """An edited SERVICE choice on the Rollback job: check exits 3, one sync write repairs it, the next check is 0."""
    assert run("sync").code == 0
    standin.edit(ROLLBACK, lambda xml: xml.replace("<string>backend</string>", "<string>backend-old</string>"))
    check = run("check")
    assert check.code == 3 and ROLLBACK in check.out
    writes = len(standin.writes())
    sync = run("sync")
    assert sync.code == 0 and len(standin.writes()) == writes + 1
    assert "<string>backend</string>" in standin.find(ROLLBACK).xml
    assert run("check").code == 0


def test_declared_value_changed_in_the_declaration_is_one_write(run, standin: Standin, declaration: Path):
    """A new branch in the declaration: check exits 3 showing it, one write, then quiet again after a build."""
    assert run("sync").code == 0
    standin.build(DEPLOY, APP_JENKINSFILE)
    edit_declaration(declaration, lambda d: d["jobs"][0].update(branch="*/release"))
    assert run("check").code == 3
    plan = run("plan")
    assert "-          <name>*/main</name>" in plan.out and "+          <name>*/release</name>" in plan.out
    assert "doGenerateSubmoduleConfigurations" not in plan.out  # a default Jenkins filled in is not ours
    writes = len(standin.writes())
    assert run("sync").code == 0 and len(standin.writes()) == writes + 1
    standin.build(DEPLOY, APP_JENKINSFILE)
    assert run("check").code == 0


def test_parameter_removed_from_the_jenkinsfile_is_gone_after_the_next_build(run, standin: Standin,
                                                                              declaration: Path):
    """A sync between two builds keeps Declarative's tracker, so a parameter the Jenkinsfile drops disappears."""
    assert run("sync").code == 0
    old = Jenkinsfile(parameters=APP_JENKINSFILE.parameters + [param(BOOLEAN, "LEGACY_FLAG")],
                      properties=APP_JENKINSFILE.properties)
    standin.build(DEPLOY, old)
    assert "<name>LEGACY_FLAG</name>" in standin.find(DEPLOY).xml
    edit_declaration(declaration, lambda d: d["jobs"][0].update(description="Deploy maice-back (v2)"))
    assert run("sync").code == 0  # an update of the deploy job, between the builds
    assert "DeclarativeJobPropertyTrackerAction" in standin.find(DEPLOY).xml
    standin.build(DEPLOY, APP_JENKINSFILE)
    xml = standin.find(DEPLOY).xml
    assert "<name>LEGACY_FLAG</name>" not in xml and "<name>DEPLOY_ENV</name>" in xml
    assert run("check").code == 0


def test_the_standin_keeps_a_parameter_whose_tracker_was_erased(standin: Standin):
    """The trap the merge avoids, shown on the stand-in: replace <actions> with <actions/> and Declarative
    no longer knows the parameter was the Jenkinsfile's, so removing it from the Jenkinsfile leaves it."""
    standin.root.children["f"] = type(standin.root)("f", "<com.cloudbees.hudson.plugins.folder.Folder/>",
                                                    children={})
    standin.root.children["f"].children["j"] = type(standin.root)("j", "<flow-definition/>")
    standin.build("f/j", Jenkinsfile(parameters=[param(BOOLEAN, "GONE")]))
    xml = standin.find("f/j").xml
    start, end = xml.index("<actions>"), xml.index("</actions>") + len("</actions>")
    standin.find("f/j").xml = xml[:start] + "<actions/>" + xml[end:]
    standin.build("f/j", Jenkinsfile(parameters=[]))
    assert "<name>GONE</name>" in standin.find("f/j").xml


def test_non_latin1_descriptions_make_no_drift_loop(run, standin: Standin, declaration: Path):
    """Korean descriptions sync, then check stays 0 (some lines echo them as "?"); a changed one is still found."""
    def korean(d: dict) -> None:
        d["credentials"][0]["description"] = "운영 DB 접속 URL"
        d["jobs"][0]["description"] = "백엔드 무중단 배포"
    edit_declaration(declaration, korean)
    assert run("sync").code == 0
    writes = len(standin.writes())
    for _ in range(3):
        assert run("check").code == 0
    assert run("sync").code == 0 and len(standin.writes()) == writes
    edit_declaration(declaration, lambda d: d["credentials"][0].update(description="운영 DB 주소"))
    check = run("check")
    assert check.code == 3 and "maice-database-url" in check.out
    assert run("sync").code == 0 and run("check").code == 0


def test_item_of_another_type_at_a_declared_name_is_named_with_both_types(run, standin: Standin):
    """A freestyle job where the deploy pipeline is declared: exit 2 naming both types, nothing written."""
    assert run("sync").code == 0
    folder = standin.find(FOLDER)
    folder.children["deploy-backend"] = type(folder)("deploy-backend", "<project><description>mine</description>"
                                                                       "</project>")
    folder.credentials["maice-admin"] = ("<org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>"
                                         "<id>maice-admin</id><secret>x</secret>"
                                         "</org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>")
    writes = len(standin.writes())
    result = run("sync")
    assert result.code == 2, result.text
    assert "hudson.model.FreeStyleProject" in result.out and "WorkflowJob" in result.out
    assert "StringCredentialsImpl" in result.out and "UsernamePasswordCredentialsImpl" in result.out
    assert len(standin.writes()) == writes
    assert run("check").code == 2


def test_plan_shows_server_text_with_control_characters_escaped(run, standin: Standin):
    """A branch typed into the UI with a terminal escape sequence is shown escaped by plan, never raw."""
    assert run("sync").code == 0
    job = standin.find(DEPLOY)  # saved as XML 1.1 does it: the control characters as references
    job.xml = job.xml.replace("*/main", "*/main&#x1b;]0;pwned&#x7;")
    plan = run("plan")
    assert "\x1b" not in plan.out and "\\x1b]0;pwned\\x07" in plan.out
