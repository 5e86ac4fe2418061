"""Loading bluegreen.yml: read the file once, validate it (config_schema.py), expand ${VAR} placeholders."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

import yaml

from bluegreen.config_schema import parse
from bluegreen.errors import MissingVariables, UsageError
from bluegreen.settings import Config

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_PATH = "bluegreen.yml"


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; every problem names its key."""
    path = Path(path or os.environ.get("BLUEGREEN_CONFIG") or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("config.not_found", path=str(path)) from None
    except yaml.YAMLError as exc:
        raise UsageError("config.bad_yaml", path=str(path), error=str(exc).splitlines()[0]) from None
    return parse(raw, source=path)


def expand(template: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ${VAR} from the environment; every unset variable is reported at once."""
    missing = [n for n in PLACEHOLDER.findall(template) if not environ.get(n)]
    if missing:
        raise MissingVariables("env.missing", names=", ".join(dict.fromkeys(missing)), key=key)
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)], template)
