"""Refuse to open the API to the network with no API key, unless told the network is trusted.

With no key the API takes jobs from, and shows every result to, anyone who
can reach the port: fine on loopback, a surprise on `0.0.0.0`.
"""

import ipaddress

from certify_settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to a public interface


def exposure_error(host: str, settings: Settings, allowed: bool) -> str | None:
    """Why listening on `host` is refused, or None when it is fine."""
    if is_loopback(host) or settings.api_key_set or allowed or settings.allow_no_api_key:
        return None
    return (f"refusing to listen on {host} with no API key: anyone who can reach this machine "
            "could submit jobs and read every result. Set CERTIFY_API_KEYS, or pass "
            "--allow-no-api-key (CERTIFY_ALLOW_NO_API_KEY=1) on a trusted network.")
