"""Which subscriber URLs an outbound webhook may reach: public addresses only, unless allowed."""

from __future__ import annotations

import ipaddress
import socket
import urllib.request

import pytest

from crm.segments import outbound
from crm.segments.outbound import PrivateDestination, check_destination
from tests.segments.test_realtime import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9200/_bulk",
        "http://localhost:6379/",
        "http://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_an_address_inside_the_network_is_refused(url):
    with pytest.raises(PrivateDestination, match="not a public address"):
        check_destination(url)


def test_a_public_address_is_allowed():
    check_destination("https://93.184.216.34/hooks/crm")  # a literal: no DNS lookup needed


def test_a_name_that_does_not_resolve_is_refused_with_the_name():
    with pytest.raises(PrivateDestination, match="cannot resolve 'no-such-host.invalid'"):
        check_destination("https://no-such-host.invalid/hook")


@pytest.fixture
def inside():
    """A receiver on 127.0.0.1: what must not be reached from a name that turns private."""
    made = Receiver()
    yield made
    made.close()


def _name_resolving_to(monkeypatch, name: str, answers: list[str]) -> list[str]:
    """Make `name` resolve to answers[0], then answers[1]... (a DNS-rebinding name); other names as usual.
    Returns the log of the lookups of `name`."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_that_turns_private_after_the_check_is_not_reached_at_its_private_address(inside, monkeypatch):
    # The check sees a public address; were the connection to resolve the name again it would get
    # 127.0.0.1, where the receiver listens. The attempt goes to the address checked, or nowhere.
    monkeypatch.setattr(outbound, "TIMEOUT_S", 1)
    port = inside.server.server_address[1]
    asked = _name_resolving_to(monkeypatch, "hooks.rebind.test", ["198.51.100.7", "127.0.0.1"])
    monkeypatch.setattr(ipaddress.IPv4Address, "is_global", property(lambda ip: str(ip) != "127.0.0.1"))
    claimed = outbound.Claimed(1, f"http://hooks.rebind.test:{port}/hooks/crm", "s3cret", "segment.entered", b"{}")
    result = outbound.send(claimed)
    assert not result.ok
    assert asked == ["198.51.100.7"]  # resolved once, for the check
    assert inside.requests == []


def test_the_attempt_connects_to_the_checked_address_and_names_the_host(inside):
    # No lookup at all: the name does not exist (.test is reserved), the address is the one checked.
    port = inside.server.server_address[1]
    opener = outbound._opener(f"http://hooks.pinned.test:{port}/", ["127.0.0.1"])
    request = urllib.request.Request(f"http://hooks.pinned.test:{port}/hooks/crm", data=b"{}", method="POST")
    with opener.open(request, timeout=5) as response:
        assert response.status == 200
    assert inside.requests[0]["headers"]["host"] == f"hooks.pinned.test:{port}"
