"""Ownership (issue 10 §3): `sync --prune` deletes only what this declaration made; a declared name held by an
item that is not ours is never written over unless adopted; folders are never deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jenkins_standin import Item, Standin
from jenkins_standin_fixtures import (  # noqa: F401 - fixtures
    FOLDER, declaration, edit_declaration, env, post_config, run, standin,
)

STRING = "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl"


@pytest.fixture
def other(tmp_path: Path, declaration: Path, env: pytest.MonkeyPatch) -> Path:
    """A second declaration (id "frontend") sharing the folder with its own job and credential."""
    env.setenv("FRONTEND_TOKEN", "frontend-token-value-123")
    path = tmp_path / "frontend.yml"
    path.write_text(yaml.safe_dump({
        "version": 1, "id": "frontend", "folder": FOLDER,
        "jobs": [{"name": "deploy-frontend", "type": "deploy", "repo": "https://git.example.com/front.git"}],
        "credentials": [{"id": "frontend-token", "type": "secret", "from_env": "FRONTEND_TOKEN"}]}))
    return path


def drop_rollback_and_session_key(data: dict) -> None:
    data["jobs"] = data["jobs"][:1]
    data["credentials"] = [c for c in data["credentials"] if c["id"] != "maice-session-secret-key"]


def test_two_declarations_in_one_folder_prune_only_their_own(run, standin: Standin, declaration: Path,
                                                             other: Path):
    """Each declaration's prune deletes its own undeclared items and never the other's."""
    assert run("sync").code == 0
    assert run("sync", "--declaration", str(other)).code == 0
    assert run("check").code == 0 and run("check", "--declaration", str(other)).code == 0  # not each other's drift

    edit_declaration(declaration, drop_rollback_and_session_key)
    plan = run("plan", "--prune")
    assert plan.code == 0
    assert f"delete job {FOLDER}/Rollback" in plan.out and "delete credential maice-session-secret-key" in plan.out
    assert "deploy-frontend" not in plan.out and "frontend-token" not in plan.out
    assert run("sync", "--prune").code == 0
    assert set(standin.find(FOLDER).children) == {"deploy-backend", "deploy-frontend"}
    assert "frontend-token" in standin.find(FOLDER).credentials

    edit_declaration(other, lambda d: d.update(jobs=[], credentials=[]))
    assert run("sync", "--prune", "--declaration", str(other)).code == 0
    assert set(standin.find(FOLDER).children) == {"deploy-backend"}
    assert "frontend-token" not in standin.find(FOLDER).credentials
    assert "maice-database-url" in standin.find(FOLDER).credentials


def test_hand_made_items_mentioning_the_marker_and_folders_survive_prune(run, standin: Standin,
                                                                         declaration: Path):
    """Prune spares a job whose description quotes the marker (old, or another item's), credentials likewise,
    and any folder, even one whose description carries our exact marker."""
    assert run("sync").code == 0
    folder = standin.find(FOLDER)
    copied = standin.find(f"{FOLDER}/Rollback").xml  # "Copy from": same description, marker names Rollback
    folder.children["Rollback-copy"] = Item("Rollback-copy", copied)
    folder.children["notes"] = Item("notes", "<flow-definition><description>Ours? It says [managed by bluegreen] "
                                             "right here</description></flow-definition>")
    marker = f"[managed by bluegreen: declaration maice, job {FOLDER}/sub]"
    folder.children["sub"] = Item("sub", f"<com.cloudbees.hudson.plugins.folder.Folder><description>{marker}"
                                         "</description></com.cloudbees.hudson.plugins.folder.Folder>", children={})
    folder.credentials["quoted"] = (f"<{STRING}><id>quoted</id><description>[managed by bluegreen: declaration "
                                    f"maice, credential {FOLDER}/maice-admin]</description><secret>x</secret></{STRING}>")
    edit_declaration(declaration, lambda d: d.update(jobs=[], credentials=[]))
    result = run("sync", "--prune")
    assert result.code == 0, result.text
    assert set(folder.children) == {"Rollback-copy", "notes", "sub"}
    assert set(folder.credentials) == {"quoted"}
    assert standin.find("team") is not None  # and the parent folder, of course


def test_a_declared_name_taken_by_a_hand_made_job_is_not_overwritten_until_adopted(run, standin: Standin):
    """A hand-made pipeline at the deploy job's name: sync exits 2 naming it and --adopt, writes nothing;
    `sync --adopt deploy-backend` takes it over."""
    assert run("sync").code == 0
    job = f"{FOLDER}/deploy-backend"
    post_config(standin, job, "<flow-definition><description>made by hand</description></flow-definition>")
    writes = len(standin.writes())
    refused = run("sync")
    assert refused.code == 2 and f"job {job}" in refused.out and "--adopt" in refused.out
    assert len(standin.writes()) == writes and "made by hand" in standin.find(job).xml
    assert run("check").code == 2
    assert run("plan", "--adopt", "deploy-backend").code == 0 and len(standin.writes()) == writes
    adopted = run("sync", "--adopt", "deploy-backend")
    assert adopted.code == 0, adopted.text
    assert "declaration maice, job team/maice/deploy-backend" in standin.find(job).description
    assert run("check").code == 0


def test_another_declarations_item_at_a_declared_name_is_named(run, standin: Standin, other: Path):
    """Two declarations declaring one credential id: the second is refused and told whose it is."""
    assert run("sync").code == 0
    edit_declaration(other, lambda d: d["credentials"][0].update(id="maice-database-url"))
    result = run("sync", "--declaration", str(other))
    assert result.code == 2 and "declaration 'maice'" in result.out


def test_items_with_the_old_marker_need_adopting(run, standin: Standin, declaration: Path):
    """Items marked by an older bluegreen ("[managed by bluegreen]") are left alone until adopted by name."""
    assert run("sync").code == 0
    folder = standin.find(FOLDER)
    job = folder.children["deploy-backend"]
    job.xml = job.xml.replace("Build maice-back and deploy it Blue-Green\n[managed by bluegreen: declaration maice, "
                              f"job {FOLDER}/deploy-backend]", "Build maice-back [managed by bluegreen]")
    result = run("sync")
    assert result.code == 2 and "old marker" in result.out
    assert run("sync", "--adopt", f"{FOLDER}/deploy-backend").code == 0
    assert run("check").code == 0


def test_adopting_an_undeclared_name_is_refused(run, standin: Standin):
    """--adopt must name a declared item: a typo can't take anything over."""
    result = run("sync", "--adopt", "deploy-bakend")
    assert result.code == 2 and "deploy-bakend" in result.err and standin.log == []


def test_a_declaration_without_an_id_is_refused_before_any_request(run, standin: Standin, declaration: Path):
    """No `id:` → exit 2 with one line saying what to add, and Jenkins is not contacted."""
    edit_declaration(declaration, lambda d: d.pop("id"))
    result = run("plan")
    assert result.code == 2 and "id:" in result.err and len(result.err.strip().splitlines()) == 1
    assert standin.log == []


def test_the_folder_path_through_a_job_is_named(run, standin: Standin):
    """A job where the declared folder's parent should be: exit 2 naming both types."""
    create_by_hand_root(standin, "team")
    result = run("plan")
    assert result.code == 2 and "FreeStyleProject" in result.err and "Folder" in result.err


def create_by_hand_root(standin: Standin, name: str) -> None:
    standin.root.children[name] = Item(name, "<project><description>by hand</description></project>")
