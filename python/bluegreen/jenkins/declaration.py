"""The declaration file (jenkins.yml): a typed, strict view. Unknown keys are errors that name the key.

    version: 1
    id: app                           # this file's name in Jenkins: marks what it owns (ownership.py)
    folder: team/app                  # everything lives here; created as needed
    bluegreen_config: bluegreen.yml   # its services are the Rollback job's SERVICE choices
    agent: {label: docker-host}       # where the Rollback job runs (its AGENT_LABEL); default: any agent
    jobs:
      - {name: deploy, type: deploy, repo: https://…/app.git, branch: "*/main",
         checkout_credentials: app-git, script_path: Jenkinsfile}
      - {name: Rollback, type: rollback, script: Rollback.Jenkinsfile}
    credentials:
      - {id: app-db-url, type: secret, from_env: DATABASE_URL}
      - {id: app-admin, type: usernamePassword, username_from_env: ADMIN_USERNAME,
         password_from_env: ADMIN_PASSWORD}

Relative paths (bluegreen_config, script, from_file) are relative to the declaration file, so the same
command works from any directory.

Every pattern is matched whole (`fullmatch`: `^…$` would let "deploy\n" through, `$` matching before a final
newline), and every text that reaches Jenkins must survive its XML unchanged (xmltext.py): a value Jenkins
would store differently than declared would be "drift" forever. The file itself goes through safe_yaml
(bounded, no aliases, no duplicate keys). Any problem: one line naming the key, exit 2, nothing sent.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bluegreen.config import safe_yaml
from bluegreen.errors import UsageError
from bluegreen.jenkins.label import is_label_expression
from bluegreen.jenkins.xmltext import unsafe_char

DEFAULT_PATH = "jenkins.yml"
DEFAULT_ROLLBACK_SCRIPT = "Rollback.Jenkinsfile"
# Jenkins accepts more, but these stay safe in URLs, XML and the UI alike. No trailing dot: Jenkins refuses
# item names ending in "." (Jenkins.checkGoodName), and "." / ".." can't start one.
ITEM_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,79}[A-Za-z0-9_-])?")
CREDENTIAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")
DECLARATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REPO = re.compile(r"(?:https?://|ssh://|git@)[^\s]+")


@dataclass(frozen=True)
class DeployJob:
    """A pipeline from SCM: the app's own Jenkinsfile (which owns the job's parameters)."""

    name: str
    description: str
    repo: str
    branch: str
    checkout_credentials: str | None
    script_path: str
    lightweight: bool


@dataclass(frozen=True)
class RollbackJob:
    """An inline pipeline whose parameters (SERVICE, REASON) this tool owns."""

    name: str
    description: str
    script: Path


@dataclass(frozen=True)
class CredentialSpec:
    id: str
    type: str  # "secret" | "usernamePassword"
    description: str
    from_env: str | None = None
    from_file: Path | None = None
    username_from_env: str | None = None
    password_from_env: str | None = None


@dataclass(frozen=True)
class Declaration:
    id: str  # marks the items this file owns (ownership.py)
    folder: str
    bluegreen_config: Path | None
    agent_label: str | None  # a Jenkins label expression: the Rollback jobs run there; None = any agent
    jobs: tuple[DeployJob | RollbackJob, ...]
    credentials: tuple[CredentialSpec, ...]
    source: Path

    @property
    def rollback_jobs(self) -> tuple[RollbackJob, ...]:
        return tuple(j for j in self.jobs if isinstance(j, RollbackJob))


def load(path: str | os.PathLike[str]) -> Declaration:
    path = Path(path)
    return parse(safe_yaml.load_path(path), source=path)


def parse(raw: Any, *, source: Path) -> Declaration:
    where = _printable(str(source))
    top = _mapping(raw, "", {"version", "id", "folder", "bluegreen_config", "agent", "jobs", "credentials"}, where)
    if top.get("version", 1) != 1 or isinstance(top.get("version", 1), bool):
        _bad(where, "version", top.get("version"))
    if "id" not in top:
        # No default: two files sharing a folder with one default id would prune each other's items.
        raise UsageError("jenkins.decl_no_id", path=where)
    decl_id = _match(top["id"], DECLARATION_ID, "id", where)
    folder = top.get("folder")
    if not isinstance(folder, str) or not all(ITEM_NAME.fullmatch(p) for p in folder.split("/")):
        _bad(where, "folder", folder)
    base = source.parent
    bg = top.get("bluegreen_config")
    if bg is not None:
        _path(bg, "bluegreen_config", where)
    agent_label = _agent_label(top.get("agent"), where)
    jobs = tuple(_job(j, f"jobs[{i}]", base, where) for i, j in enumerate(_list(top.get("jobs"), "jobs", where)))
    creds = tuple(_credential(c, f"credentials[{i}]", base, where)
                  for i, c in enumerate(_list(top.get("credentials"), "credentials", where)))
    _unique([j.name for j in jobs], "jobs", where)
    _unique([c.id for c in creds], "credentials", where)
    return Declaration(id=decl_id, folder=folder, bluegreen_config=base / _path(bg, "bluegreen_config", where)
                       if bg else None, agent_label=agent_label, jobs=jobs, credentials=creds, source=source)


def _agent_label(raw: Any, where: str) -> str | None:
    """`agent: {label: …}`: the nodes on the Docker host, as a Jenkins label expression (label.py). Absent = any."""
    if raw is None:
        return None
    label = _mapping(raw, "agent", {"label"}, where).get("label")
    if not isinstance(label, str) or not is_label_expression(label):
        _bad(where, "agent.label", label)
    return label


def _job(raw: Any, key: str, base: Path, where: str) -> DeployJob | RollbackJob:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "rollback":
        d = _mapping(raw, key, {"name", "type", "description", "script"}, where)
        return RollbackJob(name=_match(d.get("name"), ITEM_NAME, f"{key}.name", where),
                           description=_text(d.get("description", ""), f"{key}.description", where),
                           script=base / _path(d.get("script", DEFAULT_ROLLBACK_SCRIPT), f"{key}.script", where))
    if kind != "deploy":
        _bad(where, f"{key}.type", kind)
    d = _mapping(raw, key, {"name", "type", "description", "repo", "branch", "checkout_credentials",
                            "script_path", "lightweight"}, where)
    checkout = d.get("checkout_credentials")
    lightweight = d.get("lightweight", True)
    if not isinstance(lightweight, bool):
        _bad(where, f"{key}.lightweight", lightweight)
    return DeployJob(
        name=_match(d.get("name"), ITEM_NAME, f"{key}.name", where),
        description=_text(d.get("description", ""), f"{key}.description", where),
        repo=_match(d.get("repo"), REPO, f"{key}.repo", where),
        branch=_line(d.get("branch", "*/main"), f"{key}.branch", where),
        checkout_credentials=None if checkout is None else _match(checkout, CREDENTIAL_ID,
                                                                   f"{key}.checkout_credentials", where),
        script_path=_line(d.get("script_path", "Jenkinsfile"), f"{key}.script_path", where),
        lightweight=lightweight,
    )


def _credential(raw: Any, key: str, base: Path, where: str) -> CredentialSpec:
    kind = raw.get("type") if isinstance(raw, dict) else None
    common = {"id", "type", "description"}
    if kind == "secret":
        d = _mapping(raw, key, common | {"from_env", "from_file"}, where)
        if ("from_env" in d) == ("from_file" in d):
            raise UsageError("jenkins.decl_one_source", path=where, key=key)
        env = d.get("from_env")
        file = d.get("from_file")
        return CredentialSpec(
            id=_match(d.get("id"), CREDENTIAL_ID, f"{key}.id", where), type=kind,
            description=_text(d.get("description", ""), f"{key}.description", where),
            from_env=None if env is None else _match(env, ENV_NAME, f"{key}.from_env", where),
            from_file=None if file is None else base / _path(file, f"{key}.from_file", where))
    if kind != "usernamePassword":
        _bad(where, f"{key}.type", kind)
    d = _mapping(raw, key, common | {"username_from_env", "password_from_env"}, where)
    return CredentialSpec(
        id=_match(d.get("id"), CREDENTIAL_ID, f"{key}.id", where), type=kind,
        description=_text(d.get("description", ""), f"{key}.description", where),
        username_from_env=_match(d.get("username_from_env"), ENV_NAME, f"{key}.username_from_env", where),
        password_from_env=_match(d.get("password_from_env"), ENV_NAME, f"{key}.password_from_env", where))


def _mapping(value: Any, key: str, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError("jenkins.decl_not_mapping", path=where, key=key or "(top)")
    for k in value:
        if k not in allowed:
            name = _printable(str(k))[:80]
            raise UsageError("jenkins.decl_unknown_key", path=where, key=f"{key}.{name}" if key else name)
    return value


def _list(value: Any, key: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        _bad(where, key, value)
    return value


def _match(value: Any, pattern: re.Pattern[str], key: str, where: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        _bad(where, key, value)
    return value


def _text(value: Any, key: str, where: str) -> str:
    """Free text (a description): any line breaks, but only characters Jenkins' XML keeps as they are."""
    if not isinstance(value, str) or unsafe_char(value) is not None or len(value) > 2000:
        _bad(where, key, value)
    return value


def _line(value: Any, key: str, where: str) -> str:
    """One non-empty line (a branch, a script path)."""
    if not isinstance(value, str) or not value.strip() or "\n" in value or unsafe_char(value) is not None:
        _bad(where, key, value)
    return value


def _path(value: Any, key: str, where: str) -> str:
    """A local file name: one line, no NUL (which no file name can hold)."""
    return _line(value, key, where)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _unique(names: list[str], key: str, where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise UsageError("jenkins.decl_duplicate", path=where, key=key, name=name)
        seen.add(name)


def _bad(where: str, key: str, value: Any) -> None:
    # repr: a newline or control character in the value shows escaped, so the message stays one line.
    raise UsageError("jenkins.decl_bad_value", path=where, key=key, value=_printable(repr(value))[:80])
