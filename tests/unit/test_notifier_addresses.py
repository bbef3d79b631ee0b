"""IPv4 carried in IPv6 is judged as that IPv4; no CIDR opens a metadata address."""

from __future__ import annotations

import ipaddress

import pytest

from vitals_core.settings.notifier import METADATA, check_reachable, refused_address

# Every form of 169.254.169.254 an IPv6 literal or a resolver can hand over.
METADATA_FORMS = [
    "169.254.169.254",
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:a9fe:a9fe",
    "::169.254.169.254",  # IPv4-compatible (deprecated, still routed by some stacks)
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
    "64:ff9b::169.254.169.254",
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix, /96 form
    "64:ff9b:1:a9fe:a9:fe00::",  # NAT64 local-use prefix, /48 form (RFC 6052)
    "2002:a9fe:a9fe::1",  # 6to4
    "fd00:ec2::254",
    "100.100.100.200",
    "::ffff:100.100.100.200",
    "168.63.129.16",
    "64:ff9b::a83f:8110",
    "169.254.170.2",
]
BROAD = [
    ["::/0"],
    ["::ffff:0:0/96"],
    ["64:ff9b::/96"],
    ["64:ff9b:1::/48"],
    ["2002::/16"],
    ["::/96"],
    ["0.0.0.0/0"],
    ["169.254.0.0/16"],
    ["fd00::/8"],
    ["100.64.0.0/10", "168.63.0.0/16"],
    ["::/0", "0.0.0.0/0"],
]


@pytest.mark.parametrize("allow", BROAD, ids=lambda a: ",".join(a))
@pytest.mark.parametrize("ip", METADATA_FORMS)
def test_no_cidr_opens_a_metadata_address(ip: str, allow: list[str]) -> None:
    reason = refused_address("x", ipaddress.ip_address(ip), allow)
    assert "metadata" in reason


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::1]/latest",
        "https://[::169.254.169.254]:8443/",
    ],
)
def test_config_refuses_metadata_urls_even_with_everything_allowed(url: str) -> None:
    with pytest.raises(ValueError, match="metadata"):
        check_reachable(url, ["::/0", "::ffff:0:0/96", "0.0.0.0/0"])


ADDRESSES = [
    # Embedded IPv4 is judged as the IPv4 it carries.
    ("::ffff:10.1.2.3", [], "private or reserved"),
    ("::ffff:10.1.2.3", ["10.0.0.0/8"], ""),
    ("::ffff:10.1.2.3", ["10.1.2.3"], ""),
    ("::ffff:10.1.2.3", ["::ffff:0:0/96"], "private or reserved"),
    ("::ffff:10.1.2.3", ["::/0"], "private or reserved"),
    ("64:ff9b::7f00:1", [], "loopback"),
    ("64:ff9b::7f00:1", ["64:ff9b::/96"], "loopback"),
    ("64:ff9b::7f00:1", ["127.0.0.0/8"], ""),
    ("::127.0.0.1", [], "loopback"),
    ("2002:7f00:1::1", [], "loopback"),
    ("2002:a00:1::1", ["2002::/16"], "private or reserved"),
    ("64:ff9b::5db8:d70e", [], ""),  # 93.184.215.14: public
    ("::ffff:93.184.215.14", [], ""),
    # Plain IPv6 CIDRs still open plain IPv6 addresses.
    ("fd00::1", ["fd00::/8"], ""),
    ("fe80::1", ["::/0"], ""),
    ("::1", ["::1"], ""),
    # A metadata address opens only when listed itself, in any of its forms.
    ("169.254.169.254", ["169.254.169.254"], ""),
    ("::ffff:169.254.169.254", ["169.254.169.254"], ""),
    ("64:ff9b::a9fe:a9fe", ["::ffff:169.254.169.254"], ""),
    ("fd00:ec2::254", ["fd00:ec2::254"], ""),
]


@pytest.mark.parametrize(("ip", "allow", "refused"), ADDRESSES)
def test_embedded_ipv4_is_judged_as_itself(ip: str, allow: list[str], refused: str) -> None:
    reason = refused_address("x", ipaddress.ip_address(ip), allow)
    if refused:
        assert refused in reason
    else:
        assert reason == ""


def test_every_listed_metadata_address_is_refused_by_default() -> None:
    for ip in METADATA:
        assert "metadata" in refused_address("x", ip, [])
