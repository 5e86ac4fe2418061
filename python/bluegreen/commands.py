"""Small read-only commands: history and the credential bindings the Jenkins step needs."""

from __future__ import annotations

from typing import Any

from bluegreen.config import Service
from bluegreen.state import StateDir


def history(state: StateDir, limit: int) -> list[dict[str, Any]]:
    entries = []
    for entry in state.history():
        entries.append(entry)
        if len(entries) >= limit:
            break
    return entries


def credential_bindings(service: Service) -> dict[str, Any]:
    """One `withCredentials` binding per Jenkins credential id, from the `env` section of bluegreen.yml."""
    bindings: list[dict[str, Any]] = []
    pairs: dict[str, dict[str, Any]] = {}
    for var in service.env:
        if not var.credential:
            continue
        if var.field:
            binding = pairs.setdefault(var.credential, {"type": "usernamePassword", "credentialsId": var.credential,
                                                        "optional": var.optional})
            if binding not in bindings:
                bindings.append(binding)
            binding[f"{var.field}Variable"] = var.name
            binding["optional"] = binding["optional"] and var.optional
        else:
            bindings.append({"type": "string", "credentialsId": var.credential, "variable": var.name,
                             "optional": var.optional})
    return {"service": service.name, "bindings": bindings}
