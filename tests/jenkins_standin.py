"""A Jenkins 2.4xx stand-in: the endpoints python-jenkins 1.8.3 calls for job sync, answering as Jenkins does.

This module holds the server, its state and the helpers; the endpoints are in jenkins_standin_routes.py, each
with a comment naming the Jenkins behaviour it reproduces. Every request is logged as (method, path, status)
in `Standin.log`; `fail()` injects errors and `stop()` makes the server unreachable. State: a tree of folders
and items, each item kept as the XML Jenkins would have saved, each folder with its own credentials store.

    server = Standin(csrf=True).start()      # server.url, e.g. http://127.0.0.1:41234/
    server.fail(500, path_contains="createItem")
    server.find("team/app/deploy").xml; server.writes(); server.stop()
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

VERSION = "2.426.3"
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
CLASSES = {"flow-definition": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
           "project": "hudson.model.FreeStyleProject", FOLDER: FOLDER}
# XStream writes plugin="name@version" on elements whose class comes from a plugin.
PLUGINS = {
    "flow-definition": "workflow-job@1385.vb_58b_86ea_fff1",
    FOLDER: "cloudbees-folder@6.858.v898218f3609d",
    "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition": "workflow-cps@3793.v65dec41c3a_c3",
    "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition": "workflow-cps@3793.v65dec41c3a_c3",
    "hudson.plugins.git.GitSCM": "git@5.2.1",
    "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl": "plain-credentials@143.v1b_df8b_d3b_e48",
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl": "credentials@1319.v7eb_51b_3a_c97b_",
}
SECRET_FIELDS = ("secret", "password")  # hudson.util.Secret fields: redacted on every read
STORE = ["credentials", "store", "folder", "domain", "_"]


@dataclass
class Item:
    name: str
    xml: str
    children: dict[str, "Item"] | None = None  # folders only
    credentials: dict[str, str] = field(default_factory=dict)  # folder store: id → saved XML (with secrets)

    @property
    def cls(self) -> str:
        return CLASSES.get(ET.fromstring(_body(self.xml)).tag, "hudson.model.FreeStyleProject")

    @property
    def description(self) -> str:
        return ET.fromstring(_body(self.xml)).findtext("description") or ""


@dataclass
class Fault:
    status: int
    method: str
    path_contains: str
    count: int
    echo_body: bool  # a 500 page quoting what was sent: the worst case for leaking secrets


class Standin:
    def __init__(self, *, users: dict[str, str] | None = None, forbidden: set[str] = frozenset(),
                 readers: set[str] = frozenset(), csrf: bool = True, reject_crumbs: bool = False) -> None:
        self.users = users if users is not None else {"admin": "admin-token"}
        self.forbidden, self.readers = set(forbidden), set(readers)
        self.csrf, self.reject_crumbs = csrf, reject_crumbs
        self.crumb = secrets.token_hex(16)
        self.root = Item("", "<hudson/>", children={})
        self.log: list[tuple[str, str, int]] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> "Standin":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int, *, method: str = "POST", path_contains: str = "", count: int = 1,
             echo_body: bool = False) -> None:
        self.faults.append(Fault(status, method, path_contains, count, echo_body))

    # --- for assertions ---
    def find(self, full_name: str) -> Item | None:
        node: Item | None = self.root
        for part in full_name.split("/"):
            node = (node.children or {}).get(part) if node else None
        return node

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.log if r[0] in ("POST", "DELETE")]


def _body(xml: str) -> bytes:
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", xml).strip().encode("utf-8")


def saved(xml: str) -> str:
    """What Jenkins keeps for a posted config: XStream adds plugin attributes, re-indents and writes an XML 1.1
    declaration (AbstractItem.updateByXml, then a save)."""
    root = ET.fromstring(_body(xml))
    for el in root.iter():
        plugin = PLUGINS.get(el.get("class") or el.tag)
        if plugin:
            el.set("plugin", plugin)
    ET.indent(root, space="  ")
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode")


def redacted(xml: str) -> str:
    """credentials plugin, CredentialsWrapper config.xml GET: Secret values become <secret-redacted/>."""
    root = ET.fromstring(_body(xml))
    for name in SECRET_FIELDS:
        for el in root.iter(name):
            el.clear()
            ET.SubElement(el, "secret-redacted")
    return saved(ET.tostring(root, encoding="unicode"))


def _tree(data, spec: str):
    """The `tree=` filter of Jenkins' remote API (hudson.model.Api): only the named fields, plus _class."""
    fields, depth, start = {}, 0, 0
    for i, ch in enumerate(spec + ","):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            part = spec[start:i]
            name, _, sub = part.partition("[")
            fields[name] = sub[:-1] if sub else ""
            start = i + 1
    if isinstance(data, list):
        return [_tree(d, spec) for d in data]
    out = {"_class": data["_class"]} if "_class" in data else {}
    for name, sub in fields.items():
        if name in data:
            out[name] = _tree(data[name], sub) if sub and isinstance(data[name], (list, dict)) else data[name]
    return out


def _handler(jenkins: Standin) -> type[BaseHTTPRequestHandler]:
    from jenkins_standin_routes import route  # noqa: PLC0415 - the endpoints, kept in their own module

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Jetty: python-jenkins reuses one session
        disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait 40 ms between them

        def log_message(self, *args) -> None:  # the request log is Standin.log
            pass

        def do_GET(self) -> None:
            self._serve()

        do_POST = do_DELETE = do_GET

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = route(jenkins, self.command, self.path, self.headers, body)
            with jenkins.lock:
                jenkins.log.append((self.command, self.path, status))
            self.send_response(status)
            # Every Jenkins response carries X-Jenkins (python-jenkins' get_version reads it).
            self.send_header("X-Jenkins", VERSION)
            self.send_header("X-Jenkins-Session", "5e1f3a9c")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def basic_user(headers) -> tuple[str | None, str | None]:
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None, None
    user, _, token = base64.b64decode(value[6:]).decode("utf-8").partition(":")
    return user, token


def query(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def segments(path: str) -> list[str]:
    return [unquote(p) for p in urlsplit(path).path.strip("/").split("/") if p]


def as_json(data) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(data).encode("utf-8")
