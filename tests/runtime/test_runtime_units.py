"""In-process unit tests: settings precedence and errors, the FIFO gate, query parsing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from aksml import contract as c
from aksml.errors import WebserviceException
from aksml.runtime.gate import Gate
from aksml.runtime.script import encode_output, parse_query
from aksml.runtime.settings import FLAG_FIELDS, resolve_settings


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "score.py"
    path.write_text("def run(raw):\n    return raw\n")
    return path


def test_every_contract_setting_is_a_serve_flag() -> None:
    assert {s.flag for s in c.ALL_SETTINGS} == {*FLAG_FIELDS, c.CONFIG.flag}


def test_every_setting_has_a_cli_option() -> None:
    import inspect

    from aksml.cli.serve import serve

    # program_dir: the positional of the local-run mode (aksml.offline.localrun), and the
    # options of its container mode (aksml.offline.engine)
    params = set(inspect.signature(serve).parameters)
    local_run = {"program_dir", "engine", "image", "ca_bundle"}
    assert params == {*FLAG_FIELDS.values(), "config", *local_run}


def test_precedence_flag_over_env_over_default(script: Path) -> None:
    env = {c.PORT.env: "7000", c.MAX_REQUEST_WAIT_MS.env: "250", c.ENTRY_SCRIPT.env: str(script)}
    settings = resolve_settings({"port": "7100"}, env)
    assert settings.port == 7100
    assert settings.max_request_wait_ms == 250
    assert settings.scoring_timeout_ms == c.DEFAULT_SCORING_TIMEOUT_MS
    assert settings.entry_script == script.resolve()
    assert settings.auth_mode == "none"


def test_entry_script_relative_to_app_root(script: Path) -> None:
    settings = resolve_settings({"entry_script": "score.py", "app_root": str(script.parent)}, {})
    assert settings.entry_script == script.resolve()
    assert settings.app_root == script.parent.resolve()


def test_config_file_applies_below_env(script: Path, tmp_path: Path) -> None:
    config = tmp_path / "deploy.json"
    config.write_text(
        '{"computeType": "aks", "scoringTimeoutMs": 5000, "maxConcurrentRequestsPerContainer": 3,'
        ' "maxQueueWaitMs": 700, "authEnabled": true}'
    )
    settings = resolve_settings(
        {"entry_script": str(script), "config": str(config)},
        {c.MAX_REQUEST_WAIT_MS.env: "900"},
    )
    assert settings.scoring_timeout_ms == 5000
    assert settings.max_concurrent_requests == 3
    assert settings.max_request_wait_ms == 900
    assert settings.auth_mode == "key"
    assert settings.keys_generated and settings.primary_key and settings.secondary_key
    assert settings.uses_processes


def test_invalid_config_is_one_line(script: Path, tmp_path: Path) -> None:
    config = tmp_path / "deploy.json"
    config.write_text('{"computeType": "aks", "scoringTimeoutMs": "soon"}')
    with pytest.raises(WebserviceException) as info:
        resolve_settings({"entry_script": str(script), "config": str(config)}, {})
    assert info.value.message.startswith(f"invalid --config {config}: ")
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"port": "x"}, "invalid value 'x' for --port / AKSML_PORT: expected an integer"),
        ({"port": "70000"}, "must be between 0 and 65535"),
        ({"worker_mode": "fork"}, "expected one of auto, thread, process"),
        ({"upstream": "ftp://h"}, "expected an http(s) URL"),
        ({"show_keys": "maybe"}, "expected true or false"),
        ({"auth_mode": "token"}, "token auth needs --token-issuer and --token-audience"),
        ({"port": "9090"}, "--port and --metrics-port must differ"),
        ({"health_port": "5001"}, "--port and --health-port must differ"),
    ],
)
def test_invalid_settings(script: Path, flags: dict[str, str], message: str) -> None:
    with pytest.raises(WebserviceException) as info:
        resolve_settings({"entry_script": str(script), **flags}, {})
    assert message in info.value.message


def test_keys_select_key_auth(script: Path) -> None:
    settings = resolve_settings({"entry_script": str(script), "primary_key": "k"}, {})
    assert settings.auth_mode == "key" and not settings.keys_generated
    off = resolve_settings({"entry_script": str(script), "auth_mode": "none"}, {})
    assert off.auth_mode == "none"


def test_worker_mode_auto(script: Path) -> None:
    one = resolve_settings({"entry_script": str(script)}, {})
    two = resolve_settings({"entry_script": str(script), "max_concurrent_requests": "2"}, {})
    forced = resolve_settings(
        {"entry_script": str(script), "max_concurrent_requests": "2", "worker_mode": "thread"}, {}
    )
    assert (one.uses_processes, two.uses_processes, forced.uses_processes) == (False, True, False)


def test_gate_is_fifo_and_time_bounded() -> None:
    async def scenario() -> list[object]:
        gate: Gate[str] = Gate(["slot"])
        first = gate.try_acquire()
        assert first == "slot" and gate.try_acquire() is None
        order: list[object] = []

        async def waiter(name: str, timeout: float) -> None:
            got = await gate.acquire(timeout)
            order.append((name, got))
            if got is not None:
                gate.release(got)

        tasks = [
            asyncio.create_task(waiter("a", 5)),
            asyncio.create_task(waiter("expires", 0.01)),
            asyncio.create_task(waiter("b", 5)),
        ]
        await asyncio.sleep(0.05)
        assert gate.waiting == 2
        gate.release("slot")
        await asyncio.gather(*tasks)
        assert gate.waiting == 0 and gate.free == 1
        return order

    assert asyncio.run(scenario()) == [("expires", None), ("a", "slot"), ("b", "slot")]


def test_gate_refuses_waiters_when_draining() -> None:
    async def scenario() -> object:
        gate: Gate[int] = Gate([0])
        assert gate.try_acquire() == 0
        pending = asyncio.create_task(gate.acquire(10))
        await asyncio.sleep(0)
        gate.refuse_waiters()
        return await pending

    assert asyncio.run(scenario()) is None


def test_gate_refuses_a_waiter_past_its_deadline_even_if_its_timer_is_late() -> None:
    async def scenario() -> tuple[object, object, int]:
        gate: Gate[int] = Gate([0])
        assert gate.try_acquire() == 0
        late = asyncio.create_task(gate.acquire(0.05))
        await asyncio.sleep(0)  # queued
        time.sleep(0.1)  # a busy loop: the 50 ms timer cannot fire
        gate.release(0)  # the slot must not go to the expired waiter
        fresh = await gate.acquire(1.0)
        return await late, fresh, gate.waiting

    expired, fresh, waiting = asyncio.run(scenario())
    assert expired is None
    assert fresh == 0
    assert waiting == 0


def test_parse_query_like_the_reference() -> None:
    assert parse_query(b"a=1&b=[1,2]&c=x&c=y&d=") == {"a": 1, "b": [1, 2], "c": ["x", "y"], "d": ""}


def test_encode_output() -> None:
    assert encode_output(None) == b"{}"
    assert encode_output('{"a": 1}') == b'"{\\"a\\": 1}"'
    assert encode_output({1, 2}) is None


def test_observed_requests_relax_the_generation_0_gc_threshold() -> None:
    import gc

    from aksml.runtime import server

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        server._relax_gc()
        assert gc.get_threshold() == (server.GC_GEN0_THRESHOLD_OBSERVED, 10, 10)
        gc.set_threshold(100_000, 5, 5)  # never lowered
        server._relax_gc()
        assert gc.get_threshold() == (100_000, 5, 5)
    finally:
        gc.set_threshold(*saved)


@pytest.mark.parametrize(
    ("value", "sent"), [("true", True), ("1", True), ("false", False), ("notgood", False)]
)
def test_server_version_variable_is_lenient(script: Path, value: str, sent: bool) -> None:
    """An invalid SERVER_VERSION_LOG_RESPONSE_ENABLED turns the header off (the reference's
    reading) instead of stopping the server."""
    env = {c.SERVER_VERSION_HEADER.env: value}
    assert resolve_settings({"entry_script": str(script)}, env).server_version_header is sent


@pytest.mark.parametrize(
    ("env", "enabled", "connection_string"),
    [
        ({}, "false", None),
        ({"AML_APP_INSIGHTS_ENABLED": "true"}, "false", None),  # no key
        (
            {"AML_APP_INSIGHTS_ENABLED": "true", "AML_APP_INSIGHTS_KEY": "not-a-uuid"},
            "false",
            None,
        ),
        (
            {
                "AML_APP_INSIGHTS_ENABLED": "true",
                "AML_APP_INSIGHTS_KEY": "00000000-0000-0000-0000-00000000000a",
            },
            "true",
            "InstrumentationKey=00000000-0000-0000-0000-00000000000a",
        ),
        (
            {c.APP_INSIGHTS_CONNECTION_STRING_ENV: "InstrumentationKey=k"},
            "true",
            "InstrumentationKey=k",
        ),
    ],
)
def test_script_sees_app_insights_enabled_as_true_or_false(
    env: dict[str, str], enabled: str, connection_string: str | None
) -> None:
    from aksml.cli.serve import _script_environment

    environ = dict(env)
    _script_environment(environ)
    assert environ["AML_APP_INSIGHTS_ENABLED"] == enabled
    assert environ.get(c.APP_INSIGHTS_CONNECTION_STRING_ENV) == connection_string
