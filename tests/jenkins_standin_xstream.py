"""How Jenkins stores what it is sent, for the stand-in: XStream's re-serialization, `Secret` encryption, and a
Declarative pipeline's build recording its Jenkinsfile's properties. Each piece names what it reproduces.

    saved(xml)                 the XML as XStream writes it on a save (Items.XSTREAM2 via XmlFile.write)
    declarative_build(xml, jf) the job after a build of a Declarative Jenkinsfile (pipeline-model-definition
                               Utils.updateJobProperties), and whether that build saved it
    encrypt / decrypt          a stand-in for hudson.util.Secret: a fresh random IV on every save
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# XStream writes plugin="name@version" on elements whose class comes from a plugin (XStream2's
# PluginClassOwnership).
PLUGINS = {
    "flow-definition": "workflow-job@1385.vb_58b_86ea_fff1",
    "com.cloudbees.hudson.plugins.folder.Folder": "cloudbees-folder@6.858.v898218f3609d",
    "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition": "workflow-cps@3793.v65dec41c3a_c3",
    "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition": "workflow-cps@3793.v65dec41c3a_c3",
    "hudson.plugins.git.GitSCM": "git@5.2.1",
    "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl": "plain-credentials@143.v1b_df8b_d3b_e48",
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl": "credentials@1319.v7eb_51b_3a_c97b_",
    "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobAction":
        "pipeline-model-definition@2.2175.v76a_fff0a_2618",
    "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobPropertyTrackerAction":
        "pipeline-model-definition@2.2175.v76a_fff0a_2618",
    "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty":
        "workflow-job@1385.vb_58b_86ea_fff1",
}

# Fields XStream writes in declaration order (superclass fields first), whatever order they were posted in.
FIELD_ORDER = {
    "flow-definition": ["actions", "description", "keepDependencies", "properties", "definition", "triggers",
                        "disabled"],
    "hudson.plugins.git.GitSCM": ["configVersion", "userRemoteConfigs", "branches",
                                  "doGenerateSubmoduleConfigurations", "submoduleCfg", "gitTool", "extensions"],
    "hudson.plugins.git.UserRemoteConfig": ["name", "refspec", "url", "credentialsId"],
    "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition": ["scm", "scriptPath", "lightweight"],
    "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl": ["scope", "id", "description", "secret"],
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl": [
        "scope", "id", "description", "username", "password", "usernameSecret"],
}

# Sub-elements a save fills in with their defaults when the posted XML left them out (the object's field
# initialisers, written back by XStream). The Git SCM's are the ones JENKINS-38741 reports.
DEFAULTS = {
    "flow-definition": ["<actions/>", "<keepDependencies>false</keepDependencies>", "<properties/>",
                        "<triggers/>", "<disabled>false</disabled>"],
    "hudson.plugins.git.GitSCM": ["<doGenerateSubmoduleConfigurations>false</doGenerateSubmoduleConfigurations>",
                                  '<submoduleCfg class="empty-list"/>', "<extensions/>"],
    "hudson.model.StringParameterDefinition": ["<trim>false</trim>"],
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl": ["<usernameSecret>false</usernameSecret>"],
}

# String fields: XStream writes an empty string as <x></x>, a null or empty structure as <x/>.
STRING_FIELDS = {"description", "defaultValue", "script", "scriptPath", "url", "name", "credentialsId", "id"}

# hudson.util.Secret fields: stored encrypted, re-encrypted with a fresh IV on every save.
SECRET_FIELDS = {"secret", "password"}
SECRET_PARAMETER = "hudson.model.PasswordParameterDefinition"  # its defaultValue is a Secret

TRACKER = "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobPropertyTrackerAction"
JOB_ACTION = "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobAction"
PARAMETERS = "hudson.model.ParametersDefinitionProperty"
TRIGGERS = "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"
_PROLOGUE = re.compile(r"\s*<\?xml[^>]*\?>")


def parse(xml: str) -> ET.Element:
    return ET.fromstring(_PROLOGUE.sub("", xml, count=1).strip().encode("utf-8"))


# --- Secret ---
def encrypt(value: str) -> str:
    """`{base64}` with a fresh IV each time, like Secret.getEncryptedValue (not real encryption: a stand-in)."""
    iv = secrets.token_bytes(16)
    data = bytes(b ^ iv[i % 16] for i, b in enumerate(value.encode("utf-8")))
    return "{" + base64.b64encode(b"\x01" + iv + data).decode("ascii") + "}"


def decrypt(text: str) -> str:
    """Secret.decrypt: an encrypted value's plain text; anything else is taken as plain text (Secret.fromString)."""
    if not (text.startswith("{") and text.endswith("}")):
        return text
    try:
        raw = base64.b64decode(text[1:-1], validate=True)
    except ValueError:
        return text
    if len(raw) < 17 or raw[0] != 1:
        return text
    iv, data = raw[1:17], raw[17:]
    return bytes(b ^ iv[i % 16] for i, b in enumerate(data)).decode("utf-8")


# --- XStream ---
def saved(xml: str) -> str:
    """The XML as a save writes it: plugin attributes, defaults filled in, fields in class order, Secrets
    re-encrypted, XStream's escaping and empty-element forms, an XML 1.1 prologue."""
    root = parse(xml)
    for element in root.iter():
        kind = element.get("class") or element.tag
        if kind in PLUGINS:
            element.set("plugin", PLUGINS[kind])
        for default in DEFAULTS.get(kind, []):
            child = ET.fromstring(default)
            if element.find(child.tag) is None:
                element.append(child)
        order = FIELD_ORDER.get(kind)
        if order:
            children = sorted(element, key=lambda c: order.index(c.tag) if c.tag in order else len(order))
            element[:] = children
        if kind == SECRET_PARAMETER:
            _reencrypt(element.find("defaultValue"))
    if "Credentials" in root.tag:
        for name in SECRET_FIELDS:
            for element in root.iter(name):
                _reencrypt(element)
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + "\n".join(_write(root, 0)) + "\n"


def _reencrypt(element: ET.Element | None) -> None:
    if element is not None and len(element) == 0:
        element.text = encrypt(decrypt(element.text or ""))


def _write(element: ET.Element, depth: int) -> list[str]:
    pad = "  " * depth
    attrs = "".join(f' {k}="{_escape(v)}"' for k, v in element.attrib.items())
    if len(element) == 0:
        if element.text:
            return [f"{pad}<{element.tag}{attrs}>{_escape(element.text)}</{element.tag}>"]
        if element.tag in STRING_FIELDS:
            return [f"{pad}<{element.tag}{attrs}></{element.tag}>"]
        return [f"{pad}<{element.tag}{attrs}/>"]
    lines = [f"{pad}<{element.tag}{attrs}>"]
    for child in element:
        lines.extend(_write(child, depth + 1))
    return lines + [f"{pad}</{element.tag}>"]


def _escape(text: str) -> str:
    # XStream's PrettyPrintWriter (XML 1.1 mode) escapes quotes and apostrophes too, and CR as a reference.
    for raw, ref in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&apos;"),
                     ("\r", "&#xd;")):
        text = text.replace(raw, ref)
    return text


# --- Declarative ---
@dataclass
class Jenkinsfile:
    """What a Declarative Jenkinsfile declares, as the XML XStream writes for it."""

    parameters: list[str] = field(default_factory=list)  # ParameterDefinition elements
    properties: list[str] = field(default_factory=list)  # JobProperty elements (options{} like disableConcurrentBuilds)


def declarative_build(xml: str, jenkinsfile: Jenkinsfile) -> tuple[str, bool]:
    """The job after one build of `jenkinsfile` (Utils.updateJobProperties), and whether the build saved it.

    Parameters and properties the *previous* Jenkinsfile declared are found in the job's
    DeclarativeJobPropertyTrackerAction (under <actions>); those no longer declared are removed, and everything
    else already on the job (set in the UI, or by a tool) is kept. Without the tracker, nothing is known to be
    the Jenkinsfile's, so a parameter removed from the Jenkinsfile stays on the job for good. (The plugin falls
    back to the previous build's action, which only builds run by much older versions carry.)"""
    root = parse(xml)
    declared_params = [ET.fromstring(p) for p in jenkinsfile.parameters]
    declared_props = [ET.fromstring(p) for p in jenkinsfile.properties]
    actions = _child(root, "actions", 0)
    tracker = actions.find(TRACKER)
    previous_params = _tracked(tracker, "parameters")
    previous_props = _tracked(tracker, "jobProperties")

    properties = _child(root, "properties", 3)
    existing_params = [copy.deepcopy(p) for p in properties.findall(f"{PARAMETERS}/parameterDefinitions/*")]
    names = {p.findtext("name") for p in declared_params}
    params = declared_params + [p for p in existing_params
                                if p.findtext("name") not in names and p.findtext("name") not in previous_params]
    others = {p.tag: p for p in properties if p.tag not in (PARAMETERS, TRIGGERS) and p.tag not in previous_props}
    others.update({p.tag: p for p in declared_props})
    triggers = properties.find(TRIGGERS)

    new_properties = ET.Element("properties")
    new_properties.extend(others.values())
    if triggers is not None:
        new_properties.append(triggers)
    if params:
        definitions = ET.SubElement(ET.SubElement(new_properties, PARAMETERS), "parameterDefinitions")
        definitions.extend(params)
    new_tracker = _tracker([p.tag for p in declared_props], [p.findtext("name") or "" for p in declared_params])

    changed = _canon(new_properties) != _canon(properties) or tracker is None or _canon(new_tracker) != _canon(tracker)
    if not changed:
        return xml, False
    properties[:] = list(new_properties)
    if tracker is not None:
        actions.remove(tracker)
    if actions.find(JOB_ACTION) is None:
        actions.append(ET.Element(JOB_ACTION))
    actions.append(new_tracker)
    return saved(ET.tostring(root, encoding="unicode")), True


def _child(root: ET.Element, tag: str, index: int) -> ET.Element:
    element = root.find(tag)
    if element is None:
        element = ET.Element(tag)
        root.insert(index, element)
    return element


def _tracked(tracker: ET.Element | None, name: str) -> set[str]:
    return set() if tracker is None else {s.text or "" for s in tracker.findall(f"{name}/string")}


def _tracker(properties: list[str], parameters: list[str]) -> ET.Element:
    tracker = ET.Element(TRACKER)
    for name, values in (("jobProperties", properties), ("triggers", []), ("parameters", parameters),
                         ("options", [])):
        element = ET.SubElement(tracker, name)
        for value in sorted(values):
            ET.SubElement(element, "string").text = value
    return tracker


def _canon(element: ET.Element) -> str:
    clone = copy.deepcopy(element)
    for e in clone.iter():
        e.attrib.pop("plugin", None)
        e.tail = None
        if len(e) and not (e.text or "").strip():
            e.text = None
    return ET.tostring(clone, encoding="unicode")
