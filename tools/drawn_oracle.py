"""What the drawing itself allows: R² of curves read exactly from each row's drawn x.

The cases that ``logdigit synth`` wrote from ``--seed`` are rendered again (the same
pages, checked against each case's ``scan.tif``), and every curve is scored three ways
against its ``truth.las`` values, as ``logdigit eval`` scores it:

- ``drawn``: every row's drawn x (the vertex the renderer's pen passed through), resampled
  as the pipeline resamples a trace (:func:`logdigit.calibrate.resample`);
- ``linear``: the same x, interpolated linearly onto the output depths;
- ``visible``: only rows whose drawn vertex has the curve's class in the label mask
  within a pixel (a dotted curve's gaps are not), the rest interpolated, then resampled
  as the pipeline does.

A curve under 0.95 in ``drawn`` is lost by the resampling or the scale whatever the
tracer does; one under 0.95 only in ``visible`` by what the scan does not show::

    .venv/bin/python tools/drawn_oracle.py --cases runs/heldout/s1 --seed 1 \\
        --las-dir ../shared/data/las/eval             # the held-out cases (make eval)
    .venv/bin/python tools/drawn_oracle.py --cases runs/devscore/grough31 --seed 31 \\
        --las-dir ../shared/data/las/train --rough-weight 8 --rough-step 0.5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from logdigit.calibrate import resample, row_to_depth, x_to_value
from logdigit.layout import parse_layout
from logdigit.metrics import compare_on_grid, r2
from logdigit.render import load_bank, random_walk_bank
from logdigit.synth import render_cases

KINDS = ("drawn", "linear", "visible")


def visible_rows(labels: np.ndarray, x: np.ndarray, cls: int) -> np.ndarray:
    """(rows,) bool: the class ``cls`` lies within one column of ``round(x)`` in the row."""
    H, W = labels.shape
    xi = np.clip(np.round(x).astype(int), 1, W - 2)
    r = np.arange(H)
    return (labels[r, xi - 1] == cls) | (labels[r, xi] == cls) | (labels[r, xi + 1] == cls)


def score_page(page) -> dict[str, dict[str, float]]:
    """``{mnemonic: {kind: R²}}`` for one rendered page (see the module docstring)."""
    H = page.image.shape[0]
    layout = parse_layout(page.layout).resolved(n_rows=H, n_cols=page.image.shape[1])
    rows = np.arange(H, dtype=float)
    depths = row_to_depth(rows, depth=layout.depth)
    truth = {m: v for m, _, v in page.truth}
    out: dict[str, dict[str, float]] = {}
    for track, c in layout.curves:
        x = page.x_rows[c.mnemonic]
        v = x_to_value(x, track=track, curve=c)
        seen = visible_rows(page.labels, x, c.cls)
        shown = np.interp(rows, rows[seen], v[seen]) if seen.any() else np.full(H, np.nan)
        fits = {"drawn": resample(depths, v, page.grid),
                "linear": resample(depths, v, page.grid, smooth=False),
                "visible": resample(depths, shown, page.grid)}
        out[c.mnemonic] = {}
        for kind, on_grid in fits.items():
            _, a, b = compare_on_grid(page.grid, on_grid, page.grid, truth[c.mnemonic])
            out[c.mnemonic][kind] = r2(a, b)
    return out


def score_cases(cases: Path, bank, *, seed: int) -> dict[str, dict[str, float]]:
    """``{"case/MNEMONIC": {kind: R²}}`` for the cases ``logdigit synth`` wrote into
    ``cases`` from ``bank`` with ``seed`` (page size read from the first scan).

    Raises SystemExit when a case is not the page that seed renders."""
    names = sorted(p.name for p in Path(cases).iterdir() if (p / "scan.tif").is_file())
    if not names:
        raise SystemExit(f"{cases}: no case folders with a scan.tif")
    H, W = np.asarray(Image.open(Path(cases) / names[0] / "scan.tif")).shape[:2]
    scores: dict[str, dict[str, float]] = {}
    for name, page in render_cases(bank, n=len(names), seed=seed, height=H, width=W):
        img = np.asarray(Image.open(Path(cases) / name / "scan.tif").convert("L"))
        if img.shape != page.image.shape or np.abs(img.astype(int) - page.image).mean() > 1:
            raise SystemExit(f"{Path(cases) / name}: not the page synth --seed {seed} renders")
        for m, s in score_page(page).items():
            scores[f"{name}/{m}"] = s
    return scores


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, required=True, help="folder the cases were written to")
    ap.add_argument("--las-dir", type=Path, help="synth's --las-dir (default: synth's "
                    "random-walk curves)")
    ap.add_argument("--seed", type=int, required=True, help="synth's --seed")
    ap.add_argument("--json", type=Path, help="write every curve's scores here")
    ap.add_argument("--rough-weight", type=float, default=1.0,
                    help="synth's --rough-weight (curves picked as CurveBank.favour_rough)")
    ap.add_argument("--rough-step", type=float, default=None,
                    help="with --rough-weight: roughness measured every this many depth "
                    "units (tools/dev_score.py --page-rough: 0.5)")
    a = ap.parse_args(argv)
    bank = load_bank(a.las_dir) if a.las_dir else random_walk_bank(np.random.default_rng(a.seed))
    bank = bank.favour_rough(a.rough_weight, step=a.rough_step)
    scores = score_cases(a.cases, bank, seed=a.seed)
    for kind in KINDS:
        low = sorted((s[kind], k) for k, s in scores.items() if not s[kind] >= 0.95)
        print(f"{kind}: {len(scores) - len(low)}/{len(scores)} curves at R² >= 0.95"
              + (": under it " + ", ".join(f"{k} {v:.3f}" for v, k in low) if low else ""))
    if a.json:
        a.json.write_text(json.dumps(scores, indent=1))


if __name__ == "__main__":
    main()
