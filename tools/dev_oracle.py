"""The tracer's ceiling: score cases with their label masks in place of the network.

Every case folder with a ``labels.png`` (as ``logdigit synth`` writes them) is converted
with the network's curve probabilities replaced by the label mask (255 on the class's
pixels, 0 elsewhere; at a working resolution 1/k, a pixel is a class's where any of its
k x k full-resolution pixels is), and scored as ``logdigit eval`` scores it. What still
fails is lost by the tracer, the resampling or the scan itself, not by the segmenter;
what fails only with the network is the segmenter's share. With ``--visible`` the label
pixels far from any scan ink are left out (:func:`visible_labels`): a stretch the scanner
erased is then lost as it is to any segmenter, and what still passes is what a perfect
segmenter of this scan could reach.

::

    .venv/bin/python tools/dev_oracle.py --name oracle               # the dev sets
    .venv/bin/python tools/dev_oracle.py --name oracle --against s18 # what the net loses
    .venv/bin/python tools/dev_oracle.py --cases runs/heldout/s1 --name heldout-oracle
    .venv/bin/python tools/dev_oracle.py --visible --name seen --against oracle

Scores go to ``OUT/scores/NAME.json`` (``--out``, default ``runs/devscore``), keyed
``set/case/MNEMONIC`` for the dev sets (as ``tools/dev_score.py`` keys them) or
``case/MNEMONIC`` with ``--cases``. ``--against`` names a score to compare with,
typically the network's on the same cases. The network is not run (its maps are
replaced), so this takes about half a minute for the 310 dev curves.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_score import SETS, moved, summary_line, write_json  # noqa: E402


def label_probs(labels: np.ndarray, *, cols: tuple[int, int], rows: tuple[int, int], k: int,
                shape: tuple[int, int]) -> np.ndarray:
    """The curve-class probabilities a perfect segmenter would give for one track window.

    Parameters
    ----------
    labels : (H, W) uint8
        Class mask of the whole scan: 0 background, 1 solid, 2 dashed.
    cols, rows : (int, int)
        The window's full-resolution columns ``[c0, c1)`` and rows ``[r0, r1)``.
    k : int
        Working-resolution factor.
    shape : (int, int)
        The window's shape at the working resolution (h, w).

    Returns
    -------
    (2, h, w) uint8
        255 where the window's pixel holds the class (any of its k x k pixels), else 0.
    """
    h, w = shape
    (c0, _), (r0, _) = cols, rows
    win = np.zeros((h * k, w * k), np.uint8)
    part = labels[r0:r0 + h * k, c0:c0 + w * k]
    win[:part.shape[0], :part.shape[1]] = part
    blocks = win.reshape(h, k, w, k)
    out = np.stack([(blocks == 1).any(axis=(1, 3)), (blocks == 2).any(axis=(1, 3))])
    return out.astype(np.uint8) * 255


def visible_labels(labels: np.ndarray, scan: np.ndarray, *, dark: float = 60.0,
                   reach: int = 2) -> np.ndarray:
    """The label mask where the scan shows the curve (:func:`logdigit.train.seen_labels`
    at the ink level of :mod:`dev_visibility`): a label pixel is kept when scan ink lies
    within ``reach`` px of it. What a segmenter could mark at best: the stretches a faded
    pen left on the paper but the scanner erased are gone from the scan, and from this
    mask. Shapes: (H, W) uint8 labels and (H, W) grey scan (0 ink, 255 paper) ->
    (H, W) uint8."""
    from logdigit.train import seen_labels

    return seen_labels(labels, scan, dark=dark, reach=reach)


@contextlib.contextmanager
def label_masks(labels: np.ndarray):
    """Within the block, :func:`logdigit.convert.convert_scan` traces on ``labels``
    (:func:`label_probs`) instead of the network's maps; the network is not run."""
    import logdigit.convert as conv

    segment, trace_track = conv.segment_array, conv.trace_track

    def no_network(pixels, **_kw):
        return np.zeros((2, *pixels.shape), np.uint8)

    def on_labels(track, pix, probs, **kw):
        if probs is not None:
            probs = label_probs(labels, cols=kw["cols"], rows=kw["rows"], k=kw["k"],
                                shape=pix.shape)
        return trace_track(track, pix, probs, **kw)

    conv.segment_array, conv.trace_track = no_network, on_labels
    try:
        yield
    finally:
        conv.segment_array, conv.trace_track = segment, trace_track


def score_case(folder: Path, *, model, config, visible: bool = False
               ) -> dict[str, float | None]:
    """R² per curve of one case folder traced on its label mask (``logdigit eval``'s
    scoring: :func:`logdigit.evaluate.evaluate_case` without mask scores); with
    ``visible`` on the part of it the scan shows (:func:`visible_labels`)."""
    from PIL import Image

    from logdigit.evaluate import evaluate_case

    labels = np.asarray(Image.open(folder / "labels.png"))
    if visible:
        with Image.open(folder / "scan.tif") as im:
            labels = visible_labels(labels, np.asarray(im.convert("L")))
    with label_masks(labels):
        res = evaluate_case(folder, model=model, config=config, masks=False)
    if res.error:
        print(f"dev_oracle: {folder}: {res.error}", file=sys.stderr)
    return {c.mnemonic: (None if not np.isfinite(c.r2) else float(c.r2)) for c in res.curves}


def _cases(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p / "labels.png").is_file()
                  and (p / "scan.tif").is_file() and (p / "truth.las").is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True, help="name of this score (OUT/scores/NAME.json)")
    ap.add_argument("--cases", default=None,
                    help="a folder of cases to score instead of the dev sets under OUT")
    ap.add_argument("--against", default=None, help="an earlier score's name to compare with")
    ap.add_argument("--out", default="runs/devscore", help="dev sets and scores are here")
    ap.add_argument("--visible", action="store_true",
                    help="only the label pixels near scan ink: what the scan still shows")
    args = ap.parse_args(argv)

    out = Path(args.out)
    if args.cases is not None:
        groups = [("", Path(args.cases))]
    else:
        groups = [(name, out / name) for name, _n, _seed in SETS]
    missing = [str(f) for _, f in groups if not f.is_dir()]
    if missing:
        print(f"dev_oracle: {', '.join(missing)}: no such folder (make devscore renders the "
              "dev sets)", file=sys.stderr)
        return 1
    old_path = out / "scores" / f"{args.against}.json" if args.against else None
    if old_path is not None and not old_path.is_file():
        print(f"dev_oracle: {old_path}: no such score", file=sys.stderr)
        return 1
    from logdigit.model import load_model

    model, config = load_model(None, fuse=True)  # only for the config: never run
    scores: dict[str, float | None] = {}
    for prefix, folder in groups:
        for case in _cases(folder):
            for mnem, r2 in score_case(case, model=model, config=config,
                                         visible=args.visible).items():
                key = f"{case.name}/{mnem}"
                scores[f"{prefix}/{key}" if prefix else key] = r2
    if not scores:
        print("dev_oracle: no case with labels.png, scan.tif and truth.las", file=sys.stderr)
        return 1
    write_json(out / "scores" / f"{args.name}.json", scores)
    what = "label masks where the scan shows ink" if args.visible else "label masks"
    print(summary_line(f"{args.name} ({what})", scores))
    if old_path is not None:
        old = json.loads(old_path.read_text())
        both = [k for k in scores if k in old]
        ok = lambda v: v is not None and v >= 0.95  # noqa: E731
        only_here = sum(ok(scores[k]) and not ok(old[k]) for k in both)
        only_there = sum(ok(old[k]) and not ok(scores[k]) for k in both)
        print(f"against {args.against}: {only_here} curves pass only here, {only_there} only "
              f"there; {len(moved(scores, old))} moved by more than 0.005")
    return 0


if __name__ == "__main__":
    sys.exit(main())
