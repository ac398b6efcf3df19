"""Which subscriber URLs an outbound webhook may reach: public addresses only, unless allowed."""

from __future__ import annotations

import pytest

from crm.segments.outbound import PrivateDestination, check_destination


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
