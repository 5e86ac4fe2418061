"""What we own in an item's XML, how to compare it, and how to write it without erasing the rest.

Jenkins keeps config.xml as XStream writes it, not as it was posted, and re-writes it on every save (the UI, a
plugin, a build): `plugin=` attributes, sub-elements filled in with their defaults (`doGenerateSubmoduleConfigurations`
under a Git SCM), fields in the class's order, another form of empty element, an XML 1.1 prologue, `Secret`s
re-encrypted with a fresh IV, runtime `<actions>`, and — for a Declarative pipeline — the properties and
parameters its Jenkinsfile declares. Job DSL had the same drift (JENKINS-38741) and fixes it by comparing both
sides after the same canonicalization. We can't run XStream, so we compare what the declaration *sets*:

- `project(ours, theirs)`: the server's tree cut down to the elements our XML names, field by field. Elements
  only the server has (defaults, plugin fields, Secrets we never set) are not in the projection, so they are not
  drift; an element of ours that is empty may be missing there (XStream omits null fields). Comparing the
  canonical text of the projection with ours finds every change to a value we set, and `plan` shows exactly that.
- `merge(ours, theirs)`: what an update sends — the server's tree with our elements put in, so `<actions>`
  (Declarative's property tracker among them), the Jenkinsfile's properties and every field we don't set survive.

Element kinds, by tag (our templates use only these):
- LISTS, ordered and owned whole (a branch added in the UI is drift): compared and written as a unit.
- KEYED (`properties`): a set of elements keyed by tag; we own the ones we declare (the Rollback job's
  ParametersDefinitionProperty) and leave the others (a property a plugin adds on save, say).
- everything else with children is a struct of fields, matched by tag in any order.
- `rules.ignored`: top-level elements we neither compare nor write: `<actions>` always; a pipeline-from-SCM job's
  `<properties>`, which belong to its Jenkinsfile (design note 16).
An element whose `class` differs is a different object: compared and written whole.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable

from bluegreen.jenkins import canonical

LISTS = frozenset({"userRemoteConfigs", "branches", "extensions", "parameterDefinitions", "choices", "a",
                   "triggers"})
KEYED = frozenset({"properties"})


@dataclass(frozen=True)
class Rules:
    ignored: frozenset[str]  # top-level children that are not ours
    redact: bool = False  # credentials: values never compared (the fingerprint stands for them)
    # (tag, ours, theirs) → theirs counts as ours: a description some endpoint returns lossily, say
    same_text: Callable[[str, str, str], bool] = lambda tag, ours, theirs: False


def rules_for(ours: ET.Element, *, same_text: Callable[[str, str, str], bool] | None = None) -> Rules:
    ignored = {"actions"} | ({"properties"} if canonical.is_scm_pipeline(ours) else set())
    return Rules(frozenset(ignored), redact=canonical.is_credential(ours),
                 same_text=same_text or (lambda tag, a, b: False))


def views(ours: ET.Element, theirs: ET.Element, rules: Rules) -> tuple[str, str]:
    """(server, declared) as canonical text of what we own: equal exactly when nothing we set differs."""
    mine = _without(copy.deepcopy(ours), rules.ignored)
    server = copy.deepcopy(theirs)
    if rules.redact:
        canonical.redact(mine)
        canonical.redact(server)
    return canonical.text(_project(mine, server, rules)), canonical.text(mine)


def merge(ours: ET.Element, theirs: ET.Element, rules: Rules) -> ET.Element:
    """The server's tree with every element we own replaced by ours; all else kept as the server has it."""
    return _merge(ours, theirs, top=True, rules=rules)


# --- projection ---
def _project(ours: ET.Element, theirs: ET.Element, rules: Rules) -> ET.Element:
    out = ET.Element(theirs.tag, {k: v for k, v in theirs.attrib.items() if k in ours.attrib})
    if _other_class(ours, theirs) or theirs.tag != ours.tag:
        return _whole(theirs, out)
    if ours.tag in LISTS:
        for i, item in enumerate(theirs):
            match = ours[i] if i < len(ours) and ours[i].tag == item.tag else None
            out.append(_project(match, item, rules) if match is not None else _plain(item))
        return out
    if len(ours) == 0:
        if len(theirs):
            return _whole(theirs, out)  # a leaf here, a structure there: show it all
        mine, server = ours.text or "", theirs.text or ""
        out.text = mine if server != mine and rules.same_text(ours.tag, mine, server) else server
        return out
    used: set[int] = set()
    for child in ours:
        index = _find(theirs, child.tag, used)
        if index is None:
            if _empty(child):
                out.append(copy.deepcopy(child))  # XStream omits null fields: absent is the same as empty
            continue
        used.add(index)
        out.append(_project(child, theirs[index], rules))
    return out


# --- merge ---
def _merge(ours: ET.Element, theirs: ET.Element, *, top: bool, rules: Rules) -> ET.Element:
    if ours.tag in LISTS or len(ours) == 0 or _other_class(ours, theirs):
        return copy.deepcopy(ours)
    out = ET.Element(theirs.tag, {**theirs.attrib, **ours.attrib})
    out.text, out.tail = theirs.text, theirs.tail
    keyed = ours.tag in KEYED
    used: set[int] = set()
    for item in theirs:
        if top and item.tag in rules.ignored:
            out.append(copy.deepcopy(item))
            continue
        index = _find(ours, item.tag, used)
        if index is None:
            out.append(copy.deepcopy(item))  # not ours: kept
            continue
        used.add(index)
        mine = ours[index]
        out.append(copy.deepcopy(mine) if keyed else _merge(mine, item, top=False, rules=rules))
    for index, mine in enumerate(ours):
        if index not in used and not (top and mine.tag in rules.ignored):
            out.append(copy.deepcopy(mine))  # ours, missing there (XStream puts fields in order on save)
    return out


# --- helpers ---
def _find(parent: ET.Element, tag: str, used: set[int]) -> int | None:
    for index, child in enumerate(parent):
        if child.tag == tag and index not in used:
            return index
    return None


def _other_class(ours: ET.Element, theirs: ET.Element) -> bool:
    return "class" in ours.attrib and ours.get("class") != theirs.get("class")


def _without(root: ET.Element, tags: frozenset[str]) -> ET.Element:
    for child in [c for c in root if c.tag in tags]:
        root.remove(child)
    return root


def _empty(element: ET.Element) -> bool:
    return len(element) == 0 and not (element.text or "").strip()


def _plain(element: ET.Element) -> ET.Element:
    return copy.deepcopy(element)


def _whole(theirs: ET.Element, out: ET.Element) -> ET.Element:
    out.attrib.update(theirs.attrib)
    out.text = theirs.text
    out.extend(copy.deepcopy(list(theirs)))
    return out
