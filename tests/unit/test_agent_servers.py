"""The agent's choice of NATS server: spread by hash, stable per host, avoid, learn."""

from __future__ import annotations

from collections import Counter

import pytest

from vitals_agent.natsproto import Server, parse_servers
from vitals_agent.servers import MAX_DISCOVERED, ServerPool

THREE = parse_servers("nats://n1:4222,nats://n2:4222,nats://n3:4222")


def test_a_fleet_spreads_evenly_and_each_host_is_stable() -> None:
    firsts = Counter(ServerPool(THREE, f"host-{i}").order(0.0)[0].host for i in range(3000))
    assert set(firsts) == {"n1", "n2", "n3"}
    assert all(800 < n < 1200 for n in firsts.values()), firsts
    pool = ServerPool(THREE, "web-1")
    assert pool.order(0.0) == ServerPool(list(reversed(THREE)), "web-1").order(0.0)


def test_the_spread_depends_on_the_host_ids_not_on_where_the_servers_listen() -> None:
    def spread(urls: str) -> list[int]:
        pools = [ServerPool(parse_servers(urls), f"h{i:02d}") for i in range(20)]
        servers = sorted(parse_servers(urls), key=lambda s: (s.host, s.port))
        return [servers.index(p.order(0.0)[0]) for p in pools]

    assert spread("nats://a:1,nats://a:2,nats://a:3") == spread(
        "nats://z:9,nats://b:40000,nats://m:5"
    )


def test_when_a_server_goes_its_hosts_spread_over_the_others() -> None:
    moved: Counter[str] = Counter()
    for i in range(3000):
        pool = ServerPool(THREE, f"host-{i}")
        first = pool.order(0.0)[0]
        if first.host == "n1":
            pool.avoid(first, until=10.0)
            moved[pool.order(5.0)[0].host] += 1
        else:
            pool.avoid(THREE[0], until=10.0)  # n1 leaving does not move the others
            assert pool.order(5.0)[0] == first
    assert set(moved) == {"n2", "n3"}
    assert min(moved.values()) > 0.35 * sum(moved.values())


def test_avoided_servers_come_last_soonest_free_first_and_return_when_due() -> None:
    pool = ServerPool(THREE, "web-1")
    a, b, c = pool.order(0.0)
    pool.avoid(a, until=20.0)
    pool.avoid(b, until=10.0)
    assert pool.order(5.0) == [c, b, a]
    assert pool.order(15.0) == [b, c, a]
    assert pool.order(25.0) == [a, b, c]
    pool.avoid(c, until=30.0)
    pool.avoid(a, until=40.0)
    pool.avoid(b, until=35.0)
    assert pool.order(26.0) == [c, b, a]  # all avoided: still something to try


def test_learns_the_cluster_urls_once_each_the_way_it_came() -> None:
    via = Server("n1", 4222, tls=True, user="agent-web-1", password="pw")
    pool = ServerPool([via], "web-1")
    added = pool.learn(["10.0.0.2:4222", "10.0.0.3:4222", "n1:4222", "10.0.0.2:4222"], via)
    assert [(s.host, s.port) for s in added] == [("10.0.0.2", 4222), ("10.0.0.3", 4222)]
    assert all(s.tls and s.user == "agent-web-1" and s.password == "pw" for s in added)
    assert pool.learn(["10.0.0.2:4222"], via) == []
    assert len(pool.servers) == 3


@pytest.mark.parametrize("junk", ["", "http://x:1", "a:notaport", "a:1,b:2", "[::1"])
def test_addresses_that_are_not_servers_are_ignored(junk: str) -> None:
    pool = ServerPool(THREE, "web-1")
    assert pool.learn([junk], THREE[0]) == []
    assert pool.servers == THREE


def test_what_is_learnt_is_bounded() -> None:
    pool = ServerPool(THREE, "web-1")
    pool.learn([f"10.0.{i // 250}.{i % 250}:4222" for i in range(500)], THREE[0])
    assert len(pool.discovered) == MAX_DISCOVERED


def test_no_servers_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"nats\.url is empty"):
        ServerPool([], "web-1")
