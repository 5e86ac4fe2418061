"""Images: whether one is here, pulling it, what a repository holds, removing one."""

from __future__ import annotations

from docker.errors import APIError, DockerException, ImageNotFound

from bluegreen.errors import DeployFailed
from bluegreen.parts.engine.base import _Base, _one_line, unreachable


class _Images(_Base):
    def image_env_names(self, ref: str) -> tuple[str, ...]:
        """The names of the variables an image sets itself (its ENV lines): a container shows them among its own."""
        try:
            config = self._client.images.get(ref).attrs.get("Config") or {}
        except ImageNotFound:
            return ()
        except DockerException as exc:
            raise unreachable(exc) from None
        return tuple(e.partition("=")[0] for e in config.get("Env") or [])

    def has_image(self, ref: str) -> bool:
        try:
            self._client.images.get(ref)
            return True
        except ImageNotFound:
            return False

    def ensure_image(self, ref: str) -> None:
        """Use a local image when present, else pull it (a registry the engine can reach)."""
        if self.has_image(ref):
            return
        try:
            self._client.images.pull(ref)
        except DockerException as exc:
            raise DeployFailed("docker.pull_failed", image=ref, error=_one_line(exc)) from None

    def images(self, repository: str) -> list[tuple[str, tuple[str, ...], str]]:
        """(image id, tags, created) of the local images of `repository`."""
        try:
            found = self._client.images.list(name=repository)
        except DockerException as exc:
            raise unreachable(exc) from None
        return [(i.id, tuple(i.tags), str(i.attrs.get("Created", ""))) for i in found]

    def remove_image(self, ref: str) -> bool:
        """Remove an image tag (never forced: an image a container uses stays); False when it is in use."""
        try:
            self._client.images.remove(ref, noprune=False)
        except ImageNotFound:
            return True
        except APIError as exc:
            if exc.status_code == 409:
                return False
            raise unreachable(exc) from None
        return True

    def image_refs(self, ref: str) -> tuple[str, tuple[str, ...]] | None:
        """(image id, repository digests) of a local image; no digest: it was never pushed to (or pulled from)
        a registry, so no other node can pull it."""
        try:
            attrs = self._client.images.get(ref).attrs
        except ImageNotFound:
            return None
        except DockerException as exc:
            raise unreachable(exc) from None
        return attrs.get("Id", ""), tuple(attrs.get("RepoDigests") or ())
