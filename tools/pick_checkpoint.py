"""Score every kept checkpoint of a training run end to end, to choose the one to ship.

Runs ``logdigit eval --json --no-masks`` with each ``RUN/snapshots/stepNNNNNN`` model on a
folder of cases and prints one line per checkpoint: the median R² of the recovered curves
per tier and overall, the share of curves with R² >= 0.95 and the median coverage.
Results are cached in ``RUN/picks.json`` (a checkpoint already scored on the same cases
folder is not run again).

Choose checkpoints on cases rendered from the *training* curves, never on the held-out
ones (those are for the figures in the model card)::

    logdigit synth --las-dir ../shared/data/las/train --n 12 --seed 7 --out runs/pickcases
    .venv/bin/python tools/pick_checkpoint.py runs/m2 runs/pickcases [--every 2] [--last 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def score(model: Path, cases: Path) -> dict:
    cmd = [sys.executable, "-m", "logdigit", "eval", str(cases), "--model", str(model),
           "--json", "--no-masks", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    summary = json.loads(proc.stdout)["summary"]
    return summary


def line(name: str, s: dict) -> str:
    if "error" in s:
        return f"{name}: failed {s['error']}"
    def num(x):
        return "-" if x is None else f"{x:.4f}"

    tiers = s.get("tiers", {})
    parts = [f"{t} {num(g.get('r2_median'))}" for t, g in tiers.items()]
    o = s.get("overall", {})
    return (f"{name}: overall {num(o.get('r2_median'))} | " + " | ".join(parts)
            + f" | >=0.95 {o.get('r2_ok')}/{o.get('curves')}"
            + f" | coverage {num(o.get('coverage_median'))}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("cases", type=Path)
    ap.add_argument("--every", type=int, default=1, help="score every k-th checkpoint")
    ap.add_argument("--last", type=int, default=0, help="only the last N (after --every)")
    ap.add_argument("--also", type=Path, nargs="*", default=[], help="more model folders")
    a = ap.parse_args(argv)
    cache_path = a.run / "picks.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    snaps = sorted((a.run / "snapshots").glob("step*"))[:: a.every]
    if a.last:
        snaps = snaps[-a.last :]
    for model in [*a.also, *snaps]:
        key = f"{model.resolve()}|{a.cases.resolve()}"
        if key not in cache or "error" in cache[key]:
            cache[key] = score(model, a.cases)
            tmp = cache_path.with_suffix(".part")
            tmp.write_text(json.dumps(cache, indent=1))
            tmp.replace(cache_path)
        print(line(model.name, cache[key]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
