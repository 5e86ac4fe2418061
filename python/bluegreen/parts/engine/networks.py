"""Networks: a network's settings, the segments and gateways of a container's networks."""

from __future__ import annotations

import ipaddress

from docker.errors import DockerException, NotFound

from bluegreen.errors import Unreachable
from bluegreen.parts.engine.base import _Base, unreachable


class _Networks(_Base):
    def network_info(self, name: str) -> dict | None:
        """The network's driver, scope, attachable flag…; None when there is none by that name."""
        try:
            return self._client.api.inspect_network(name)
        except NotFound:
            return None
        except DockerException as exc:
            raise unreachable(exc) from None

    def segments(self, container: str) -> list[tuple[str, str]]:
        """(gateway, subnet) of each network `container` is attached to, IPv4 and IPv6: the gateway is this host
        (a port published on the host reaches the container from it), the rest of the subnet other containers. A
        network without an address of its own (the host's, an overlay's gateway) gives what it has."""
        nets = self._networks_of(container)
        found = []
        for net in nets.values():
            for address, length, gateway in (("IPAddress", "IPPrefixLen", "Gateway"),
                                             ("GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPv6Gateway")):
                if net.get(address) and net.get(length):
                    subnet = ipaddress.ip_interface(f"{net[address]}/{net[length]}").network
                    found.append((net.get(gateway) or "", str(subnet)))
        return found

    def _networks_of(self, container: str) -> dict:
        """The container's networks as Docker reports them (name → its endpoint there)."""
        try:
            nets = self._client.containers.get(container).attrs.get("NetworkSettings", {}).get("Networks") or {}
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except DockerException as exc:
            raise unreachable(exc) from None
        return nets

    def attached(self, container: str) -> bool:
        """The container is attached to this Docker's network."""
        nets = self._networks_of(container)
        return self.network in nets or any(n.get("NetworkID") == self.network for n in nets.values())
