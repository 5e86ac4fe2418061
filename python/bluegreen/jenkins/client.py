"""The one owner of python-jenkins: every call to Jenkins goes through `Client`, and leaves as the error tree.

python-jenkins reports some failures misleadingly: every 401, 403 and 500 becomes "Possibly authentication
failed" (so XML Jenkins cannot load looks like a bad password), other 4xx escape as raw `requests.HTTPError`,
and a refused connection escapes as a raw `requests.ConnectionError`. `_Jenkins` intercepts each response
before python-jenkins words it, keeping what it needs (status, `X-Error`, the crumb hint); 404 still goes
through python-jenkins, whose `job_exists` and crumb discovery rely on its NotFoundException.

What an error may carry: method, path, status and Jenkins' own short `X-Error` header, scrubbed of every
secret value. Never a response body or a request body (a 500 page may quote what was sent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import jenkins  # python-jenkins: imported here and nowhere else
import requests

from bluegreen.errors import BlueGreenError, Unreachable, UsageError
from bluegreen.jenkins.connection import Connection
from bluegreen.jenkins.xmltext import printable

T = TypeVar("T")
# ACL.checkPermission / checkAnyPermission (AccessDeniedException3): "alice is missing the Job/Configure
# permission", or "alice is missing a permission, one of Overall/Manage, Overall/Administer is required".
_PERMISSION = re.compile(r"is missing (?:the (\S+/\S+(?: \S+)*?) permission|a permission, one of (.+?) is required)")
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"


class _HTTPFailure(Exception):
    """A refused request. Deliberately not a JenkinsException: python-jenkins swallows those in places
    (`credential_exists` turns any of them into False), which would hide a 403 as "missing"."""

    def __init__(self, response: requests.Response, base: str) -> None:
        super().__init__(response.status_code)
        self.status = response.status_code
        self.method = response.request.method or "?"
        self.path = (response.request.url or "").removeprefix(base) or "/"
        self.x_error = _header_text(response.headers.get("X-Error", ""))
        text = response.text or ""
        self.crumb = "crumb" in text.lower() or "crumb" in (response.reason or "").lower()
        match = _PERMISSION.search(text)
        self.permission = (match.group(1) or match.group(2) or "")[:120] if match else ""


def _header_text(value: str) -> str:
    # Jenkins writes X-Error as UTF-8 (its messages quote names with ‘…’); requests reads headers as Latin-1.
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class _Jenkins(jenkins.Jenkins):
    def _response_handler(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400 and response.status_code != 404:
            raise _HTTPFailure(response, self.server)
        return super()._response_handler(response)


@dataclass(frozen=True)
class Listed:
    """An item in a folder listing: its type (Jenkins' `_class`) and description."""

    cls: str
    description: str


class Client:
    def __init__(self, conn: Connection, *, timeout: float = 30.0,
                 scrub: Callable[[str], str] = lambda text: text) -> None:
        self._url = conn.url
        self._user = conn.user
        self._scrub = scrub
        self._j = _Jenkins(conn.url, conn.user, conn.token, timeout=timeout)
        # TLS verification stays on even when PYTHONHTTPSVERIFY=0 is set (python-jenkins would obey it);
        # a private CA is given with REQUESTS_CA_BUNDLE, which requests honours.
        self._j._session.verify = True

    # --- reads: None means "not there" (a 404) ---
    def folder_items(self, folder: str) -> dict[str, Listed] | None:
        """Items directly in the folder (name → type and description), or None when the folder does not exist.
        Jenkins' remote API adds `_class` to every object, so the types come with the one request."""
        item = "job/" + "/job/".join(folder.split("/"))
        data = self._call(folder, self._j.get_info, item, "?tree=jobs[name,description]", missing_ok=True)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("jobs", []), list):
            raise BlueGreenError("jenkins.failed", item=folder, detail="unexpected answer to the folder listing")
        if "jobs" not in data:
            raise UsageError("jenkins.folder_other_type", folder=folder, found=printable(str(data.get("_class") or "?")),
                             wanted=FOLDER_CLASS)
        # Entries without a name (a proxy's mangling, say) are skipped: they can't be ours.
        return {j["name"]: Listed(str(j.get("_class") or "?"), str(j.get("description") or ""))
                for j in data["jobs"] if isinstance(j, dict) and isinstance(j.get("name"), str)}

    def item_exists(self, name: str) -> bool:
        return bool(self._call(name, self._j.job_exists, name))

    def job_config(self, name: str) -> str | None:
        folder_url, short_name = self._j._get_job_folder(name)
        url = self._j._build_url(jenkins.CONFIG_JOB, {"folder_url": folder_url, "short_name": short_name})
        return self._read_xml(name, url)

    def credential_ids(self, folder: str) -> list[str]:
        listed = self._call(folder, self._j.list_credentials, folder) or []
        return [c["id"] for c in listed if isinstance(c, dict) and isinstance(c.get("id"), str)]

    def credential_config(self, folder: str, credential_id: str) -> str | None:
        # python-jenkins' get_credential_config first re-checks that the folder is a folder: one extra request
        # per credential, every run. Same URL (its CONFIG_CREDENTIAL) and request path, without that check.
        folder_url, short_name = self._j._get_job_folder(folder)
        url = self._j._build_url(jenkins.CONFIG_CREDENTIAL, {"folder_url": folder_url, "short_name": short_name,
                                                             "domain_name": "_", "name": credential_id})
        return self._read_xml(credential_id, url)

    def _read_xml(self, item: str, url: str) -> str | None:
        # Jenkins sends config.xml as `application/xml` without a charset (AbstractItem.doConfigDotXml), so
        # requests would guess one: a Korean description could come back as mojibake. The file is UTF-8.
        response = self._call(item, self._j.jenkins_request, requests.Request("GET", url), missing_ok=True)
        if response is None:
            return None
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError:
            raise BlueGreenError("jenkins.bad_xml", item=item, error="not UTF-8") from None

    # --- writes ---
    def create_folder(self, name: str) -> None:
        self._call(name, self._j.create_folder, name)

    def create_job(self, name: str, xml: str) -> None:
        self._call(name, self._j.create_job, name, xml)

    def reconfig_job(self, name: str, xml: str) -> None:
        self._call(name, self._j.reconfig_job, name, xml)

    def delete_job(self, name: str) -> None:
        self._call(name, self._j.delete_job, name)

    def create_credential(self, folder: str, credential_id: str, xml: str) -> None:
        self._call(credential_id, self._j.create_credential, folder, xml)

    def reconfig_credential(self, folder: str, credential_id: str, xml: str) -> None:
        self._call(credential_id, self._j.reconfig_credential, folder, xml)

    def delete_credential(self, folder: str, credential_id: str) -> None:
        self._call(credential_id, self._j.delete_credential, credential_id, folder)

    # --- the translation ---
    def _call(self, item: str, fn: Callable[..., T], *args: Any, missing_ok: bool = False) -> T | None:
        try:
            return fn(*args)
        except _HTTPFailure as failure:
            raise self._refused(failure, item) from None
        except jenkins.NotFoundException:
            if missing_ok:
                return None
            raise BlueGreenError("jenkins.not_found", item=item) from None
        except (jenkins.TimeoutException, requests.exceptions.Timeout):
            raise Unreachable("jenkins.timeout", url=self._url) from None
        except requests.exceptions.SSLError:
            raise Unreachable("jenkins.tls", url=self._url) from None
        except requests.exceptions.ConnectionError:
            raise Unreachable("jenkins.unreachable", url=self._url) from None
        except (jenkins.JenkinsException, requests.exceptions.RequestException, ValueError) as exc:
            # python-jenkins' own checks ("create[x] failed", "already exists"): names only, first line.
            # ValueError: an answer that is not the JSON Jenkins gives (a proxy's login page, say).
            detail = printable(self._scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            raise BlueGreenError("jenkins.failed", item=item, detail=detail[:200]) from None

    def _refused(self, f: _HTTPFailure, item: str) -> BlueGreenError:
        where = {"method": f.method, "path": f.path, "url": self._url}
        if f.status == 401:
            return UsageError("jenkins.unauthorized", user=self._user, **where)
        if f.status == 403 and f.crumb:
            return UsageError("jenkins.crumb", **where)
        if f.status == 403:
            return UsageError("jenkins.forbidden", user=self._user, permission=f.permission or "?", **where)
        if f.status >= 500:
            return BlueGreenError("jenkins.server_error", status=f.status, item=item, **where)
        detail = printable(self._scrub(f.x_error))[:200] or "-"
        return BlueGreenError("jenkins.rejected", status=f.status, item=item, detail=detail, **where)
