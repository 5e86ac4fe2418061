"""`sync`: carry out a plan, one write per change, saying each as it lands (so a failure midway shows what
was done; running `sync` again finishes the job, since it compares with the server anew)."""

from __future__ import annotations

from bluegreen.jenkins.client import Client
from bluegreen.jenkins.compare import CREATE, DELETE, ORPHAN, UPDATE, Change, Plan
from bluegreen.output import Reporter


def apply(client: Client, plan: Plan, out: Reporter) -> None:
    for change in plan.pending:
        if change.action == ORPHAN:
            continue  # reported by the caller; deleting needs --prune
        _write(client, plan.folder, change)
        out.say(f"jenkins.done.{change.action}", kind=out.text(f"jenkins.kind.{change.kind}"), name=change.name)


def _write(client: Client, folder: str, change: Change) -> None:
    body = change.body
    if change.kind == "folder":
        client.create_folder(change.name)
    elif change.kind == "job" and change.action == CREATE and body:
        client.create_job(change.name, body())
    elif change.kind == "job" and change.action == UPDATE and body:
        client.reconfig_job(change.name, body())
    elif change.kind == "job" and change.action == DELETE:
        client.delete_job(change.name)
    elif change.kind == "credential" and change.action == CREATE and body:
        client.create_credential(folder, change.name, body())
    elif change.kind == "credential" and change.action == UPDATE and body:
        client.reconfig_credential(folder, change.name, body())
    elif change.kind == "credential" and change.action == DELETE:
        client.delete_credential(folder, change.name)
