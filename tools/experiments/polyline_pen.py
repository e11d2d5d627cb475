"""EXPERIMENT (session 44, not part of the pipeline): how well the polyline reader reads a
rough curve drawn with pens of 1 to 5 px, on the renderer's own ink.

A curve that jumps by ``amp`` px (standard deviation) from each row to the next is drawn
as the renderer draws curves (:func:`logdigit.render._centred_line`, the polyline through
one vertex per row), its ink thinned by :func:`logdigit.polyline.thin_strokes` (or eroded
by a fixed ``h`` rows each side) and read by :func:`logdigit.polyline.read_polyline`. The
median and RMS distance (px) between the vertex read and the one drawn are printed for
each pen width and erosion::

    .venv/bin/python tools/experiments/polyline_pen.py      # a few seconds

No scan, network or tracer is involved: this isolates the reader. Nothing in
``logdigit`` imports it. See the model card, session 44.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def rough_ink(*, amp: float, width: int, seed: int, rows: int = 400, cols: int = 600):
    """(drawn x per row (rows,), ink (rows, cols) bool) of a curve moving ``amp`` px per
    row (normal, independent rows), drawn ``width`` px wide."""
    from PIL import Image, ImageDraw

    from logdigit.render import _centred_line

    rng = np.random.default_rng(seed)
    x = np.clip(cols / 2 + rng.normal(0, amp, rows), 20, cols - 20)
    img = Image.new("L", (cols, rows), 255)
    _centred_line(ImageDraw.Draw(img), np.stack([x, np.arange(rows, dtype=float)], 1),
                  fill=0, width=width)
    return x, np.asarray(img) < 128


def read(ink: np.ndarray, h: int | None) -> np.ndarray:
    """The reader's vertices; ``h`` None: thinned as the pipeline does, else eroded by
    ``h`` rows above and below."""
    from scipy.ndimage import binary_erosion

    from logdigit.polyline import read_polyline, thin_strokes

    if h is None:
        thin, h = thin_strokes(ink)
    else:
        thin = binary_erosion(ink, structure=np.ones((2 * h + 1, 1), bool),
                              border_value=1) if h else ink
    return read_polyline(thin, half_width=float(h))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="curves per setting")
    args = ap.parse_args(argv)
    for amp in (5.0, 20.0, 60.0):
        for width in (1, 2, 3, 4, 5):
            cells = []
            for h in (None, 0, 1, 2):
                errs = []
                for seed in range(args.seeds):
                    x, ink = rough_ink(amp=amp, width=width, seed=seed)
                    e = (read(ink, h) - x)[5:-5]
                    errs.append(e[np.isfinite(e)])
                e = np.concatenate(errs)
                cells.append(f"{'shipped' if h is None else f'h={h}'} "
                             f"{np.median(np.abs(e)):5.1f}/{np.sqrt(np.mean(e ** 2)):5.1f}")
            print(f"amp {amp:4.0f} px, pen {width} px: " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
