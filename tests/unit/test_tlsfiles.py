"""TLS settings for NATS and Redis: read from the file and the environment, checked at start."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from vitals_core.config import ConfigError, load_settings
from vitals_core.settings import NatsSettings, RedisSettings
from vitals_core.tlsfiles import TlsConfigError, nats_tls, redis_tls_kwargs


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    ca = trustme.CA()
    client = ca.issue_cert("client.example")
    paths = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "c.pem", "key": tmp_path / "c.key"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    client.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    client.private_key_pem.write_to_path(str(paths["key"]))
    return {k: str(v) for k, v in paths.items()}


def test_every_tls_setting_comes_from_the_environment(tmp_path: Path) -> None:
    env = {
        "VITALS_CONFIG": str(tmp_path / "none.toml"),
        "VITALS_NATS_TLS_CA_FILE": "/etc/vitals/ca.pem",
        "VITALS_NATS_TLS_CERT_FILE": "/etc/vitals/agent.pem",
        "VITALS_NATS_TLS_KEY_FILE": "/etc/vitals/agent.key",
        "VITALS_REDIS_TLS_CA_FILE": "/etc/vitals/redis-ca.pem",
        "VITALS_REDIS_TLS_CERT_FILE": "/etc/vitals/gw.pem",
        "VITALS_REDIS_TLS_KEY_FILE": "/etc/vitals/gw.key",
    }
    (tmp_path / "none.toml").write_text("")
    s = load_settings(env=env)
    assert (s.nats.tls_ca_file, s.nats.tls_cert_file, s.nats.tls_key_file) == (
        "/etc/vitals/ca.pem", "/etc/vitals/agent.pem", "/etc/vitals/agent.key"
    )  # fmt: skip
    assert (s.redis.tls_ca_file, s.redis.tls_cert_file, s.redis.tls_key_file) == (
        "/etc/vitals/redis-ca.pem", "/etc/vitals/gw.pem", "/etc/vitals/gw.key"
    )  # fmt: skip


@pytest.mark.parametrize("section", ["nats", "redis"])
def test_a_certificate_without_its_key_is_refused_at_start(tmp_path: Path, section: str) -> None:
    (tmp_path / "v.toml").write_text(f'[{section}]\ntls_cert_file = "/etc/c.pem"\n')
    with pytest.raises(ConfigError, match="tls_cert_file and tls_key_file go together"):
        load_settings(tmp_path / "v.toml", env={})


def test_no_tls_settings_no_tls() -> None:
    assert nats_tls(NatsSettings(url="nats://bus:4222")) is None
    assert redis_tls_kwargs(RedisSettings(url="rediss://cache:6380")) == {}


def test_nats_context_trusts_the_ca_and_presents_the_certificate(files: dict[str, str]) -> None:
    context = nats_tls(NatsSettings(tls_ca_file=files["ca"], tls_cert_file=files["cert"],
                                    tls_key_file=files["key"]))  # fmt: skip
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the given authority, not the system's


def test_redis_kwargs_for_redis_py(files: dict[str, str]) -> None:
    settings = RedisSettings(url="rediss://cache:6380", tls_ca_file=files["ca"],
                             tls_cert_file=files["cert"], tls_key_file=files["key"])  # fmt: skip
    kwargs = redis_tls_kwargs(settings)
    assert kwargs == {
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
        "ssl_ca_certs": files["ca"],
        "ssl_certfile": files["cert"],
        "ssl_keyfile": files["key"],
    }


def test_redis_tls_files_need_a_rediss_url(files: dict[str, str]) -> None:
    with pytest.raises(TlsConfigError, match="not a rediss:// URL"):
        redis_tls_kwargs(RedisSettings(url="redis://cache:6379", tls_ca_file=files["ca"]))


@pytest.mark.parametrize("which", ["ca", "cert"])
def test_a_file_that_cannot_be_used_is_named(files: dict[str, str], which: str) -> None:
    bad = dict(files) | {which: "/nonexistent/file.pem"}
    settings = NatsSettings(tls_ca_file=bad["ca"], tls_cert_file=bad["cert"],
                            tls_key_file=bad["key"])  # fmt: skip
    with pytest.raises(TlsConfigError, match=r"nats\.tls_.*'/nonexistent/file.pem'"):
        nats_tls(settings)
    with pytest.raises(TlsConfigError, match=r"redis\.tls_.*'/nonexistent/file.pem'"):
        redis_tls_kwargs(RedisSettings(url="rediss://c:1", tls_ca_file=bad["ca"],
                                       tls_cert_file=bad["cert"],
                                       tls_key_file=bad["key"]))  # fmt: skip


def test_the_application_client_takes_tls_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vitals_agent.appclient import nats_settings_from_env

    monkeypatch.setenv("VITALS_NATS_TLS_CA_FILE", "/etc/vitals/ca.pem")
    monkeypatch.setenv("VITALS_NATS_TLS_CERT_FILE", "/etc/vitals/app.pem")
    monkeypatch.setenv("VITALS_NATS_TLS_KEY_FILE", "/etc/vitals/app.key")
    s = nats_settings_from_env("nats://bus:4222")
    assert (s.tls_ca_file, s.tls_cert_file, s.tls_key_file) == (
        "/etc/vitals/ca.pem", "/etc/vitals/app.pem", "/etc/vitals/app.key"
    )  # fmt: skip
