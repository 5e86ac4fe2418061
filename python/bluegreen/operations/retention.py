"""Image retention that never breaks a rollback (`retain: N`).

After a successful deploy, the service's local images older than the last N deployed are removed — never the
image of a container of either color (running, kept aside or staged), never one named in the last N history
entries. `bluegreen images SERVICE` shows the same verdicts without removing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import Live
from bluegreen.parts.runtime import Runtime


@dataclass(frozen=True)
class Verdict:
    ref: str  # repository:tag
    image_id: str
    created: str
    keep: bool
    why: str  # "in use by maice-back-blue", "deployed #2", "history", "older than the last 3 deployed"


def repository(image: str) -> str:
    """`reg:5000/maice-back:123` → `reg:5000/maice-back` (a port is not a tag)."""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return image[: len(image) - len(last.split(":", 1)[1]) - 1] if ":" in last else image


def judge_images(local: Iterable[tuple[str, tuple[str, ...], str]], *, in_use: dict[str, str],
                 deployed: list[str], recent: set[str], retain: int) -> list[Verdict]:
    """Pure: what to keep and why. `in_use` image id → container; `deployed` newest first (distinct refs);
    `recent` refs named in the last `retain` history entries. Only images *older* than the oldest of the last
    `retain` deployed can go: a newer image (built, not deployed yet) stays."""
    local = list(local)
    created = {ref: when for _, tags, when in local for ref in tags}
    newest = [ref for ref in deployed if ref in created][:retain]
    threshold = min(created[ref] for ref in newest) if len(newest) == retain else None
    verdicts = []
    for image_id, tags, when in local:
        for ref in tags or (image_id,):
            if image_id in in_use:
                why, keep = f"in use by {in_use[image_id]}", True
            elif ref in newest:
                why, keep = f"deployed #{newest.index(ref) + 1} of the last {retain}", True
            elif ref in recent:
                why, keep = f"named in the last {retain} history entries", True
            elif threshold is None:
                why, keep = f"fewer than {retain} deployed images yet", True
            elif when >= threshold:
                why, keep = f"newer than the last {retain} deployed", True
            else:
                why, keep = f"older than the last {retain} deployed", False
            verdicts.append(Verdict(ref, image_id, when, keep, why))
    return sorted(verdicts, key=lambda v: (v.created, v.ref), reverse=True)


def verdicts(runtime: Runtime, live: Live, history: list[dict], *, image: str,
             retain: int) -> list[Verdict]:
    """The verdict on each local image of `image`'s repository (`image`: the one deployed last)."""
    in_use = {info.image_id: info.name for found in live.instances.values() for info in found}
    in_use.update({info.image_id: info.name for info in live.kept.values()})
    deployed: list[str] = [image]
    for entry in history:
        ref = entry.get("image")
        if entry.get("action") in ("deploy", "promote") and entry.get("result") == "success" and ref \
                and ref not in deployed:
            deployed.append(ref)
    recent = {e.get("image") for e in history[:retain] if e.get("image")}
    if not retain:  # no `retain:`: bluegreen never removes an image; show what there is
        return [Verdict(ref, i, c, True, "retain is not set") for i, tags, c in runtime.images(repository(image))
                for ref in tags or (i,)]
    return judge_images(runtime.images(repository(image)), in_use=in_use, deployed=deployed, recent=recent,
                        retain=retain)


def retain_images(scene: Scene, frame: Frame, *, image: str) -> None:
    """After a successful deploy: remove what `verdicts` does not keep. A failure to remove is said, never fatal:
    the deploy is done."""
    retain = scene.service.retain
    if not retain:
        return
    with frame.timed("retain"):
        # This deploy counts as the newest history entry already (the frame records it when the act ends).
        history = [{"action": frame.report.action, "result": "success", "image": image}, *scene.state.history()]
        found = verdicts(scene.runtime, scene.look(), history, image=image, retain=retain)
        for v in found:
            if not v.keep:
                removed = scene.runtime.remove_image(v.ref)
                scene.out.say("images.removed" if removed else "images.in_use", ref=v.ref, why=v.why)
