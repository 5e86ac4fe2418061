"""Loading bluegreen.yml: read the file once, validate it (config_schema.py), expand ${VAR} placeholders.

Reading the file (config_file.py) is apart from validating it: the rollback's quick path reads it too, without
the schema.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from bluegreen import safe_yaml
from bluegreen.config_file import config_path, read
from bluegreen.config_schema import parse
from bluegreen.errors import MissingVariables
from bluegreen.parts.dict_file import digest
from bluegreen.settings import Config

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; every problem names its key."""
    path = config_path(path)
    return loads(read(path), path)


def loads(data: bytes, path: Path) -> Config:
    """Validate a config file's bytes (read from `path`, or about to be written there: `bluegreen init`)."""
    return replace(parse(safe_yaml.load(data, source=str(path)), source=path), digest=digest(data))


def expand(template: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ${VAR} from the environment; every unset variable is reported at once."""
    missing = [n for n in PLACEHOLDER.findall(template) if not environ.get(n)]
    if missing:
        raise MissingVariables("env.missing", names=", ".join(dict.fromkeys(missing)), key=key)
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)], template)
