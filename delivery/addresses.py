"""Where a webhook may point: HTTPS to public addresses only, checked again at every send.

An endpoint URL must be ``https://`` and its host must resolve only to public addresses: no
loopback, private (RFC 1918, ULA), shared (CGNAT), link-local, cloud metadata, unspecified,
multicast or reserved ones, and never this service's own API. The check runs when an endpoint
is registered and again before every send (DNS can change), and the send connects to the very
address that was checked, so a name re-pointed between the check and the connection cannot
reach inside. Hosts named in ``JOURNEYS_WEBHOOK_ALLOW_HOSTS`` skip the address rules and may
use plain ``http://`` (development and tests); the API's own address stays refused.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Self
from urllib.parse import SplitResult, urlsplit

from runtime.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services (AWS, GCP, Azure, OpenStack; AWS's IPv6 one); the IPv4 one is
# link-local and the IPv6 one unique-local, named anyway so the refusal says what they are.
METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)

# Names an API listening on this machine answers to (bound to loopback or to every address).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})  # noqa: S104

Resolver = Callable[[str, int], Awaitable[list[str]]]


class RefusedEndpointError(Exception):
    """A webhook URL (or the address its host resolves to) that deliveries may not reach."""


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL as registered and the address to connect to."""

    url: str
    host: str
    port: int
    address: str

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (the Host header keeps the
        name, and TLS verifies the certificate against the name)."""
        parts = urlsplit(self.url)
        userinfo, at, _ = parts.netloc.rpartition("@")
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return parts._replace(netloc=f"{userinfo}{at}{literal}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        """The Host header the receiver expects (the name, with a non-default port)."""
        parts = urlsplit(self.url)
        return parts.netloc.rpartition("@")[2]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, through the system resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: IPAddress) -> str | None:
    """Why deliveries may not go to ``address``, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_problem(address.ipv4_mapped)
    checks = (
        (address in METADATA, "a cloud metadata address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


@dataclass(frozen=True)
class EndpointPolicy:
    """The rules for one process: allowed host names, the API's own addresses, the resolver."""

    allow_hosts: frozenset[str]
    own_addresses: frozenset[tuple[str, int]]
    resolve: Resolver = system_resolver

    @classmethod
    def from_settings(cls, settings: Settings, resolve: Resolver = system_resolver) -> "Self":
        """The policy the settings describe (allow list; the API's host and public URL)."""
        public = urlsplit(settings.public_url)
        own = {(settings.api_host.lower(), settings.api_port)}
        if settings.api_host in LOCAL_HOSTS:
            own |= {(local, settings.api_port) for local in LOCAL_HOSTS}
        if public.hostname:
            own.add((public.hostname.lower(), _port(public)))
        return cls(frozenset(h.lower() for h in settings.webhook_allow_hosts), frozenset(own),
                   resolve)  # fmt: skip

    def check_url(self, url: str) -> tuple[str, int]:
        """The host and port of an acceptable URL (before any address is looked up).

        Raises:
            RefusedEndpointError: not http(s), no host, plain http to a host not allowed, or
                the API's own address.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            raise RefusedEndpointError(f"{url!r} is not an https URL")
        try:
            port = _port(parts)
        except ValueError:
            raise RefusedEndpointError(f"{url!r} has an invalid port") from None
        if parts.scheme == "http" and host not in self.allow_hosts:
            raise RefusedEndpointError(f"{host}: webhooks must use https")
        if (host, port) in self.own_addresses:
            raise RefusedEndpointError(f"{host}:{port} is this service's own API")
        return host, port

    async def target(self, url: str) -> Target:
        """Check the URL, resolve its host and check every address it resolves to.

        Raises:
            RefusedEndpointError: the URL is refused, the host does not resolve, or any of
                its addresses is not public (unless the host is allowed by name).
        """
        host, port = self.check_url(url)
        try:
            found = await self.resolve(host, port)
        except OSError:
            raise RefusedEndpointError(f"{host} does not resolve") from None
        addresses = [ipaddress.ip_address(a.partition("%")[0]) for a in found]
        if not addresses:
            raise RefusedEndpointError(f"{host} does not resolve")
        if host not in self.allow_hosts:
            _refuse_inside(host, addresses)
        if any((str(a), port) in self.own_addresses for a in addresses):
            raise RefusedEndpointError(f"{host}:{port} is this service's own API")
        return Target(url=url, host=host, port=port, address=str(addresses[0]))


def _refuse_inside(host: str, addresses: Collection[IPAddress]) -> None:
    for address in addresses:
        if (why := address_problem(address)) is not None:
            raise RefusedEndpointError(f"{host} resolves to {address}, {why}")


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)
