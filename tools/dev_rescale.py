"""Scale normalisation on real curves: each case converted as rendered and resized.

Every case folder given (``scan.tif``, ``scan.toml``, ``truth.las``, as ``logdigit synth``
writes them) is converted as it is and again resized ``--scale`` times (bilinear, its
layout mapped to the new pixel grid: :func:`logdigit.bench.make_scaled`), and each
curve's R² against ``truth.las`` is printed for both, with the working factor each
conversion chose. The same page at a higher resolution should give the same curves.

::

    .venv/bin/python tools/dev_rescale.py runs/devscore/dev/clean-0003 runs/devscore/dev/hard-0011
    .venv/bin/python tools/dev_rescale.py --scale 2 --json runs/devscore/dev/*-0009
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def curve_r2(out_las: Path, truth_las: Path) -> dict[str, float]:
    """R² of each curve of ``out_las`` against ``truth_las`` on the truth's depths."""
    from logdigit.bench import curve_r2s

    return {k: round(v, 4) for k, v in curve_r2s(out_las, truth_las).items()}


def convert(scan: Path, out: Path, *, model: str | None) -> int:
    """Convert ``scan`` with ``python -m logdigit`` into ``out``; return its working factor."""
    cmd = [sys.executable, "-m", "logdigit", str(scan), "-o", str(out), "--json", "-q",
           "--overwrite"] + (["--model", model] if model else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"dev_rescale: {scan}: {proc.stderr.strip()}")
    return int(json.loads(proc.stdout)["factor"])


def rescale_case(case: Path, *, scale: int, model: str | None = None) -> dict:
    """Both conversions of one case: ``{"case", "scale", "factors", "original", "scaled"}``."""
    from logdigit.bench import make_scaled

    case = Path(case)
    with tempfile.TemporaryDirectory(prefix="logdigit-rescale-") as tmp:
        tmp = Path(tmp)
        shutil.copyfile(case / "scan.tif", tmp / "scan.tif")
        shutil.copyfile(case / "scan.toml", tmp / "scan.toml")
        big = make_scaled(tmp / "scan.tif", scale=scale)
        factors, scores = [], []
        for scan in (tmp / "scan.tif", big):
            factors.append(convert(scan, scan.with_suffix(".las"), model=model))
            scores.append(curve_r2(scan.with_suffix(".las"), case / "truth.las"))
    return {"case": str(case), "scale": scale, "factors": factors,
            "original": scores[0], "scaled": scores[1]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="+", type=Path, help="case folders")
    ap.add_argument("--scale", type=int, default=4, help="resize factor (default 4)")
    ap.add_argument("-m", "--model", default=None, help="model folder or name")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args(argv)
    if a.scale < 2:
        ap.error("--scale must be at least 2")
    rows = [rescale_case(c, scale=a.scale, model=a.model) for c in a.cases]
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    both = [(o, rows_["scaled"][m]) for rows_ in rows for m, o in rows_["original"].items()]
    for r in rows:
        pairs = ", ".join(f"{m} {o:.3f} -> {r['scaled'][m]:.3f}" for m, o in r["original"].items())
        print(f"{r['case']}: factor {r['factors'][0]} -> {r['factors'][1]}: {pairs}")
    print(f"{len(both)} curves: {sum(o >= 0.95 for o, _ in both)} at R² >= 0.95 as rendered, "
          f"{sum(s >= 0.95 for _, s in both)} at {a.scale}x; "
          f"{sum(abs(s - o) <= 0.02 for o, s in both)} within 0.02")


if __name__ == "__main__":
    main()
