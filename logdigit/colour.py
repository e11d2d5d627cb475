"""Colour keys: ink maps of curves printed in colour.

Many logs were plotted in colour (a green gamma ray, a blue SP, a red neutron curve). On a
colour scan the colour separates a curve from the black grid and from the other curves far
better than a grey-level segmenter can: a green curve becomes a mid grey, lighter than the
grid. A layout can therefore give a curve's ``colour``; on a colour scan that curve is
traced on a map of how close each pixel is to that colour (:func:`colour_ink`) instead of
the segmenter's ink map. On a grey scan the colour is ignored (with a warning).
"""

from __future__ import annotations

import re

import numpy as np

#: Names accepted for ``colour`` besides ``"#rrggbb"`` (RGB of typical plotter pens).
NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 160, 0),
    "blue": (0, 0, 255),
    "cyan": (0, 200, 255),
    "magenta": (255, 0, 255),
    "yellow": (230, 200, 0),
    "orange": (255, 128, 0),
    "brown": (150, 75, 0),
    "purple": (128, 0, 160),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
}

#: Default distance in RGB units (0..441) at which a pixel stops counting as the colour.
DEFAULT_TOLERANCE = 90.0

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_colour(text: str) -> tuple[int, int, int]:
    """``"#2ca02c"``, ``"2ca02c"`` or a name of :data:`NAMED_COLOURS` -> ``(r, g, b)``.

    Raises
    ------
    ValueError
        Not a 6-digit hex colour or a known name.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string such as \"#00a000\" or \"green\", got {text!r}")
    name = text.strip().lower()
    if name in NAMED_COLOURS:
        return NAMED_COLOURS[name]
    m = _HEX.fullmatch(name)
    if not m:
        raise ValueError(f"expected \"#rrggbb\" or one of {', '.join(sorted(NAMED_COLOURS))}; "
                         f"got {text!r}")
    h = m.group(1)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def colour_ink(rgb: np.ndarray, colour: tuple[int, int, int], *,
               tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """How close each pixel is to ``colour``, as an ink map for the tracer.

    Parameters
    ----------
    rgb : (rows, cols, 3) uint8 or float array
        The colour scan (or a shrunk piece of it).
    colour : (r, g, b)
        The curve's colour, 0..255 per channel.
    tolerance : float
        Euclidean RGB distance at which the map reaches 0 (linear in between).

    Returns
    -------
    (rows, cols) uint8
        255 where the pixel has exactly ``colour``, falling linearly to 0 at
        ``tolerance`` and beyond.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (rows, cols, 3), got shape {rgb.shape}")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    out = np.empty(rgb.shape[:2], np.uint8)
    target = np.asarray(colour, np.float32)
    step = max(1, (1 << 20) // max(1, rgb.shape[1]))  # bounded float temporaries
    for r in range(0, rgb.shape[0], step):
        d = np.sqrt(((rgb[r : r + step].astype(np.float32) - target) ** 2).sum(-1))
        out[r : r + step] = np.clip(255.0 * (1.0 - d / tolerance) + 0.5, 0, 255)
    return out


def ink_colours(rgb: np.ndarray, *, min_chroma: int = 60, min_share: float = 0.001,
                max_colours: int = 6, step: int = 2) -> list[tuple[tuple[int, int, int], float]]:
    """The distinct colours of the coloured ink in ``rgb`` (for drafting a layout).

    Pixels whose channels differ by at least ``min_chroma`` (so not black, grey or white)
    are grouped by colour (channels quantised to 32 levels); each group reports the mean
    colour of its pixels and its share of all pixels examined.

    Parameters
    ----------
    rgb : (rows, cols, 3) uint8
        A region of a colour scan, e.g. one track.
    min_share : float
        Groups with a smaller share of the pixels are left out (specks, stains).
    max_colours : int
        At most this many groups, the largest first.
    step : int
        Only every ``step``-th row is examined.

    Returns
    -------
    list of ((r, g, b), share)
        Largest share first; empty for a grey region.
    """
    px = rgb[::step].reshape(-1, 3)
    if not px.size:
        return []
    chroma = px.max(1).astype(np.int16) - px.min(1)
    ink = px[chroma >= min_chroma]
    if not len(ink):
        return []
    q = ink // 32
    key = (q[:, 0].astype(np.int32) * 64 + q[:, 1] * 8 + q[:, 2])
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    out = []
    for j in np.argsort(-counts)[:max_colours]:
        share = float(counts[j]) / len(px)
        if share < min_share:
            break
        mean = ink[inverse == j].mean(0)
        out.append((tuple(int(round(v)) for v in mean), share))
    return out


def to_hex(colour: tuple[int, int, int]) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    return "#" + "".join(f"{int(c):02x}" for c in colour)
