"""The agent's NATS wire format: parsing what the server sends, framing what the agent sends."""

from __future__ import annotations

import base64
import json

import pytest

from vitals_agent import natsproto
from vitals_agent.natsproto import Err, Info, Login, Msg, Ok, Parser, Ping, Pong, Server, ServerInfo


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nats://127.0.0.1:4222", [Server("127.0.0.1", 4222, False)]),
        ("127.0.0.1:5000", [Server("127.0.0.1", 5000, False)]),
        ("tls://bus.example:4443", [Server("bus.example", 4443, True)]),
        ("nats://bus", [Server("bus", 4222, False)]),
        ("nats://a:1, nats://b:2", [Server("a", 1, False), Server("b", 2, False)]),
        ("nats://user:p%40ss@bus:1", [Server("bus", 1, False, "user", "p@ss")]),
        ("nats://s3cr3t@bus:1", [Server("bus", 1, False, token="s3cr3t")]),
        ("nats://[::1]:4222", [Server("::1", 4222, False)]),
    ],
)
def test_server_urls(url: str, expected: list[Server]) -> None:
    assert natsproto.parse_servers(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("http://bus:4222", "must be nats://"),
        ("nats://bus:port", "not a number"),
        ("nats://:4222", "names no host"),
    ],
)
def test_bad_server_urls_name_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        natsproto.parse_servers(url)


def test_server_shows_without_credentials() -> None:
    server = natsproto.parse_servers("nats://user:secret@[::1]:4222")[0]
    assert str(server) == "nats://[::1]:4222"


INFO = (
    b'{"server_id":"NAB","version":"2.10.0","max_payload":1048576,"headers":true,'
    b'"nonce":"abc","auth_required":true,"extra":{"ignored":1}}'
)


def test_info_keeps_what_the_agent_uses() -> None:
    info = natsproto.parse_info(INFO)
    assert (info.server_id, info.max_payload, info.headers, info.nonce) == (
        "NAB", 1048576, True, "abc",
    )  # fmt: skip
    assert not info.tls_required


def test_info_that_is_not_json_is_a_protocol_error() -> None:
    with pytest.raises(natsproto.ProtocolError, match="INFO"):
        natsproto.parse_info(b"{not json")


def connect_fields(command: bytes) -> dict[str, object]:
    assert command.startswith(b"CONNECT ")
    assert command.endswith(b"\r\n")
    fields = json.loads(command[len(b"CONNECT ") :])
    assert isinstance(fields, dict)
    return fields


def test_connect_with_user_and_password() -> None:
    fields = connect_fields(
        natsproto.connect_command(ServerInfo(), Login(user="u", password="p"), "agent-a", "1")
    )
    assert fields["user"] == "u"
    assert fields["pass"] == "p"
    assert fields["headers"] is True
    assert fields["no_responders"] is True
    assert fields["name"] == "agent-a"
    assert fields["verbose"] is False
    assert "sig" not in fields
    assert "auth_token" not in fields


def test_connect_with_a_token() -> None:
    fields = connect_fields(natsproto.connect_command(ServerInfo(), Login(token="t"), "a", "1"))
    assert fields["auth_token"] == "t"
    assert "user" not in fields


def fake_sign(seed: bytes, nonce: bytes) -> tuple[bytes, str]:
    return b"signed:" + seed + b":" + nonce, "UPUBLIC"


def test_connect_with_an_nkey_signs_the_nonce() -> None:
    info = ServerInfo(nonce="n0nce")
    fields = connect_fields(
        natsproto.connect_command(info, Login(nkey_seed=b"SUSEED"), "a", "1", fake_sign)
    )
    assert base64.b64decode(str(fields["sig"])) == b"signed:SUSEED:n0nce"
    assert fields["nkey"] == "UPUBLIC"
    assert "jwt" not in fields


def test_connect_with_creds_sends_the_jwt_instead_of_the_key() -> None:
    info = ServerInfo(nonce="n")
    login = Login(nkey_seed=b"SUSEED", jwt="eyJ.jwt")
    fields = connect_fields(natsproto.connect_command(info, login, "a", "1", fake_sign))
    assert fields["jwt"] == "eyJ.jwt"
    assert "nkey" not in fields
    assert "sig" in fields


def test_no_signature_without_a_nonce() -> None:
    fields = connect_fields(
        natsproto.connect_command(ServerInfo(), Login(nkey_seed=b"S"), "a", "1", fake_sign)
    )
    assert "sig" not in fields


CREDS = """-----BEGIN NATS USER JWT-----
eyJ0eXAiOiJKV1QifQ.payload.sig
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4
------END USER NKEY SEED------
"""


def test_creds_file() -> None:
    jwt, seed = natsproto.read_creds(CREDS)
    assert jwt == "eyJ0eXAiOiJKV1QifQ.payload.sig"
    assert seed == b"SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4"


def test_creds_file_without_a_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="no user JWT and nkey seed"):
        natsproto.read_creds(CREDS.split("*")[0])


def test_hpub_frames_headers_and_payload() -> None:
    block = natsproto.header_block({"Nats-Msg-Id": "h.1"})
    assert block == b"NATS/1.0\r\nNats-Msg-Id: h.1\r\n\r\n"
    frame = natsproto.hpub("vitals.metrics.h", "_INBOX.x.1", block, b"{}")
    assert frame == (
        f"HPUB vitals.metrics.h _INBOX.x.1 {len(block)} {len(block) + 2}\r\n".encode()
        + block + b"{}\r\n"
    )  # fmt: skip


def test_pub_frames_a_payload() -> None:
    assert natsproto.pub("s", "r", b"abc") == b"PUB s r 3\r\nabc\r\n"


@pytest.mark.parametrize("key", ["Bad\r\nKey", "Key:colon"])
def test_headers_that_would_break_the_frame_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        natsproto.header_block({key: "v"})


def test_header_value_with_a_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        natsproto.header_block({"Nats-Msg-Id": "a\r\nInjected: 1"})


@pytest.mark.parametrize(
    ("block", "status"),
    [
        (b"NATS/1.0 503\r\n\r\n", 503),
        (b"NATS/1.0 408 Request Timeout\r\n\r\n", 408),
        (b"NATS/1.0\r\nA: b\r\n\r\n", 0),
    ],
)
def test_header_status(block: bytes, status: int) -> None:
    assert natsproto.header_status(block) == status


ACK = b'{"stream":"VITALS_TELEMETRY","seq":7}'


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"PING\r\n"], [Ping()]),
        ([b"PONG\r\n+OK\r\n"], [Pong(), Ok()]),
        ([b"-ERR 'Authorization Violation'\r\n"], [Err("Authorization Violation")]),
        ([b'INFO {"server_id":"x"}\r\n'], [Info(b'{"server_id":"x"}')]),
        (
            [f"MSG _INBOX.a.1 1 {len(ACK)}\r\n".encode() + ACK + b"\r\n"],
            [Msg("_INBOX.a.1", 1, "", b"", ACK)],
        ),
        (
            [b"MSG s 2 reply.to 3\r\nabc\r\n"],
            [Msg("s", 2, "reply.to", b"", b"abc")],
        ),
        (
            [b"HMSG _INBOX.a.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"],
            [Msg("_INBOX.a.2", 1, "", b"NATS/1.0 503\r\n\r\n", b"")],
        ),
        (
            # Split anywhere, even inside the line and inside the payload.
            [b"MS", b"G s 1 5\r", b"\nab", b"cde\r", b"\nPI", b"NG\r\n"],
            [Msg("s", 1, "", b"", b"abcde"), Ping()],
        ),
        (
            # A payload may hold CRLF itself.
            [b"MSG s 1 4\r\n\r\n\r\n\r\n"],
            [Msg("s", 1, "", b"", b"\r\n\r\n")],
        ),
    ],
)
def test_parser(chunks: list[bytes], expected: list[object]) -> None:
    parser = Parser()
    ops: list[object] = []
    for chunk in chunks:
        ops.extend(parser.feed(chunk))
    assert ops == expected


def test_parser_byte_by_byte() -> None:
    data = b"PING\r\n" + f"MSG r 1 {len(ACK)}\r\n".encode() + ACK + b"\r\nPONG\r\n"
    parser = Parser()
    ops: list[object] = []
    for i in range(len(data)):
        ops.extend(parser.feed(data[i : i + 1]))
    assert ops == [Ping(), Msg("r", 1, "", b"", ACK), Pong()]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"HELLO\r\n", "unknown operation"),
        (b"MSG s x 3\r\nabc\r\n", "cannot be read"),
        (b"MSG s 1 3\r\nabcd\r\n", "does not end"),
        (b"HMSG s 1 9 3\r\nabc\r\n", "impossible sizes"),
        (b"X" * (natsproto.MAX_CONTROL_LINE + 10), "without end"),
    ],
)
def test_parser_refuses_what_is_not_nats(data: bytes, problem: str) -> None:
    with pytest.raises(natsproto.ProtocolError, match=problem):
        Parser().feed(data)


@pytest.mark.parametrize(
    ("payload", "error_code", "seq", "duplicate"),
    [
        (ACK, None, 7, False),
        (b'{"stream":"S","seq":3,"duplicate":true}', None, 3, True),
        (b'{"error":{"code":503,"err_code":10039,"description":"JetStream not enabled"}}',
         503, 0, False),
        (b'{"error":{"code":400,"err_code":10058,"description":"stream name in use"}}',
         400, 0, False),
    ],
)  # fmt: skip
def test_jetstream_answers(
    payload: bytes, error_code: int | None, seq: int, duplicate: bool
) -> None:
    reply = natsproto.parse_api_reply(payload)
    assert (reply.error.code if reply.error else None) == error_code
    assert (reply.seq, reply.duplicate) == (seq, duplicate)


def test_jetstream_answer_that_is_not_json() -> None:
    with pytest.raises(natsproto.ProtocolError, match="not JSON"):
        natsproto.parse_api_reply(b"<html>")


def test_hostile_server_answers_fail_as_protocol_errors() -> None:
    from tests.hostile_payloads import nested_array

    for payload in (nested_array("x"), b"[" * 30_000):
        with pytest.raises(natsproto.ProtocolError):
            natsproto.parse_api_reply(payload)
        with pytest.raises(natsproto.ProtocolError):
            natsproto.parse_info(payload)
    with pytest.raises(natsproto.ProtocolError):
        natsproto.parse_api_reply(b'{"stream":"\xff"}')
