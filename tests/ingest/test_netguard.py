"""The SSRF guard: address classification, resolve-and-check, and that connections go to exactly
the address that was checked."""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest

from newsstand.ingest.fetch import FetchConfig, fetch
from newsstand.ingest.netguard import FetchError, check_host, describe_address, is_public_address


@pytest.mark.parametrize("address, kind", [
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("169.254.169.254", "link-local"),  # cloud metadata endpoint
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.251", "multicast"),
    ("240.0.0.1", "reserved"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback (IPv4 inside IPv6)"),
    ("::ffff:10.0.0.1", "private (IPv4 inside IPv6)"),
    ("2002:7f00:1::", "loopback (IPv4 inside IPv6)"),  # 6to4 wrapping 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local (IPv4 inside IPv6)"),  # NAT64 wrapping 169.254.169.254
])
def test_non_public_addresses(address, kind):
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    assert describe_address(ip) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1",
                                     "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert is_public_address(ipaddress.ip_address(address))


def test_check_host_blocks_names_resolving_to_loopback():
    with pytest.raises(FetchError) as info:
        check_host("localhost", ["127.0.0.1"])
    assert info.value.kind == "blocked"
    assert "Refused to fetch localhost: it resolves to 127.0.0.1, a loopback address" in str(info.value)


@pytest.mark.parametrize("host, allowed", [
    ("localhost", ["LOCALHOST"]),
    ("LocalHost.", ["localhost"]),
    ("127.0.0.1", ["127.0.0.1"]),
    ("[::1]", ["::1"]),
])
def test_allow_list_matches_names_case_insensitively(host, allowed):
    assert check_host(host, allowed)


@pytest.mark.parametrize("host, message", [
    ("10.0.0.1", "Refused to fetch 10.0.0.1: it is a private address"),
    ("[::1]", "Refused to fetch ::1: it is a loopback address"),
])
def test_ip_literals_are_checked_like_names(host, message):
    with pytest.raises(FetchError, match=message.replace("(", r"\(")):
        check_host(host, [])


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Replace the resolver for the given names; returns the list of names looked up."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port or 0)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def test_one_private_answer_among_public_ones_blocks_the_name(monkeypatch):
    fake_dns(monkeypatch, {"mixed.example": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(FetchError, match="it resolves to 10.0.0.5, a private address"):
        check_host("mixed.example", [])


def test_dns_failure_is_a_network_error(monkeypatch):
    def fail(*_args, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(FetchError) as info:
        check_host("example.invalid", [])
    assert (info.value.kind, info.value.message) == (
        "network", "Could not find the server example.invalid (DNS lookup failed)")


def test_a_dns_lookup_that_hangs_ends_at_the_connect_timeout(monkeypatch):
    """getaddrinfo has no timeout of its own; a resolver that never answers must not hang the fetch."""
    release = threading.Event()

    def hang(*_args, **_kwargs):
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    try:
        with pytest.raises(FetchError) as info:
            fetch("http://slow-dns.example/feed", config=FetchConfig(connect_timeout=0.3, total_timeout=5))
    finally:
        release.set()
    assert info.value.kind == "timeout"
    assert "Looking up the server slow-dns.example took longer than" in info.value.message


def test_connection_goes_to_the_checked_address_without_a_second_lookup(local_server, monkeypatch):
    """No DNS-rebinding gap: the name is resolved once, and the socket is opened to that answer."""
    looked_up = fake_dns(monkeypatch, {"feeds.example": ["127.0.0.1"]})
    local_server.route("/feed", "ok")
    config = FetchConfig(allowed_hosts=frozenset({"feeds.example"}), read_timeout=1, total_timeout=5)

    got = fetch(f"http://feeds.example:{local_server.port}/feed", config=config)

    assert got.content == b"ok"
    assert looked_up == ["feeds.example"]
    assert local_server.hits("/feed")[0].headers["host"] == f"feeds.example:{local_server.port}"


def test_a_name_answering_with_a_private_address_is_blocked_before_connecting(local_server, monkeypatch):
    fake_dns(monkeypatch, {"evil.example": ["127.0.0.1"]})
    local_server.route("/feed", "secret")
    with pytest.raises(FetchError) as info:
        fetch(f"http://evil.example:{local_server.port}/feed",
              config=FetchConfig(allowed_hosts=frozenset({"127.0.0.1"})))
    assert info.value.kind == "blocked"
    assert info.value.url == f"http://evil.example:{local_server.port}/feed"
    assert local_server.hits("/feed") == []
