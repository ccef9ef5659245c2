"""Wall time of one warm ``geotarget analyse`` from the command line, against a bare
``python -c "import geopandas"`` measured in the same run (issue 14: target ≤ 1.5x).

Each command runs as a fresh subprocess with the same interpreter; the built-in layer's cache is
warmed by one untimed ``analyse`` first.  The median of ``--repeat`` runs (default 5) of each is
printed, with the ratio.  ``--help`` and ``--version`` are timed alike.  ``--compare DIR``
also times the same ``analyse`` with ``PYTHONPATH=DIR`` (another checkout's package, e.g. one
unpacked with ``git archive REV geotarget | tar -x -C DIR``), for a before/after in one run.
Run: ``python benchmarks/warm_start.py [--repeat 5] [--venue "EC2Y 8BN"] [--radius 0.5mi]
[--compare DIR]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _time(
    cmd: list[str], repeat: int, env: dict[str, str] | None = None, cwd: str | None = None
) -> float:
    """Median wall time (s) of ``repeat`` runs of ``cmd``; fails loudly if it fails."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    """Time the commands and print the medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--venue", default="EC2Y 8BN")
    ap.add_argument("--radius", default="0.5mi")
    ap.add_argument("--compare", metavar="DIR", help="also time analyse with PYTHONPATH=DIR")
    a = ap.parse_args()
    py = sys.executable
    cli = [py, "-m", "geotarget"]
    analyse = [*cli, "analyse", a.venue, "--radius", a.radius]
    subprocess.run(analyse, check=True, stdout=subprocess.DEVNULL)  # warm the caches
    base = _time([py, "-c", "import geopandas"], a.repeat)
    rows = [
        ("import geopandas (baseline)", base),
        (" ".join(["analyse", repr(a.venue), "--radius", a.radius]), _time(analyse, a.repeat)),
        ("--help", _time([*cli, "--help"], a.repeat)),
        ("--version", _time([*cli, "--version"], a.repeat)),
    ]
    if a.compare:
        # run from DIR too: ``python -m`` puts the working directory first on the path
        env = {**os.environ, "PYTHONPATH": a.compare}
        check = [py, "-c", "import geotarget; print(geotarget.__file__)"]
        where = subprocess.run(
            check, check=True, capture_output=True, text=True, env=env, cwd=a.compare
        )
        print(f"--compare imports {where.stdout.strip()}")
        subprocess.run(analyse, check=True, stdout=subprocess.DEVNULL, env=env, cwd=a.compare)
        rows.append((f"analyse from {a.compare}", _time(analyse, a.repeat, env, a.compare)))
    print(f"median of {a.repeat} runs each, warm cache, {py}")
    for name, t in rows:
        print(f"{name:40s} {t:7.3f} s  {t / base:5.2f}x baseline")
    ratio = rows[1][1] / base
    print(
        f"warm analyse / import geopandas = {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
