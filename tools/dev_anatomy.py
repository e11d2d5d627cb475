"""Where the pipeline loses curves on the development cases, and how much it could gain.

For every curve of the development sets (``tools/dev_score.py``: rendered from
``las/train`` only) this redraws the page (same seed: :func:`logdigit.synth.render_cases`)
to get the x the pen actually drew in each row, runs the pipeline, and reports:

* ``r2``: the pipeline's R² (as ``logdigit eval`` scores it);
* ``roughness``: the median movement of the drawn curve from one row to the next (px);
  a curve moving by more than a line width per row is drawn as a zigzag of horizontal
  strokes;
* ``row_error``: the median distance between the trace and the drawn x in each row (px);
* ``ceiling_spline`` / ``ceiling_linear``: the R² the drawn x would get if it were read
  exactly in every row, resampled onto the grid as the pipeline does (smoothing spline)
  or linearly. It is below 1 where the LAS grid samples the curve between rows.

::

    .venv/bin/python tools/dev_anatomy.py --name base      # runs/devscore/anatomy/base.json

The cases must have been rendered by this renderer (``make devscore`` renders missing
ones); a case whose redrawn labels differ from its ``labels.png`` is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

#: A curve whose drawn x moves by at least this many px per row (median) is "rough".
ROUGH = 1.5


def roughness(drawn: np.ndarray) -> float:
    """Median absolute row-to-row movement (px) of ``drawn`` (rows,), NaN-safe."""
    d = np.abs(np.diff(np.asarray(drawn, float)))
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def row_error(x: np.ndarray, drawn: np.ndarray) -> float:
    """Median |x - drawn| (px) over the rows where both are finite."""
    e = np.abs(np.asarray(x, float) - np.asarray(drawn, float))
    e = e[np.isfinite(e)]
    return float(np.median(e)) if e.size else float("nan")


def passes(r2: float | None, *, min_r2: float = 0.95) -> bool:
    """Whether an R² (None or NaN: none) reaches ``min_r2``."""
    return r2 is not None and bool(np.isfinite(r2)) and r2 >= min_r2


def summarise(rows: dict[str, dict], *, min_r2: float = 0.95) -> dict:
    """Counts over the per-curve records of :func:`main`: curves, failures (R² below
    ``min_r2`` or missing), rough curves and rough failures, and how many curves would pass
    if the drawn x were read exactly (spline and linear resampling)."""
    rough = [k for k, r in rows.items() if r["roughness"] >= ROUGH]
    fail = [k for k, r in rows.items() if not passes(r["r2"], min_r2=min_r2)]
    return {"curves": len(rows), "failures": len(fail), "rough": len(rough),
            "rough_failures": len(set(rough) & set(fail)),
            "ceiling_spline": sum(passes(r["ceiling_spline"], min_r2=min_r2)
                                  for r in rows.values()),
            "ceiling_linear": sum(passes(r["ceiling_linear"], min_r2=min_r2)
                                  for r in rows.values())}


def _curve_records(folder: Path, page, *, model, config) -> dict[str, dict]:
    from logdigit.calibrate import resample, row_to_depth, x_to_true_value
    from logdigit.convert import convert_scan
    from logdigit.lasfile import read_las
    from logdigit.layout import load_layout
    from logdigit.metrics import r2
    from logdigit.scanio import read_scan

    layout = load_layout(folder / "scan.toml")
    scan = read_scan(folder / "scan.tif", orientation=layout.orientation)
    res = convert_scan(scan, layout, model=model, config=config)
    truth = read_las(folder / "truth.las")
    d = res.layout.depth
    out = {}
    for c in res.curves:
        rows = d.top_row + np.arange(len(c.trace.x))
        dep = row_to_depth(rows.astype(float), depth=d)
        ref = np.interp(res.grid, truth.depth, truth.curves[c.curve.mnemonic.upper()].values)
        drawn = np.asarray(page.x_rows[c.curve.mnemonic], float)[rows]
        true_rows = x_to_true_value(drawn, track=c.track, curve=c.curve)
        out[c.curve.mnemonic] = {
            "r2": r2(c.values, ref),
            "roughness": roughness(drawn),
            "row_error": row_error(c.trace.x, drawn),
            "ceiling_spline": r2(resample(dep, true_rows, res.grid), ref),
            "ceiling_linear": r2(resample(dep, true_rows, res.grid, smooth=False), ref),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True, help="OUT/anatomy/NAME.json")
    ap.add_argument("-m", "--model", default=None, help="model folder or name")
    ap.add_argument("--shared", default="../shared/data", help="the shared data folder")
    ap.add_argument("--out", default="runs/devscore", help="where dev_score put the cases")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dev_score import SETS, write_json
    from PIL import Image

    from logdigit.network import load_network
    from logdigit.render import load_bank
    from logdigit.synth import render_cases

    out = Path(args.out)
    missing = [name for name, _, _ in SETS if not (out / name).is_dir()]
    if missing:
        print(f"dev_anatomy: {out}: no case sets {', '.join(missing)} (run make devscore)",
              file=sys.stderr)
        return 1
    bank = load_bank(Path(args.shared) / "las" / "train")
    model, config, _ = load_network(args.model, device="cpu")
    rows: dict[str, dict] = {}
    for set_name, n, seed in SETS:
        for case, page in render_cases(bank, n=n, seed=seed):
            folder = out / set_name / case
            labels = np.asarray(Image.open(folder / "labels.png"))
            if labels.shape != page.labels.shape or not np.array_equal(labels, page.labels):
                print(f"dev_anatomy: {folder}: not what this renderer draws for its seed",
                      file=sys.stderr)
                return 1
            for mnem, rec in _curve_records(folder, page, model=model, config=config).items():
                rows[f"{set_name}/{case}/{mnem}"] = rec
    write_json(out / "anatomy" / f"{args.name}.json", rows)
    s = summarise(rows)
    print(f"{args.name}: {s['failures']} of {s['curves']} curves under R² 0.95, "
          f"{s['rough_failures']} of them rough (of {s['rough']} rough curves); "
          f"read exactly: {s['ceiling_spline']} pass (spline), {s['ceiling_linear']} (linear)")
    fails = sorted((k for k, r in rows.items() if r["roughness"] >= ROUGH
                    and not passes(r["r2"])), key=lambda k: rows[k]["r2"])
    for k in fails:
        r = rows[k]
        print(f"  rough {k}: R² {r['r2']:.3f}, {r['roughness']:.1f} px/row, row error "
              f"{r['row_error']:.1f} px, read exactly {r['ceiling_spline']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
