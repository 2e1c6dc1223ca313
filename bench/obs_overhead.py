"""Cost of observability: ``aksml serve`` with model data collection (directory sink) and
Application Insights export (to a local ingestion endpoint) on, against both off, same run.

Five servers run side by side on 127.0.0.1 with the same score.py: both off, collection only,
App Insights only (default adaptive sampling), both on (defaults), and both on with every
request exported (``--app-insights-sample-rate 1``). ``wrk`` loads them in alternating rounds
(off, collect, ..., off, collect, ...) so machine noise hits all alike. The issue's budget:
collection and telemetry on may cost at most 15 % of throughput against both off. Run:
``uv run python bench/obs_overhead.py`` (needs ``wrk``; ``--rounds`` and ``--seconds`` shorten
or lengthen it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

SCORE = """
import json, time

def init():
    pass

def run(raw):
    if RUN_S:
        time.sleep(RUN_S)
    return {"n": len(json.loads(raw)["data"])}
"""
CONFIGS = {
    "off": "both off",
    "collect": "data collection only",
    "telemetry": "App Insights only (default: adaptive sampling)",
    "on": "data collection + App Insights (defaults)",
    "every": "data collection + App Insights, every request exported",
}
BUDGETED = ("collect", "telemetry", "on")
"""The configurations the 15 % budget applies to (the defaults)."""
BODY = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2]] * 8})
QUIET_EXPORTER = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}
"""Keep the exporter's own calls to Microsoft endpoints off: all traffic stays on loopback."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Ingestion:
    """A local Application Insights ingestion endpoint that counts received items."""

    def __init__(self) -> None:
        self.items = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                count = len(json.loads(body)) if body.startswith(b"[") else 1
                owner.items += count
                reply = json.dumps(
                    {"itemsReceived": count, "itemsAccepted": count, "errors": []}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.connection_string = (
            f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint=http://127.0.0.1:{port}/"
        )


class Server:
    """One ``aksml serve`` process in its own session."""

    def __init__(self, workdir: Path, extra: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        aksml = str(Path(sys.executable).parent / "aksml")
        self.log = open(workdir / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                aksml,
                "serve",
                "--entry-script",
                str(workdir / "score.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--metrics-port",
                str(self.metrics_port),
                "--auth",
                "none",
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **QUIET_EXPORTER, **env},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {self.log.name}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metric(self, name: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, seconds: int, connections: int, script: Path) -> dict[str, float]:
    """One wrk run; requests/s and latency percentiles (ms)."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url + "/score",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = re.search(r"(\d+) requests in", out)
    result = {"rps": rps, "requests": float(done.group(1)) if done else 0.0}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\b", out, re.MULTILINE)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            result[f"p{pct}_ms"] = float(m.group(1)) * scale
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a markdown table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--run-ms", type=float, default=0.0, help="time run() sleeps (0: a trivial model)"
    )
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="load each configuration at the same time as 'off' (two wrk), so both see the "
        "same machine; the default alternates them",
    )
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help="comma-separated subset of: " + ", ".join(CONFIGS) + " (off is always run)",
    )
    args = parser.parse_args(argv)
    chosen = ["off", *(n for n in args.configs.split(",") if n in CONFIGS and n != "off")]
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="aksml-obs-bench-"))
    (work / "score.py").write_text(SCORE.replace("RUN_S", repr(args.run_ms / 1000.0)))
    lua = work / "post.lua"
    lua.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(BODY)}\n"
    )
    model_dir = work / "azureml-models" / "iris" / "1"
    model_dir.mkdir(parents=True)
    ingestions = {name: Ingestion() for name in ("telemetry", "on", "every") if name in chosen}
    common = ["--service-name", "bench", "--model-dir", str(model_dir)]
    collect = ["--collect-model-data", "--data-collection-dir", str(work / "modeldata")]
    every = ["--app-insights-sample-rate", "1"]
    flags = {
        "off": common,
        "collect": [*common, *collect],
        "telemetry": common,
        "on": [*common, *collect],
        "every": [*common, *collect, *every],
    }
    servers: dict[str, Server] = {}
    written = dropped = float("nan")
    try:
        for name in chosen:
            env = {}
            if name in ingestions:
                env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = ingestions[name].connection_string
            servers[name] = Server(work, flags[name], env)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
        # (off run, config run) measured in the same round -- or at the same time
        pairs: dict[str, list[tuple[dict[str, float], dict[str, float]]]] = {
            name: [] for name in chosen if name != "off"
        }

        def measure(name: str) -> dict[str, float]:
            pid = servers[name].process.pid
            before = cpu_seconds(pid)
            run = run_wrk(servers[name].url, args.seconds, args.connections, lua)
            run["cpu_us_per_request"] = 1e6 * (cpu_seconds(pid) - before) / max(run["requests"], 1)
            runs[name].append(run)
            return run

        for round_no in range(args.rounds):
            # rotate the order each round so no configuration always runs right after "off"
            shift = round_no % len(chosen)
            order = chosen[shift:] + chosen[:shift]
            if args.concurrent:
                for name in (n for n in order if n != "off"):
                    with ThreadPoolExecutor(2) as pool:
                        off_run, on_run = pool.map(measure, ["off", name])
                    pairs[name].append((off_run, on_run))
            else:
                done = {name: measure(name) for name in order}
                for name in pairs:
                    pairs[name].append((done["off"], done[name]))
        collecting = next((n for n in ("on", "collect", "every") if n in servers), None)
        if collecting:
            written = servers[collecting].metric("aksml_data_collection_records_written_total")
            dropped = servers[collecting].metric(
                'aksml_data_collection_dropped_total{reason="buffer_full"}'
            )
    finally:
        for server in servers.values():
            server.stop()
    lines = sum(1 for p in (work / "modeldata").rglob("*.jsonl") for _ in p.open())

    summary = {
        name: {
            "rps_median": statistics.median(r["rps"] for r in rs),
            "rps_runs": [r["rps"] for r in rs],
            "p50_ms_median": statistics.median(r.get("p50_ms", 0.0) for r in rs),
            "p99_ms_median": statistics.median(r.get("p99_ms", 0.0) for r in rs),
            "non2xx": sum(r["non2xx"] for r in rs),
            "cpu_us_per_request": statistics.median(r["cpu_us_per_request"] for r in rs),
            "cpu_runs": [round(r["cpu_us_per_request"], 1) for r in rs],
        }
        for name, rs in runs.items()
    }
    base = summary["off"]["rps_median"]
    costs = {name: 1.0 - summary[name]["rps_median"] / base for name in chosen if name != "off"}
    # server CPU per request: robust to other load on the machine; when the server is the
    # bottleneck, throughput scales with its inverse
    cpu_base = summary["off"]["cpu_us_per_request"]
    cpu_costs = {
        name: 1.0 - cpu_base / summary[name]["cpu_us_per_request"]
        for name in chosen
        if name != "off"
    }
    # paired: each config run against the "off" run of the same round (or the one loaded at
    # the same time with --concurrent), then the median over rounds -- drifts in the machine's
    # other load cancel within a pair
    paired = {
        name: statistics.median(1.0 - r["rps"] / o["rps"] for o, r in ps)
        for name, ps in pairs.items()
    }
    paired_cpu = {
        name: statistics.median(
            1.0 - o["cpu_us_per_request"] / r["cpu_us_per_request"] for o, r in ps
        )
        for name, ps in pairs.items()
    }
    result = {
        "summary": summary,
        "paired_throughput_cost": paired,
        "paired_cpu_cost": paired_cpu,
        "throughput_cost": costs,
        "cpu_bound_throughput_cost": cpu_costs,
        "budget": 0.15,
        "collected_lines_on_disk": lines,
        "records_written_metric_before_stop": written,
        "dropped_buffer_full": dropped,
        "telemetry_items_received": {name: i.items for name, i in ingestions.items()},
        "rounds": args.rounds,
        "concurrent": args.concurrent,
        "seconds": args.seconds,
        "connections": args.connections,
        "run_ms": args.run_ms,
        "cpus": os.cpu_count(),
    }
    print(
        f"run() {args.run_ms} ms, {args.connections} connections, {args.rounds} x {args.seconds} s"
        + ("; each config loaded at the same time as off" if args.concurrent else "")
        + "; costs: median over rounds of 1 - config/off within the round"
    )
    print(
        "| observability | req/s (median) | runs | cost (req/s, paired) | "
        "server CPU µs/request | cost (CPU, paired) | p50 ms | p99 ms | non-2xx |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in chosen:
        label = CONFIGS[name]
        s = summary[name]
        runs_text = ", ".join(f"{x:.0f}" for x in s["rps_runs"])
        cost_text = "–" if name == "off" else f"{paired[name]:.0%}"
        cpu_text = "–" if name == "off" else f"{paired_cpu[name]:.0%}"
        print(
            f"| {label} | {s['rps_median']:.0f} | {runs_text} | {cost_text} | "
            f"{s['cpu_us_per_request']:.0f} | {cpu_text} | "
            f"{s['p50_ms_median']:.2f} | {s['p99_ms_median']:.2f} | {s['non2xx']:.0f} |"
        )
    received = ", ".join(f"{name} {i.items}" for name, i in ingestions.items())
    requests = {name: int(sum(r["requests"] for r in runs[name])) for name in ingestions}
    print(
        f"\ncollected lines on disk: {lines}; dropped: {dropped:.0f}; "
        f"telemetry items received: {received} (of requests: {requests})"
    )
    worst = max((max(paired[n], paired_cpu[n]) for n in BUDGETED if n in paired), default=0.0)
    verdict = "met" if worst <= 0.15 else "NOT met"
    print(f"budget 15 %: worst cost of the defaults (req/s or CPU) {worst:.0%}: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
