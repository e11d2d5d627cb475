"""tools/experiments/stroke_fit.py (an experiment, see the model card, session 16): the fit
reads a zigzag's vertices from ink drawn by the renderer's pen better than run centres."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from logdigit.render import _centred_line

from .conftest import load_tool

sf = load_tool("experiments/stroke_fit.py")


def test_capsule_row_meets_a_vertical_and_a_horizontal_segment():
    assert sf.capsule_row(10.0, 0.0, 10.0, 5.0, 2.0, 3.0) == (8.0, 12.0)
    lo, hi = sf.capsule_row(0.0, 5.0, 20.0, 5.0, 1.0, 5.5)  # round ends reach out
    assert lo < 0.0 and hi > 20.0
    assert sf.capsule_row(0.0, 5.0, 20.0, 5.0, 1.0, 7.0) == (1.0, 0.0)  # too far


def test_fit_reads_zigzag_vertices_from_the_ink():
    rng = np.random.default_rng(0)
    n = 200
    drawn = 100 + np.cumsum(rng.normal(0, 6, n))  # a rough curve: ~5 px per row
    im = Image.new("L", (300, n), 0)
    _centred_line(ImageDraw.Draw(im), np.stack([drawn, np.arange(n, dtype=float)], 1),
                  fill=1, width=3)
    mask = np.asarray(im) > 0
    start = np.empty(n)  # the run centres: what a plain reading gives
    lo, hi = sf.observed_runs(mask, drawn)
    ok = lo >= 0
    start[ok] = 0.5 * (lo[ok] + hi[ok])
    start[~ok] = drawn[~ok]
    fitted, hw = sf.fit_best_pen(mask, start)
    inner = slice(5, n - 5)
    before = np.median(np.abs(start - drawn)[inner])
    after = np.median(np.abs(fitted - drawn)[inner])
    assert after < 0.6 * before, (before, after, hw)
