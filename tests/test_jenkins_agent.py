"""`agent: {label: …}` in jenkins.yml: where the Rollback job runs, against the Jenkins stand-in (python-jenkins
unmocked), in both Jenkins lines it models. The label reaches the job as AGENT_LABEL, a choice of one that the
library's Rollback.Jenkinsfile hands to `agent { label … }`; what sync compares stays canonical through XStream's
re-saves; deploy jobs are untouched (their Jenkinsfile owns where they run)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jenkins_standin import MODES, Standin, _body
from jenkins_standin_fixtures import (  # noqa: F401 - fixtures
    FOLDER, ROLLBACK_SCRIPT, declaration, edit_declaration, env, run, standin,
)

ROLLBACK = f"{FOLDER}/Rollback"
DEPLOY = f"{FOLDER}/deploy-backend"
# a label every part of which XML and XStream escape: quotes, ampersands, a character beyond Latin-1
LABEL = '"docker host" && linux-ü || !windows'


def parameters(standin: Standin, job: str) -> dict[str, list[str]]:
    """The job's parameters as Jenkins holds them: name → its choices (or [] for a non-choice parameter)."""
    root = ET.fromstring(_body(standin.find(job).xml))
    found = {}
    for definition in root.iter():
        name = definition.findtext("name")
        if definition.tag.startswith("hudson.model.") and definition.tag.endswith("ParameterDefinition") and name:
            found[name] = [s.text or "" for s in definition.iter("string")]
    return found


def set_label(declaration: Path, label: str | None) -> None:
    def change(data: dict) -> None:
        if label is None:
            data.pop("agent", None)
        else:
            data["agent"] = {"label": label}
    edit_declaration(declaration, change)


@pytest.mark.parametrize("standin", MODES, indirect=True)
def test_the_label_becomes_the_rollback_jobs_only_agent_choice_and_a_resave_is_not_drift(
        run, standin: Standin, declaration: Path):
    """sync gives the Rollback job AGENT_LABEL with the declared label as its only choice; after Jenkins re-saves
    the job (escaping the quotes and ampersands its way) `check` still finds nothing to do, and nothing is written."""
    set_label(declaration, LABEL)
    assert run("sync").code == 0
    assert parameters(standin, ROLLBACK)["AGENT_LABEL"] == [LABEL]
    standin.resave(ROLLBACK)
    assert "&quot;docker host&quot; &amp;&amp;" in standin.find(ROLLBACK).xml  # XStream's form, not ours
    writes = len(standin.writes())
    check = run("check")
    assert check.code == 0, check.text
    assert len(standin.writes()) == writes


@pytest.mark.parametrize("standin", MODES, indirect=True)
def test_a_changed_or_removed_label_is_drift_that_sync_repairs(run, standin: Standin, declaration: Path):
    """Another label, or none, is drift `check` reports (exit 3) and `plan` shows; one sync makes the job match."""
    set_label(declaration, "docker-host")
    assert run("sync").code == 0
    standin.resave(ROLLBACK)
    set_label(declaration, "docker-host && linux")
    assert run("check").code == 3
    plan = run("plan")
    assert "-              <string>docker-host</string>" in plan.out
    assert "+              <string>docker-host &amp;&amp; linux</string>" in plan.out
    assert run("sync").code == 0 and parameters(standin, ROLLBACK)["AGENT_LABEL"] == ["docker-host && linux"]
    set_label(declaration, None)
    assert run("check").code == 3
    assert run("sync").code == 0 and "AGENT_LABEL" not in parameters(standin, ROLLBACK)
    assert run("check").code == 0


def test_an_edit_of_the_label_in_the_ui_is_drift(run, standin: Standin, declaration: Path):
    """Someone adds a second choice in the job's configuration page: `check` exits 3, sync restores one choice."""
    set_label(declaration, "docker-host")
    assert run("sync").code == 0
    standin.edit(ROLLBACK, lambda xml: xml.replace("<string>docker-host</string>",
                                                   "<string>docker-host</string><string>any-node</string>"))
    assert run("check").code == 3
    assert run("sync").code == 0 and parameters(standin, ROLLBACK)["AGENT_LABEL"] == ["docker-host"]


def test_without_a_label_the_rollback_job_has_no_agent_parameter(run, standin: Standin, declaration: Path):
    """No `agent:`: the job's parameters are SERVICE and REASON, as before (the script's `label ''` is any agent)."""
    set_label(declaration, None)
    assert run("sync").code == 0
    assert list(parameters(standin, ROLLBACK)) == ["SERVICE", "REASON"]


def test_deploy_jobs_get_no_agent_parameter(run, standin: Standin, declaration: Path):
    """The deploy job's properties are its Jenkinsfile's (design note 16): the label never lands there."""
    set_label(declaration, "docker-host")
    assert run("sync").code == 0
    assert "AGENT_LABEL" not in standin.find(DEPLOY).xml


def test_a_rollback_script_that_ignores_the_label_is_refused(run, standin: Standin, declaration: Path):
    """A label with a Rollback script that never reads AGENT_LABEL would run rollbacks anywhere: exit 2, one line,
    nothing sent."""
    set_label(declaration, "docker-host")
    (declaration.parent / "Rollback.Jenkinsfile").write_text(
        "pipeline { agent any\n stages { stage('R') { steps { blueGreenRollback(params.SERVICE) } } } }\n",
        encoding="utf-8")
    result = run("plan")
    assert result.code == 2 and standin.log == []
    assert len(result.err.strip().splitlines()) == 1 and "AGENT_LABEL" in result.err


def test_the_librarys_rollback_pipeline_hands_the_label_to_its_agent():
    """The library's Rollback.Jenkinsfile takes its agent from AGENT_LABEL, any agent without it."""
    text = ROLLBACK_SCRIPT.read_text(encoding="utf-8")
    assert "    agent { label params.AGENT_LABEL ?: '' }\n" in text
