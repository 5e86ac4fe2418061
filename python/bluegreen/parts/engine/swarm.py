"""Swarm: services on an overlay network (parts/swarm.py builds the specs, as the Engine API's JSON), tasks, nodes."""

from __future__ import annotations

from docker.errors import APIError, DockerException, NotFound

from bluegreen.errors import DeployFailed, Unreachable
from bluegreen.parts.engine.base import _Base, _one_line, unreachable


class _Swarm(_Base):
    def swarm(self) -> tuple[bool, int]:
        """(this engine is a Swarm manager, how many nodes the swarm has)."""
        try:
            info = self._client.info().get("Swarm") or {}
        except DockerException as exc:
            raise unreachable(exc) from None
        manager = info.get("LocalNodeState") == "active" and bool(info.get("ControlAvailable"))
        return manager, int(info.get("Nodes") or 0)

    def services(self, names: list[str]) -> dict[str, dict]:
        """The services named so (name → the engine's service document), one request."""
        try:
            found = self._client.api.services(filters={"name": names})
        except APIError as exc:
            if exc.status_code == 503:  # "This node is not a swarm manager"
                raise Unreachable("swarm.unavailable", error=_one_line(exc)) from None
            raise unreachable(exc) from None
        except DockerException as exc:
            raise unreachable(exc) from None
        return {s["Spec"]["Name"]: s for s in found if s.get("Spec", {}).get("Name") in names}

    def tasks(self, service_ids: list[str]) -> list[dict]:
        """Every task the engine still knows of these services (the current ones and recent history)."""
        if not service_ids:
            return []
        try:
            return self._client.api.tasks(filters={"service": service_ids})
        except DockerException as exc:
            raise unreachable(exc) from None

    def node_names(self) -> dict[str, str]:
        return {node_id: name for node_id, (name, _) in self.nodes().items()}

    def nodes(self) -> dict[str, tuple[str, str]]:
        """node id → (its hostname, why Swarm runs no task there: its state when not `ready` (`down`), else its
        availability when not `active` (`drain`, `pause`), else "")."""
        try:
            found = self._client.api.nodes()
        except DockerException:
            return {}
        return {n["ID"]: (n.get("Description", {}).get("Hostname", n["ID"][:12]), _away(n)) for n in found}

    def put_service(self, name: str, spec: dict, current: dict | None) -> None:
        """Create the service from `spec` ({TaskTemplate, Labels, Mode, UpdateConfig, EndpointSpec}), or update
        `current` (the engine's document of it) to it."""
        args = dict(task_template=spec["TaskTemplate"], name=name, labels=spec.get("Labels") or {},
                    mode=spec.get("Mode"), update_config=spec.get("UpdateConfig"),
                    endpoint_spec=spec.get("EndpointSpec"))
        try:
            if current is None:
                self._client.api.create_service(**args)
            else:
                self._client.api.update_service(current["ID"], current["Version"]["Index"], **args)
        except DockerException as exc:
            raise DeployFailed("swarm.service_failed", name=name, error=_one_line(exc)) from None

    def remove_service(self, name: str) -> bool:
        try:
            self._client.api.remove_service(name)
        except NotFound:
            return False
        except DockerException as exc:
            raise DeployFailed("swarm.service_failed", name=name, error=_one_line(exc)) from None
        return True

    def service_logs(self, name: str, lines: int) -> list[str]:
        try:
            raw = self._client.api.service_logs(name, stdout=True, stderr=True, tail=lines)
            data = raw if isinstance(raw, bytes) else b"".join(raw)
        except DockerException:
            return []
        return data.decode("utf-8", "replace").splitlines()[-lines:]


def _away(node: dict) -> str:
    state = (node.get("Status") or {}).get("State", "unknown")
    availability = (node.get("Spec") or {}).get("Availability", "active")
    return state if state != "ready" else "" if availability == "active" else availability
