"""The stand-in's endpoints (see jenkins_standin.py). Each names the Jenkins behaviour it reproduces."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs

import hashlib
import secrets

from jenkins_standin import (
    CLASSES, FOLDER, STORE, Item, Standin, _body, _tree, as_json, basic_user, query, redacted, segments,
)
from jenkins_standin_xstream import saved


def stored(j: Standin, posted: str) -> str:
    """What a job's config.xml holds after a POST: XStream's form ("recent", saved at once), or the posted file
    itself ("lts-older", until the next save)."""
    ET.fromstring(_body(posted))  # unparseable XML is refused either way
    return saved(posted) if j.mode == "recent" else posted

HTML = {"Content-Type": "text/html;charset=utf-8"}
Response = tuple[int, dict[str, str], bytes]


def page(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    html = f"<html><body><h2>HTTP ERROR {status} {text}</h2></body></html>"
    return status, {**HTML, **(headers or {})}, html.encode("utf-8")


def route(j: Standin, method: str, path: str, headers, body: bytes) -> Response:
    with j.lock:
        refused = _security(j, method, path, headers)
        if refused:
            return refused
        for fault in j.faults:
            if fault.count and fault.method == method and fault.path_contains in path:
                fault.count -= 1
                detail = body.decode("utf-8", "replace") if fault.echo_body else "java.lang.NullPointerException"
                return page(fault.status, f"Server Error\n{detail}")
        return _dispatch(j, method, path, headers, body)


def _security(j: Standin, method: str, path: str, headers) -> Response | None:
    user, secret = basic_user(headers)
    if user is None:
        # HudsonAuthenticationEntryPoint: anonymous on a secured instance gets 403, not 401 (no browser dialog).
        return page(403, "Authentication required", {"X-You-Are-Authenticated-As": "anonymous"})
    by_token = j.users.get(user) == secret
    if not by_token and j.passwords.get(user) != secret:
        # BasicHeaderProcessor: a wrong API token or password is a 401 with a Basic challenge.
        return page(401, f"Invalid password/token for user: {user}", {"WWW-Authenticate": 'Basic realm="Jenkins"'})
    if user in j.forbidden:
        # ACL.checkPermission → AccessDeniedException3, one permission.
        return page(403, f"Access Denied: {user} is missing the Overall/Read permission")
    if user in j.forbidden_any:
        # ACL.checkAnyPermission → AccessDeniedException3, several permissions.
        return page(403, f"Access Denied: {user} is missing a permission, one of Overall/Read, Overall/Administer "
                         "is required")
    if method != "GET" and j.csrf and not by_token and not _valid_crumb(j, headers):
        # CrumbFilter: a state-changing request without a crumb valid for this web session. Requests
        # authenticated by an API token are exempt (since 2.96); the crumb is bound to the session (since
        # 2.176.2, SECURITY-626), so a client that drops the session cookie never has a valid one.
        return page(403, "No valid crumb was included in the request")
    if method != "GET" and user in j.readers:
        wanted = "Credentials/Create" if "createCredentials" in path else \
            "Credentials/Update" if "/credential/" in path else "Job/Create" if "createItem" in path else \
            "Job/Configure"
        return page(403, f"Access Denied: {user} is missing the {wanted} permission")
    return None


def _session(headers) -> str | None:
    for part in (headers.get("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "JSESSIONID" and value:
            return value
    return None


def crumb_for(j: Standin, session: str) -> str:
    # DefaultCrumbIssuer: a hash of the salt and the session id (and the user; one user per session here).
    return hashlib.sha256(f"{j.salt}:{session}".encode()).hexdigest()


def _valid_crumb(j: Standin, headers) -> bool:
    session = _session(headers)
    return not j.reject_crumbs and session is not None and headers.get("Jenkins-Crumb") == crumb_for(j, session)


def _dispatch(j: Standin, method: str, path: str, headers, body: bytes) -> Response:
    parts = segments(path)
    if parts == ["crumbIssuer", "api", "json"] and method == "GET":
        # DefaultCrumbIssuer; with CSRF protection off the issuer does not exist (404).
        if not j.csrf:
            return page(404, "Not Found")
        session = _session(headers) or secrets.token_hex(8)  # a new web session unless the client has one
        status, head, payload = as_json({"_class": "hudson.security.csrf.DefaultCrumbIssuer",
                                         "crumb": crumb_for(j, session), "crumbRequestField": "Jenkins-Crumb"})
        return status, {**head, "Set-Cookie": f"JSESSIONID={session}; Path=/; HttpOnly"}, payload
    parent, node, trail = j.root, j.root, ""
    while len(parts) >= 2 and parts[0] == "job":
        child = (node.children or {}).get(parts[1])
        if child is None:
            return page(404, "Not Found")  # Stapler: no such item on the way
        parent, node, trail, parts = node, child, f"{trail}job/{parts[1]}/", parts[2:]
    if parts[:5] == STORE:
        return _credentials(j, node, trail, method, parts[5:], path, body)
    return _item(j, parent, node, trail, method, parts, path, body)


def _item(j: Standin, parent: Item, node: Item, trail: str, method: str, parts: list[str], path: str,
          body: bytes) -> Response:
    if parts in ([], ["configure"]) and method == "GET":
        return 200, HTML, b"<html><body>Jenkins</body></html>"  # where redirects after writes land
    if parts == ["api", "json"] and method == "GET":
        # Remote API: the item (or the root) as JSON, filtered by ?tree=.
        data = _item_json(j, node, trail)
        return as_json(_tree(data, query(path)["tree"]) if "tree" in query(path) else data)
    if parts == ["createItem"] and method == "POST" and node.children is not None:
        return _create_item(j, node, trail, path, body)
    if parts == ["config.xml"] and node is not j.root:
        if method == "GET":  # AbstractItem.doConfigDotXml GET: the saved file
            return 200, {"Content-Type": "application/xml"}, node.xml.encode("utf-8")
        if method == "POST":  # AbstractItem.updateByXml
            try:
                posted = body.decode("utf-8")
                tag = ET.fromstring(_body(posted)).tag
            except (ET.ParseError, UnicodeDecodeError):
                return page(500, "java.io.IOException: Failed to persist config.xml")
            if CLASSES.get(tag, tag) != node.cls:
                # It unmarshals onto the existing object and refuses another type, as a 500 whose page talks
                # about classes: python-jenkins calls it "Possibly authentication failed".
                return page(500, f"java.io.IOException: Expecting class {node.cls} but got class "
                                 f"{CLASSES.get(tag, tag)} instead")
            node.xml = stored(j, posted)
            return 200, {}, b""
    if parts == ["doDelete"] and method == "POST" and node is not j.root:
        # AbstractItem.doDoDelete: delete, then 302 to the parent.
        del parent.children[node.name]
        return 302, {"Location": j.url + trail.rsplit("job/", 1)[0]}, b""
    return page(404, "Not Found")


def _create_item(j: Standin, parent: Item, trail: str, path: str, body: bytes) -> Response:
    name = query(path).get("name")
    if not name:
        return page(400, "Query parameter 'name' is required")
    if name in parent.children:
        # ItemGroupMixIn.createProjectFromXML / Jenkins.checkGoodName: 400 with the reason in X-Error.
        message = f"A job already exists with the name ‘{name}’"
        return 400, {**HTML, "X-Error": message.encode("utf-8").decode("latin-1")}, message.encode("utf-8")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("mode") == FOLDER:
        # createItem with a mode (the "New Item" form): the new item, then 302 to its configure page.
        parent.children[name] = Item(name, saved(f"<{FOLDER}><description/></{FOLDER}>"), children={})
        return 302, {"Location": f"{j.url}{trail}job/{name}/configure"}, b""
    try:
        xml = stored(j, body.decode("utf-8"))
    except (ET.ParseError, UnicodeDecodeError):
        return page(500, "java.io.IOException: Unable to read")
    children = {} if ET.fromstring(_body(xml)).tag == FOLDER else None
    parent.children[name] = Item(name, xml, children=children)
    return 200, {}, b""  # createItem with an XML body: 200, empty


def _credentials(j: Standin, folder: Item, trail: str, method: str, parts: list[str], path: str,
                 body: bytes) -> Response:
    if folder.children is None or folder is j.root:
        return page(404, "Not Found")  # only folders have a folder-scoped store
    store = folder.credentials
    if parts == ["api", "json"] and method == "GET":  # DomainWrapper: the credentials of domain "_"
        data = {"_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$DomainWrapper",
                "credentials": [_credential_json(i, x) for i, x in store.items()]}
        return as_json(_tree(data, query(path)["tree"]) if "tree" in query(path) else data)
    if parts == ["createCredentials"] and method == "POST":
        try:
            root = ET.fromstring(_body(body.decode("utf-8")))
        except ET.ParseError:
            return page(500, "com.thoughtworks.xstream.io.StreamException")
        cred_id = root.findtext("id") or ""
        if cred_id in store:  # DomainWrapper.doCreateCredentials: a duplicate id is 409 Conflict
            return page(409, "Credentials with specified ID already exist in _")
        store[cred_id] = saved(body.decode("utf-8"))  # credentials: always an XStream object in the store
        return 200, {}, b""
    if len(parts) >= 2 and parts[0] == "credential":
        cred_id, rest = parts[1], parts[2:]
        if cred_id not in store:
            return page(404, "Not Found")
        if rest == ["config.xml"] and method == "GET":  # CredentialsWrapper config.xml: secrets redacted
            xml = redacted(store[cred_id], lossy=j.lossy_descriptions)
            return 200, {"Content-Type": "application/xml"}, xml.encode("utf-8")
        if rest == ["config.xml"] and method == "POST":  # updateByXml: another type is refused with a 500
            try:
                posted = saved(body.decode("utf-8"))
            except (ET.ParseError, UnicodeDecodeError):
                return page(500, "java.io.IOException: Failed to persist config.xml")
            if ET.fromstring(_body(posted)).tag != ET.fromstring(_body(store[cred_id])).tag:
                return page(500, "java.lang.IllegalArgumentException: Expected credentials of another type")
            store[cred_id] = posted
            return 200, {}, b""
        if (rest == ["config.xml"] and method == "DELETE") or (rest == ["doDelete"] and method == "POST"):
            del store[cred_id]  # DELETE on config.xml (what python-jenkins uses) or the UI's doDelete (302)
            if method == "DELETE":
                return 200, {}, b""
            return 302, {"Location": j.url + trail + "/".join(STORE)}, b""
        if rest == ["api", "json"] and method == "GET":
            return as_json(_credential_json(cred_id, store[cred_id]))
    return page(404, "Not Found")


def _item_json(j: Standin, node: Item, trail: str) -> dict:
    if node is j.root:
        return {"_class": "hudson.model.Hudson", "jobs": [_child_json(j, c, "") for c in node.children.values()],
                "useCrumbs": j.csrf, "useSecurity": True}
    data = {**_child_json(j, node, trail.rsplit("job/", 1)[0]), "fullName": trail.replace("job/", "").strip("/")}
    if node.children is not None:
        data["jobs"] = [_child_json(j, c, trail) for c in node.children.values()]
    return data


def _child_json(j: Standin, item: Item, parent_trail: str) -> dict:
    return {"_class": item.cls, "name": item.name, "url": f"{j.url}{parent_trail}job/{item.name}/",
            "description": item.description, "color": "notbuilt"}


def _credential_json(cred_id: str, xml: str) -> dict:
    root = ET.fromstring(_body(xml))
    return {"_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper",
            "id": cred_id, "description": root.findtext("description") or "", "displayName": cred_id,
            "typeName": "Secret text" if root.find("secret") is not None else "Username with password"}
