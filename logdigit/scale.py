"""Scale normalisation: segment high-resolution scans at a working resolution.

The network is trained on strokes 1 to 4 px wide. A scan at 4x the resolution has strokes
4x wider, and segmenting it at full size would cost 16x as much for nothing. So the
typical stroke width of the ink is measured (twice the distance-transform value on the
skeleton of the ink mask, upper quartile over a sample of rows), the track image is shrunk by an
integer factor ``k`` (block mean) so strokes come out about 2 px wide, and traced x and
rows are mapped back to the stored image's pixel coordinates.

Thick strokes alone do not tell a scan at a higher resolution from a page drawn with thick
pens at the training pages' own scale (a rough curve's stacked strokes from a 4-px pen
measure 5 px). The grid's vertical rules often do: 1 px wide at that scale, 2 px or more
on a scan at twice the resolution (:func:`rule_width`). A page whose rules are that thin
is not shrunk, whatever its curves measure: shrinking it would fade its 1-px pens and
rules to half a pixel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .calibrate import _runs
from .grid import rule_columns


def stroke_width(pixels: np.ndarray, *, sample_rows: int = 3000, threshold: int = 128,
                 seed: int = 0) -> float:
    """Median width (px) of dark strokes in ``pixels``, from a sample of row bands.

    Parameters
    ----------
    pixels : (rows, cols) uint8
        0 = ink, 255 = paper.
    sample_rows : int
        Rows examined (in up to 6 evenly spread bands), to keep this cheap on long scans.
    threshold : int
        Pixels below this are ink.

    Returns
    -------
    float
        Stroke width in px; NaN when there is no ink.
    """
    from skimage.morphology import remove_small_holes, skeletonize

    H = pixels.shape[0]
    n_bands = 6 if H > sample_rows else 1
    band = max(16, min(H, sample_rows // n_bands))
    starts = np.linspace(0, max(0, H - band), n_bands).astype(int)
    widths = []
    for s in starts:
        ink = pixels[s : s + band] < threshold
        if not ink.any():
            continue
        ink = remove_small_holes(ink, max_size=8)  # pinholes of dithering and joins
        dist = distance_to_paper(ink)
        skel = skeletonize(ink)
        widths.append(2 * dist[skel] - 1)
    if not widths:
        return float("nan")
    # the upper quartile: skeleton spurs at ragged edges pull the median down
    return float(np.percentile(np.concatenate(widths), 75))


def distance_to_paper(ink: np.ndarray) -> np.ndarray:
    """Euclidean distance (px) from each ink pixel to the nearest paper pixel.

    The same values as ``scipy.ndimage.distance_transform_edt`` of ``ink`` with paper
    all around the image, in a fifth of the time: two exact passes (Felzenszwalb and
    Huttenlocher's lower envelope of parabolas) without the feature transform.

    Parameters
    ----------
    ink : (rows, cols) bool

    Returns
    -------
    (rows, cols) float64
        0 on paper; on ink the distance to the nearest paper pixel, where the pixels
        just outside the image count as paper.
    """
    ink = np.ascontiguousarray(ink, dtype=np.bool_)
    if ink.size == 0:
        return np.zeros(ink.shape)
    return _distance_to_paper(ink)


@numba.njit(cache=True, nogil=True)
def _distance_to_paper(ink: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    H, W = ink.shape
    # squared distance to the nearest paper pixel in the same column (rows -1 and H are
    # paper)
    g = np.empty((H, W), np.int64)
    for c in range(W):
        d = 0
        for r in range(H):
            d = d + 1 if ink[r, c] else 0
            g[r, c] = d
        d = 0
        for r in range(H - 1, -1, -1):
            d = d + 1 if ink[r, c] else 0
            if d < g[r, c]:
                g[r, c] = d
    # along each row: the lower envelope of the parabolas (q - p)^2 + g[r, p], with the
    # columns -1 and W as paper (g = 0)
    out = np.empty((H, W))
    n = W + 2
    v = np.empty(n, np.int64)
    z = np.empty(n + 1)
    f = np.empty(n, np.int64)
    for r in range(H):
        f[0] = 0
        f[n - 1] = 0
        for q in range(W):
            f[q + 1] = g[r, q] * g[r, q]
        k = 0
        v[0] = 0
        z[0] = -math.inf
        z[1] = math.inf
        for q in range(1, n):
            while True:
                p = v[k]
                s = ((f[q] + q * q) - (f[p] + p * p)) / (2.0 * (q - p))
                if s <= z[k] and k > 0:
                    k -= 1
                else:
                    break
            if s <= z[k]:  # k == 0 and the new parabola is lower everywhere
                v[0] = q
                z[1] = math.inf
            else:
                k += 1
                v[k] = q
                z[k] = s
                z[k + 1] = math.inf
        j = 0
        for q in range(1, n - 1):
            while z[j + 1] < q:
                j += 1
            p = v[j]
            out[r, q - 1] = math.sqrt((q - p) * (q - p) + f[p])
    return out


#: Median width (px) of the grid's vertical rules up to which a page is at the training
#: pages' scale and is not shrunk (:func:`working_factor`). The development pages' rules
#: measure 1 px (clean and scanned tiers; 2 to 3.5 px on some hard-tier pages, blurred
#: and bled); the same pages scaled up 2x (bilinear) 2 to 6 px, and segmented at full
#: size there some of their curves are lost. Of the five development pages whose strokes
#: measure 5 px, two have 1-px rules: segmented at full size, both gained a curve at
#: R² >= 0.95 and none of their curves fell (model card, session 45).
THIN_RULES = 1.5


def working_factor(width: float, *, target: float = 2.0, max_factor: int = 8,
                   rules: float | None = None) -> int:
    """Integer shrink factor that brings strokes of ``width`` px to about ``target`` px.

    Parameters
    ----------
    width : float
        Stroke width (px, :func:`stroke_width`); NaN: 1.
    target : float
        Stroke width (px) a shrunk scan's strokes are brought to; strokes under twice
        this are not shrunk.
    max_factor : int
        Largest factor returned.
    rules : float, optional
        Median width (px) of the grid's vertical rules (:func:`rule_width`): at most
        :data:`THIN_RULES`, the page is at the training pages' scale and the factor is 1.
        NaN or None: not known, decided by ``width`` alone.
    """
    if not np.isfinite(width) or width < 2 * target:
        return 1
    if rules is not None and np.isfinite(rules) and rules <= THIN_RULES:
        return 1
    return int(min(max_factor, max(1, np.floor(width / target))))


def rule_width(tracks: list[np.ndarray], *, min_rules: int = 3) -> float:
    """Median width (px) of the vertical ruled lines in a scan's tracks.

    Parameters
    ----------
    tracks : list of (rows, cols) uint8
        Each track's window of the scan (0 = ink), without its edge lines.
    min_rules : int
        Fewer rules found than this: NaN (not known). A grid has several; one or two
        "rules" may be a curve that stays near one column.

    A rule is a run of adjacent columns that :func:`logdigit.grid.rule_columns` finds
    dark over (nearly) the whole depth range.
    """
    widths = [b - a for px in tracks if px.ndim == 2 and px.shape[1] >= 3
              for a, b in _runs(rule_columns(px))]
    return float(np.median(widths)) if len(widths) >= max(1, min_rules) else float("nan")


def shrink(pixels: np.ndarray, k: int) -> np.ndarray:
    """Block-mean downscale by integer ``k`` (edges padded with paper).

    (rows, cols) uint8 -> (ceil(rows / k), ceil(cols / k)) uint8; a colour image
    (rows, cols, 3) is shrunk channel by channel the same way.
    """
    if k == 1:
        return pixels
    H, W = pixels.shape[:2]
    extra = pixels.shape[2:]
    Hp, Wp = -(-H // k) * k, -(-W // k) * k
    if (Hp, Wp) != (H, W):
        padded = np.full((Hp, Wp, *extra), 255, np.uint8)
        padded[:H, :W] = pixels
        pixels = padded
    blocks = pixels.reshape(Hp // k, k, Wp // k, k, *extra)
    return (blocks.mean(axis=(1, 3), dtype=np.float32) + 0.5).astype(np.uint8)


def expand_trace(x_low: np.ndarray, k: int, n_rows: int) -> np.ndarray:
    """Map a trace at working resolution back to full resolution.

    Parameters
    ----------
    x_low : (ceil(n_rows / k),) float
        x per working row in working-pixel coordinates (pixel centres), NaN in gaps.
    k : int
        Shrink factor used.
    n_rows : int
        Rows at full resolution.

    Returns
    -------
    (n_rows,) float
        x per full-resolution row in full-resolution pixel coordinates; NaN where the
        nearest working row is NaN.
    """
    if k == 1:
        return x_low[:n_rows].astype(np.float64)
    x_full = (x_low + 0.5) * k - 0.5
    centres = (np.arange(len(x_low)) + 0.5) * k - 0.5
    rows = np.arange(n_rows, dtype=np.float64)
    ok = np.isfinite(x_full)
    if not ok.any():
        return np.full(n_rows, np.nan)
    out = np.interp(rows, centres[ok], x_full[ok])
    nearest = np.clip(np.round((rows + 0.5) / k - 0.5).astype(int), 0, len(x_low) - 1)
    out[~ok[nearest]] = np.nan
    return out
