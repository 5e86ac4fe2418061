"""What the declaration wants on the server: one `Wanted` per job and credential, as XML.

`xml` is what comparison and display see, and it never holds a secret value: credentials are rendered with
`<secret-redacted/>` and their fingerprint. Only `body()` — called at the moment of a write — renders the
values, and its result goes nowhere but the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from bluegreen.jenkins import canonical, render
from bluegreen.jenkins.declaration import Declaration, DeployJob, RollbackJob
from bluegreen.jenkins.values import CredentialValue, Secret


@dataclass(frozen=True)
class Wanted:
    kind: str  # "job" | "credential"
    name: str  # a job's full name (folder/name); a credential's id
    xml: str = field(repr=False)
    body: Callable[[str | None], str] = field(repr=False)  # the XML to send, given the server's (or None)

    def canonical(self) -> str:
        return canonical.canonical(self.xml, what=self.name)


def build(decl: Declaration, *, values: Sequence[CredentialValue], key: Secret | None,
          services: Sequence[str], scripts: Mapping[str, str]) -> list[Wanted]:
    """Credentials first: the jobs may need them (checkout) as soon as they exist."""
    items = [_credential(decl.folder, v, key) for v in values]
    for job in decl.jobs:
        full = f"{decl.folder}/{job.name}"
        if isinstance(job, DeployJob):
            xml = render.deploy_job(job)
            items.append(Wanted("job", full, xml, _keeping_jenkinsfile_properties(xml)))
        elif isinstance(job, RollbackJob):
            xml = render.rollback_job(job, services=services, script=scripts[job.name])
            items.append(Wanted("job", full, xml, lambda server, xml=xml: xml))
    return items


def _keeping_jenkinsfile_properties(xml: str) -> Callable[[str | None], str]:
    # The deploy job's properties belong to its Jenkinsfile: an update keeps what the last build put there.
    return lambda server: xml if server is None else canonical.keep_server_properties(xml, server)


def _credential(folder: str, value: CredentialValue, key: Secret | None) -> Wanted:
    assert key is not None, "read_values requires the key whenever credentials are declared"
    fingerprint = value.fingerprint(key)
    return Wanted("credential", value.spec.id, render.credential(value, fingerprint),
                  lambda server: render.credential(value, fingerprint, reveal=True))
