"""Where a webhook may go: the SSRF guard, applied at submission and again at delivery.

A `callback_url` must be http(s), without credentials, and name a host on the
operator's allow-list (`CERTIFY_WEBHOOK_ALLOWED_HOSTS`). Its address must be
public: loopback, private, link-local (which holds the cloud metadata address
169.254.169.254), multicast, reserved, unspecified and other non-global
addresses are refused, for IPv4, IPv6 and IPv4-mapped IPv6 alike.
`CERTIFY_WEBHOOK_ALLOW_PRIVATE` opens loopback and private ranges (tests,
closed networks); link-local, multicast, reserved and unspecified stay closed.

At delivery the host name is resolved once, every address it resolves to is
checked, and the connection goes to the checked address itself (the host name
travels only in `Host` and TLS SNI): a second lookup cannot swap in another
address (DNS rebinding). Redirects are never followed.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.http.errors import ApiError
from certify_settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]


class WebhookRefused(ValueError):
    """A callback URL or the address it resolves to is not allowed."""


@dataclass(frozen=True)
class WebhookPolicy:
    host_patterns: tuple[str, ...]
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> "WebhookPolicy":
        return cls(settings.webhook_host_patterns, settings.webhook_allow_private)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as given


def _host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]:
            return True
        if host == pattern:
            return True
    return False


def address_refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why `address` may not receive a webhook, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped, allow_private)
    if address.is_loopback:  # before `reserved`: IPv6 ::1 lies in the reserved ::/8
        return None if allow_private else f"{address} is a loopback address"
    never = [("link-local", address.is_link_local), ("multicast", address.is_multicast),
             ("unspecified", address.is_unspecified), ("reserved", address.is_reserved)]
    for name, hit in never:
        if hit:
            return f"{address} is a {name} address"
    if not allow_private and (address.is_private or not address.is_global):
        return f"{address} is a private or non-public address"
    return None


def check_url(url: str, policy: WebhookPolicy) -> Target:
    """The parsed target of `url`; raises `WebhookRefused` without any network access."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused(f"Not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused(f"Only http and https callbacks are allowed, got {parts.scheme!r}.")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("A callback URL may not carry credentials.")
    host = (parts.hostname or "").lower()
    if not host:
        raise WebhookRefused("The callback URL has no host.")
    if not _host_allowed(host, policy.host_patterns):
        raise WebhookRefused(f"Host {host!r} is not in CERTIFY_WEBHOOK_ALLOWED_HOSTS.")
    literal = _literal_address(host)
    if literal is not None:
        reason = address_refusal(literal, policy.allow_private)
        if reason:
            raise WebhookRefused(f"Refused callback address: {reason}.")
    path = parts.path or "/"
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80),
                  path + (f"?{parts.query}" if parts.query else ""))


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve_checked(target: Target, policy: WebhookPolicy,
                    resolver: Resolver = socket.getaddrinfo) -> IPAddress:
    """The one address to connect to: every address the host resolves to must be allowed."""
    literal = _literal_address(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = resolver(target.host, target.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise WebhookRefused(f"Cannot resolve {target.host!r}: {exc}.") from None
        # The scope id of a link-local IPv6 answer ("fe80::1%eth0") is dropped before parsing.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise WebhookRefused(f"{target.host!r} resolves to no address.")
    for address in addresses:
        reason = address_refusal(address, policy.allow_private)
        if reason:
            raise WebhookRefused(f"{target.host!r} resolves to a refused address: {reason}.")
    return addresses[0]


def checked_callback(settings: Settings, url: str | None) -> str | None:
    """The submitted `callback_url` when it may be used (422 `invalid_callback_url` if not)."""
    if url is None or url == "":
        return None
    if not settings.webhook_secret:
        raise ApiError(422, "invalid_callback_url", "This server sends no webhooks "
                       "(CERTIFY_WEBHOOK_SECRET is not set); poll instead.", field="callback_url")
    try:
        check_url(url, WebhookPolicy.from_settings(settings))
    except WebhookRefused as exc:
        raise ApiError(422, "invalid_callback_url", str(exc), field="callback_url") from None
    return url
