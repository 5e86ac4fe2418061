"""Job and credential XML, rendered with jinja2 (the one owner of the templates), escaped for XML.

Every item this tool writes carries its ownership marker (ownership.py) as the last line of its description:
that is how `sync --prune` tells what it may delete, and how a reader in the Jenkins UI learns that edits there
will be reverted.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import jinja2

from bluegreen.jenkins.declaration import DeployJob, RollbackJob
from bluegreen.jenkins.ownership import Mark, describe
from bluegreen.jenkins.values import CredentialValue


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # autoescape: every value (repo URLs, descriptions, the Rollback script, secrets) becomes XML text, never
    # markup. StrictUndefined: a typo in a template fails loudly instead of rendering an empty element.
    return jinja2.Environment(loader=jinja2.PackageLoader("bluegreen.jenkins", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def deploy_job(job: DeployJob, mark: Mark) -> str:
    return _environment().get_template("job-deploy.xml.j2").render(job=job, description=describe(job.description,
                                                                                                   mark))


def rollback_job(job: RollbackJob, mark: Mark, *, services: Iterable[str], script: str,
                 agent_label: str | None) -> str:
    return _environment().get_template("job-rollback.xml.j2").render(
        description=describe(job.description, mark), services=list(services), script=script,
        agent_label=agent_label)


def credential(value: CredentialValue, mark: Mark, *, reveal: bool = False) -> str:
    """The credential's XML. Only `reveal=True` (the body of a write) holds the values; otherwise they are
    `<secret-redacted/>`, exactly as Jenkins answers a read, so the two compare and display safely."""
    spec = value.spec
    params = {"id": spec.id, "description": describe(spec.description, mark),
              "secret": None, "username": None, "password": None}
    if reveal:
        for name in ("secret", "username", "password"):
            part = getattr(value, name)
            params[name] = part.reveal() if part is not None else None
    return _environment().get_template(f"credential-{spec.type}.xml.j2").render(**params)
