"""Which NATS server to connect to: spread a fleet, follow the cluster, avoid the leaving.

Each agent ranks the servers it knows by a hash of its host id and the server (rendezvous
hashing) and takes the first it is not avoiding: a configured server is hashed by its place
in the sorted `nats.url` list, a learnt one by its address. Over a fleet that is a random
pick, so agents spread evenly over a cluster, the same way wherever the servers listen; for
one host it is stable, so a restart goes back to the same server, and when a server goes
only its agents move, spread over the rest.
The servers known are those of `nats.url` plus those the cluster announces in INFO
(`connect_urls`). A server that failed, dropped us or entered lame-duck mode is avoided for
a while. Pure: the clock is passed in.
"""

from __future__ import annotations

from vitals_agent.natsproto import Server, parse_servers

# Servers learnt from the cluster, at most: INFO comes from the network.
MAX_DISCOVERED = 64
_MASK = (1 << 64) - 1


def spread_hash(text: str) -> int:
    """A 64-bit hash, the same in every process (FNV-1a, then splitmix64's mixing).

    Not `hashlib`: importing it loads OpenSSL's libcrypto, megabytes the agent avoids.
    """
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & _MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
    return h ^ (h >> 31)


def _key(server: Server) -> tuple[str, int]:
    return server.host, server.port


class ServerPool:
    def __init__(self, configured: list[Server], owner: str) -> None:
        if not configured:
            raise ValueError("nats.url is empty: set VITALS_NATS_URL or run through `vitals up`")
        self.configured = list(configured)
        self._ranked_configured = sorted(self.configured, key=_key)
        self.discovered: list[Server] = []
        self._owner = owner
        self._avoid: dict[tuple[str, int], float] = {}

    @property
    def servers(self) -> list[Server]:
        return self.configured + self.discovered

    def _score(self, server: Server) -> int:
        # A configured server is named by its place in the sorted list, not its address:
        # every host given the same list spreads the same way (a fleet's spread is then
        # fixed by its host ids, not by chance); learnt servers by their address.
        if server in self._ranked_configured:
            return spread_hash(f"{self._owner}|#{self._ranked_configured.index(server)}")
        return spread_hash(f"{self._owner}|{server.host}:{server.port}")

    def order(self, now: float) -> list[Server]:
        """Servers to try, best first: ranked by hash, those avoided last (soonest free first)."""
        ranked = sorted(self.servers, key=self._score, reverse=True)
        free = [s for s in ranked if self._avoid.get(_key(s), 0.0) <= now]
        held = sorted((s for s in ranked if self._avoid.get(_key(s), 0.0) > now),
                      key=lambda s: self._avoid[_key(s)])  # fmt: skip
        return free + held

    def avoid(self, server: Server, until: float) -> None:
        self._avoid[_key(server)] = max(until, self._avoid.get(_key(server), 0.0))

    def learn(self, connect_urls: list[str], via: Server) -> list[Server]:
        """Add the cluster's announced client URLs; returns the servers new to the pool.

        They are reached the way `via` was (TLS or not, the URL's credentials).
        """
        known = {_key(s) for s in self.servers}
        added: list[Server] = []
        for url in connect_urls:
            if len(self.discovered) >= MAX_DISCOVERED:
                break
            try:
                (found,) = parse_servers(url)
            except ValueError:
                continue  # not an address: ignore it, the configured servers still work
            server = via._replace(host=found.host, port=found.port)
            if _key(server) not in known:
                known.add(_key(server))
                self.discovered.append(server)
                added.append(server)
        return added
