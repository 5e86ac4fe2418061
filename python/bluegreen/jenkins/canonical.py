"""Canonical XML: what "the same configuration" means when comparing the declaration with the server.

Jenkins re-saves items through XStream, which adds `plugin="name@version"` attributes, changes the XML
declaration and the indentation, and records runtime `<actions>`. None of that is configuration, so it is
dropped; attributes are sorted; whitespace between elements goes (text inside leaves is kept as is).

Ownership of job properties (parameters):
- A pipeline-from-SCM job (the deploy job): its Jenkinsfile owns `<properties>`. Declarative `parameters{}`,
  `options{}` and `properties([...])` replace the job's properties on every run, so anything this tool wrote
  there would be undone by the next build and reported as drift forever. The canonical form therefore leaves
  `<properties>` out for these jobs, and an update carries the server's properties over (`keep_server_properties`),
  so a sync never wipes the parameters a Jenkinsfile defined.
- An inline-script job (the Rollback job): the job definition owns them (SERVICE, REASON); its script must
  declare none, and they are compared like everything else.

Credentials: `secret`, `password` and `username` are always shown as `<secret-redacted/>` (Jenkins does so for
the first two on every read; the username is ours to hide); a change of value shows in the fingerprint instead.
"""

from __future__ import annotations

import difflib
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from bluegreen.errors import BlueGreenError

SCM_DEFINITION = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
REDACTED_FIELDS = ("secret", "password", "username")
REDACTED = "secret-redacted"
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse(xml: str, *, what: str) -> ET.Element:
    try:
        return ET.fromstring(_DECLARATION.sub("", xml, count=1).strip().encode("utf-8"))
    except ET.ParseError as exc:
        # The position only: the text may be a credential's.
        raise BlueGreenError("jenkins.bad_xml", item=what, error=str(exc.position)) from None


def canonical(xml: str, *, what: str) -> str:
    root = parse(xml, what=what)
    for child in list(root):
        if child.tag == "actions":
            root.remove(child)  # runtime records (e.g. Declarative's property tracker), not configuration
    if _is_scm_pipeline(root):
        for props in root.findall("properties"):
            props.clear()
    if "Credentials" in root.tag:
        for name in REDACTED_FIELDS:
            for field in root.iter(name):
                field.clear()
                ET.SubElement(field, REDACTED)
    return "\n".join(_lines(root, 0)) + "\n"


def keep_server_properties(desired: str, server: str) -> str:
    """The desired SCM-job XML with the server's `<properties>` (they belong to the Jenkinsfile)."""
    root, live = parse(desired, what="declared"), parse(server, what="server")
    if not _is_scm_pipeline(root):
        return desired
    theirs = live.find("properties")
    ours = root.find("properties")
    if theirs is None or ours is None:
        return desired
    root[list(root).index(ours)] = theirs
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode")


def diff(before: str, after: str, *, name: str) -> list[str]:
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), fromfile=f"jenkins: {name}",
                                     tofile=f"declared: {name}", lineterm=""))


def _is_scm_pipeline(root: ET.Element) -> bool:
    definition = root.find("definition")
    return definition is not None and definition.get("class") == SCM_DEFINITION


def _lines(element: ET.Element, depth: int) -> list[str]:
    pad = "  " * depth
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in sorted(element.attrib.items()) if k != "plugin")
    text = element.text or ""
    children = list(element)
    if not children:
        if not text:
            return [f"{pad}<{element.tag}{attrs}/>"]
        return [f"{pad}<{element.tag}{attrs}>{escape(text)}</{element.tag}>"]
    lines = [f"{pad}<{element.tag}{attrs}>"]
    if text.strip():
        lines.append(pad + "  " + escape(text.strip()))
    for child in children:
        lines.extend(_lines(child, depth + 1))
        if child.tail and child.tail.strip():
            lines.append(pad + "  " + escape(child.tail.strip()))
    lines.append(f"{pad}</{element.tag}>")
    return lines
