"""Tile grids and blend windows for sliding-window inference: pure numpy, no torch.

Tiles overlap; each tile's prediction is weighted by a smooth window that is high in the
middle and low (never zero) at the edges, and the weighted sum is divided by the summed
weights. A constant prediction therefore blends to exactly that constant: no seams.
"""

from __future__ import annotations

import numpy as np


def tile_starts(length: int, *, tile: int, overlap: int) -> np.ndarray:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)``.

    Consecutive tiles overlap by at least ``overlap`` px; the last tile ends at ``length``.
    When ``length <= tile`` there is one tile at 0 (the caller pads).

    Returns
    -------
    (n,) int64 array, increasing.
    """
    if tile <= 0 or overlap < 0 or overlap >= tile:
        raise ValueError("need tile > 0 and 0 <= overlap < tile")
    if length <= tile:
        return np.zeros(1, dtype=np.int64)
    stride = tile - overlap
    n = int(np.ceil((length - tile) / stride)) + 1
    starts = np.linspace(0, length - tile, n).round().astype(np.int64)
    return starts


def blend_window(shape: tuple[int, int], *, sigma_scale: float = 0.125,
                 floor: float = 1e-3) -> np.ndarray:
    """A separable Gaussian weight window of ``shape`` (rows, cols), peak 1, minimum ``floor``.

    ``sigma = sigma_scale * size`` per axis, as in nnU-Net's predictor.
    """
    out = np.ones(shape, dtype=np.float32)
    for axis, n in enumerate(shape):
        x = np.arange(n, dtype=np.float64) - (n - 1) / 2
        sigma = max(sigma_scale * n, 1e-6)
        g = np.exp(-0.5 * (x / sigma) ** 2)
        g = np.maximum(g / g.max(), floor).astype(np.float32)
        out *= g.reshape((-1, 1) if axis == 0 else (1, -1))
    return out


def round_up(n: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= ``n``."""
    return int(-(-n // multiple) * multiple)
