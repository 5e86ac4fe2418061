"""`retain: N` on the real engine: ten deploys keep exactly what `bluegreen images` says, a rollback still works,
and a rollback whose image was removed by hand changes nothing."""

from __future__ import annotations

import io
import json

import pytest

from site_under_test import Site


@pytest.fixture
def releases(docker_client, images):
    """Ten distinct images r1…r10 of a repository of this test's own (built FROM the test app)."""
    repo = f"bgt-retain-{id(object()) % 100000}/app"
    refs = []
    for n in range(1, 11):
        dockerfile = f"FROM {images.app_version('v1')}\nENV APP_VERSION=r{n}\nLABEL bgt.release={n}\n"
        docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repo}:r{n}", rm=True)
        refs.append(f"{repo}:r{n}")
    yield repo, refs
    for image in docker_client.images.list(name=repo):
        for tag in image.tags:
            docker_client.images.remove(tag, force=True)


def test_ten_deploys_with_retain_3(stack, tmp_path, releases, docker_client, request_loop):
    """After ten deploys only the images of both colors and of the last three deploys remain; `images` says
    exactly that, and a rollback works."""
    repo, refs = releases
    site = Site(stack, tmp_path, service={"retain": 3, "image": f"{repo}:${{APP_TAG}}"})
    for n in range(1, 11):
        result = site.deploy(f"r{n}")
        assert result.returncode == 0, result.stdout + result.stderr
    listed = json.loads(site.bg("images", "backend", "--json").stdout)
    local = {tag for image in docker_client.images.list(name=repo) for tag in image.tags}
    assert {v["ref"] for v in listed} == local == {f"{repo}:r8", f"{repo}:r9", f"{repo}:r10"}, [(v["ref"], v["why"]) for v in listed]
    assert all(v["keep"] for v in listed)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    assert site.bg("rollback", "backend").returncode == 0
    traffic = loop.stop()
    assert traffic.failures == [] and traffic.transitions()[-1] == "r9", traffic.summary()


def test_a_rollback_whose_image_was_removed_by_hand_changes_nothing(stack, tmp_path, releases, docker_client):
    """`docker rmi -f` of the rollback target's image: the rollback refuses, naming the image and the fix."""
    repo, _ = releases
    site = Site(stack, tmp_path, service={"image": f"{repo}:${{APP_TAG}}"})
    for n in (1, 2):
        assert site.deploy(f"r{n}").returncode == 0
    docker_client.images.remove(f"{repo}:r1", force=True)
    before = site.upstream_text()
    result = site.bg("rollback", "backend")
    assert result.returncode == 1 and f"was removed: {repo}:r1" in result.stderr and "docker tag" in result.stderr
    assert site.upstream_text() == before
