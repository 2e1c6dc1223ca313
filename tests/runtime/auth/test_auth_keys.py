"""Key auth: header parsing, both keys, challenges, and keys-file rotation (JSON and Secret dir)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.runtime.auth import (
    ALLOWED,
    AuthDecision,
    KeyAuthenticator,
    NoAuthenticator,
)
from aksml.runtime.auth_mode import build_authenticator

PRIMARY = "pk-4f1c2d9a7b3e48e0a1b2c3d4e5f60718"
SECONDARY = "sk-9e8d7c6b5a4f43219876fedcba012345"


def check(auth: Any, header: str | None) -> AuthDecision:
    """The decision of ``auth.check``; a key authenticator's raw-header check (the server's
    fast path, given the header as it came off the wire) must decide the same."""
    raw_decision = None
    if hasattr(auth, "check_header"):
        try:
            raw = header.encode("latin-1") if header is not None else None
        except UnicodeEncodeError:  # not a header value the HTTP parser can produce
            raw = b""
        if raw != b"" or header == "":
            raw_decision = auth.check_header(raw)  # first: it may be the call that reloads
    result: AuthDecision = asyncio.run(auth.check(header))
    if raw_decision is not None:
        assert (raw_decision.ok, raw_decision.status, raw_decision.message) == (
            result.ok,
            result.status,
            result.message,
        )
    return result


@pytest.fixture
def keys() -> KeyAuthenticator:
    return KeyAuthenticator(PRIMARY, SECONDARY)


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {PRIMARY}",
        f"Bearer {SECONDARY}",
        f"bearer {PRIMARY}",
        f"BEARER {SECONDARY}",
        f"BeArEr {PRIMARY}",
        f"  Bearer {PRIMARY}  ",
        f"Bearer\t{PRIMARY}",
        f"Bearer   \t {SECONDARY}\t",
    ],
)
def test_valid_keys(keys: KeyAuthenticator, header: str) -> None:
    assert check(keys, header) is ALLOWED


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong",
        f"Bearer {PRIMARY}x",
        f"Bearer {PRIMARY[:-1]}",
        f"Bearer {PRIMARY.upper()}",
        f"Bearer {PRIMARY}{SECONDARY}",
        f"Bearer {PRIMARY} {SECONDARY}",
        f"Bearer {PRIMARY}\n",
        "Bearer",
        "Bearer    ",
        f"Bearer {PRIMARY}\u00e9",
        f"Bearer \ud800{PRIMARY}",
    ],
)
def test_refused_keys(keys: KeyAuthenticator, header: str) -> None:
    decision = check(keys, header)
    assert not decision.ok
    assert decision.status == 401
    assert decision.www_authenticate is not None
    assert decision.www_authenticate.startswith('Bearer realm="aksml", error="invalid_token"')
    for secret in (PRIMARY, SECONDARY, "wrong"):
        assert secret not in decision.message
        assert secret not in decision.www_authenticate


@pytest.mark.parametrize("header", [None, "", "   ", "\t"])
def test_missing_header_gets_bare_challenge(keys: KeyAuthenticator, header: str | None) -> None:
    decision = check(keys, header)
    assert (decision.ok, decision.status) == (False, 401)
    # RFC 6750 3.1: no error code when the request carried no credentials
    assert decision.www_authenticate == 'Bearer realm="aksml"'
    assert "Authorization" in decision.message


@pytest.mark.parametrize(
    "header", [f"Basic {PRIMARY}", f"Token {PRIMARY}", PRIMARY, f"Bearer{PRIMARY}", "Digest x=1"]
)
def test_wrong_scheme(keys: KeyAuthenticator, header: str) -> None:
    decision = check(keys, header)
    assert (decision.ok, decision.status) == (False, 401)
    assert decision.www_authenticate == 'Bearer realm="aksml"'
    assert "scheme" in decision.message
    assert PRIMARY not in decision.message


def test_only_one_key_configured() -> None:
    auth = KeyAuthenticator(None, SECONDARY)
    assert check(auth, f"Bearer {SECONDARY}") is ALLOWED
    assert not check(auth, f"Bearer {PRIMARY}").ok
    assert not check(auth, "Bearer ").ok
    auth = KeyAuthenticator(PRIMARY, "")
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED
    assert not check(auth, f"Bearer {SECONDARY}").ok


def test_custom_realm() -> None:
    auth = KeyAuthenticator(PRIMARY, realm="svc-1")
    assert check(auth, None).www_authenticate == 'Bearer realm="svc-1"'


def test_none_mode_allows_everything() -> None:
    auth = build_authenticator("none")
    assert isinstance(auth, NoAuthenticator)
    assert check(auth, None) is ALLOWED
    assert check(auth, "Basic x") is ALLOWED


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"mode": "key"}, "--primary-key"),
        ({"mode": "key", "primary_key": "  ", "secondary_key": ""}, "--keys-file"),
        ({"mode": "key", "primary_key": "has space"}, "--primary-key"),
        ({"mode": "key", "secondary_key": "caf\u00e9"}, "--secondary-key"),
        ({"mode": "key", "primary_key": "a", "keys_file": "/nonexistent"}, "not both"),
        ({"mode": "key", "keys_file": "/nonexistent/keys.json"}, "--keys-file"),
        ({"mode": "token"}, "--token-issuer (AKSML_TOKEN_ISSUER) and --token-audience"),
        ({"mode": "token", "token_issuer": "https://login.example"}, "--token-audience"),
        ({"mode": "token", "token_audience": "api://x"}, "--token-issuer"),
        (
            {"mode": "token", "token_issuer": "http://login.example", "token_audience": "a"},
            "--token-issuer",
        ),
        ({"mode": "basic"}, "--auth (AKSML_AUTH) must be one of key, token, none"),
    ],
)
def test_invalid_configuration(kwargs: dict[str, Any], needle: str) -> None:
    mode = kwargs.pop("mode")
    with pytest.raises(WebserviceException) as info:
        build_authenticator(mode, **kwargs)
    assert needle in str(info.value)


def test_build_key_mode_from_arguments() -> None:
    auth = build_authenticator(" KEY ", primary_key=PRIMARY, secondary_key=SECONDARY)
    assert check(auth, f"Bearer {SECONDARY}") is ALLOWED


# --- keys files ---


def write_json(path: Path, primary: str | None, secondary: str | None) -> None:
    """Atomic replace, as a config-management tool would do it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"primaryKey": primary, "secondaryKey": secondary}))
    os.replace(tmp, path)


def test_json_keys_file_rotation(tmp_path: Path, clock: Any) -> None:
    path = tmp_path / "keys.json"
    write_json(path, PRIMARY, SECONDARY)
    auth = KeyAuthenticator(keys_file=str(path), clock=clock)
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED
    assert check(auth, f"Bearer {SECONDARY}") is ALLOWED

    # step 1 of a rotation: new secondary key
    write_json(path, PRIMARY, "sk-new-1")
    # within the reload delay the old content is still in force
    assert not check(auth, "Bearer sk-new-1").ok
    clock.advance(1.0)
    assert check(auth, "Bearer sk-new-1") is ALLOWED
    assert not check(auth, f"Bearer {SECONDARY}").ok
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED

    # in-place rewrite (not atomic) is detected too
    path.write_text(json.dumps({"primaryKey": "pk-new-2", "secondaryKey": "sk-new-1"}))
    clock.advance(1.0)
    assert check(auth, "Bearer pk-new-2") is ALLOWED
    assert not check(auth, f"Bearer {PRIMARY}").ok


def test_json_keys_file_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"primaryKey": PRIMARY}))
    auth = build_authenticator("key", keys_file=str(path))
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED


@pytest.mark.parametrize(
    "content",
    ["", "{", "[]", '{"primaryKey": 5}', '{"primaryKey": "", "secondaryKey": null}', "{}"],
)
def test_unusable_keys_file_at_startup(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(WebserviceException, match="--keys-file"):
        build_authenticator("key", keys_file=str(path))


def test_broken_update_keeps_previous_keys(
    tmp_path: Path, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keys.json"
    write_json(path, PRIMARY, SECONDARY)
    auth = KeyAuthenticator(keys_file=str(path), clock=clock)
    caplog.set_level(logging.DEBUG)
    path.write_text('{"primaryKey": "pk-half-writ')
    for _ in range(3):
        clock.advance(1.0)
        assert check(auth, f"Bearer {PRIMARY}") is ALLOWED
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # logged once per broken version, not once per poll
    assert "pk-half" not in caplog.text
    write_json(path, "pk-fixed", None)
    clock.advance(1.0)
    assert check(auth, "Bearer pk-fixed") is ALLOWED
    assert not check(auth, f"Bearer {PRIMARY}").ok
    # a deleted file keeps the last keys too (fail safe, not open: nothing new is accepted)
    path.unlink()
    clock.advance(1.0)
    assert check(auth, "Bearer pk-fixed") is ALLOWED


def make_secret_dir(root: Path, version: str, primary: str, secondary: str) -> None:
    """Lay out or update a directory the way the kubelet projects a Secret volume.

    ``..<timestamp>/`` holds the files; ``..data`` links to it and is swapped atomically with a
    rename; the visible ``primaryKey``/``secondaryKey`` are links through ``..data``.
    """
    versioned = root / f"..{version}"
    versioned.mkdir()
    (versioned / "primaryKey").write_text(primary)
    (versioned / "secondaryKey").write_text(secondary + "\n")  # e.g. `echo` into a Secret
    tmp_link = root / "..data_tmp"
    tmp_link.symlink_to(versioned.name)
    old = os.readlink(root / "..data") if (root / "..data").is_symlink() else None
    os.replace(tmp_link, root / "..data")
    for name in ("primaryKey", "secondaryKey"):
        if not (root / name).is_symlink():
            (root / name).symlink_to(f"..data/{name}")
    if old is not None:
        shutil.rmtree(root / old)


def test_secret_directory_symlink_swap(tmp_path: Path, clock: Any) -> None:
    root = tmp_path / "keys"
    root.mkdir()
    make_secret_dir(root, "2026_11_25_03_00_00.1", PRIMARY, SECONDARY)
    auth = build_authenticator("key", keys_file=str(root))
    assert isinstance(auth, KeyAuthenticator)
    auth = KeyAuthenticator(keys_file=str(root), clock=clock)
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED
    assert check(auth, f"Bearer {SECONDARY}") is ALLOWED  # trailing newline stripped

    make_secret_dir(root, "2026_11_25_03_10_00.2", PRIMARY, "sk-rotated")
    clock.advance(0.5)
    assert check(auth, f"Bearer {SECONDARY}") is ALLOWED  # not yet polled
    clock.advance(0.5)
    assert check(auth, "Bearer sk-rotated") is ALLOWED
    assert not check(auth, f"Bearer {SECONDARY}").ok

    make_secret_dir(root, "2026_11_25_03_20_00.3", "pk-rotated", "sk-rotated")
    clock.advance(1.0)
    assert check(auth, "Bearer pk-rotated") is ALLOWED
    assert check(auth, "Bearer sk-rotated") is ALLOWED
    assert not check(auth, f"Bearer {PRIMARY}").ok


def test_secret_directory_with_one_file(tmp_path: Path) -> None:
    (tmp_path / "primaryKey").write_text(PRIMARY)
    auth = build_authenticator("key", keys_file=str(tmp_path))
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WebserviceException, match="--keys-file"):
        build_authenticator("key", keys_file=str(empty))
