"""The lease plan: who claims and who gives back, as a table of cases."""

from __future__ import annotations

import pytest

from vitals_core.leases import Plan, fair_share, plan, preference

P = 16


@pytest.mark.parametrize(
    ("partitions", "members", "share"),
    [(16, 1, 16), (16, 2, 8), (16, 3, 6), (16, 5, 4), (16, 16, 1), (16, 20, 1), (16, 0, 16)],
)
def test_fair_share(partitions: int, members: int, share: int) -> None:
    assert fair_share(partitions, members) == share


def test_alone_claims_everything_free() -> None:
    assert plan(set(), {}, ["a"], "a", P) == Plan(claims=tuple(range(P)))


def test_me_counts_as_a_member_even_when_not_listed_yet() -> None:
    assert plan(set(), {}, [], "a", P).claims == tuple(range(P))


def test_a_newcomer_claims_only_what_is_free_up_to_its_share() -> None:
    taken = dict.fromkeys(range(P - 3), "a")
    decided = plan(set(), taken, ["a", "b"], "b", P)
    assert decided == Plan(claims=(13, 14, 15))


def test_a_holder_above_its_share_gives_back_the_extras_it_prefers_least() -> None:
    owned = set(range(P))
    decided = plan(owned, dict.fromkeys(owned, "a"), ["a", "b"], "a", P)
    assert len(decided.releases) == 8
    assert not decided.claims
    kept = owned - set(decided.releases)
    assert min(preference("a", p) for p in kept) > max(preference("a", p) for p in decided.releases)


def test_a_holder_at_its_share_does_nothing() -> None:
    owned = set(range(6))
    leases = {**dict.fromkeys(owned, "a"), **dict.fromkeys(range(6, 12), "b")}
    assert plan(owned, leases, ["a", "b", "c"], "a", P) == Plan()


def test_a_lease_held_by_someone_else_is_never_taken() -> None:
    leases = dict.fromkeys(range(P), "dead")
    assert plan(set(), leases, ["a"], "a", P) == Plan()


def test_a_dead_replicas_partitions_are_claimed_once_its_leases_expire() -> None:
    mine = set(range(8))
    leases = dict.fromkeys(mine, "a")  # b's leases expired: gone from the bucket
    assert plan(mine, leases, ["a"], "a", P) == Plan(claims=tuple(range(8, 16)))


def test_three_replicas_converge_to_a_fair_disjoint_split() -> None:
    members = ["a", "b", "c"]
    leases: dict[int, str] = dict.fromkeys(range(P), "a")
    for _ in range(10):
        for me in members:
            owned = {p for p, who in leases.items() if who == me}
            decided = plan(owned, leases, members, me, P)
            for p in decided.releases:
                del leases[p]
            for p in decided.claims:
                leases.setdefault(p, me)
    counts = sorted(list(leases.values()).count(m) for m in members)
    assert len(leases) == P
    assert counts[-1] <= fair_share(P, 3)
    assert sum(counts) == P
    assert counts[0] >= P - 2 * fair_share(P, 3)


def test_preferences_differ_between_replicas() -> None:
    first = {me: max(range(P), key=lambda p: preference(me, p)) for me in "abcdefgh"}
    assert len(set(first.values())) > 1
