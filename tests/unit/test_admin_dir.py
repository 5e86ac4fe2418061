"""The admin socket's directory and key without nginx: what judge, secure, unfit and survey say of each directory an
operator or an attacker can leave there, and that the key file is bluegreen's alone."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from bluegreen.errors import Inconsistent
from bluegreen.parts import admin_dir, admin_key

OTHER = 65534  # nobody


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def admin(tmp_path):
    path = tmp_path / "admin"
    path.mkdir(mode=0o700)
    return path


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o750, 0o701])
def test_a_directory_others_can_enter_is_repaired_to_0700(admin, mode):
    """judge names it open (repairable), secure sets 0700 and says what it found, judge is then content."""
    admin.chmod(mode)
    loose = admin_dir.judge(str(admin))
    assert (loose.problem, loose.mode, loose.repairable) == ("open", mode, True)
    assert admin_dir.secure(str(admin)).params["mode"] == f"{mode:04o}"
    assert mode_of(admin) == 0o700 and admin_dir.judge(str(admin)) is None


def test_a_missing_directory_is_created_0700(tmp_path):
    path = tmp_path / "run-bluegreen"
    assert admin_dir.secure(str(path)).problem == "missing"
    assert mode_of(path) == 0o700 and admin_dir.judge(str(path)) is None


def test_another_users_directory_is_refused_and_left_alone(admin):
    """Owned by someone else: exit 3 (Inconsistent), neither its owner nor its mode changed."""
    admin.chmod(0o777)
    os.chown(admin, OTHER, OTHER)
    with pytest.raises(Inconsistent) as refused:
        admin_dir.secure(str(admin))
    assert refused.value.key == "admin.dir_owner" and refused.value.exit_code == 3
    assert (os.stat(admin).st_uid, mode_of(admin)) == (OTHER, 0o777)


def test_a_link_in_the_directorys_place_is_refused_never_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    link = tmp_path / "admin"
    link.symlink_to(target)
    assert admin_dir.judge(str(link)).problem == "not_dir"
    with pytest.raises(Inconsistent) as refused:
        admin_dir.secure(str(link))
    assert refused.value.key == "admin.dir_not_dir" and mode_of(target) == 0o755


def test_no_socket_is_spoken_to_in_a_directory_others_can_write(admin):
    sock = admin / "app.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(sock))
        assert admin_dir.unfit(str(sock)) is None
        admin.chmod(0o777)
        assert admin_dir.unfit(str(sock)) == ("status.problem.admin_unfit_dir", {
            "socket": str(sock), "path": str(admin), "mode": "0777", "owner": str(os.geteuid()),
            "user": str(os.geteuid())})
        admin.chmod(0o755)  # others may enter, not write: the key still refuses them; nothing can be planted
        assert admin_dir.unfit(str(sock)) is None


def test_a_socket_another_user_made_is_not_nginxs(admin):
    sock = admin / "app.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(sock))
        os.chown(sock, OTHER, OTHER)
        assert admin_dir.unfit(str(sock)) == ("status.problem.admin_unfit_owner", {"socket": str(sock),
                                                                                    "owner": "65534"})
    sock.unlink()
    sock.write_text("")
    assert admin_dir.unfit(str(sock)) == ("status.problem.admin_unfit_kind", {"socket": str(sock)})


def test_the_key_file_is_bluegreens_alone_and_replaced_when_it_is_not(admin):
    """ensure writes 0600 the header line curl -H @file sends; a key others can read, or another user's, is never
    used again: a new one replaces it."""
    path = admin_key.path_for(admin, "backend")
    key, new = admin_key.ensure(path)
    assert new and mode_of(path) == 0o600 and path.read_text() == f"X-Bluegreen-Key: {key}\n"
    assert admin_key.ensure(path) == (key, False)
    path.chmod(0o640)
    assert admin_key.read(path) is None
    replaced, new = admin_key.ensure(path)
    assert new and replaced != key and mode_of(path) == 0o600
    os.chown(path, OTHER, OTHER)
    assert admin_key.read(path) is None
    assert admin_key.digest(replaced) != admin_key.digest(key) and admin_key.digest(None) == ""


def test_survey_names_the_directory_and_the_key_as_doctor_shows_them(admin):
    """The one call doctor makes: nothing when both are sound; else each problem's message id, its parameters and
    whether the next deploy/rollback repairs it — and the survey itself changes nothing."""
    key_file = admin_key.path_for(admin, "backend")
    assert [p[0] for p in admin_dir.survey(str(admin), key_file)] == ["status.problem.admin_key_missing"]
    admin_key.ensure(key_file)
    assert admin_dir.survey(str(admin), key_file) == []
    admin.chmod(0o755)
    key_file.chmod(0o644)
    found = admin_dir.survey(str(admin), key_file)
    assert [(key, repairable) for key, _, repairable in found] == [
        ("status.problem.admin_dir_open", True), ("status.problem.admin_key_unusable", True)]
    assert found[0][1]["mode"] == "0755" and (mode_of(admin), mode_of(key_file)) == (0o755, 0o644)
    os.chown(admin, OTHER, OTHER)
    key_file.unlink()
    key_file.symlink_to("/etc/passwd")
    found = admin_dir.survey(str(admin), key_file)
    assert [(key, repairable) for key, _, repairable in found] == [
        ("status.problem.admin_dir_owner", False), ("state.symlink", False)]
