"""parts/mounts.py and its use in state_files: inside the docker runner, a state_dir on the throwaway container's
own filesystem is refused (exit 2, nothing created); one mounted from the host is not; outside it nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen.errors import UsageError
from bluegreen.parts import mounts, state_files

# /proc/self/mountinfo of a container run by docker-runner.sh (abridged, as Docker 20.10 on cgroup v1 writes it)
CONTAINER = """\
921 842 0:52 / / rw,relatime master:313 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work
922 921 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
923 921 0:56 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
926 923 0:51 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
930 923 0:60 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
931 921 8:1 /srv/jenkins/workspace/app /srv/jenkins/workspace/app rw,relatime - ext4 /dev/sda1 rw
932 921 8:1 /srv/jenkins/workspace/app@tmp /srv/jenkins/workspace/app@tmp rw,relatime - ext4 /dev/sda1 rw
933 921 8:1 /var/lib/bluegreen /var/lib/bluegreen rw,relatime - ext4 /dev/sda1 rw
934 921 8:1 /srv/with\\040space /srv/with\\040space rw,relatime shared:1 master:2 - ext4 /dev/sda1 rw
935 921 0:24 /bluegreen /run/bluegreen rw,nosuid,nodev - tmpfs tmpfs rw,mode=755
936 921 8:1 /var/lib/docker/containers/0123/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
"""


@pytest.mark.parametrize("path, own", [
    ("/var/lib/bluegreen", False),  # bound from the host at the same path
    ("/var/lib/bluegreen/maice", False),  # below a bind mount
    ("/srv/jenkins/workspace/app/state", False),  # a relative state_dir inside the workspace
    ("/srv/with space/state", False),  # \040 in mountinfo is a space
    ("/run/bluegreen", False),  # the host's tmpfs, bound: it outlives the container
    ("/var/lib/bluegreen-other", True),  # a sibling with the same prefix is not below it
    ("/var/lib", True),  # the image's own /var/lib
    ("/tmp/state", True),  # the container's root filesystem
    ("/dev/shm/state", True),  # the container's own shm
    ("/proc/1", True),
])
def test_the_mount_holding_a_path_says_whether_it_outlives_the_container(path: str, own: bool):
    """The deepest mount point that is the path or a parent decides; the root, /dev/shm and /proc are the
    container's own."""
    assert mounts.on_own_filesystem(path, CONTAINER) is own


def test_a_later_mount_over_the_same_point_wins():
    """A tmpfs mounted over a bind mount hides it: the path is then on the tmpfs."""
    later = CONTAINER + "940 933 0:70 / /var/lib/bluegreen rw - proc proc rw\n"
    assert mounts.on_own_filesystem("/var/lib/bluegreen", later)


def test_no_mountinfo_line_holds_a_relative_or_unknown_root():
    """Without a root mount line nothing holds the path: it counts as the container's own (refused)."""
    assert mounts.holding_mount("/x", "") is None and mounts.on_own_filesystem("/x", "")


def test_in_the_runner_a_state_dir_on_the_containers_own_filesystem_is_refused(tmp_path: Path, monkeypatch):
    """BLUEGREEN_RUNNER=docker and state_dir on the container's root: exit 2 (UsageError) naming it, nothing made."""
    root = tmp_path / "state"
    monkeypatch.setenv("BLUEGREEN_RUNNER", "docker")
    monkeypatch.setattr(mounts, "on_own_filesystem", lambda path, mountinfo=None: path == str(root))
    with pytest.raises(UsageError) as refused:
        state_files.prepare_dir(root)
    assert refused.value.key == "state.runner_not_shared" and not root.exists()


def test_in_the_runner_a_mounted_state_dir_and_outside_it_any_state_dir_is_fine(tmp_path: Path, monkeypatch):
    """A state_dir on a mount from the host passes in the runner; without BLUEGREEN_RUNNER=docker (an agent's own
    python3, whose root filesystem is the host's) nothing is checked."""
    monkeypatch.setattr(mounts, "on_own_filesystem", lambda path, mountinfo=None: False)
    monkeypatch.setenv("BLUEGREEN_RUNNER", "docker")
    state_files.prepare_dir(tmp_path / "mounted")
    monkeypatch.setattr(mounts, "on_own_filesystem", lambda path, mountinfo=None: True)
    for runner in ("host", ""):
        monkeypatch.setenv("BLUEGREEN_RUNNER", runner)
        state_files.prepare_dir(tmp_path / f"host-{runner}")
    assert {p.name for p in tmp_path.iterdir()} == {"mounted", "host-host", "host-"}
