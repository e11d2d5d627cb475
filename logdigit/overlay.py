"""QC overlays: the traced curves drawn in colour over a downscaled copy of the scan."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .outputs import atomic_output

#: colours for successive curves (RGB)
PALETTE = [(230, 25, 75), (0, 130, 200), (60, 180, 75), (245, 130, 48), (145, 30, 180),
           (0, 160, 160), (240, 50, 230), (128, 128, 0)]


def render_overlay(pixels: np.ndarray, result, *, max_width: int = 1600,
                   max_height: int = 20000) -> Image.Image:
    """An RGB image: the scan (grey, lightened) with each traced curve in colour.

    Parameters
    ----------
    pixels : (rows, cols) uint8
        The working image (depth down the rows).
    result : ConversionResult
        From :func:`logdigit.convert.convert_scan`.
    max_width, max_height : int
        The scan is downscaled by one factor so both fit.
    """
    H, W = pixels.shape
    f = max(1.0, W / max_width, H / max_height)
    size = (max(1, round(W / f)), max(1, round(H / f)))
    base = Image.fromarray(pixels).resize(size, Image.Resampling.BOX)
    base = Image.fromarray((155 + np.asarray(base, np.float32) * 100 / 255).astype(np.uint8))
    img = base.convert("RGB")
    draw = ImageDraw.Draw(img)
    width = max(1, round(2 / f ** 0.25))
    for i, c in enumerate(result.curves):
        colour = PALETTE[i % len(PALETTE)]
        x = c.trace.x
        rows = c.row0 + np.arange(len(x))
        step = max(1, int(f // 2))
        xs, ys = x[::step] / f, rows[::step] / f
        ok = np.isfinite(xs)
        # draw each finite run as a polyline
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            pts = list(zip(xs[a:b].tolist(), ys[a:b].tolist(), strict=True))
            if len(pts) == 1:
                pts = pts * 2
            draw.line(pts, fill=colour, width=width)
        draw.text((c.track.left_px / f + 3, 3 + 12 * (i % 4)), c.curve.mnemonic, fill=colour)
    return img


def write_overlay(path, pixels: np.ndarray, result, *, overwrite: bool = False) -> None:
    """Render and write the overlay PNG atomically."""
    img = render_overlay(pixels, result)
    with atomic_output(path, overwrite=overwrite) as tmp:
        img.save(tmp, format="PNG")
