"""The only package that talks to the Docker engine (docker SDK), one module per concern; everything else sees
plain values (`ContainerInfo`, `ContainerFacts`) and the bluegreen error tree, never SDK objects."""

from __future__ import annotations

from bluegreen.parts.engine.base import each
from bluegreen.parts.engine.containers import ContainerFacts, EngineFacts, _Containers
from bluegreen.parts.engine.execs import FileRead, Process, _Exec
from bluegreen.parts.engine.images import _Images
from bluegreen.parts.engine.networks import _Networks
from bluegreen.parts.engine.swarm import _Swarm

__all__ = ["Docker", "ContainerFacts", "EngineFacts", "FileRead", "Process", "each"]


class Docker(_Containers, _Images, _Exec, _Networks, _Swarm):
    """A thin, typed face of the engine for one network."""
