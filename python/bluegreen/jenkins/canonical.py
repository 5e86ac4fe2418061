"""Canonical text of an XML tree: what `plan` shows and what comparison compares, once semantic.py has cut the
server's XML down to what the declaration sets.

The form drops what XStream varies between saves and is not configuration: the prologue (1.0 or 1.1), the
indentation, `plugin="name@version"` attributes, attribute order, and the two forms of an empty element
(`<x/>` and `<x></x>` are both `<x/>`). Text inside leaves is kept exactly.

Credentials: `secret`, `password` and `username` always read `<secret-redacted/>` (Jenkins does so for the first
two on every read; the username is ours to hide); a change of value shows in the fingerprint instead.
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
_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>")


# XML 1.1 (what Jenkins writes) may carry control characters as references (&#x1b;), which an XML 1.0 parser
# refuses. None of ours has one (xmltext.py), so such a value differs anyway: read it as visible text ("\x1b").
_RESTRICTED_REF = re.compile(r"&#(?:x([0-9a-fA-F]+)|([0-9]+));")


def _restricted(match: re.Match[str]) -> str:
    code = int(match[1], 16) if match[1] else int(match[2])
    if (code < 0x20 and code not in (0x9, 0xA, 0xD)) or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return match[0]


def parse(xml: str, *, what: str) -> ET.Element:
    try:
        body = _RESTRICTED_REF.sub(_restricted, _DECLARATION.sub("", xml, count=1).strip())
        return ET.fromstring(body.encode("utf-8"))
    except (ET.ParseError, UnicodeEncodeError) as exc:
        # The position only: the text may be a credential's.
        where = getattr(exc, "position", ("?", "?"))
        raise BlueGreenError("jenkins.bad_xml", item=what, error=str(where)) from None


def text(root: ET.Element) -> str:
    """The canonical text of a tree."""
    return "\n".join(_lines(root, 0)) + "\n"


def serialize(root: ET.Element) -> str:
    """XML to send to Jenkins (XML 1.1, as Jenkins writes it; we never send characters 1.1 would change)."""
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode")


def redact(root: ET.Element) -> ET.Element:
    """A credential's tree with its values replaced by `<secret-redacted/>` (in place; returns it)."""
    for name in REDACTED_FIELDS:
        for field in root.iter(name):
            field.clear()
            ET.SubElement(field, REDACTED)
    return root


def is_credential(root: ET.Element) -> bool:
    return "Credentials" in root.tag


def is_scm_pipeline(root: ET.Element) -> bool:
    definition = root.find("definition")
    return definition is not None and definition.get("class") == SCM_DEFINITION


def diff(before: str, after: str, *, name: str) -> list[str]:
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), fromfile=f"jenkins: {name}",
                                     tofile=f"declared: {name}", lineterm=""))


def _lines(element: ET.Element, depth: int) -> list[str]:
    pad = "  " * depth
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in sorted(element.attrib.items()) if k != "plugin")
    body = element.text or ""
    children = list(element)
    if not children:
        if not body:
            return [f"{pad}<{element.tag}{attrs}/>"]
        return [f"{pad}<{element.tag}{attrs}>{escape(body)}</{element.tag}>"]
    lines = [f"{pad}<{element.tag}{attrs}>"]
    if body.strip():
        lines.append(pad + "  " + escape(body.strip()))
    for child in children:
        lines.extend(_lines(child, depth + 1))
        if child.tail and child.tail.strip():
            lines.append(pad + "  " + escape(child.tail.strip()))
    lines.append(f"{pad}</{element.tag}>")
    return lines
