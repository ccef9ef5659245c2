"""Load on ``geotarget serve``: concurrent ``/api/analyse`` requests with different radii on
127.0.0.1, warm, against a baseline measured in the same run (the same requests one at a time).

Starts ``python -m geotarget serve`` on a free port (built-in data, or ``--data-dir``), sends one
warm-up request, then:

(a) baseline: the requests one after another (latency of one request on an idle server);
(b) as many requests (each radius 10 m larger, so that none is answered from the server's cache
    of recent analyses), ``--concurrency`` at a time (default all at once), while ``/healthz`` is
    polled: its latency shows whether the event loop stays free while the analyses run in
    threads;
(c) afterwards the server must still answer ``/healthz`` and one more analysis.

Prints throughput (requests/s), p50/p95/max latency, the ratio of (b)'s throughput to (a)'s and
the worst ``/healthz`` latency.  Bounded: ``--requests`` (default 32) requests, each with a
``--timeout`` (default 120 s), the whole run stopped after ``--budget-s`` (default 600 s).
Needs the web extra and httpx.  Run:  python benchmarks/web_load.py [--requests 32]
[--workers 1] [--threads 4] [--data-dir DIR --venue "EC2Y 8BN"]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "geotarget", "serve", "--port", str(port),
           "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit(f"geotarget serve exited with {p.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return p, base
        except httpx.HTTPError:
            time.sleep(0.3)
    p.kill()
    sys.exit("geotarget serve did not answer within 120 s")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


async def one(client: httpx.AsyncClient, params: dict) -> tuple[float, int]:
    t = time.perf_counter()
    r = await client.get("/api/analyse", params=params)
    if r.status_code == 200:
        assert r.json()["schema"] == "geotarget.result/1"
    return time.perf_counter() - t, r.status_code


async def run(args: argparse.Namespace, base: str) -> None:
    # every request its own radius (300 m, 350 m, ...; (b) 10 m further out than (a)): the
    # server keeps recent analyses for its download buttons, and none may be answered from there
    def reqs_for(offset_m: int) -> list[dict]:
        return [{"venue": args.venue, "radius": f"{300 + offset_m + 50 * i}m",
                 "platforms": "all", "budget": "500", "currency": "GBP"}
                for i in range(args.requests)]  # fmt: skip

    reqs, reqs_b = reqs_for(0), reqs_for(10)
    limits = httpx.Limits(max_connections=args.requests + 4)
    async with httpx.AsyncClient(base_url=base, timeout=args.timeout, limits=limits) as c:
        await one(c, {"venue": args.venue, "radius": "250m", "platforms": "all"})  # warm-up
        # (a) one at a time
        t0 = time.perf_counter()
        seq = [await one(c, q) for q in reqs]
        seq_s = time.perf_counter() - t0
        # (b) concurrently, /healthz polled meanwhile
        health: list[float] = []
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set():
                t = time.perf_counter()
                r = await c.get("/healthz")
                assert r.status_code == 200
                health.append(time.perf_counter() - t)
                await asyncio.sleep(0.05)

        sem = asyncio.Semaphore(args.concurrency or args.requests)

        async def bounded(q: dict) -> tuple[float, int]:
            async with sem:
                return await one(c, q)

        poller = asyncio.create_task(poll())
        t0 = time.perf_counter()
        conc = await asyncio.gather(*(bounded(q) for q in reqs_b))
        conc_s = time.perf_counter() - t0
        done.set()
        await poller
        # (c) still healthy
        ok = (await c.get("/healthz")).status_code == 200
        after = await one(c, dict(reqs[0], radius="275m"))

    for name, res, wall in (("(a) one at a time", seq, seq_s), ("(b) concurrent", conc, conc_s)):
        lat = [t for t, _ in res]
        codes = sorted({s for _, s in res})
        print(f"{name:18s} {len(res)} requests in {wall:6.2f} s: {len(res) / wall:5.2f} req/s; "
              f"latency p50 {pct(lat, 0.5):.3f} s, p95 {pct(lat, 0.95):.3f} s, "
              f"max {max(lat):.3f} s; status codes {codes}")  # fmt: skip
    print(f"throughput ratio (b)/(a): {seq_s / conc_s:.2f}x "
          f"(concurrency {args.concurrency or args.requests}, {args.workers} worker process(es), "
          f"{args.threads} threads each, {os.cpu_count()} CPUs)")  # fmt: skip
    print(f"/healthz during (b): {len(health)} polls, p50 {statistics.median(health) * 1e3:.1f} ms, "
          f"max {max(health) * 1e3:.1f} ms")  # fmt: skip
    print(f"after: /healthz {'ok' if ok else 'FAILED'}; one more analysis {after[1]} "
          f"in {after[0]:.3f} s")  # fmt: skip
    if any(s != 200 for _, s in conc) or not ok or after[1] != 200:
        sys.exit("some requests failed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=0, help="at once (default: all)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--data-dir")
    ap.add_argument("--venue", default="EH1 1YZ")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--budget-s", type=float, default=600.0, help="stop the run after this")
    args = ap.parse_args()
    p, base = start(args)
    try:
        asyncio.run(asyncio.wait_for(run(args, base), args.budget_s))
    finally:
        p.terminate()
        p.wait(15)


if __name__ == "__main__":
    main()
