"""The Swarm runtime: each color is a Swarm service `<container_prefix>-<color>` with `replicas` tasks on the
config's attachable overlay network (the nginx container is attached to it too). Behind the runtime seam
(runtime.py), so deploy, rollback, monitor and status are the same runbooks as for containers.

- A deploy updates the idle color's service (or creates it) to the new image at N replicas and waits until N
  tasks of this release run; the previous spec is kept as a service with no tasks, `<name>-replaced`, until the
  new version is through (a failed deploy puts it back).
- Task addresses on the overlay are not routable from this host: a request to one would leave the machine
  through the default gateway. Every task is probed from inside the overlay, by the nginx container (the path
  nginx itself uses): one `docker exec` per round runs curl (official images) or busybox wget.
- nginx reaches tasks by their own addresses, never through the service VIP (which needs IPVS; `endpoint_mode`
  matters only to other clients): bluegreen renders the task addresses into the upstream, and renders them
  again when a task was replaced (status reports it; the next deploy/rollback repairs). With
  `upstream_resolve: on` (nginx >= 1.27.3) nginx resolves `tasks.<service>` itself instead (`resolve`, in an
  upstream with a `zone`, Docker's DNS at 127.0.0.11), at the price said at `resolves`.
- Images: tasks run the image by digest (`repo@sha256:…`, pullable by every node) or, when the image was never
  pushed and the swarm has one node, by image id (no pull attempt at all). An image only this node has is
  refused on a swarm of several nodes.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from bluegreen.clock import Clock
from bluegreen.errors import DeployFailed, UsageError
from bluegreen.parts.engine import Docker
from bluegreen.parts.drain import Drained, Progress as DrainProgress
from bluegreen.parts.health import Probe
from bluegreen.parts.instance import ContainerInfo, Server
from bluegreen.parts.nginx_config import RESOLVE_SINCE, version_of
from bluegreen.parts.overlay_probe import probe_in
from bluegreen.parts.runtime import KEPT_SUFFIX, Moved, Progress, Survey, _quiet
from bluegreen.config.settings import COLORS, Nginx, Service
from bluegreen.units import format_seconds

RESOLVER = "127.0.0.11 valid=2s"  # Docker's embedded DNS; tasks come and go, so answers are kept briefly
CURRENT = {"new", "pending", "assigned", "accepted", "ready", "preparing", "starting", "running"}
FAILED = {"failed", "rejected", "orphaned"}
WAIT_EVERY = 0.25  # seconds between looks while tasks start


class SwarmRuntime:
    kind = "swarm"

    def __init__(self, docker: Docker, service: Service, nginx: Nginx, clock: Clock) -> None:
        self.docker, self.service, self.nginx, self.clock = docker, service, nginx, clock
        self.replicas = service.scale.replicas
        self._nodes: dict[str, tuple[str, str]] | None = None  # node id → (hostname, why it runs no task)

    def name(self, color: str) -> str:
        return self.service.container(color)

    def display(self, color: str) -> str:
        return self.name(color)

    def kept_name(self, color: str) -> str:
        return self.name(color) + KEPT_SUFFIX

    # --- how nginx reaches the tasks -------------------------------------------------------------------------
    @property
    def resolves(self) -> bool:
        """nginx resolves `tasks.<service>` itself (`upstream_resolve: on`), instead of bluegreen rendering the
        task addresses. Not the default: measured here on nginx 1.30.6, a reload (every switch) leaves the new
        workers without peers until their first DNS answer, and requests in that instant get 502 "no live
        upstreams" (3 of ~18,600 requests over 28 rollbacks; with addresses, 0 — nginx/nginx#1656 is the same
        race on a DNS change)."""
        return self.service.scale.upstream_resolve == "on"

    @property
    def resolver(self) -> str | None:
        return RESOLVER if self.resolves else None

    @property
    def renders_addresses(self) -> bool:
        return not self.resolves

    def servers(self, color: str) -> tuple[Server, ...]:
        return self.servers_of(self.instances(color))

    def servers_of(self, found: Sequence[ContainerInfo]) -> tuple[Server, ...]:
        running = [i for i in found if i.running and i.ip]
        if not running:
            return ()  # nothing to name (never name what does not run)
        if self.resolves:
            return (Server(f"tasks.{self.name(self._color(running[0]))}"),)
        return tuple(Server(i.ip or "", i.name) for i in running)

    def _color(self, info: ContainerInfo) -> str:
        return self.service.color_of(info.name) or info.labels.get("bluegreen.color", "blue")

    # --- reading ---------------------------------------------------------------------------------------------
    def survey(self) -> Survey:
        names = [self.name(c) for c in COLORS] + [self.kept_name(c) for c in COLORS]
        services = self.docker.services(names)
        self._nodes = None  # nodes come and go: read as they are now
        tasks = self.docker.tasks([services[self.name(c)]["ID"] for c in COLORS if self.name(c) in services])
        instances = {c: self._instances(services.get(self.name(c)), tasks) for c in COLORS}
        kept = {c: self._kept_info(services[self.kept_name(c)]) for c in COLORS if self.kept_name(c) in services}
        problems = () if self.docker.attached(self.nginx.container) else (
            ("status.problem.nginx_not_attached", {"nginx": self.nginx.container, "network": self.docker.network}),)
        problems += tuple(("status.problem.node_away", {"name": m.name, "node": m.node, "why": m.why})
                          for c in COLORS if self.name(c) in services
                          for m in self._stranded(services[self.name(c)], tasks))
        return Survey(instances, kept, problems)

    def instances(self, color: str) -> tuple[ContainerInfo, ...]:
        service = self.docker.services([self.name(color)]).get(self.name(color))
        return self._instances(service, self.docker.tasks([service["ID"]]) if service else [])

    def _instances(self, service: dict | None, tasks: list[dict]) -> tuple[ContainerInfo, ...]:
        """The service's current tasks as instances named `<service>.<slot>`; a slot whose task is not running
        says why (its error, or the last failed task's). A slot Swarm does not fill again (restart policy
        `none`) is its last task, failed."""
        if service is None:
            return ()
        mine = sorted((t for t in tasks if t.get("ServiceID") == service["ID"]), key=lambda t: t.get("UpdatedAt", ""))
        current = [t for t in mine if t.get("DesiredState") == "running"]
        failed = {t.get("Slot") or 0: t for t in mine
                  if t.get("Status", {}).get("State") in FAILED or t.get("Status", {}).get("Err")}
        filled = {t.get("Slot") or 0 for t in current}
        wanted = ((service.get("Spec", {}).get("Mode") or {}).get("Replicated") or {}).get("Replicas", 0)
        current += [t for slot, t in failed.items() if slot not in filled and 0 < slot <= wanted]
        name = service["Spec"]["Name"]
        return tuple(self._task_info(name, t, failed.get(t.get("Slot") or 0))
                     for t in sorted(current, key=lambda t: t.get("Slot") or 0))

    def _task_info(self, service: str, task: dict, failed: dict | None) -> ContainerInfo:
        status = task.get("Status", {})
        spec = task.get("Spec", {}).get("ContainerSpec", {})
        ip = next((a.split("/")[0] for n in task.get("NetworksAttachments") or []
                   if n.get("Network", {}).get("Spec", {}).get("Name") == self.docker.network
                   for a in n.get("Addresses") or []), None)
        state = status.get("State", "unknown")
        ip = ip if state in CURRENT else None  # a failed task's address goes to its successor
        why = status.get("Err") or (failed or {}).get("Status", {}).get("Err", "") if state != "running" else ""
        image = spec.get("Image", "")
        return ContainerInfo(
            name=f"{service}.{task.get('Slot') or task.get('ID', '')[:12]}", id=task.get("ID", ""), image=image,
            state=state, health=None, labels=spec.get("Labels") or {}, ip=ip,
            exit_code=status.get("ContainerStatus", {}).get("ExitCode"),
            image_id=image if image.startswith("sha256:") else "", node=self._node(task.get("NodeID", "")),
            detail=why)

    def _node(self, node_id: str) -> str | None:
        return self._node_of(node_id)[0] if node_id else None

    def _node_of(self, node_id: str) -> tuple[str, str]:
        """(the node's hostname, why it runs no task, or "")."""
        if self._nodes is None or node_id not in self._nodes:
            self._nodes = self.docker.nodes()  # again when a task names a node not seen yet
        # a node the swarm no longer lists was removed (`docker node rm`); none listed: they could not be read
        return self._nodes.get(node_id, (node_id[:12], "removed" if self._nodes else ""))

    # --- a node lost mid-deploy ------------------------------------------------------------------------------
    def moved(self, color: str, release: str) -> tuple[Moved, ...]:
        """Tasks of `release` that Swarm took off a node that left (down, drained, removed): it starts them on
        another node, and the gate judges those."""
        name = self.name(color)
        service = self.docker.services([name]).get(name)
        self._nodes = None  # a node's state is read now, not as it was at the first look
        return tuple(m for m, task in self._left(name, self.docker.tasks([service["ID"]]) if service else [])
                     if _release_of(task) == release and task.get("DesiredState") != "running")

    def settle(self, color: str, release: str, progress: Progress) -> None:
        """Until the color's N tasks of `release` run again (the ones Swarm started on other nodes included).
        Under restart condition `none` Swarm starts none in place of a task that left with its node: said now,
        rather than at the deadline."""
        if self._spec_restart() == "none":
            raise DeployFailed("swarm.not_moved", name=self.name(color))
        self._wait(color, release, progress)

    def _stranded(self, service: dict, tasks: list[dict]) -> list[Moved]:
        """The service's slots that run no task while a task of theirs sits on a node that left: status names
        the node."""
        mine = [t for t in tasks if t.get("ServiceID") == service["ID"]]
        running = {t.get("Slot") for t in mine if t.get("DesiredState") == "running"
                   and t.get("Status", {}).get("State") == "running"}
        seen: dict[str, Moved] = {}
        for m, _ in self._left(service["Spec"]["Name"], [t for t in mine if t.get("Slot") not in running]):
            seen.setdefault(m.name, m)
        return list(seen.values())

    def _left(self, name: str, tasks: list[dict]) -> list[tuple[Moved, dict]]:
        """The tasks on a node that left, each with what it says about them."""
        found = []
        for task in tasks:
            node, why = self._node_of(task["NodeID"]) if task.get("NodeID") else ("-", "")
            if why:
                found.append((Moved(task.get("ID", ""), f"{name}.{task.get('Slot', '?')}", node, why), task))
        return found

    def _kept_info(self, service: dict) -> ContainerInfo:
        spec = service["Spec"]
        image = spec["TaskTemplate"]["ContainerSpec"].get("Image", "")
        return ContainerInfo(name=spec["Name"], id=service["ID"], image=image, state="stopped", health=None,
                             labels=spec.get("Labels") or {}, image_id=image if image.startswith("sha256:") else "")

    def alive(self, color: str) -> bool:
        found = self.instances(color)
        return len(found) >= self.replicas and all(i.running for i in found)

    def address(self, info: ContainerInfo) -> str | None:
        return f"{info.ip}:{self.service.port}" if info.ip else None

    # --- probing from inside the overlay ---------------------------------------------------------------------
    def probe(self, info: ContainerInfo, path: str) -> Probe:
        return self.probe_all([info], path)[0]

    def probe_all(self, found: Sequence[ContainerInfo], path: str) -> list[Probe]:
        """Each task's `path`, requested by the nginx container over the overlay: one exec for all of them."""
        addresses = [self.address(i) for i in found]
        urls = [f"http://{a}{path}" for a in addresses if a]
        answers = iter(probe_in(self.docker, self.nginx.container, urls, self.service.health.request_timeout))
        return [next(answers) if a else Probe(False, detail="no address on the overlay network") for a in addresses]

    # --- changing --------------------------------------------------------------------------------------------
    def preflight(self, image: str) -> None:
        """Before anything changes: this engine manages a swarm, the network is an attachable overlay that
        nginx is attached to, and every node can get the image."""
        manager, nodes = self.docker.swarm()
        if not manager:
            raise UsageError("swarm.not_manager", service=self.service.name)
        if self.resolves and (version := nginx_version(self.docker, self.nginx)) < RESOLVE_SINCE:
            raise UsageError("swarm.resolve_unsupported", nginx=self.nginx.container,
                             version=".".join(map(str, version)), service=self.service.name)
        network = self.docker.network_info(self.docker.network)
        if not network or network.get("Driver") != "overlay" or not network.get("Attachable"):
            raise UsageError("swarm.network", network=self.docker.network,
                             found=(network or {}).get("Driver", "-") + (" attachable" if (network or {}).get(
                                 "Attachable") else ""))
        if not self.docker.attached(self.nginx.container):
            raise UsageError("swarm.nginx_not_attached", nginx=self.nginx.container, network=self.docker.network)
        refs = self.docker.image_refs(image)
        if nodes > 1 and refs is not None and not refs[1]:  # built here, never pushed: no other node has it
            raise UsageError("swarm.image_local", image=image, nodes=str(nodes))

    def has_image(self, image: str) -> bool:
        return self.docker.has_image(image)

    def recreatable(self, info: ContainerInfo) -> bool:
        """Swarm can start the task again: it runs a digest (any node pulls it again) or an image id this node
        still has."""
        return "@sha256:" in info.image or self.docker.has_image(info.image)

    def ensure_image(self, image: str) -> None:
        self.docker.ensure_image(image)

    def start(self, color: str, *, image: str, env: Mapping[str, str], labels: Mapping[str, str],
              progress: Progress = _quiet) -> tuple[ContainerInfo, ...]:
        """The color's service runs `image` at N replicas: updated in place (all tasks at once: it is idle) or
        created; returns once N tasks of this release run (or raises: a task failed, or the deadline passed)."""
        name = self.name(color)
        spec = self._spec(image, env, labels)
        current = self.docker.services([name]).get(name)
        self.docker.put_service(name, spec, current)
        return self._wait(color, labels.get("bluegreen.release", ""), progress)

    def _spec_restart(self) -> str:
        return {"no": "none", "on-failure": "on-failure"}.get(self.service.restart or "", "any")

    def _spec(self, image: str, env: Mapping[str, str], labels: Mapping[str, str]) -> dict:
        svc = self.service
        restart = self._spec_restart()
        return {
            "Labels": dict(labels),
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": self._pinned(image), "Env": [f"{k}={v}" for k, v in env.items()],
                    "Labels": dict(labels), "StopSignal": "SIGTERM",
                    "StopGracePeriod": int((svc.drain_timeout + svc.stop_timeout) * 1e9), "Mounts": [_mount(v) for v in svc.volumes],
                },
                "RestartPolicy": {"Condition": restart, "Delay": 1_000_000_000},
                "Networks": [{"Target": self.docker.network}],
                "Placement": {"Constraints": list(svc.scale.constraints),
                              **({"MaxReplicas": svc.scale.max_replicas_per_node}
                                 if svc.scale.max_replicas_per_node else {})},
            },
            "Mode": {"Replicated": {"Replicas": self.replicas}},
            # The idle color serves nobody: start every new task at once (before the old ones stop: ~2 s instead
            # of ~5 s here), and let bluegreen's gate judge them. Not with max_replicas_per_node: the old tasks
            # fill the nodes' quota, so the new ones could never be placed (measured: 0 of 4 ran, bench --nodes).
            "UpdateConfig": {"Parallelism": 0, "FailureAction": "continue",
                             "Order": "stop-first" if svc.scale.max_replicas_per_node else "start-first"},
            "EndpointSpec": {"Mode": svc.scale.endpoint_mode},
        }

    def _pinned(self, image: str) -> str:
        """What the tasks run: the image by digest (every node pulls exactly it) or, never pushed, by id (a
        one-node swarm: the engine then never tries to pull it)."""
        refs = self.docker.image_refs(image)
        if refs is None:
            return image
        image_id, digests = refs
        repository = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        digest = next((d for d in digests if d.split("@", 1)[0] == repository), digests[0] if digests else None)
        return digest or image_id

    def _wait(self, color: str, release: str, progress: Progress) -> tuple[ContainerInfo, ...]:
        """Until N tasks of `release` run; a task of it that failed fails the wait at once (with its error). When
        nginx resolves the service's name itself, also until no task of another release runs: Swarm marks a
        replaced task for shutdown a few seconds before it stops, and until then it answers on that name (with
        addresses rendered, only the tasks of `release` are ever named)."""
        deadline = self.clock.deadline(self.service.health.timeout)
        name = self.name(color)
        while True:
            service = self.docker.services([name]).get(name)
            tasks = self.docker.tasks([service["ID"]]) if service else []
            found = self._instances(service, tasks)
            ours = [i for i in found if i.release == release]
            running = [i for i in ours if i.running]
            broken = [t for t in tasks if _release_of(t) == release and t.get("Status", {}).get("State") in FAILED]
            if broken:
                task = broken[0]
                raise DeployFailed("swarm.task_failed", name=f"{name}.{task.get('Slot', '?')}",
                                   node=self._node(task.get("NodeID", "")) or "?",
                                   error=task.get("Status", {}).get("Err") or task["Status"].get("State", "?"))
            others = [t for t in tasks if t.get("Status", {}).get("State") in CURRENT and _release_of(t) != release]
            if len(running) >= self.replicas and len(found) == len(ours) and not (others and self.resolves):
                return tuple(running)
            if deadline.expired:
                raise DeployFailed("swarm.tasks_timeout", name=name, running=str(len(running)),
                                   replicas=str(self.replicas), seconds=format_seconds(deadline.elapsed))
            progress("swarm.waiting", {"name": name, "running": str(len(running)), "replicas": str(self.replicas),
                                       "elapsed": format_seconds(deadline.elapsed),
                                       "deadline": format_seconds(self.service.health.timeout)})
            deadline.pause(WAIT_EVERY)

    def drain(self, color: str, *, timeout: float, progress: DrainProgress) -> Drained:
        """Swarm stops tasks itself, on their nodes: SIGTERM, then SIGKILL after the spec's grace, which is
        `drain_timeout` + `stop_timeout` (a task's requests cannot be counted from the manager)."""
        return Drained()

    def remove(self, color: str, *, grace: float) -> bool:
        """Remove the color's service (its tasks stop with the spec's grace)."""
        return self.docker.remove_service(self.name(color))

    def remove_instances(self, found: Sequence[ContainerInfo], *, grace: float) -> bool:
        """Swarm keeps a service's tasks at its replica count: one task cannot be taken away (Swarm restarts
        those that exit). False: nothing was removed."""
        return False

    # --- the previous version, kept as a service with no task ------------------------------------------------
    def set_aside(self, color: str, *, grace: float) -> bool:
        name = self.name(color)
        current = self.docker.services([name, self.kept_name(color)])
        if name not in current:
            return False
        if self.kept_name(color) in current:
            self.docker.remove_service(self.kept_name(color))
        spec = current[name]["Spec"]
        kept = {**spec, "Mode": {"Replicated": {"Replicas": 0}}}
        self.docker.put_service(self.kept_name(color), kept, None)
        return True

    def put_back(self, color: str) -> bool:
        """The kept spec serves as the color again, at N replicas (and returns once they run)."""
        name, kept_name = self.name(color), self.kept_name(color)
        found = self.docker.services([name, kept_name])
        if kept_name not in found:
            return False
        spec = {**found[kept_name]["Spec"], "Mode": {"Replicated": {"Replicas": self.replicas}}}
        self.docker.put_service(name, spec, found.get(name))
        release = (spec.get("Labels") or {}).get("bluegreen.release", "")
        try:
            self._wait(color, release, _quiet)
        finally:
            self.docker.remove_service(kept_name)
        return True

    def kept(self, color: str) -> ContainerInfo | None:
        found = self.docker.services([self.kept_name(color)]).get(self.kept_name(color))
        return self._kept_info(found) if found else None

    def discard_kept(self, color: str) -> bool:
        return self.docker.remove_service(self.kept_name(color))

    # --- images (on this node; every node keeps its own) ------------------------------------------------------
    def images(self, repository: str) -> list[tuple[str, tuple[str, ...], str]]:
        return self.docker.images(repository)

    def remove_image(self, ref: str) -> bool:
        return self.docker.remove_image(ref)

    def logs_tail(self, color: str, lines: int) -> list[str]:
        return self.docker.service_logs(self.name(color), lines)


def _release_of(task: dict) -> str | None:
    return (task.get("Spec", {}).get("ContainerSpec", {}).get("Labels") or {}).get("bluegreen.release")


def nginx_version(docker: Docker, nginx: Nginx) -> tuple[int, ...]:
    """nginx's version, from `nginx -v` in its container; (0,) when it cannot be read."""
    _, out = docker.exec(nginx.container, ["nginx", "-v"])
    return version_of(out) or (0,)


def _mount(volume: str) -> dict:
    """`source:target[:ro]` as a Swarm mount: a path is a bind mount, a name a volume."""
    parts = volume.split(":")
    source, target = parts[0], parts[1]
    return {"Type": "bind" if source.startswith("/") else "volume", "Source": source, "Target": target,
            "ReadOnly": len(parts) > 2 and "ro" in parts[2].split(",")}
