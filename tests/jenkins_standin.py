"""A Jenkins 2.4xx stand-in: the endpoints python-jenkins 1.8.3 calls for job sync, answering as Jenkins does.

This module holds the server, its state and the helpers; the endpoints are in jenkins_standin_routes.py and
what Jenkins does to the XML it is sent (XStream, Secret, Declarative builds) in jenkins_standin_xstream.py,
each with a comment naming the Jenkins behaviour it reproduces. Every request is logged as (method, path, status)
in `Standin.log` and its body in `Standin.bodies`; `fail()` injects errors and `stop()` makes the server
unreachable. State: a tree of folders and items, each item kept as the XML Jenkins would have on disk, each
folder with its own credentials store.

Jenkins lines (`mode`), since they store a posted config.xml differently:
- "recent": the job is saved right after every POST, so what is read back is XStream's (plugin attributes,
  defaults filled in, fields reordered, empty-element forms, XML 1.1, Secrets re-encrypted); every build saves it.
- "lts-older": the posted file is kept as sent (AbstractItem.updateByXml copies it into place) until something
  saves the job: a Declarative build that changes its properties, or a UI save (`resave`). Credential
  descriptions come back with characters beyond Latin-1 as "?".
Credentials are XStream objects in a store in both: always re-serialized, secrets encrypted.

    server = Standin(mode="recent").start()   # server.url, e.g. http://127.0.0.1:41234/
    server.fail(500, path_contains="createItem")
    server.build("team/app/deploy", Jenkinsfile(parameters=[...]))   # a Declarative build
    server.find("team/app/deploy").xml; server.secret("team/app", "db-url"); server.writes(); server.stop()
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

from jenkins_standin_xstream import Jenkinsfile, declarative_build, decrypt, saved

VERSION = "2.426.3"
MODES = ("recent", "lts-older")
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
CLASSES = {"flow-definition": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
           "project": "hudson.model.FreeStyleProject", FOLDER: FOLDER}
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
    def __init__(self, *, mode: str = "recent", users: dict[str, str] | None = None,
                 passwords: dict[str, str] | None = None, forbidden: set[str] = frozenset(),
                 forbidden_any: set[str] = frozenset(), readers: set[str] = frozenset(), csrf: bool = True, reject_crumbs: bool = False,
                 host: str = "127.0.0.1") -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.users = users if users is not None else {"admin": "admin-token"}  # API tokens
        self.passwords = dict(passwords or {})  # web logins: need a crumb bound to their session
        self.forbidden, self.forbidden_any, self.readers = set(forbidden), set(forbidden_any), set(readers)
        self.csrf, self.reject_crumbs = csrf, reject_crumbs
        self.lossy_descriptions = mode == "lts-older"
        self.salt = secrets.token_hex(16)  # the crumb salt (DefaultCrumbIssuer hashes it with the session id)
        self.root = Item("", "<hudson/>", children={})
        self.log: list[tuple[str, str, int]] = []
        self.bodies: list[tuple[str, str, bytes]] = []  # (method, path, body) of every request with a body
        self.faults: list[Fault] = []
        self.builds = 0
        self.lock = threading.RLock()
        # `host`: another local address, for a URL that is plain http but not the loopback
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self.url = f"http://{host}:{self._server.server_address[1]}/"
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

    # --- what happens on the server without our requests ---
    def build(self, full_name: str, jenkinsfile: Jenkinsfile) -> bool:
        """A build of a Declarative pipeline: records the Jenkinsfile's properties on the job. True if it saved."""
        with self.lock:
            item = self.find(full_name)
            assert item is not None and item.children is None, full_name
            xml, changed = declarative_build(item.xml, jenkinsfile)
            if self.mode == "recent" and not changed:
                xml, changed = saved(xml), True  # the build's own save (WorkflowRun completion updates the job)
            item.xml = xml
            self.builds += 1
            return changed

    def resave(self, full_name: str) -> None:
        """Someone presses Save in the job's configuration page without changing anything."""
        with self.lock:
            item = self.find(full_name)
            item.xml = saved(item.xml)

    def edit(self, full_name: str, change) -> None:  # noqa: ANN001 - change: str → str on the stored XML
        """An edit in the UI: the stored XML changed by `change`, then saved by XStream."""
        with self.lock:
            item = self.find(full_name)
            item.xml = saved(change(item.xml))

    # --- for assertions ---
    def find(self, full_name: str) -> Item | None:
        node: Item | None = self.root
        for part in full_name.split("/"):
            node = (node.children or {}).get(part) if node else None
        return node

    def secret(self, folder: str, credential_id: str, name: str = "secret") -> str:
        """A stored credential's value in plain text (what a build bound to it would see)."""
        root = ET.fromstring(_body(self.find(folder).credentials[credential_id]))
        return decrypt(root.findtext(name) or "")

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.log if r[0] in ("POST", "DELETE")]


def _body(xml: str) -> bytes:
    """The XML for Python's (1.0) parser: no prologue, and XML 1.1's control-character references (which Jenkins
    writes) read as U+FFFD, so the stand-in can still list the item."""
    xml = re.sub(r"&#x0*(?:[0-8bcef]|1[0-9a-f]|7f|8[0-9a-f]|9[0-9a-f]);", "&#xFFFD;", xml, flags=re.IGNORECASE)
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", xml).strip().encode("utf-8")


def redacted(xml: str, *, lossy: bool = False) -> str:
    """credentials plugin, CredentialsWrapper config.xml GET: Secret values become <secret-redacted/>. `lossy`:
    the description's characters beyond Latin-1 as "?" (what some Jenkins lines answer)."""
    root = ET.fromstring(_body(xml))
    for name in SECRET_FIELDS:
        for el in root.iter(name):
            el.clear()
            ET.SubElement(el, "secret-redacted")
    if lossy:
        for el in root.iter("description"):
            el.text = (el.text or "").encode("latin-1", "replace").decode("latin-1")
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
                if body:
                    jenkins.bodies.append((self.command, self.path, body))
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
