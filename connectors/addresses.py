"""Which addresses an outbound request may reach (SSRF), and resolving names to addresses.

A destination name is resolved at every send, every address it resolves to is checked, and the
request then connects to the checked address (see ``connectors.webhook``), so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot move the request elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not global, not "private" to Python
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible (::127.0.0.1)
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (SIIT: ::ffff:0:127.0.0.1)
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): any IPv4 address inside
# Cloud instance metadata services at addresses Python calls private (or, for 192.0.0.192, global): refused even
# where private addresses are allowed (AWS's IPv6 IMDS, Alibaba Cloud, Oracle Cloud's 192.0.0.192).
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "192.0.0.192"))


class ResolutionError(OSError):
    """A destination's name did not resolve."""


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64 or address in _TRANSLATED or (address in _COMPATIBLE and int(address) > 1):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a request must not go to this address (e.g. ``"loopback"``), or None when it may."""
    address = _embedded(address)
    checks = (("loopback", address.is_loopback), ("link-local", address.is_link_local),
              ("unspecified", address.is_unspecified), ("multicast", address.is_multicast))
    for name, hit in checks:
        if hit:
            return name
    if address in _METADATA:
        return "a cloud metadata service"
    if address.is_global and address not in _LOCAL_NAT64:
        return None
    if allow_private and (address.is_private or address in _SHARED):
        return None
    return "private or reserved"


def refused_address(refusal: str) -> str:
    """The words for an address refused as ``refusal`` (an ``address_refusal``), article included: "an unspecified
    address", "a cloud metadata service's address"."""
    if refusal.startswith("a "):
        return f"{refusal}'s address"
    article = "an" if refusal[0] in "aeiou" else "a"
    return f"{article} {refusal} address"


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an address means, in every form a resolver accepts (``::127.0.0.1``,
    ``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``); None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP), in its order, without repeats."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        msg = f"the destination's host name did not resolve ({e.strerror})"
        raise ResolutionError(msg) from e
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)
