"""semantic.py: what counts as drift in a job's XML, and what an update keeps (the smallest unit, no server)."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

from bluegreen.jenkins import canonical, semantic
from jenkins_standin_xstream import Jenkinsfile, declarative_build, saved

SCM = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
OURS = f"""<?xml version='1.1' encoding='UTF-8'?>
<flow-definition>
  <actions/>
  <description>Deploy it &amp; watch
[managed by bluegreen: declaration d, job f/deploy]</description>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <definition class="{SCM}">
    <scm class="hudson.plugins.git.GitSCM">
      <configVersion>2</configVersion>
      <userRemoteConfigs><hudson.plugins.git.UserRemoteConfig><url>https://git/app.git</url>
      </hudson.plugins.git.UserRemoteConfig></userRemoteConfigs>
      <branches><hudson.plugins.git.BranchSpec><name>*/main</name></hudson.plugins.git.BranchSpec></branches>
      <extensions/>
    </scm>
    <scriptPath>Jenkinsfile</scriptPath>
    <lightweight>true</lightweight>
  </definition>
  <triggers/>
  <disabled>false</disabled>
</flow-definition>"""
PARAMS = ("<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
          "<hudson.model.StringParameterDefinition><name>REASON</name><defaultValue></defaultValue>"
          "</hudson.model.StringParameterDefinition></parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
          "</properties>")
INLINE = OURS.replace("<properties/>", PARAMS).replace(
    OURS[OURS.index(f'<definition class="{SCM}">'):OURS.index("</definition>")],
    '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"><script>echo 1</script>'
    "<sandbox>true</sandbox>")


def drift(ours: str, server: str) -> list[str]:
    mine = canonical.parse(ours, what="x")
    before, after = semantic.views(mine, canonical.parse(server, what="x"), semantic.rules_for(mine))
    return canonical.diff(before, after, name="x")


def shuffled(xml: str, seed: int) -> str:
    """The same XML with every element's children in another order (XStream puts fields back in class order)."""
    root = canonical.parse(xml, what="x")
    rng = random.Random(seed)
    for element in root.iter():
        if element.tag not in semantic.LISTS:
            children = list(element)
            rng.shuffle(children)
            element[:] = children
    return ET.tostring(root, encoding="unicode")


def test_what_xstream_does_on_a_save_is_not_drift():
    """Plugin attributes, defaults filled in, 1.1 prologue, escaping, empty forms, field order: no drift."""
    server = saved(OURS)
    assert "plugin=" in server and "doGenerateSubmoduleConfigurations" in server and server != OURS
    assert drift(OURS, server) == []
    for seed in range(5):
        assert drift(OURS, shuffled(saved(OURS), seed)) == []


def test_a_declarative_build_is_not_drift_on_a_pipeline_from_scm():
    """The Jenkinsfile's parameters, properties and tracker (a Secret default re-encrypted) are not ours."""
    password = "<hudson.model.PasswordParameterDefinition><name>T</name><defaultValue>x</defaultValue>" \
               "</hudson.model.PasswordParameterDefinition>"
    server, changed = declarative_build(saved(OURS), Jenkinsfile(parameters=[password]))
    assert changed and "DeclarativeJobPropertyTrackerAction" in server
    assert drift(OURS, server) == [] and drift(OURS, saved(server)) == []


def test_a_changed_value_we_own_is_drift_and_the_diff_shows_only_it():
    """A branch changed in the UI is found; the diff has that line and no server-only noise."""
    diff = drift(OURS, saved(OURS).replace("*/main", "*/hotfix"))
    changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-          <name>*/hotfix</name>", "+          <name>*/main</name>"]


def test_an_added_list_item_or_a_changed_class_is_drift():
    """A second branch (lists are owned whole) and another definition class are both changes."""
    spec = "<hudson.plugins.git.BranchSpec><name>*/dev</name></hudson.plugins.git.BranchSpec>"
    assert drift(OURS, saved(OURS).replace("</branches>", spec + "</branches>"))
    assert drift(OURS, INLINE.replace("<description>", "<description>x"))  # other class, other description
    assert drift(OURS, saved(INLINE))


def test_an_empty_element_of_ours_may_be_absent_on_the_server():
    """XStream omits null fields: <triggers/> missing there is the same as empty."""
    assert drift(OURS, saved(OURS).replace("<triggers/>", "")) == []


def test_merge_keeps_what_is_not_ours_and_replaces_what_is():
    """An update: actions, the Jenkinsfile's properties and unknown fields stay; our values replace theirs."""
    built, _ = declarative_build(saved(OURS), Jenkinsfile(parameters=[
        "<hudson.model.StringParameterDefinition><name>ENV</name></hudson.model.StringParameterDefinition>"]))
    server = built.replace("<disabled>false</disabled>", "<disabled>false</disabled><quietPeriod>9</quietPeriod>")
    server = server.replace("*/main", "*/hotfix")
    mine = canonical.parse(OURS, what="x")
    merged = canonical.serialize(semantic.merge(mine, canonical.parse(server, what="x"), semantic.rules_for(mine)))
    assert "DeclarativeJobPropertyTrackerAction" in merged and "<name>ENV</name>" in merged
    assert "<quietPeriod>9</quietPeriod>" in merged and "doGenerateSubmoduleConfigurations" in merged
    assert "*/main" in merged and "*/hotfix" not in merged
    assert drift(OURS, saved(merged)) == []


def test_owned_properties_are_replaced_and_others_kept_on_an_inline_job():
    """The Rollback-style job: our ParametersDefinitionProperty is compared and replaced; a property a plugin
    added on save is neither drift nor removed."""
    jira = '<hudson.plugins.jira.JiraProjectProperty plugin="jira@3.13"/>'
    server = saved(INLINE).replace("<properties>", "<properties>" + jira)
    assert drift(INLINE, server) == []
    edited = server.replace("<name>REASON</name>", "<name>WHY</name>")
    assert drift(INLINE, edited)
    mine = canonical.parse(INLINE, what="x")
    merged = canonical.serialize(semantic.merge(mine, canonical.parse(edited, what="x"), semantic.rules_for(mine)))
    assert "JiraProjectProperty" in merged and "<name>REASON</name>" in merged and "WHY" not in merged
