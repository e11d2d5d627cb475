"""How much of each curve the scan still shows: a curve the scanner erased cannot be read.

For every case folder under ``ROOT`` with a ``labels.png`` (as ``logdigit synth`` writes
them), each curve's visibility is the share of its label pixels (its class inside its
track, the edge columns left out) where the scan is dark: at least ``--dark`` grey levels
below the page's paper (the 75th percentile of the scan). Label masks are as wide as the
pen, so a curve drawn in full typically shows 0.3 to 0.9; under 0.1 the curve is gone (a
faded pen thresholded away on a 1-bit hard-tier page). With ``--scores`` (a
``tools/dev_score.py`` or ``tools/dev_oracle.py`` score file; its keys are matched to
``ROOT``'s cases with ``--prefix`` in front) the curves at R² >= 0.95 are counted per
visibility band::

    .venv/bin/python tools/dev_visibility.py runs/devscore/confirm17 --prefix confirm17/ \\
        --scores runs/devscore/scores/base38-confirm.json
    .venv/bin/python tools/dev_visibility.py runs/heldout/s2 --out runs/vis-s2.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

#: Visibility bands reported with ``--scores``.
BANDS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


def curve_visibility(scan: np.ndarray, labels: np.ndarray, tracks: list[dict], *,
                     dark: float = 60.0) -> dict[str, float | None]:
    """``{mnemonic: visibility}`` of one page's curves (None: no label pixel).

    Parameters
    ----------
    scan : (rows, cols) array
        The scan in grey levels (0 ink, 255 paper).
    labels : (rows, cols) uint8
        Class per pixel: 0 background, 1 solid, 2 dashed or dotted.
    tracks : list of dict
        The layout's tracks (``left_px``, ``right_px`` and ``curves``, each with
        ``mnemonic`` and ``style``), one solid and at most one other curve per track.
    dark : float
        Grey levels below the paper (the scan's 75th percentile) that count as ink.
    """
    from logdigit.train import scan_ink

    scan = np.asarray(scan, np.float32)
    if scan.shape != np.shape(labels):
        raise ValueError(f"scan {scan.shape} and labels {np.shape(labels)} differ")
    inked = scan_ink(scan, dark=dark)
    out: dict[str, float | None] = {}
    for track in tracks:
        a, b = int(track["left_px"]) + 2, int(track["right_px"]) - 1
        for curve in track["curves"]:
            cls = 1 if curve.get("style", "solid") == "solid" else 2
            mine = labels[:, a:b] == cls
            n = int(mine.sum())
            out[curve["mnemonic"]] = float((inked[:, a:b] & mine).sum() / n) if n else None
    return out


def case_visibility(folder: Path, *, dark: float = 60.0) -> dict[str, float | None]:
    """:func:`curve_visibility` of the case in ``folder`` (scan.tif, scan.toml,
    labels.png)."""
    from PIL import Image

    layout = tomllib.loads((folder / "scan.toml").read_text())
    with Image.open(folder / "scan.tif") as im:
        scan = np.asarray(im.convert("L"))
    with Image.open(folder / "labels.png") as im:
        labels = np.asarray(im)
    return curve_visibility(scan, labels, layout.get("tracks", []), dark=dark)


def by_band(vis: dict[str, float | None], scores: dict[str, float | None], *,
            min_r2: float = 0.95) -> list[tuple[float, float, int, int]]:
    """``[(low, high, curves at R² >= min_r2, curves)]`` per visibility band over the
    keys in both (a missing R² counts as a failure)."""
    rows = []
    for lo, hi in zip(BANDS[:-1], BANDS[1:], strict=True):
        keys = [k for k, v in vis.items() if k in scores and v is not None
                and lo <= v < (hi if hi < 1.0 else 1.01)]
        ok = sum(1 for k in keys if scores[k] is not None and scores[k] >= min_r2)
        rows.append((lo, hi, ok, len(keys)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path, help="a folder of cases (searched recursively)")
    ap.add_argument("--dark", type=float, default=60.0, help="grey levels below the paper")
    ap.add_argument("--prefix", default="", help="put in front of ROOT's keys")
    ap.add_argument("--scores", type=Path, help="a score file to count passes in")
    ap.add_argument("--out", type=Path, help="write {key: visibility} here (JSON)")
    args = ap.parse_args(argv)
    cases = sorted(p.parent for p in args.root.rglob("labels.png")
                   if (p.parent / "scan.toml").is_file() and (p.parent / "scan.tif").is_file())
    if not cases:
        print(f"dev_visibility: {args.root}: no case folder with labels.png", file=sys.stderr)
        return 1
    vis = {f"{args.prefix}{case.relative_to(args.root).as_posix()}/{m}": v
           for case in cases for m, v in case_visibility(case, dark=args.dark).items()}
    if args.out:
        args.out.write_text(json.dumps(vis, indent=1) + "\n")
    gone = sorted(k for k, v in vis.items() if v is not None and v < BANDS[1])
    print(f"{len(vis)} curves in {len(cases)} cases; {len(gone)} under {BANDS[1]} "
          f"visible{': ' + ', '.join(gone) if gone else ''}")
    if args.scores:
        scores = json.loads(args.scores.read_text())
        for lo, hi, ok, n in by_band(vis, scores):
            print(f"  visibility {lo:.1f}-{hi:.1f}: {ok}/{n} at R² >= 0.95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
