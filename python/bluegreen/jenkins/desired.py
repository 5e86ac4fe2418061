"""What the declaration wants on the server: one `Wanted` per job and credential, as XML.

`xml` is what comparison and display see, and it never holds a secret value: credentials are rendered with
`<secret-redacted/>` and their fingerprint. Only `body()` — called at the moment of a write — renders the
values, and its result goes nowhere but the request. A job's body is merged into the server's XML
(semantic.merge), so an update never erases what is not ours; a credential is ours whole (its values can't be
read back to merge with anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from bluegreen.jenkins import canonical, render, semantic
from bluegreen.jenkins.declaration import Declaration, DeployJob, RollbackJob
from bluegreen.jenkins.ownership import Mark
from bluegreen.jenkins.values import CredentialValue, Secret
from bluegreen.jenkins.xmltext import latin1_lossy

WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"  # what a <flow-definition> is


@dataclass(frozen=True)
class Wanted:
    kind: str  # "job" | "credential"
    name: str  # a job's full name (folder/name); a credential's id
    short: str  # a job's name in its folder; a credential's id
    xml: str = field(repr=False)
    body: Callable[[str | None], str] = field(repr=False)  # the XML to send, given the server's (or None)

    def root(self):  # noqa: ANN201 - an ElementTree element
        return canonical.parse(self.xml, what=self.name)

    def type_name(self) -> str:
        """What Jenkins calls this item's type: a job's class, a credential's XML root."""
        return WORKFLOW_JOB if self.kind == "job" else self.root().tag

    def rules(self) -> semantic.Rules:
        return semantic.rules_for(self.root(), same_text=_lossy_description if self.kind == "credential" else None)


def build(decl: Declaration, *, values: Sequence[CredentialValue], key: Secret | None,
          services: Sequence[str], scripts: Mapping[str, str]) -> list[Wanted]:
    """Credentials first: the jobs may need them (checkout) as soon as they exist."""
    items = [_credential(decl, v, key) for v in values]
    for job in decl.jobs:
        full = f"{decl.folder}/{job.name}"
        mark = Mark(decl.id, "job", full)
        if isinstance(job, DeployJob):
            xml = render.deploy_job(job, mark)
        elif isinstance(job, RollbackJob):
            xml = render.rollback_job(job, mark, services=services, script=scripts[job.name],
                                      agent_label=decl.agent_label)
        else:  # pragma: no cover - declaration.py makes only these two
            continue
        items.append(Wanted("job", full, job.name, xml, _merged_into_server(xml, full)))
    return items


def _merged_into_server(xml: str, name: str) -> Callable[[str | None], str]:
    def body(server: str | None) -> str:
        if server is None:
            return xml
        ours = canonical.parse(xml, what=name)
        merged = semantic.merge(ours, canonical.parse(server, what=name), semantic.rules_for(ours))
        return canonical.serialize(merged)
    return body


def _credential(decl: Declaration, value: CredentialValue, key: Secret | None) -> Wanted:
    assert key is not None, "read_values requires the key whenever credentials are declared"
    mark = Mark(decl.id, "credential", f"{decl.folder}/{value.spec.id}", value.fingerprint(key))
    return Wanted("credential", value.spec.id, value.spec.id, render.credential(value, mark),
                  lambda server: render.credential(value, mark, reveal=True))


def _lossy_description(tag: str, ours: str, theirs: str) -> bool:
    # Some endpoints return a credential description's characters beyond Latin-1 as "?". The marker line is
    # ASCII and the fingerprint covers the description, so a real change still shows; this is only the echo.
    return tag == "description" and theirs == latin1_lossy(ours)
