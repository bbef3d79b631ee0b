"""The NATS JWT encoding: signed by the issuer, checked on decode, claims as nats-io/jwt v2."""

from __future__ import annotations

import pytest

from vitals import natsjwt
from vitals.natsjwt import Key


def test_a_key_knows_its_role_from_its_seed() -> None:
    for role, seed_prefix, public_prefix in [
        ("operator", "SO", "O"),
        ("account", "SA", "A"),
        ("user", "SU", "U"),
    ]:
        key = Key.create(role)
        assert key.seed.startswith(seed_prefix)
        assert key.public.startswith(public_prefix)
        assert Key(key.seed).public == key.public


def test_a_user_jwt_round_trips_with_its_issuer_and_permissions() -> None:
    account, user = Key.create("account"), Key.create("user")
    claims = natsjwt.user_claims(
        "agent-web-1",
        user,
        1_000,
        publish=["vitals.metrics.web-1"],
        subscribe=["_X.>"],
        expires=2_000,
    )
    decoded = natsjwt.decode(natsjwt.encode(claims, account))
    assert decoded["iss"] == account.public
    assert decoded["sub"] == user.public
    assert decoded["exp"] == 2_000
    assert decoded["nats"]["pub"] == {"allow": ["vitals.metrics.web-1"]}
    assert decoded["nats"]["sub"] == {"allow": ["_X.>"]}
    assert decoded["nats"]["type"] == "user"
    assert len(decoded["jti"]) == 52  # base32 of 32 bytes, no padding


def test_unrestricted_users_carry_no_permissions() -> None:
    claims = natsjwt.user_claims("services", Key.create("user"), 1)
    assert "pub" not in claims["nats"]
    assert "sub" not in claims["nats"]
    assert "exp" not in claims


def test_a_tampered_jwt_is_refused() -> None:
    account, user = Key.create("account"), Key.create("user")
    token = natsjwt.encode(natsjwt.user_claims("u", user, 1, publish=["a"]), account)
    head, _payload, signature = token.split(".")
    other = natsjwt.encode(natsjwt.user_claims("u", user, 1, publish=[">"]), account)
    with pytest.raises(ValueError, match="not a valid NATS JWT"):
        natsjwt.decode(f"{head}.{other.split('.')[1]}.{signature}")
    with pytest.raises(ValueError, match="not a valid NATS JWT"):
        natsjwt.decode("not.a.jwt")


def test_account_revocations_and_jetstream_limits() -> None:
    account = Key.create("account")
    plain = natsjwt.account_claims("SYS", account, 5, jetstream=False)
    assert "disk_storage" not in plain["nats"]["limits"]
    assert "revocations" not in plain["nats"]
    vitals = natsjwt.account_claims(
        "VITALS", account.public, 5, jetstream=True, revocations={"UB": 4, "UA": 3}
    )
    assert vitals["nats"]["limits"]["disk_storage"] == natsjwt.UNLIMITED
    assert list(vitals["nats"]["revocations"]) == ["UA", "UB"]


def test_creds_file_holds_the_jwt_and_the_seed() -> None:
    user = Key.create("user")
    text = natsjwt.creds("eyJ.a.b", user)
    assert "-----BEGIN NATS USER JWT-----\neyJ.a.b\n------END NATS USER JWT------" in text
    assert f"-----BEGIN USER NKEY SEED-----\n{user.seed}\n------END USER NKEY SEED------" in text
