"""The SSRF guard on literal addresses and a stubbed resolver; nothing here opens a connection.

`send` is given an httpx transport that records requests instead of sending
them, so a test proves a refusal happened *before* any connection: the
recorder saw nothing.
"""

import ipaddress
import socket
from typing import Any

import httpx
import pytest

from app.http.callbacks import (
    WebhookPolicy,
    WebhookRefused,
    address_refusal,
    check_url,
    resolve_checked,
)
from app.webhooks.delivery import send

STRICT = WebhookPolicy(("hooks.example.com", "*.example.org"), allow_private=False)
LOOSE = WebhookPolicy(STRICT.host_patterns, allow_private=True)


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


def resolver_to(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in addresses]
    return resolve


NEVER = ["169.254.169.254", "169.254.0.1", "fe80::1", "224.0.0.1", "ff02::1", "0.0.0.0", "::",
         "240.0.0.1", "::ffff:169.254.169.254"]
PRIVATE = ["127.0.0.1", "127.8.8.8", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "fc00::1",
           "100.64.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"]


@pytest.mark.parametrize("address", NEVER)
def test_link_local_metadata_multicast_reserved_unspecified_are_never_allowed(address: str) -> None:
    for allow_private in (False, True):
        assert address_refusal(ipaddress.ip_address(address), allow_private) is not None


@pytest.mark.parametrize("address", PRIVATE)
def test_loopback_and_private_only_when_explicitly_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), False) is not None
    assert address_refusal(ipaddress.ip_address(address), True) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), False) is None


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/",
    "http://127.0.0.1/", "http://2130706433/", "http://0x7f000001/", "gopher://hooks.example.com/",
    "file:///etc/passwd", "http://evil.com/", "http://hooks.example.com.evil.com/",
    "http://example.org/", "http://a@hooks.example.com/",
])
def test_urls_refused_without_any_lookup(url: str) -> None:
    # Even with the literal addresses on the allow-list, the address check refuses them.
    literals = ("169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "127.0.0.1")
    with pytest.raises(WebhookRefused):
        check_url(url, WebhookPolicy((*STRICT.host_patterns, *literals), False))


def test_allow_list_matches_hosts_and_subdomains_exactly() -> None:
    assert check_url("https://HOOKS.example.com:8443/a?b=1", STRICT).port == 8443
    assert check_url("https://a.b.example.org/", STRICT).host == "a.b.example.org"
    assert check_url("http://hooks.example.com", STRICT).path == "/"


@pytest.mark.parametrize("answers", [
    ("169.254.169.254",), ("10.0.0.5",), ("127.0.0.1",), ("::1",), ("::ffff:169.254.169.254",),
    ("93.184.216.34", "169.254.169.254"),  # one bad address among good ones refuses the host
])
def test_a_host_resolving_to_a_refused_address_is_refused_before_connecting(
    answers: tuple[str, ...],
) -> None:
    recorder = Recorder()
    with pytest.raises(WebhookRefused, match="resolves to a refused address"):
        send("https://hooks.example.com/hook", b"{}", {}, STRICT, 1.0, resolver_to(*answers),
             recorder)
    assert recorder.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_host_name_in_host_and_sni() -> None:
    calls: list[str] = []

    def rebinding(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        # A rebinding DNS server: public on the first lookup, metadata on any later one.
        calls.append(host)
        address = "93.184.216.34" if len(calls) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    recorder = Recorder()
    answer = send("https://hooks.example.com/hook?x=1", b"{}", {"X-A": "1"}, STRICT, 1.0,
                  rebinding, recorder)
    assert answer.status_code == 204 and calls == ["hooks.example.com"]
    (request,) = recorder.requests
    assert str(request.url) == "https://93.184.216.34/hook?x=1"  # port 443, the default
    assert request.headers["Host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


def test_ipv6_targets_are_bracketed_and_private_ones_need_the_setting() -> None:
    recorder = Recorder()
    with pytest.raises(WebhookRefused):
        send("http://hooks.example.com:8080/", b"{}", {}, STRICT, 1.0, resolver_to("fc00::5"),
             recorder)
    send("http://hooks.example.com:8080/", b"{}", {}, LOOSE, 1.0, resolver_to("fc00::5"),
         recorder)
    (request,) = recorder.requests
    assert request.url.host == "fc00::5" and request.headers["Host"] == "hooks.example.com:8080"


def test_unresolvable_hosts_are_refused() -> None:
    def failing(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror("no such host")

    target = check_url("http://hooks.example.com/", STRICT)
    with pytest.raises(WebhookRefused, match="Cannot resolve"):
        resolve_checked(target, STRICT, failing)
