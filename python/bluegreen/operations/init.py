"""`bluegreen init SERVICE`: the command a team runs once, on the guide's setup, before bluegreen's first deploy.

    read     the nginx container (bluegreen.yml's, --nginx, or the one that publishes 80/443 and runs nginx),
             what it reads (`nginx -T`) and when it last loaded it, the upstream block that names
             <prefix>-blue / <prefix>-green wherever it is, both colors' containers, the network they share with
             nginx, its published ports, the serving container's image and variable names (never a value)
    decide   the color that serves (the block's one primary) and the backup (the other color, if it runs)
    check    an existing bluegreen.yml against that (one line per disagreement, exit 3), else write one
    plan     the site without the block, bluegreen's file with the same color serving (init_files.py)
    show     a unified diff of every file; a dry run stops here, nothing changed
    apply    (the frame: lock) read the files again → copies of each under state_dir → bluegreen.yml → nginx's
             files, one `nginx -t`, one reload confirmed by new workers → the state remembers what nginx serves;
             any failure puts every file back

Nothing here ever changes which color serves: the file bluegreen renders names the color the block served.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from bluegreen.colors import COLORS, other
from bluegreen.errors import BlueGreenError, Inconsistent, UsageError
from bluegreen.operations import init_plan as decide
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.run import run
from bluegreen.operations.init_config import check_config, new_values, writable
from bluegreen.operations.init_files import plan_files, set_up
from bluegreen.operations.init_plan import Request
from bluegreen.operations.look import Live
from bluegreen.output import Reporter, escape
from bluegreen.parts.nginx_files import FileChange
from bluegreen.parts.site_edit import diff
from bluegreen.parts.site_survey import ContainerFacts, NginxReading, SiteSurvey
from bluegreen.parts.state import now_iso
from bluegreen.report import Report
from bluegreen.config.settings import Config, Service


@dataclass(frozen=True)
class Tools:
    """What the runbook reads and writes through (commands.py builds them)."""

    survey: SiteSurvey
    render_config: Callable[[Mapping[str, Any]], str]
    parse_config: Callable[[str, Path], Config]
    parts: Callable[[Config, str], tuple[Any, Any]]  # (runtime, switch) of a service, without touching state_dir
    write_config: Callable[[Path, str], None]  # a new file, never over an existing one
    remove_config: Callable[[Path], None]
    loaded_config: Callable[[Config, str], str | None]  # the state's record of bluegreen's file nginx loaded


@dataclass
class Plan:
    config: Config
    service: Service
    nginx: NginxReading
    serving: ContainerFacts | None = None
    color: str | None = None  # the color that serves
    backup: str | None = None  # the color bluegreen's file names as backup
    rendered: str | None = None  # bluegreen's file, as init installs it
    changes: list[FileChange] = field(default_factory=list)
    config_text: str | None = None  # a new bluegreen.yml; None: it exists
    refusal: BlueGreenError | None = None  # what stops --apply after the diff is shown (exit 3)

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes and self.config_text is None


def run_init(req: Request, tools: Tools, out: Reporter, *, scene: Callable[[Config, str, Reporter], Scene]) -> None:
    """The runbook above, top to bottom. A refusal after the diff (shared-dict's admin directory) exits 3."""
    out.say("init.begin_apply" if req.apply else "init.begin", service=req.service)
    plan = prepare(req, tools, out)
    show(plan, req, out)
    if plan.refusal is not None:
        raise plan.refusal
    if req.apply and not plan.nothing_to_do:
        run(scene(plan.config, plan.service.name, out), Apply(plan, req, tools, out))


def prepare(req: Request, tools: Tools, out: Reporter) -> Plan:
    """read → decide → check → plan: everything but a change."""
    cfg, survey = req.config, tools.survey
    svc = cfg.service(req.service) if cfg else None
    name = _nginx_name(req, survey, out)
    nginx = survey.nginx(name)
    out.say("init.nginx", name=name, files=len(nginx.dump.files),
            loaded=now_iso(nginx.loaded_at) if nginx.loaded_at else "?")
    _refuse_unloaded_edits(nginx)
    if cfg and svc and cfg.nginx.switch == "shared-dict" and set_up(nginx.dump, svc, _reader(survey, name)):
        out.say("init.nothing", upstream=svc.upstream, path=svc.upstream_file)
        return Plan(cfg, svc, nginx)
    layout = _layout(req, nginx, svc, out)
    colors = {c: survey.facts(f"{layout.prefix}-{c}") for c in COLORS}
    serving = colors[layout.serving]
    if serving is None or not serving.running:
        raise Inconsistent("init.serving_down", name=f"{layout.prefix}-{layout.serving}", where=layout.block.where)
    idle = colors[other(layout.serving)]
    backup = other(layout.serving) if idle is not None and idle.running else None
    _say_layout(layout, backup, nginx, out)
    networks = decide.shared_networks(nginx.facts.networks, [f.networks for f in (serving, idle) if f and f.running])
    if cfg is not None and svc is not None:
        config_text = None
        check_config(req, cfg, svc, layout, nginx, networks, out)
    else:
        values = new_values(req, layout, nginx, serving, networks, survey.image_env_names(serving.image), out)
        config_text = tools.render_config(values.__dict__ | {"serving": layout.serving})
        writable(req.config_path)
        cfg = tools.parse_config(config_text, req.config_path)
        svc = cfg.service(req.service)
    runtime, switch = tools.parts(cfg, svc.name)
    _check_health(runtime, svc, layout.serving, out)
    rendered = switch.render(primary=layout.serving, backup=backup)
    changes = plan_files(nginx, svc, layout, rendered=rendered, switch=cfg.nginx.switch,
                         setup_files=switch.setup_files(), read_file=_reader(survey, name),
                         recorded=tools.loaded_config(cfg, svc.name))
    plan = Plan(cfg, svc, nginx, serving, layout.serving, backup, rendered, changes, config_text)
    if changes and cfg.nginx.switch == "shared-dict" and not _mounted(nginx.facts, cfg.nginx.admin_dir):
        plan.refusal = Inconsistent("init.admin_dir_unmounted", nginx=name, dir=cfg.nginx.admin_dir)
    if plan.nothing_to_do:
        out.say("init.nothing", upstream=svc.upstream, path=svc.upstream_file)
    return plan


def show(plan: Plan, req: Request, out: Reporter) -> None:
    """A unified diff of every file it would change, then what --apply does (or why it cannot)."""
    files = [(str(req.config_path), None, plan.config_text)] if plan.config_text is not None else []
    files += [(c.path, c.previous, c.text) for c in plan.changes]
    for path, old, new in files:
        for line in diff(path, old, new):
            out.line(_shown(line))
    if plan.nothing_to_do:
        return
    if plan.config_text is not None:
        out.say("init.plan_config", path=str(req.config_path))
    if plan.changes:
        out.say("init.plan_nginx", count=len(plan.changes), nginx=plan.nginx.facts.name, color=plan.color,
                dir=f"{plan.config.state_dir}/{plan.service.name}.init-backup")
    if plan.refusal is None and not req.apply:
        out.say("init.dry_run", service=plan.service.name)


class Apply:
    """The changes, in the frame: under the service's lock (no deploy at the same time), recorded in history."""

    action, holds_lock, repairs = "init", True, False

    def __init__(self, plan: Plan, req: Request, tools: Tools, out: Reporter) -> None:
        self.p, self.req, self.tools, self.out = plan, req, tools, out

    def begin(self, report: Report) -> None:
        report.target = self.p.color
        report.image = self.p.serving.image if self.p.serving else None

    def plan(self, live: Live, frame: Frame) -> None:
        """Read again under the lock: each file as the diff showed it, the same container serving."""
        p, survey = self.p, self.tools.survey
        for change in p.changes:
            if survey.read_file(p.nginx.facts.name, change.path) != change.previous:
                raise Inconsistent("init.changed_meanwhile", path=change.path)
        serving = survey.facts(p.serving.name) if p.serving else None
        if p.serving and (serving is None or serving.id != p.serving.id or not serving.running):
            raise Inconsistent("init.changed_meanwhile", path=p.serving.name)
        if p.config.nginx.switch == "shared-dict" and p.rendered is not None:
            # The admin key exists only now (the frame made it, under the lock; a dry run creates nothing): the file
            # nginx loads names its digest, or nginx would admit nobody on the socket.
            p.rendered = frame.scene.switch.render(primary=p.color, backup=p.backup)
            p.changes = [replace(c, text=p.rendered) if c.path == p.service.upstream_file else c for c in p.changes]

    def act(self, frame: Frame) -> None:
        p, out = self.p, self.out
        kept = {c.path: c.previous for c in p.changes if c.previous is not None}
        if kept:
            where = frame.back_up(kept)
            frame.report.extra["backups"] = str(where)
            out.say("init.backed_up", dir=str(where), files=", ".join(kept))
        if p.config_text is not None:
            self.tools.write_config(self.req.config_path, p.config_text)
        try:
            if p.changes:
                generation, in_place = self.tools.survey.serve(p.config.nginx, p.changes)
                for path in in_place:
                    out.say("init.in_place", path=path)
                frame.took_over(p.rendered or "", generation, color=p.color or "", instance=p.serving.id,
                                image=p.serving.image)
        except BaseException:
            if p.config_text is not None:
                self.tools.remove_config(self.req.config_path)
            raise
        if p.config_text is not None:
            out.say("init.config_written", path=str(self.req.config_path))

    def end(self) -> None:
        p, svc = self.p, self.p.service
        if p.changes:
            out_backup = p.backup or "-"
            self.out.say("init.done", upstream=svc.upstream, path=svc.upstream_file, color=p.color, backup=out_backup)
        self.out.say("init.next", service=svc.name, idle=other(p.color), color=p.color)


# --- read ------------------------------------------------------------------------------------------------------
def _nginx_name(req: Request, survey: SiteSurvey, out: Reporter) -> str:
    if req.config is not None:
        name = req.config.nginx.container
        if survey.facts(name) is None:
            others = ", ".join(survey.nginx_candidates()) or "-"
            out.say("init.disagree", setting="nginx.container", path=str(req.config_path), says=name,
                    found=f"no such container (nginx here: {others})")
            raise Inconsistent("init.disagrees", path=str(req.config_path), count=1)
        return name
    if req.nginx:
        if survey.facts(req.nginx) is None:
            raise UsageError("init.no_such_container", name=req.nginx, option="--nginx")
        return req.nginx
    found = survey.nginx_candidates()
    if len(found) != 1:
        raise Inconsistent("init.nginx_many" if found else "init.nginx_not_found", names=", ".join(found))
    return found[0]


def _refuse_unloaded_edits(nginx: NginxReading) -> None:
    """A file nginx reads, changed after its last load: what it serves is not what the files say."""
    if nginx.loaded_at is None:
        raise Inconsistent("init.load_unknown", nginx=nginx.facts.name)
    edited = nginx.dump.edited_since(nginx.loaded_at)
    if edited:
        raise Inconsistent("init.unloaded", nginx=nginx.facts.name, files=", ".join(edited))


def _reader(survey: SiteSurvey, container: str) -> Callable[[str], str | None]:
    return lambda path: survey.read_file(container, path)


def _layout(req: Request, nginx: NginxReading, svc: Service | None, out: Reporter) -> decide.Layout:
    """The service's block: by the name bluegreen.yml (or --upstream) gives, else the one naming the colors. A
    bluegreen.yml whose name nginx does not have: the block that names the colors is the disagreement."""
    wanted = svc.upstream if svc else req.upstream
    try:
        return decide.find_layout(nginx.dump, upstream=wanted, prefix=None)
    except Inconsistent as error:
        if svc is None or error.key != "init.no_block":
            raise
        try:
            found = decide.find_layout(nginx.dump, upstream=None, prefix=None)
        except Inconsistent:
            raise error from None
        out.say("init.disagree", setting=f"services.{svc.name}.upstream", path=str(req.config_path), says=svc.upstream,
                found=f"{found.upstream} ({found.block.where})")
        raise Inconsistent("init.disagrees", path=str(req.config_path), count=1) from None


def _say_layout(layout: decide.Layout, backup: str | None, nginx: NginxReading, out: Reporter) -> None:
    block = layout.block
    out.say("init.layout", upstream=block.name, where=f"{block.where}-{block.end_line}", color=layout.serving,
            name=f"{layout.prefix}-{layout.serving}", backup=backup or "-")
    serving_host = f"{layout.prefix}-{layout.serving}"
    if serving_host in block.backups:
        out.say("init.named_twice", where=block.where, name=serving_host, color=layout.serving)
    if layout.backup and layout.backup != backup:
        out.say("init.backup_stopped", where=block.where, name=f"{layout.prefix}-{layout.backup}")
    hosts = [f"{layout.prefix}-{c}" for c in COLORS]
    for mention in nginx.dump.mentions(hosts):
        if mention.upstream != block.name:
            out.say("init.mention", where=mention.where, directive=mention.directive, host=mention.host,
                    upstream=block.name)


def _check_health(runtime: Any, svc: Service, color: str, out: Reporter) -> None:
    """The health path bluegreen.yml gives answers on the serving container (a warning: the deploy's gate needs it)."""
    found = [i for i in runtime.instances(color) if i.running]
    if not found:
        return
    answer = runtime.probe(found[0], svc.health.path)
    if not answer.ok:
        out.say("init.health", name=found[0].name, path=svc.health.path, detail=answer.detail, service=svc.name)


def _mounted(facts: ContainerFacts, directory: str) -> bool:
    return any(source.rstrip("/") == directory and target.rstrip("/") == directory
               for kind, source, target in facts.mounts if kind == "bind")


def _shown(line: str) -> str:
    """A diff line as the terminal shows it: tabs kept, any other control character escaped (a hand-edited file
    cannot forge lines or recolour the terminal)."""
    return "".join(c if c.isprintable() or c == "\t" else escape(c) for c in line)
