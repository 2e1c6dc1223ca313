"""A worker process of process mode: loads score.py, runs init() once, then serves scoring
calls from the front process over a socket, one at a time.

Frames from the worker are a 4-byte big-endian length followed by a pickle: first
``("ready", ScriptInfo)`` or ``("failed", message)``, then one ScoreResult per call, in order
-- or None when the call would start after its deadline (``time.monotonic()``; 0 = none): the
front may hand a call in advance, and the queue-wait bound must hold when it starts. A call
to the worker is a :data:`CALL` header, a pickle of ``(deadline, ScoreRequest without its
body)`` and the body's raw bytes (not pickled: no extra copy of a large body on either side).
EOF on the socket ends the worker. SIGINT/SIGTERM are ignored: the front process drains and
then closes the socket (or kills a worker whose run() overran the scoring timeout).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import pickle
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from aksml import contract as c
from aksml.runtime.messages import ScoreRequest
from aksml.runtime.script import LoadedScript, ScriptLoadError, ScriptLocation

FRAME = struct.Struct("!I")
"""Header of a frame from the worker: payload length."""
CALL = struct.Struct("!II")
"""Header of a call to the worker: length of the pickled rest, length of the body."""


def encode_call(deadline: float, req: ScoreRequest) -> tuple[bytes, bytes, bytes]:
    """A call to the worker as three buffers to write in order (the body is not copied)."""
    rest = pickle.dumps((deadline, req._replace(body=b"")), protocol=pickle.HIGHEST_PROTOCOL)
    return CALL.pack(len(rest), len(req.body)), rest, req.body


def _read_call(stream: BinaryIO) -> tuple[float, ScoreRequest] | None:
    header = stream.read(CALL.size)
    if len(header) < CALL.size:
        return None
    rest_size, body_size = CALL.unpack(header)
    rest = stream.read(rest_size)
    body = stream.read(body_size)
    if len(rest) < rest_size or len(body) < body_size:
        return None
    deadline, req = pickle.loads(rest)
    return deadline, req._replace(body=body)


def encode_frame(message: Any) -> bytes:
    """One frame holding ``message``."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(payload)) + payload


_SKIPPED = encode_frame(None)


def worker_main(fd: int, spec: dict[str, Any]) -> int:
    """Serve scoring calls on socket ``fd``; returns the exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from aksml.runtime.amllog import apply_inherited_style

    apply_inherited_style()  # the azmlinfsrv command's log lines, in workers too
    telemetry: Any = None
    if os.environ.get(c.APP_INSIGHTS_CONNECTION_STRING_ENV, "").strip():
        from aksml.runtime.telemetry import telemetry_from_env

        name, version = spec.get("service") or ("aksml", "1.0")
        telemetry = telemetry_from_env(os.environ, service_name=name, service_version=version)
        logging.getLogger().setLevel(logging.INFO)  # score.py's INFO records, as in the server
    try:
        return _serve(fd, spec)
    finally:
        if telemetry is not None:
            telemetry.shutdown()  # export score.py's last log records before exiting


def _serve(fd: int, spec: dict[str, Any]) -> int:
    sock = socket.socket(fileno=fd)
    stream = sock.makefile("rb")
    location = ScriptLocation(
        entry_script=Path(spec["entry_script"]),
        app_root=Path(spec["app_root"]),
        source_dir=Path(spec["source_dir"]) if spec.get("source_dir") else None,
        model_dir=spec.get("model_dir", ""),
    )
    try:
        script = LoadedScript(location, hide_authorization=bool(spec.get("hide_authorization")))
    except ScriptLoadError as exc:
        sock.sendall(encode_frame(("failed", str(exc))))
        return c.EXIT_INIT_FAILED
    except BaseException as exc:  # anything else escaping the user's code
        sock.sendall(encode_frame(("failed", repr(exc))))
        return c.EXIT_INIT_FAILED
    # score.py, its model and the libraries live as long as the worker: keep them out of the
    # collector's full passes (as the server process does after init())
    gc.freeze()
    sock.sendall(encode_frame(("ready", script.info)))
    handle = script.handle
    send = sock.sendall
    clock = time.monotonic
    while True:
        call = _read_call(stream)
        if call is None:
            return c.EXIT_OK
        deadline, request = call
        if deadline and clock() > deadline:
            send(_SKIPPED)
        else:
            send(encode_frame(handle(request)))


if __name__ == "__main__":
    sys.exit(worker_main(int(sys.argv[1]), json.loads(sys.argv[2])))
