"""Trace a curve's centreline: one x per depth row, continuous across gaps and crossings.

The class-probability map of one curve class inside one track is turned into a cost per
pixel (``-log p``); pixels on the skeleton of the thresholded mask (the centrelines,
:func:`skimage.morphology.skeletonize`) get a bonus. A Viterbi pass over the rows finds the
path of least total cost where moving sideways between consecutive rows costs a little per
column along ink and much more per column across paper: the path follows the ink, passes
straight through short gaps (the gaps of a dashed line, a crossing with another curve),
follows sharp peaks drawn as horizontal strokes, and does not hop to another curve.
The path is refined to sub-pixel precision by the probability-weighted centroid around it.

Rows where the path is not supported by ink are gaps. Gaps up to ``max_gap`` rows are
bridged by linear interpolation between the supported rows on either side; longer gaps
are NaN (they become NULL in the LAS), never invented values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np

logger = logging.getLogger(__name__)

#: cost of a pixel with probability p/255: -log((p + 1) / 256), float32 lookup table
_COST_LUT = (-np.log((np.arange(256, dtype=np.float64) + 1.0) / 256.0)).astype(np.float32)


#: A row is supported by ink when the curve probability under its trace reaches this.
MIN_PROB = 0.25


@dataclass(frozen=True)
class Trace:
    """A traced curve.

    Attributes
    ----------
    x : (rows,) float64
        Column of the centreline in image pixels (pixel centres), NaN in gaps.
    confidence : (rows,) float32
        Class probability under the path, 0..1.
    path : (rows,) int32 or None
        The least-cost path's column in each row of the map traced (before the sub-pixel
        refinement and the bridging of gaps), for :func:`reroute_gaps`.
    """

    x: np.ndarray
    confidence: np.ndarray
    path: np.ndarray | None = None

    @property
    def coverage(self) -> float:
        """Fraction of rows with a value."""
        return float(np.isfinite(self.x).mean()) if len(self.x) else 0.0


def _back_pointers(shape: tuple[int, int]) -> np.ndarray:
    """The array :func:`_viterbi` keeps its back pointers in: the narrowest integer that
    holds a column."""
    return np.empty(shape, np.int16 if shape[1] < 2**15 else np.int32)


@numba.njit(cache=True, nogil=True)
def _viterbi(prob: np.ndarray, skeleton: np.ndarray, lut: np.ndarray, bonus: float,
             jump_ink: float, jump_paper: float, wrap: float, start: int, end: int,
             link: np.ndarray | None, back: np.ndarray
             ) -> np.ndarray:  # pragma: no cover - jitted
    """Least-cost path through (rows, cols), one column per row.

    A pixel costs ``lut[prob] - bonus * skeleton`` (computed here, row by row: no
    full-size cost image is made).

    Moving one column sideways between rows r-1 and r costs
    ``jump_ink + jump_paper * (1 - p)``, with p the larger probability of the two rows at
    that column: following a horizontal stroke of ink (a sharp peak) is cheap, jumping
    across empty paper to another curve is expensive. With ``wrap >= 0`` the first and
    last columns are also neighbours at cost ``wrap`` (a curve on a backup scale leaves
    the track at one edge and comes back at the other). ``start`` and ``end`` (>= 0) pin
    the path's column in the first and last row. ``link`` (same shape, optional) raises
    p for the sideways moves only (:func:`row_gap_links`), not for the pixel costs.
    ``back`` (H, W) receives the back pointers (:func:`_back_pointers`: int16 where
    W < 32,768, which halves the largest array and takes a sixth off the time).
    """
    H, W = prob.shape
    bn = np.float32(bonus)
    acc = np.empty(W, np.float32)
    for x in range(W):
        acc[x] = lut[prob[0, x]] - bn * skeleton[0, x]
        if start >= 0 and x != start:
            acc[x] = np.float32(1e30)
    d = np.empty(W, np.float32)
    arg = np.empty(W, np.int32)
    w = np.empty(W, np.float32)
    a = np.float32(jump_ink)
    b = np.float32(jump_paper / 255.0)
    for r in range(1, H):
        for x in range(W):
            d[x] = acc[x]
            arg[x] = x
            p = max(prob[r, x], prob[r - 1, x])
            if link is not None:
                p = max(p, link[r, x], link[r - 1, x])
            w[x] = a + b * np.float32(255 - p)
        for x in range(1, W):
            v = d[x - 1] + 0.5 * (w[x - 1] + w[x])
            if v < d[x]:
                d[x] = v
                arg[x] = arg[x - 1]
        for x in range(W - 2, -1, -1):
            v = d[x + 1] + 0.5 * (w[x + 1] + w[x])
            if v < d[x]:
                d[x] = v
                arg[x] = arg[x + 1]
        if wrap >= 0 and W > 1:  # the track as a cylinder: one more sweep each way
            if d[W - 1] + wrap < d[0]:
                d[0] = d[W - 1] + wrap
                arg[0] = arg[W - 1]
                for x in range(1, W):
                    v = d[x - 1] + 0.5 * (w[x - 1] + w[x])
                    if v < d[x]:
                        d[x] = v
                        arg[x] = arg[x - 1]
            if d[0] + wrap < d[W - 1]:
                d[W - 1] = d[0] + wrap
                arg[W - 1] = arg[0]
                for x in range(W - 2, -1, -1):
                    v = d[x + 1] + 0.5 * (w[x + 1] + w[x])
                    if v < d[x]:
                        d[x] = v
                        arg[x] = arg[x + 1]
        m = d[0]
        for x in range(W):
            back[r, x] = arg[x]
            if d[x] < m:
                m = d[x]
        for x in range(W):  # subtract the minimum: keeps float32 precise on long scans
            acc[x] = d[x] - m + (lut[prob[r, x]] - bn * skeleton[r, x])
    path = np.empty(H, np.int32)
    best = 0
    for x in range(1, W):
        if acc[x] < acc[best]:
            best = x
    path[H - 1] = best if end < 0 else end
    for r in range(H - 1, 0, -1):
        path[r - 1] = back[r, path[r]]
    return path


@numba.njit(cache=True, nogil=True)
def _centroid(prob, r, lo, hi):  # pragma: no cover - jitted
    sw = 0.0
    sx = 0.0
    for k in range(lo, hi + 1):
        p = prob[r, k]
        if p >= 64:
            sw += float(p)
            sx += float(p) * k
    return sx / sw if sw > 0 else -1.0


@numba.njit(cache=True, nogil=True)
def _runs_under(prob: np.ndarray, path: np.ndarray):  # pragma: no cover - jitted
    """Per row, the run of ink (probability >= 0.5) the path sits on: (lo, hi), -1 if none."""
    H, W = prob.shape
    lo = np.full(H, -1, np.int64)
    hi = np.full(H, -1, np.int64)
    for r in range(H):
        c = path[r]
        if prob[r, c] >= 128:
            a = c
            b = c
            while a > 0 and prob[r, a - 1] >= 128:
                a -= 1
            while b < W - 1 and prob[r, b + 1] >= 128:
                b += 1
            lo[r] = a
            hi[r] = b
    return lo, hi


@numba.njit(cache=True, nogil=True)
def _line_width(lo: np.ndarray, hi: np.ndarray) -> float:  # pragma: no cover - jitted
    """Median run width (px) over the rows where the line runs straight down: both ends
    of the run within 1 px of those of the rows above and below (-1: too few such rows)."""
    H = len(lo)
    widths = np.empty(H, np.float64)
    n = 0
    for r in range(1, H - 1):
        if lo[r - 1] < 0 or lo[r] < 0 or lo[r + 1] < 0:
            continue
        if (abs(lo[r] - lo[r - 1]) <= 1 and abs(lo[r + 1] - lo[r]) <= 1
                and abs(hi[r] - hi[r - 1]) <= 1 and abs(hi[r + 1] - hi[r]) <= 1):
            widths[n] = hi[r] - lo[r] + 1
            n += 1
    if n < 8:
        return -1.0
    return float(np.median(widths[:n]))


@numba.njit(cache=True, nogil=True)
def _refine(prob: np.ndarray, path: np.ndarray, radius: int, tips: bool, onward: int
            ):  # pragma: no cover - jitted
    """Sub-pixel x per row and the peak probability under the path.

    Normally the probability-weighted centroid within ``radius`` of the path. Where the
    path sits on a horizontal stroke (a run of ink wider than a line: a sharp peak), the
    value of that row is the stroke's far end as seen from the previous row, so peaks keep
    their full amplitude; but where the next row's run reaches on beyond that end by more
    than ``onward`` px (``onward >= 0``), the stroke is a steep stretch of a rough curve
    passing through the row, not a tip, and its value is the centroid of the whole run
    (a straight stroke's ink in a row is centred on the curve's value at the row's
    centre; its far end overshoots by half the row's step). With ``tips``, a shorter run
    that reaches further out on one side than the runs of the rows above and below is a
    jagged curve's turning point: its value is the line's centre at that end of the run,
    not the run's centroid (which cuts every peak of a jagged curve short by up to half
    its last step).
    """
    H, W = prob.shape
    x = np.empty(H, np.float64)
    conf = np.empty(H, np.float32)
    lo_run, hi_run = _runs_under(prob, path)
    half = -1.0
    if tips:
        w = _line_width(lo_run, hi_run)
        if w > 0:
            half = 0.5 * (w - 1.0)
    prev = -1.0
    for r in range(H):
        c = path[r]
        pk = 0
        for k in range(max(0, c - radius), min(W - 1, c + radius) + 1):
            if prob[r, k] > pk:
                pk = prob[r, k]
        conf[r] = pk / 255.0
        lo = c
        hi = c
        if lo_run[r] >= 0:
            lo = lo_run[r]
            hi = hi_run[r]
        # a run reaching a track edge or across most of the track is a crossing line,
        # not a peak
        v = -1.0
        if 2 * radius < hi - lo < 0.8 * W and lo > 0 and hi < W - 1 and prev >= 0:
            end = lo if abs(lo - prev) > abs(hi - prev) else hi
            # a pen stroke to a peak tip joins ink in the next or previous row at the tip;
            # the end of a crossing line does not
            joined = False
            for rr in (r - 1, r + 1):
                if 0 <= rr < H:
                    for k in range(max(0, end - radius), min(W - 1, end + radius) + 1):
                        if prob[rr, k] >= 128:
                            joined = True
            through = False
            if onward >= 0 and r + 1 < H and lo_run[r + 1] >= 0:
                if end == hi:
                    through = hi_run[r + 1] > hi + onward
                else:
                    through = lo_run[r + 1] < lo - onward
            if through:
                v = _centroid(prob, r, lo, hi)
            elif joined:
                if end == lo:
                    v = _centroid(prob, r, lo, lo + radius)
                else:
                    v = _centroid(prob, r, hi - radius, hi)
        # a turning point (also one drawn as a stroke wider than the radius, which a
        # polyline cut into rows gives: its row reaches out to the vertex, the rows
        # either side only halfway)
        if (v < 0 and half >= 0 and 0 < r < H - 1 and lo_run[r] >= 0 and lo_run[r - 1] >= 0
              and lo_run[r + 1] >= 0 and hi - lo > 2 * half + 1 and lo > 0 and hi < W - 1):
            right = hi > max(hi_run[r - 1], hi_run[r + 1])
            left = lo < min(lo_run[r - 1], lo_run[r + 1])
            if right and not left:
                v = hi - half
            elif left and not right:
                v = lo + half
        if v < 0:
            v = _centroid(prob, r, max(0, c - radius), min(W - 1, c + radius))
        x[r] = v if v >= 0 else float(c)
        prev = x[r]
    return x, conf


def bridge_gaps(x: np.ndarray, supported: np.ndarray, *, max_gap: int,
                max_jump: float = np.inf) -> np.ndarray:
    """Interpolate unsupported runs up to ``max_gap`` rows between supported rows; NaN else.

    Runs whose two ends are more than ``max_jump`` columns apart (a wrap to a backup
    scale) are not interpolated across the track either: the path's own columns stay.
    """
    out = np.where(supported, x, np.nan)
    idx = np.flatnonzero(supported)
    if len(idx) == 0:
        return out
    gaps = np.diff(idx) - 1
    for i in np.flatnonzero((gaps > 0) & (gaps <= max_gap)):
        a, b = idx[i], idx[i + 1]
        if abs(x[b] - x[a]) > max_jump:
            out[a + 1 : b] = x[a + 1 : b]
        else:
            out[a + 1 : b] = np.interp(np.arange(a + 1, b), [a, b], [x[a], x[b]])
    return out


def trace_curve(
    prob: np.ndarray,
    *,
    x_offset: float = 0.0,
    jump_ink: float = 0.005,
    jump_paper: float = 1.0,
    min_prob: float = MIN_PROB,
    max_gap: int = 24,
    radius: int = 6,
    skeleton_bonus: float = 1.0,
    wrap: float | None = None,
    skeleton: np.ndarray | None = None,
    tips: bool = True,
    onward: int = 3,
    link: np.ndarray | None = None,
) -> Trace:
    """Trace one curve through a class-probability map.

    Parameters
    ----------
    prob : (rows, cols) uint8
        Probability (0..255) that a pixel belongs to this curve's class, over the track's
        columns only.
    x_offset : float
        Image column of ``prob[:, 0]``; added to the returned x.
    jump_ink, jump_paper : float
        Cost per column of sideways movement between consecutive rows (in units of
        ``-log p``) along ink and across paper: following a stroke stays cheap, jumping
        across paper to other ink does not pay. On the dev cases (310 curves, session
        17) ``jump_ink`` 0.005 put 255 at R² >= 0.95 and 203 at >= 0.99 against 253 and
        199 with 0.02 (14 up, 11 down by more than 0.005; mean clipped R² 0.9373 against
        0.9391, one curve falling from 0.85 to 0.20); 0.01 gave 254 / 201, 0 gave
        254 / 203. Rough curves, drawn as a zigzag of horizontal strokes, gain most.
    min_prob : float
        A row is supported by ink when the probability under the path reaches this.
    max_gap : int
        Longest run of unsupported rows (px) bridged by interpolation; longer runs are NaN.
    radius : int
        Half-width (px) of the window for the sub-pixel centroid.
    skeleton_bonus : float
        Cost reduction on skeleton (centreline) pixels of the mask ``prob >= 0.5``; 0 turns
        skeletonization off.
    wrap : float, optional
        For a curve with backup scales: the cost of leaving the track at one edge and
        coming back at the other between two rows (the first and last columns of ``prob``
        become neighbours). None: no wrapping.
    skeleton : (rows, cols) bool, optional
        Centrelines already found (:func:`centrelines`) on a map that ``prob`` was cut
        from (:func:`exclude_trace`); only those on ``prob``'s own mask count. Saves
        skeletonizing the same ink again for the second curve of a track.
    tips : bool
        Read a jagged curve's turning points at the end of their row's run of ink, less
        half the line width, rather than at the run's centroid (:func:`_refine`).
    link : (rows, cols) uint8, optional
        Paper that counts as ink for sideways moves only (:func:`row_gap_links`: the
        gaps between the dashes of a dashed curve drawn nearly horizontally), so that the
        path can follow such a stroke out to its tip instead of cutting across.
    onward : int
        A horizontal stroke whose next row's run reaches more than this many px further
        on is read at its centroid, not at its far end (:func:`_refine`); -1: always the
        far end. On the pick and dev cases (310 curves, session 14), 3 put 241 at
        R² >= 0.95 against 239 with -1 (24 up, 11 down by more than 0.005); 0 and 1
        gave 240.

    Returns
    -------
    Trace
    """
    if prob.dtype != np.uint8 or prob.ndim != 2:
        raise ValueError("prob must be a 2-D uint8 array")
    H, W = prob.shape
    if H == 0 or W == 0:
        return Trace(np.full(H, np.nan), np.zeros(H, np.float32))
    prob = np.ascontiguousarray(prob)
    if not skeleton_bonus:
        on_line = np.zeros_like(prob)
    elif skeleton is None:
        on_line = centrelines(prob).view(np.uint8)
    else:
        if skeleton.shape != prob.shape:
            raise ValueError(f"skeleton shape {skeleton.shape} is not prob's {prob.shape}")
        on_line = (np.asarray(skeleton, bool) & (prob >= 128)).view(np.uint8)
    if link is not None and np.shape(link) != prob.shape:
        raise ValueError(f"link shape {np.shape(link)} is not prob's {prob.shape}")
    path = _viterbi(prob, on_line, _COST_LUT, float(skeleton_bonus), float(jump_ink),
                    float(jump_paper), -1.0 if wrap is None else float(wrap), -1, -1,
                    None if link is None else np.ascontiguousarray(link, np.uint8),
                    _back_pointers(prob.shape))
    x, conf = _refine(prob, path, int(radius), bool(tips), int(onward))
    supported = conf >= min_prob
    x = bridge_gaps(x, supported, max_gap=int(max_gap),
                    max_jump=np.inf if wrap is None else W / 2)
    return Trace(x=x + float(x_offset), confidence=conf, path=path)


def unsupported_runs(confidence: np.ndarray, *, doubtful: np.ndarray | None = None,
                     min_prob: float = MIN_PROB, min_rows: int = 3,
                     max_rows: int = 96) -> list[tuple[int, int]]:
    """Stretches of ``min_rows`` to ``max_rows`` rows under ``min_prob`` between supported rows.

    Parameters
    ----------
    confidence : (rows,) float
        A trace's confidence (:class:`Trace`).
    doubtful : (rows,) bool, optional
        Rows that count as unsupported whatever their confidence.

    Returns
    -------
    list of (a, b)
        The supported rows either side: the stretch is rows ``a + 1 .. b - 1``.
    """
    H = len(confidence)
    low = np.asarray(confidence) < min_prob
    if doubtful is not None:
        doubtful = np.asarray(doubtful, bool)
        if doubtful.shape != low.shape:
            raise ValueError(f"doubtful must have {H} entries, got {doubtful.shape}")
        low |= doubtful
    low = np.flatnonzero(low)
    if len(low) == 0:
        return []
    out = []
    for run in np.split(low, np.flatnonzero(np.diff(low) > 1) + 1):
        a, b = int(run[0]) - 1, int(run[-1]) + 1
        if a >= 0 and b < H and min_rows <= len(run) <= max_rows:
            out.append((a, b))
    return out


def straight_stretches_only(flags: np.ndarray, x: np.ndarray, *, max_spread: float
                            ) -> np.ndarray:
    """Keep only the runs of ``flags`` over which ``x`` runs straight down.

    A trace that follows a vertical rule keeps one column; a curve that crosses a rule at
    a shallow angle moves across it. Each run of consecutive True ``flags`` is kept when
    the finite ``x`` on its rows span at most ``max_spread`` columns (max - min), and
    cleared otherwise (a run with no finite ``x`` is kept).

    Parameters
    ----------
    flags : (rows,) bool
        E.g. the rows where a trace lies on a vertical rule.
    x : (rows,) float
        The trace (columns), NaN in gaps.
    max_spread : float
        Largest spread (columns) of a run that is kept.

    Returns
    -------
    (rows,) bool
        A new array.
    """
    from .calibrate import _runs

    flags = np.asarray(flags, bool)
    x = np.asarray(x, np.float64)
    if flags.shape != x.shape:
        raise ValueError(f"flags {flags.shape} and x {x.shape} differ in shape")
    out = flags.copy()
    for r0, r1 in _runs(flags):
        xs = x[r0:r1]
        xs = xs[np.isfinite(xs)]
        if xs.size and xs.max() - xs.min() > max_spread:
            out[r0:r1] = False
    return out


def ink_along(route: np.ndarray, rows: np.ndarray, cols: np.ndarray, *,
              min_ink: int = 128, away_from: np.ndarray | None = None,
              radius: float = 0.0) -> tuple[int, int]:
    """Pixels on ink and in all along a way through ``route``, its points joined by
    straight segments.

    Parameters
    ----------
    route : (rows, cols) uint8
        Probability map.
    rows, cols : (n,) int
        The way's points, one per row (``rows`` increasing, consecutive).
    min_ink : int
        Probability (0..255) that counts as ink.
    away_from : (n,) float, optional
        Another way's columns on the same rows: only the pixels more than ``radius``
        columns from it (on their row) count.
    radius : float
        See ``away_from``.

    Returns
    -------
    (int, int)
        Pixels of the way on ink, and pixels of the way (its length in px, about).
    """
    H, W = route.shape
    on = total = 0
    for i in range(len(rows) - 1):
        r0, c0, r1, c1 = int(rows[i]), int(cols[i]), int(rows[i + 1]), int(cols[i + 1])
        n = max(abs(r1 - r0), abs(c1 - c0), 1)
        t = np.arange(n) / n  # each segment without its end: the next one starts there
        rr = np.clip(np.rint(r0 + (r1 - r0) * t).astype(np.int64), 0, H - 1)
        cc = np.clip(np.rint(c0 + (c1 - c0) * t).astype(np.int64), 0, W - 1)
        if away_from is not None:
            base = away_from[i] + (away_from[i + 1] - away_from[i]) * t
            far = np.abs(cc - base) > radius
            rr, cc = rr[far], cc[far]
        on += int(np.count_nonzero(route[rr, cc] >= min_ink))
        total += len(rr)
    return on, total


def reroute_gaps(
    prob: np.ndarray,
    trace: Trace,
    *,
    route: np.ndarray | None = None,
    x_offset: float = 0.0,
    jump_ink: float = 0.02,
    jump_paper: float = 0.1,
    min_prob: float = MIN_PROB,
    min_ink: int = 128,
    min_support: float = 0.5,
    min_rows: int = 3,
    max_gap: int = 24,
    radius: int = 6,
    tips: bool = True,
    onward: int = 3,
    doubtful: np.ndarray | None = None,
    max_rows: int | None = None,
    min_ink_share: float = 0.0,
) -> Trace:
    """Retrace the stretches a trace crossed on paper where unclaimed ink offers a way.

    :func:`trace_curve` charges a sideways move across paper much more than one along
    ink, so that a path does not hop to another curve. A sharp peak of a dashed or dotted
    curve (or of a faint one the segmenter saw in pieces) pays that charge at every gap on
    the way out and back, and the path cuts straight across the peak's base instead: a
    stretch of rows unsupported by ink, later bridged by a straight line. Each such
    stretch (``min_rows`` to ``max_rows`` rows), and each stretch of ``doubtful`` rows
    (in :mod:`logdigit.convert`: where the trace runs along a vertical rule, which a
    poor segmenter gives curve probability on a dark grid and a dashed curve beside it
    cannot compete with), is searched again on
    ``route`` with sideways moves across paper costing only ``jump_paper`` per column,
    pinned to the path's columns in the supported rows either side; the new way is kept
    where at least ``min_support`` of its rows lie on ink of ``route`` (probability >=
    ``min_ink``), and as large a share of the rows where it runs more than ``radius``
    columns off the old path (a detour over paper to the faint fringe of another stroke
    is no peak; dev cases, 310 curves: 277 at R² >= 0.95 against 276, 2 up, none down).

    Parameters
    ----------
    prob : (rows, cols) uint8
        The map ``trace`` was traced on (:func:`trace_curve` with the same ``x_offset``);
        the new trace's sub-pixel columns and confidence are read on it.
    trace : Trace
        From :func:`trace_curve`, with its ``path``; returned unchanged without one.
    route : (rows, cols) uint8, optional
        Where the new ways may run (default ``prob``): ``prob`` without the ink of the
        track's other curves (:func:`exclude_trace`), so a peak is never found on
        another curve.
    x_offset : float
        Image column of ``prob[:, 0]``, as given to :func:`trace_curve`.
    jump_ink, jump_paper : float
        Sideways cost per column along ink and across paper while searching a stretch
        again (``jump_paper`` a tenth of :func:`trace_curve`'s).
    min_prob, max_gap, radius, tips, onward :
        As in :func:`trace_curve`.
    min_ink : int
        Probability (0..255) that counts as ink for ``min_support``.
    min_support : float
        Share of a stretch's rows the new way must find ink on.
    min_rows : int
        Shorter unsupported stretches (a dash gap on a straight line) are left alone.
    doubtful : (rows,) bool, optional
        Rows whose support does not count: searched again like unsupported ones; a
        stretch of them up to ``max_gap`` rows where no new way is found becomes a gap,
        bridged straight (a dash gap the path had filled with a rule beside it). On the
        310 dev curves: 246 at R² >= 0.95 against 244 without that.
    max_rows : int, optional
        Longest stretch searched again (default: no limit).
    min_ink_share : float
        A new way that runs more than ``radius`` columns off the old path is kept only
        if, along its length off the old path (px more than ``radius`` columns from it,
        its rows' columns joined by straight segments: :func:`ink_along`), the share on
        ink reaches ``min_ink_share`` times the share of the old path's rows on ink: a
        peak is drawn in the curve's own ink, dashes or dots as often as elsewhere, while
        a way out to a speck of noise and straight back, a few rows long, is mostly
        paper. 0: no such test.

    Returns
    -------
    Trace
        ``trace`` itself when nothing changed.
    """
    if trace.path is None:
        return trace
    if prob.shape != (len(trace.path), prob.shape[1]) or prob.dtype != np.uint8:
        raise ValueError(f"prob must be uint8 with {len(trace.path)} rows, got "
                         f"{prob.dtype} {prob.shape}")
    route = prob if route is None else np.ascontiguousarray(route)
    if route.shape != prob.shape:
        raise ValueError(f"route shape {route.shape} is not prob's {prob.shape}")
    n, W = prob.shape
    doubtful = None if doubtful is None else np.asarray(doubtful, bool)
    path = None
    gaps = np.zeros(n, bool)  # doubtful rows left as they were: a gap if short
    duty = None  # the share of the path's rows on ink, once needed
    for a, b in unsupported_runs(trace.confidence, doubtful=doubtful, min_prob=min_prob,
                                 min_rows=min_rows,
                                 max_rows=n if max_rows is None else max_rows):
        found = False
        if (route[a + 1:b] >= min_ink).any():
            cand = _viterbi(route[a:b + 1], np.zeros((b + 1 - a, W), np.uint8), _COST_LUT,
                            0.0, float(jump_ink), float(jump_paper), -1.0,
                            int(trace.path[a]), int(trace.path[b]), None,
                            _back_pointers((b + 1 - a, W)))[1:-1]
            on_ink = route[np.arange(a + 1, b), cand] >= min_ink
            # the rows where the new way leaves the old one must be on ink: a detour
            # over paper to another curve's fringe is no peak
            moved = np.abs(cand - trace.path[a + 1:b]) > radius
            kept = on_ink.mean() >= min_support and (not moved.any()
                                                     or on_ink[moved].mean() >= min_support)
            if kept and min_ink_share > 0 and moved.any():
                # a way that moves is drawn with some of the curve's ink
                if duty is None:
                    duty = float(np.mean(route[np.arange(n), trace.path] >= min_ink))
                on, length = ink_along(route, np.arange(a, b + 1), np.concatenate(
                    ([trace.path[a]], cand, [trace.path[b]])), min_ink=min_ink,
                    away_from=trace.path[a:b + 1].astype(np.float64), radius=radius)
                kept = on >= min_ink_share * duty * length
            if kept:
                if path is None:
                    path = trace.path.copy()
                path[a + 1:b] = cand
                found = True
        if (not found and doubtful is not None and b - a - 1 <= max_gap
                and doubtful[a + 1:b].all()):
            gaps[a + 1:b] = True
    if path is None and not gaps.any():
        return trace
    if path is None:
        path = trace.path
    x, conf = _refine(np.ascontiguousarray(prob), path, int(radius), bool(tips),
                      int(onward))
    x = bridge_gaps(x, (conf >= min_prob) & ~gaps, max_gap=int(max_gap))
    return Trace(x=x + float(x_offset), confidence=conf, path=path)


def centrelines(prob: np.ndarray) -> np.ndarray:
    """Centrelines of the mask ``prob >= 128``: its skeleton (Zhang's thinning).

    Parameters
    ----------
    prob : (rows, cols) uint8

    Returns
    -------
    (rows, cols) bool
    """
    from skimage.morphology import skeletonize

    mask = np.asarray(prob) >= 128
    return skeletonize(mask) if mask.any() else mask


@numba.njit(cache=True, nogil=True)
def _exclude(prob, x, half_width):  # pragma: no cover - jitted
    H, W = prob.shape
    for r in range(H):
        if not np.isfinite(x[r]):
            continue
        lo = max(0, int(np.floor(x[r] - half_width)))
        hi = min(W - 1, int(np.ceil(x[r] + half_width)))
        # the whole run of ink the path sits on (a horizontal stroke) belongs to it too
        while lo > 0 and prob[r, lo - 1] >= 128:
            lo -= 1
        while hi < W - 1 and prob[r, hi + 1] >= 128:
            hi += 1
        for k in range(lo, hi + 1):
            prob[r, k] = 0


def exclude_trace(prob: np.ndarray, x: np.ndarray, *, half_width: float) -> np.ndarray:
    """A copy of ``prob`` without the ink of a traced curve.

    Parameters
    ----------
    prob : (rows, cols) uint8
    x : (rows,) float
        The other curve's centreline in the columns of ``prob``; NaN rows are left alone.
    half_width : float
        Half-width (px) of the band removed around ``x``; the band is widened to the whole
        run of ink (probability >= 0.5) it touches, so horizontal strokes go too.

    Used so that the ink of a curve already traced in a track is never given to a second
    curve of the same track; at crossings the second trace bridges the band as a gap.
    """
    out = np.ascontiguousarray(prob).copy()
    _exclude(out, np.asarray(x, np.float64), float(half_width))
    return out


def _sample(img: np.ndarray, x: np.ndarray, reach: int) -> np.ndarray:
    """Per row, the largest value of ``img`` within ``reach`` px of ``x`` (NaN rows -> NaN).

    Signed images keep their sign: a row whose values are all negative reads negative.
    """
    H, W = img.shape
    out = np.full(H, np.nan)
    ok = np.isfinite(x)
    rows = np.flatnonzero(ok)
    xi = np.clip(np.round(x[ok]).astype(np.int64), 0, W - 1)
    best = np.full(len(rows), -np.inf)
    for dx in range(-reach, reach + 1):
        best = np.maximum(best, img[rows, np.clip(xi + dx, 0, W - 1)])
    out[rows] = best
    return out


@numba.njit(cache=True, nogil=True)
def _path_span(x, r, W):  # pragma: no cover - jitted
    """Columns c0..c1 of row ``r`` on the path: halfway to the neighbouring rows' x."""
    lo = x[r]
    hi = x[r]
    for q in (r - 1, r + 1):
        if 0 <= q < len(x) and np.isfinite(x[q]):
            lo = min(lo, 0.5 * (x[q] + x[r]))
            hi = max(hi, 0.5 * (x[q] + x[r]))
    return max(0, int(np.round(lo))), min(W - 1, int(np.round(hi)))


@numba.njit(cache=True, nogil=True)
def _arc_values(dark, x, skip, lo_row, hi_row):  # pragma: no cover - jitted
    H, W = dark.shape
    n = 0
    for r in range(lo_row, hi_row):  # first pass: how many path pixels
        if np.isfinite(x[r]) and not skip[r]:
            c0, c1 = _path_span(x, r, W)
            n += c1 - c0 + 1
    out = np.zeros(n, dark.dtype)
    k = 0
    for r in range(lo_row, hi_row):
        if not np.isfinite(x[r]) or skip[r]:
            continue
        c0, c1 = _path_span(x, r, W)
        wide = c1 - c0 >= 2  # a horizontal stroke may sit a row off, a steep one a column
        for c in range(c0, c1 + 1):
            v = dark[r, c]
            if wide:
                if r > 0:
                    v = max(v, dark[r - 1, c])
                if r + 1 < H:
                    v = max(v, dark[r + 1, c])
            else:
                if c > 0:
                    v = max(v, dark[r, c - 1])
                if c + 1 < W:
                    v = max(v, dark[r, c + 1])
            out[k] = v
            k += 1
    return out


def arc_darkness(dark: np.ndarray, x: np.ndarray, *, rows: tuple[int, int] | None = None,
                 skip_rows: np.ndarray | None = None) -> np.ndarray:
    """The scan's darkness along a trace's path, pixel by pixel of arc length.

    In each row the path covers the columns from halfway to the previous row's position
    to halfway to the next one's, so a steep stretch drawn as a horizontal stroke yields
    every pixel of that stroke: the dash gaps of a jagged dashed or dotted curve lie
    mostly on such strokes, where one sample per row would miss them. Each pixel reads
    the darkest of itself and its neighbours across the path (the rows above and below
    on a horizontal stroke, the columns left and right on a steep one), so a trace a
    pixel off a thin line still finds it while the gaps along the path stay open.

    Parameters
    ----------
    dark : (rows, cols) integer array
        Darkness: how much darker than the paper each pixel is.
    x : (rows,) float
        The trace (columns of ``dark``), NaN in gaps.
    rows : (start, stop), optional
        Only this row range of the trace (default: all of it).
    skip_rows : (rows,) bool, optional
        Rows left out (horizontal rules are dark across the whole track).

    Returns
    -------
    (n,) array of ``dark``'s dtype
        One value per path pixel, row by row.
    """
    x = np.asarray(x, np.float64)
    skip = np.zeros(len(x), np.bool_) if skip_rows is None else np.asarray(skip_rows, np.bool_)
    a, b = rows if rows is not None else (0, len(x))
    return _arc_values(np.ascontiguousarray(dark), x, skip, int(a), int(b))


def ink_level(values: np.ndarray) -> float:
    """How dark a path's own ink is: the 80th percentile of its darkness
    (:func:`arc_darkness`), so a dotted curve whose gaps are most of its length is still
    measured by its dots."""
    return float(np.percentile(values, 80))


def path_continuity(values: np.ndarray) -> float:
    """Share of a path's pixels at least half as dark as the path's own ink
    (:func:`ink_level`): a faint solid line is measured against its own faint ink rather
    than a bold neighbour's.
    """
    ref = ink_level(values)
    if ref <= 0:
        return 0.0
    return float(np.mean(values >= 0.5 * ref))


def stroke_widths(dark: np.ndarray, x: np.ndarray, rows: np.ndarray, *, level: float,
                  reach: int = 12) -> np.ndarray:
    """Widths (px) of a trace's line across the rows where it runs steeply down the track.

    Parameters
    ----------
    dark : (rows, cols) integer array
        Darkness: how much darker than the paper each pixel is.
    x : (rows,) float
        The trace (columns of ``dark``), NaN in gaps.
    rows : (n,) int
        Rows to measure; rows where the trace is NaN or moves more than 2 px from the
        row above to the row below (a slanted line's row cut is wider than the line) are
        left out, and so are rows whose pixel under the trace is lighter than ``level``.
    level : float
        Darkness from which a pixel is ink.
    reach : int
        Widest run measured on each side of the trace (px).

    Returns
    -------
    (m,) float
        Per measured row, the length of the run of pixels at least ``level`` dark
        through the trace's column, ``m <= n``.
    """
    H, W = dark.shape
    rows = np.asarray(rows, np.int64)
    rows = rows[np.isfinite(x[rows])]
    padded = np.concatenate([[np.nan], np.asarray(x, np.float64), [np.nan]])
    slope = np.abs(padded[rows + 2] - padded[rows])  # x[r + 1] - x[r - 1]
    rows = rows[np.nan_to_num(slope, nan=np.inf) <= 2]
    if not len(rows):
        return np.empty(0)
    cols = np.clip(np.round(x[rows]).astype(np.int64)[:, None]
                   + np.arange(-reach, reach + 1)[None, :], 0, W - 1)
    on = dark[rows[:, None], cols] >= level
    left = np.cumprod(on[:, reach::-1], axis=1).sum(axis=1)  # runs out from the centre
    right = np.cumprod(on[:, reach:], axis=1).sum(axis=1)
    width = left + right - 1
    return width[on[:, reach]].astype(np.float64)


def pen_signature(dark: np.ndarray, x: np.ndarray, spans: list[tuple[int, int]], *,
                  skip_rows: np.ndarray | None = None, min_rows: int = 8,
                  along: np.ndarray | None = None) -> np.ndarray | None:
    """What the pen that drew a trace looks like over some stretches: width and darkness.

    A curve is drawn with one pen down the whole log, so where two curves of a track
    differ in line width or ink (a thin faint solid line beside a bold dashed one), this
    tells their stretches apart whatever the line style looks like in between.

    Parameters
    ----------
    dark : (rows, cols) integer array
        Darkness of the scan (how much darker than the paper).
    x : (rows,) float
        The trace, NaN in gaps.
    spans : list of (start, stop)
        The row ranges measured.
    skip_rows : (rows,) bool, optional
        Rows left out (horizontal grid rules).
    min_rows : int
        Rows with a measured width needed for a signature.
    along : (n,) array, optional
        The darkness along the path over ``spans`` if already measured
        (:func:`arc_darkness` with the same ``skip_rows``).

    Returns
    -------
    (2,) float or None
        ``[log2(median width + 0.5), ink darkness / 64]`` (:func:`ink_level`); None when
        too little of the line was measured.
    """
    if along is None:
        along = np.concatenate([arc_darkness(dark, x, rows=s, skip_rows=skip_rows)
                                for s in spans])
    if len(along) < 2 * min_rows:
        return None
    ink = ink_level(along)
    if ink <= 0:
        return None
    rows = np.concatenate([np.arange(a, b) for a, b in spans])
    if skip_rows is not None:
        rows = rows[~np.asarray(skip_rows, bool)[rows]]
    widths = stroke_widths(dark, x, rows, level=0.5 * ink)
    if len(widths) < min_rows:
        return None
    return np.array([np.log2(np.median(widths) + 0.5), ink / 64.0])


#: Pen signatures (:func:`pen_signature`) this far apart (L1: 0.6 is a width ratio of about
#: 1.5) and split between the two traces in this share of the stretches count as two pens.
PEN_MIN_SEPARATION = 0.6
PEN_MIN_SPLIT = 0.7


def _two_pens(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The two pens of a track from the signatures of both traces over many stretches.

    ``pairs`` is (n, 2, 2): per stretch, the two traces' signatures. A 2-means over all
    signatures, started at the thinnest and the widest; the pens count only when the
    centres are :data:`PEN_MIN_SEPARATION` apart and the two traces of at least
    :data:`PEN_MIN_SPLIT` of the stretches fall in different clusters (one pen each):
    a few outliers (a line along a fill's edge) do not make a second pen.
    """
    feats = pairs.reshape(-1, 2)
    centres = np.array([feats[np.argmin(feats[:, 0])], feats[np.argmax(feats[:, 0])]])
    label = np.zeros(len(feats), np.int64)
    for _ in range(10):
        label = np.abs(feats[:, None, :] - centres[None]).sum(axis=2).argmin(axis=1)
        if label.min() == label.max():
            return None
        new = np.array([feats[label == 0].mean(axis=0), feats[label == 1].mean(axis=0)])
        if np.allclose(new, centres):
            break
        centres = new
    split = float(np.mean(label[0::2] != label[1::2]))
    if np.abs(centres[0] - centres[1]).sum() < PEN_MIN_SEPARATION or split < PEN_MIN_SPLIT:
        return None
    return centres[0], centres[1]


def pen_decisions(base: np.ndarray, pens: list, sizes: np.ndarray, *, margin: float,
                  pen_weight: float) -> np.ndarray:
    """Which stretches to exchange, from their style scores and the pens that drew them.

    Parameters
    ----------
    base : (g,) float
        Per stretch, how much more the dashed trace looks like the solid line than the
        solid trace does (> ``margin``: exchange, on line-style evidence alone).
    pens : list of g (solid trace's, dashed trace's) pen signatures, each (2,) or None
    sizes : (g,) float
        Rows per stretch.
    margin : float
        Score difference needed to exchange.
    pen_weight : float
        Weight of the pen term: per stretch, how much closer the two traces' pens come to
        the two curves' pens when exchanged (L1 distances of the signatures).

    Returns
    -------
    (g,) bool

    Notes
    -----
    Which pen draws the solid curve is decided once for the whole track: both choices
    are tried and the one whose decisions agree best with the line-style scores (each
    stretch weighted by the square root of its rows) is kept. A stretch's own style
    evidence can then be overruled by the pen where the two curves' pens differ, which
    is where the style is least reliable: a thin solid line broken up by binarization
    beside a bold dashed line whose gaps are filled in.
    """
    base = np.nan_to_num(np.asarray(base, np.float64), nan=0.0)
    swap = base > margin
    both = [i for i, (ps, pd) in enumerate(pens) if ps is not None and pd is not None]
    if pen_weight <= 0 or len(both) < 3:
        return swap
    found = _two_pens(np.array([pens[i] for i in both]))
    if found is None:
        return swap
    weight = np.sqrt(np.asarray(sizes, np.float64))
    best, best_agree = swap, -np.inf
    for solid, dashed in (found, found[::-1]):
        term = np.zeros(len(base))
        for i in both:
            ps, pd = pens[i]
            kept = np.abs(ps - solid).sum() + np.abs(pd - dashed).sum()
            exchanged = np.abs(ps - dashed).sum() + np.abs(pd - solid).sum()
            term[i] = kept - exchanged
        decided = base + pen_weight * term > margin
        agree = float(np.sum(weight * np.where(decided, base, -base)))
        if agree > best_agree:
            best, best_agree = decided, agree
    return best


def widen(flags: np.ndarray, reach: int) -> np.ndarray:
    """True within ``reach`` places of any True in the 1-D bool array ``flags``."""
    out = flags.copy()
    for d in range(1, reach + 1):
        out[d:] |= flags[:-d]
        out[:-d] |= flags[d:]
    return out


def traded_rows(xa: np.ndarray, xb: np.ndarray, *, min_jump: float,
                within: int = 3, fit: float = 0.5) -> np.ndarray:
    """Rows where two traces exchange places: each jumps to where the other just was.

    Two curves that run close together can be traded in one row without either trace
    jumping far. At row ``i`` the traces traded when both moved more than ``min_jump`` px
    since their last positions (each trace's last finite value within ``within`` rows
    before ``i``) and the exchanged pairing fits: the distances from each trace's new
    position to the *other* trace's last one add up to less than ``fit`` times the
    distances each trace moved.

    Parameters
    ----------
    xa, xb : (rows,) float
        Traces (columns), NaN in gaps.
    min_jump : float
        Sideways move (px) below which a trace is taken to have stayed on its curve.
    within : int
        Rows back a trace's last position may lie (a gap in a dashed trace).
    fit : float
        How much better the exchanged pairing must fit.

    Returns
    -------
    (rows,) bool
        True at the first row after each exchange.
    """
    xa, xb = np.asarray(xa, np.float64), np.asarray(xb, np.float64)
    n = len(xa)
    out = np.zeros(n, bool)
    if n < 2:
        return out

    def last_seen(x):  # each row's last finite value before it, within ``within`` rows
        idx = np.where(np.isfinite(x), np.arange(n), -1)
        idx = np.maximum.accumulate(idx)
        prev = np.full(n, np.nan)
        prev[1:] = np.where(idx[:-1] >= 0, x[np.maximum(idx[:-1], 0)], np.nan)
        age = np.full(n, n)
        age[1:] = np.arange(1, n) - idx[:-1]
        prev[age > within] = np.nan
        return prev
    pa, pb = last_seen(xa), last_seen(xb)
    with np.errstate(invalid="ignore"):
        moved = np.abs(xa - pa) + np.abs(xb - pb)
        crossed = np.abs(xa - pb) + np.abs(xb - pa)
        out = ((np.abs(xa - pa) > min_jump) & (np.abs(xb - pb) > min_jump)
               & (crossed < fit * moved))
    return out


def bridged_trades(xa: np.ndarray, xb: np.ndarray, *, min_jump: float, near: float,
                   reach: int = 16) -> np.ndarray:
    """Rows where trace ``xa`` jumped onto the other curve while ``xb`` bridged across.

    Two traces can trade curves where one of them jumps and the other crosses over on a
    bridged gap (a straight line drawn between its ink, a few rows long), so neither
    jumps together with the other (:func:`resolve_crossings`) nor do they exchange places
    in one row (:func:`traded_rows`). At row ``i`` where ``xa`` moved more than
    ``min_jump`` px from its last position, such a trade is taken to have happened when
    ``xb`` was within ``near`` px of ``xa``'s new position in the ``reach`` rows before
    ``i`` and is within ``near`` px of ``xa``'s old one in the ``reach`` rows from ``i``
    on: ``xb`` travelled from where ``xa`` lands to where it left.

    Parameters
    ----------
    xa, xb : (rows,) float
        Traces (columns), NaN in gaps.
    min_jump : float
        Sideways move (px) from one finite value of ``xa`` to the next that counts as a
        jump.
    near : float
        How close (px) ``xb`` must come to the two positions.
    reach : int
        Rows looked back and ahead for ``xb``.

    Returns
    -------
    (rows,) bool
        True at the first row after each such jump of ``xa``.
    """
    xa, xb = np.asarray(xa, np.float64), np.asarray(xb, np.float64)
    n = len(xa)
    out = np.zeros(n, bool)
    seen = np.flatnonzero(np.isfinite(xa))
    if len(seen) < 2:
        return out
    steps = np.abs(np.diff(xa[seen]))
    for j in np.flatnonzero(steps > min_jump):
        old, i = xa[seen[j]], seen[j + 1]
        new = xa[i]
        with np.errstate(invalid="ignore"):
            before = np.abs(xb[max(0, i - reach):i] - new) < near
            after = np.abs(xb[i:i + reach] - old) < near
        out[i] = bool(before.any() and after.any())
    return out


def _no_trade_between(xa: np.ndarray, xb: np.ndarray, last: int, first: int, *, meet: float,
                      jumped: np.ndarray) -> bool:
    """Whether two traces cannot have traded curves between row ``last`` and row ``first``.

    They cannot where, in between, they never came within ``meet`` px of each other (a
    trace missing over some rows is taken as the straight line across its gap), they are
    on the same sides of each other at both ends, and they did not jump sideways together
    at ``first``.
    """
    if jumped[first]:
        return False
    d_last, d_first = xa[last] - xb[last], xa[first] - xb[first]
    if not (np.isfinite(d_last) and np.isfinite(d_first)) or np.sign(d_last) != np.sign(d_first):
        return False
    rows = np.arange(last, first + 1)

    def filled(x):
        ok = np.isfinite(x[rows])
        return np.interp(rows, rows[ok], x[rows][ok])
    return bool(np.all(np.abs(filled(xa) - filled(xb)) > meet))


def _nanmean(values: np.ndarray) -> float:
    """Mean of the finite values; NaN (without a warning) when there are none."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def resolve_crossings(x_solid: np.ndarray, x_dashed: np.ndarray, *, ink: np.ndarray,
                      style: np.ndarray, half_width: float, min_rows: int = 1,
                      margin: float = 0.08, skip_rows: np.ndarray | None = None,
                      pixels: np.ndarray | None = None, min_scan_path: int = 128,
                      scan_weight: float = 2.0, style_weight: float = 2.0,
                      pen_weight: float = 2.0, bridge_reach: int = 16
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Swap the stretches where the solid and the dashed trace changed curves at a crossing.

    Between two places where the traces meet (or both jump sideways together, or exchange
    places: :func:`traded_rows`, or one jumps while the other bridges across:
    :func:`bridged_trades`), each stretch of each trace is scored by how
    continuous its ink is (a solid line has ink on every row, a dashed one has gaps) plus
    the segmenter's style opinion; where the dashed trace's stretch scores higher as a solid
    line than the solid trace's, the two stretches are exchanged. Consecutive stretches
    split only by a gap in one trace, where the traces cannot have traded curves
    (:func:`_no_trade_between`), are scored and exchanged together: a faint stretch of
    line no longer breaks one curve's evidence into two decisions that can disagree.
    Where the two curves are drawn with different pens (line width, ink), the pen each
    stretch of each trace was drawn with counts too (:func:`pen_decisions`). With
    ``pixels``, stretches where only the solid trace exists and runs on dashed ink go to
    the dashed trace (:func:`hand_over_dashed_stretches`).

    Parameters
    ----------
    x_solid, x_dashed : (rows,) float
        Traces (columns of ``ink``), NaN in gaps.
    ink : (rows, cols) uint8
        1 where there is curve ink, else 0: the segmenter's curve probability >= 0.5
        *before* straight columns were weakened (a flat curve must keep its ink here;
        raw dark pixels would count grid lines as ink).
    style : (rows, cols) int16
        Segmenter's solid-minus-dashed probability, -255..255.
    half_width : float
        Traces closer than twice this are at a crossing.
    min_rows : int
        Stretches (between two meetings or joint jumps) shorter than this are left as they
        are. On the 310 pick and dev curves (session 15), 1 (every stretch decided) put
        252 at R² >= 0.95 against 247 with 8, the earlier default (198 against 185 at
        R² >= 0.99, mean clipped R² 0.9374 against 0.9280; 45 curves up and 6 down by more
        than 0.005, none of the 6 by more than 0.07 or across 0.95); 2, 4 and 6 gave 248,
        247 and 247 (193, 192 and 188 at >= 0.99). On the label masks (a perfect
        segmenter) 279 against 275. Rough curves that touch often leave only short
        stretches between meetings, and a short stretch left as the paths ran keeps
        whichever curve the path followed.
    skip_rows : (rows,) bool, optional
        Rows left out of the continuity scores: horizontal grid rules, where every
        column is ink.
    pixels : (rows, cols) uint8, optional
        The scan (0 = black). When given, each stretch whose path is at least
        ``min_scan_path`` px long for both traces (enough dash periods to judge) also
        scores the share of its path, by arc length (:func:`arc_darkness`), that is at
        least half as dark (below the row's paper) as that path's own ink
        (:func:`path_continuity`): a dash gap is light in the scan even where a blurred
        scan made the segmenter's ink continuous, and on a jagged curve the gaps lie on
        the horizontal strokes between rows.
    min_scan_path : int
        Path pixels each trace needs in a stretch before the scan is read.
    scan_weight : float
        Weight of the scan's continuity against the segmenter's (weight 1). The scan
        reads a faint solid line as whole where the segmenter misses parts of it: on the
        30 dev cases, weight 2 raised the hard tier's median R² from 0.359 to 0.400 over
        weight 1 (session-4 weights).
    style_weight : float
        Weight of the segmenter's style opinion (mean solid-minus-dashed probability
        along the trace, -1..1). With the session-8 weights, which label line style far
        better than earlier ones (dev pixel IoU solid 0.71, dashed 0.70), weight 2 put
        115 of the 180 pick and dev curves at R² >= 0.95 against 110 at the earlier
        weight 0.5.
    pen_weight : float
        With ``pixels``: weight of the pens' evidence (:func:`pen_decisions`), where the
        two curves are drawn with visibly different pens (width or ink). 0 turns it off.
        On the pick and dev cases (session-9 weights), weight 2 raised the R² of 12 of
        180 curves by more than 0.005 and lowered one.
    bridge_reach : int
        Stretches are also split where one trace jumped onto the other curve while the
        other bridged a gap across to where it left (:func:`bridged_trades`), looking
        this many rows either side; 0 turns it off. On the 310 dev curves (session-23
        weights) 16 raised 6 curves by more than 0.005 and lowered none (mean clipped
        R² 0.9609 against 0.9606); 32 lowered one more. With a mid-run checkpoint of the
        next model, where a clean case's solid and dashed curves had traded this way for
        900 rows, it took them from R² -49 and -26 back to 0.997 and 0.956.

    Returns
    -------
    (x_solid, x_dashed) : new arrays.
    """
    xs, xd = x_solid.copy(), x_dashed.copy()
    both = np.isfinite(xs) & np.isfinite(xd)
    apart = both & (np.abs(xs - xd) > 2 * half_width)
    # where both traces jump sideways together they may have traded curves: split the
    # stretch there too (one trace jumping alone is a jagged curve, not a trade)
    jump = 3 * half_width
    js, jd = np.abs(np.diff(xs)) > jump, np.abs(np.diff(xd)) > jump
    jumped = np.zeros(len(xs), bool)
    jumped[1:] = (js & widen(jd, 2)) | (jd & widen(js, 2))
    # two curves close together are traded without a long jump: each trace moves to
    # where the other was
    jumped |= traded_rows(xs, xd, min_jump=half_width)
    if bridge_reach > 0:  # one trace jumped while the other bridged across
        jumped |= bridged_trades(xs, xd, min_jump=jump, near=2 * half_width,
                                 reach=bridge_reach)
        jumped |= bridged_trades(xd, xs, min_jump=jump, near=2 * half_width,
                                 reach=bridge_reach)
    if not apart.any():
        return xs, xd
    ink_s, ink_d = _sample(ink, xs, 1), _sample(ink, xd, 1)
    if skip_rows is not None:
        ink_s[skip_rows] = np.nan
        ink_d[skip_rows] = np.nan
    st_s, st_d = _sample(style, xs, 1) / 255.0, _sample(style, xd, 1) / 255.0
    dark = None
    if pixels is not None:
        paper = np.median(pixels, axis=1).astype(np.int16)
        dark = np.maximum(paper[:, None] - pixels, 0).astype(np.int16)
    # stretches: runs of rows where the traces are apart, also split where both jump
    prev_apart = np.concatenate([[False], apart[:-1]])
    starts = np.flatnonzero(apart & (~prev_apart | jumped))
    ends = np.append(starts[1:], len(xs))
    stop = np.flatnonzero(~apart)
    edges = []
    for a, e in zip(starts, ends, strict=True):
        nxt = stop[np.searchsorted(stop, a)] if np.searchsorted(stop, a) < len(stop) else e
        edges += [a, min(e, nxt)]
    spans = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_rows]
    groups: list[list[tuple[int, int]]] = []
    for a, b in spans:
        if groups and _no_trade_between(x_solid, x_dashed, groups[-1][-1][1] - 1, a,
                                        meet=2 * half_width, jumped=jumped):
            groups[-1].append((a, b))
        else:
            groups.append([(a, b)])
    base, pens, sizes = [], [], []
    for group in groups:
        rows = np.concatenate([np.arange(a, b) for a, b in group])
        # a stretch on rule rows only has no ink evidence: NaN, i.e. no decision but the
        # pens' (:func:`pen_decisions`)
        parts_s = [_nanmean(ink_s[rows]), style_weight * _nanmean(st_s[rows]), 0.0]
        parts_d = [_nanmean(ink_d[rows]), style_weight * _nanmean(st_d[rows]), 0.0]
        pen = (None, None)
        if dark is not None:
            v_s = np.concatenate([arc_darkness(dark, x_solid, rows=(a, b), skip_rows=skip_rows)
                                  for a, b in group])
            v_d = np.concatenate([arc_darkness(dark, x_dashed, rows=(a, b), skip_rows=skip_rows)
                                  for a, b in group])
            if min(len(v_s), len(v_d)) >= min_scan_path:  # enough dash periods to judge
                parts_s[2] = scan_weight * path_continuity(v_s)
                parts_d[2] = scan_weight * path_continuity(v_d)
            if pen_weight > 0:
                pen = (pen_signature(dark, x_solid, group, skip_rows=skip_rows, along=v_s),
                       pen_signature(dark, x_dashed, group, skip_rows=skip_rows, along=v_d))
        score_s, score_d = sum(parts_s), sum(parts_d)
        base.append(score_d - score_s)
        pens.append(pen)
        sizes.append(len(rows))
        logger.debug("rows %s: as solid, solid trace %.2f (ink %.2f, style %.2f, scan %.2f)"
                     ", dashed trace %.2f (%.2f, %.2f, %.2f)",
                     ", ".join(f"{a}-{b}" for a, b in group), score_s, *parts_s,
                     score_d, *parts_d)
    swaps = pen_decisions(np.array(base), pens, np.array(sizes), margin=margin,
                          pen_weight=pen_weight)
    for group, swap in zip(groups, swaps, strict=True):
        if swap:  # with the rows between the group's stretches: no trade happened there
            a, b = group[0][0], group[-1][1]
            xs[a:b], xd[a:b] = x_dashed[a:b], x_solid[a:b]
    if dark is not None:
        xs, xd = hand_over_dashed_stretches(xs, xd, style=style, dark=dark,
                                            skip_rows=skip_rows)
    return xs, xd


def hand_over_dashed_stretches(x_solid: np.ndarray, x_dashed: np.ndarray, *,
                               style: np.ndarray, dark: np.ndarray,
                               skip_rows: np.ndarray | None = None, min_rows: int = 16,
                               max_style: float = -0.5, max_continuity: float = 0.65
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Give the dashed curve the stretches the solid trace took from it while it had none.

    The solid curve is traced first, along the cheapest path; where its own line is
    missing from the segmenter's map (a straight stretch it took for a grid rule, a faded
    one) that path runs along the dashed curve instead, and the dashed trace, which may
    not reuse that ink, is left with nothing. Such a stretch of the solid trace, alone on
    its rows, on ink that both the segmenter calls dashed (mean solid-minus-dashed
    probability below ``max_style``) and the scan shows broken (:func:`path_continuity`
    below ``max_continuity``), is the dashed curve: it moves to the dashed trace and the
    solid one is NULL there.

    Parameters
    ----------
    x_solid, x_dashed : (rows,) float
        Traces, NaN in gaps.
    style : (rows, cols) int16
        Segmenter's solid-minus-dashed probability, -255..255.
    dark : (rows, cols) integer array
        How much darker than the paper each pixel is (:func:`arc_darkness`).
    skip_rows : (rows,) bool, optional
        Rows left out of the continuity (horizontal rules).
    min_rows : int
        Shortest stretch considered.

    Returns
    -------
    (x_solid, x_dashed) : new arrays.
    """
    xs, xd = x_solid.copy(), x_dashed.copy()
    alone = np.isfinite(xs) & np.isnan(xd)
    if not alone.any():
        return xs, xd
    from .calibrate import _runs

    st = _sample(style, xs, 1) / 255.0
    for a, b in _runs(alone):
        if b - a < min_rows or not np.nanmean(st[a:b]) < max_style:
            continue
        v = arc_darkness(dark, xs, rows=(a, b), skip_rows=skip_rows)
        if len(v) and path_continuity(v) < max_continuity:
            xd[a:b], xs[a:b] = xs[a:b], np.nan
    return xs, xd


@dataclass(frozen=True)
class Contact:
    """Where two traces of curves with the same line style met.

    Attributes
    ----------
    start, stop : int
        Rows ``start:stop`` where the two traces were within reach of each other.
    swapped : bool
        The traces' continuations after the contact were exchanged (their slopes said
        the curves crossed over and the tracer had turned back).
    ambiguous : bool
        The slopes could not tell whether the curves crossed or touched: both curves are
        NaN from ``start`` to the next contact (or the end), never guessed.
    """

    start: int
    stop: int
    swapped: bool
    ambiguous: bool


def _slope(x: np.ndarray, lo: int, hi: int) -> float:
    """Least-squares slope (px per row) of the finite samples of ``x[lo:hi]`` (NaN if < 3)."""
    lo, hi = max(0, lo), min(len(x), hi)
    r = np.arange(lo, hi)
    v = x[lo:hi]
    ok = np.isfinite(v)
    if ok.sum() < 3:
        return np.nan
    return float(np.polyfit(r[ok], v[ok], 1)[0])


def resolve_same_style(xa: np.ndarray, xb: np.ndarray, *, half_width: float,
                       window: int = 24, margin: float = 0.35
                       ) -> tuple[np.ndarray, np.ndarray, list[Contact]]:
    """Keep two curves of the same line style apart where they meet.

    Line style cannot tell such curves apart, so at each contact (rows where the traces
    are within ``2 * half_width``) the slopes over ``window`` rows before and after decide
    whether each trace goes on along its own line (crossing curves keep their slopes) or
    the traces must be exchanged after the contact. When the two explanations differ by
    less than ``margin`` of the larger one, nothing is guessed: both traces become NaN
    from the contact to the next one.

    Parameters
    ----------
    xa, xb : (rows,) float
        The two traces (columns), NaN in gaps.
    half_width : float
        Half the stroke width (px).
    window : int
        Rows on each side of a contact used to measure the slopes.
    margin : float
        Relative difference of the slope mismatches needed to decide.

    Returns
    -------
    (xa, xb, contacts) : new arrays and the contacts found, in row order.
    """
    xa, xb = np.array(xa, np.float64), np.array(xb, np.float64)
    near = np.isfinite(xa) & np.isfinite(xb) & (np.abs(xa - xb) <= 2 * half_width)
    if not near.any():
        return xa, xb, []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], near.astype(np.int8), [0]])))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    contacts: list[Contact] = []
    for i, (s, e) in enumerate(runs):
        nxt = runs[i + 1][0] if i + 1 < len(runs) else len(xa)
        if s == 0 or e >= len(xa):  # touching the ends: nothing to compare
            contacts.append(Contact(int(s), int(e), False, False))
            continue
        ab, bb = _slope(xa, s - window, s), _slope(xb, s - window, s)
        aa, ba = _slope(xa, e, min(nxt, e + window)), _slope(xb, e, min(nxt, e + window))
        if not np.isfinite([ab, bb, aa, ba]).all():
            contacts.append(Contact(int(s), int(e), False, False))
            continue
        keep = abs(ab - aa) + abs(bb - ba)
        swap = abs(ab - ba) + abs(bb - aa)
        if abs(keep - swap) < margin * max(keep, swap) and max(keep, swap) > 0.05:
            xa[s:nxt] = np.nan
            xb[s:nxt] = np.nan
            contacts.append(Contact(int(s), int(e), False, True))
        elif swap < keep:  # exchange from where the traces are closest
            m = s + int(np.argmin(np.abs(xa[s:e] - xb[s:e])))
            ta = xa[m:].copy()
            xa[m:], xb[m:] = xb[m:], ta
            contacts.append(Contact(int(s), int(e), True, False))
        else:
            contacts.append(Contact(int(s), int(e), False, False))
    return xa, xb, contacts


def order_left_to_right(traces: list[np.ndarray], *, half_width: float) -> list[int]:
    """Which trace each curve gets when curves cannot be told apart by style.

    The curves are given left to right as they are at the top of the digitized interval:
    at the first row where every trace has a value and all are more than
    ``2 * half_width`` apart, the traces are sorted by column.

    Parameters
    ----------
    traces : list of (rows,) float arrays
    half_width : float
        Half the stroke width (px).

    Returns
    -------
    list of int
        ``order[i]`` is the index of the trace for the ``i``-th curve; the identity
        (``range(n)``) when no row has all traces apart.
    """
    X = np.stack(traces)
    ok = np.isfinite(X).all(axis=0)
    if len(traces) > 1:
        Xs = np.sort(np.where(ok, X, 0.0), axis=0)
        ok &= (np.diff(Xs, axis=0) > 2 * half_width).all(axis=0)
    rows = np.flatnonzero(ok)
    if not len(rows):
        return list(range(len(traces)))
    return [int(i) for i in np.argsort(X[:, rows[0]], kind="stable")]


def ink_off_rules(pixels: np.ndarray, *, rule_cols: np.ndarray, rule_rows: np.ndarray,
                  level: float = 0.4, threshold: int = 128, col_reach: int = 2,
                  row_reach: int = 1, lattice: np.ndarray | None = None,
                  window: int = 96, min_fraction: float = 0.9) -> np.ndarray:
    """The scan's own dark pixels, away from the grid, as a weak curve probability.

    The segmenter sometimes drops stretches of a curve: a long straight stretch off the
    grid (it looks like a rule), a faint or rough stretch on a hard scan. The tracer then
    takes a detour along other ink. Dark pixels of the scan that lie on no vertical rule
    and no horizontal rule are curve ink, text or stains; giving them probability
    ``level`` (cost ``-log level`` against about 5.5 on paper) keeps a trace on a curve
    the segmenter missed without making them as good as the ink it did see.

    Parameters
    ----------
    pixels : (rows, cols) uint8
        Grey scan of the track (0 ink, 255 paper).
    rule_cols : (cols,) bool
        Columns of vertical rules (:func:`logdigit.grid.rule_columns`, after
        :func:`logdigit.grid.periodic_rules`); ``col_reach`` columns either side are left
        out too.
    rule_rows : (rows,) bool
        Rows of horizontal rules (:func:`logdigit.grid.rule_rows`); ``row_reach`` rows
        either side are left out too.
    level : float
        Probability (0..1) given to the remaining dark pixels.
    threshold : int
        Grey level below which a pixel is dark.
    lattice : (cols,) bool, optional
        Columns where the grid's rules belong (:func:`logdigit.grid.track_lattice`). A
        rule that a 1-bit scan kept only in places is not in ``rule_cols``; on these
        columns, a stretch of ``window`` rows dark on ``min_fraction`` of them (and the
        columns next to it) is left out as such a rule. Off the lattice a straight dark
        stretch stays: a flat curve the segmenter missed is what this map is for.

    Returns
    -------
    (rows, cols) uint8
        ``round(255 * level)`` on the dark pixels off the rules, 0 elsewhere.
    """
    pixels = np.asarray(pixels)
    H, W = pixels.shape
    rule_cols = np.asarray(rule_cols, bool)
    rule_rows = np.asarray(rule_rows, bool)
    if rule_cols.shape != (W,) or rule_rows.shape != (H,):
        raise ValueError(f"rule_cols must have {W} and rule_rows {H} entries, got "
                         f"{rule_cols.shape} and {rule_rows.shape}")
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level must be in 0..1, got {level}")
    ink = pixels < threshold
    dark = ink & ~widen(rule_cols, col_reach)[None, :] & ~widen(rule_rows, row_reach)[:, None]
    if lattice is not None:
        lattice = np.asarray(lattice, bool)
        if lattice.shape != (W,):
            raise ValueError(f"lattice must have {W} entries, got {lattice.shape}")
        if lattice.any():
            dark &= ~(straight_stretches(ink, window=window, min_fraction=min_fraction)
                      & lattice[None, :])
    return dark.astype(np.uint8) * np.uint8(round(255 * level))


def straight_stretches(mask: np.ndarray, *, window: int, min_fraction: float,
                       reach: int = 1) -> np.ndarray:
    """Pixels of columns that are set on nearly every row of a stretch: pieces of rules.

    Windows of ``window`` rows, overlapping by half, are tested: a column set on at least
    ``min_fraction`` of a window's rows is marked over that window, with ``reach``
    columns either side (a rule's fringe).

    Parameters
    ----------
    mask : (rows, cols) bool
    window : int
        Rows per window (a shorter mask is one window).
    min_fraction : float
        Share of the window's rows a column must be set on.
    reach : int
        Neighbouring columns marked with it.

    Returns
    -------
    (rows, cols) bool
    """
    mask = np.asarray(mask, bool)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    H, W = mask.shape
    out = np.zeros((H, W), bool)
    step = max(1, window // 2)
    for r0 in range(0, max(1, H - window + step), step):
        r1 = min(H, r0 + window)
        cols = mask[r0:r1].mean(axis=0) >= min_fraction if r1 > r0 else np.zeros(W, bool)
        if cols.any():
            out[r0:r1, widen(cols, reach)] = True
    return out


def suppress_straight_columns(prob: np.ndarray, *, window: int = 512,
                              min_fraction: float = 0.85, keep: float = 0.3,
                              max_share: float = 0.25,
                              lines: np.ndarray | None = None) -> np.ndarray:
    """Weaken columns whose ink runs perfectly straight down: grid and track-edge lines.

    A curve wanders: it hardly ever occupies one column on nearly every row of a long
    window, while vertical grid lines and track edges do, and the segmenter sometimes
    gives them curve probability (dark grids on poor scans; curves clipped at a track edge
    in its training pages). A path along such a line costs nothing sideways, so the
    tracer would rather follow it than the curve. Within each ``window`` of rows, columns
    with probability >= 0.5 on at least ``min_fraction`` of the rows are multiplied by
    ``keep``: still traceable where nothing better exists (a curve really clipped at the
    edge), but no longer preferred to real curve ink.

    Parameters
    ----------
    prob : (rows, cols) uint8
    window : int
        Rows per window.
    min_fraction : float
        Share of a window's rows a column must be inked on to count as a straight line.
    keep : float
        Factor applied to those columns.
    max_share : float
        A window where more than this share of the columns qualifies is left alone.
    lines : (cols,) bool, optional
        The columns where the scan has a vertical rule (:func:`logdigit.grid.rule_columns`);
        when given, only those (and their neighbours) are weakened, so that a curve that
        runs straight for a window (a flat log) is kept.

    Returns
    -------
    (rows, cols) uint8
        A new array (``prob`` itself when nothing is weakened).
    """
    H, W = prob.shape
    out = None
    if lines is not None:  # a rule one column off in the probability map still counts
        near_lines = widen(np.asarray(lines, bool), 1)
    for r0 in range(0, H, window):
        r1 = min(H, r0 + window)
        if r1 - r0 < window // 2 and r0 > 0:  # a short last window joins the previous one
            r0 = max(0, r1 - window)
        frac = (prob[r0:r1] >= 128).mean(axis=0)
        ok = frac >= min_fraction
        if lines is not None:
            ok &= near_lines
        cols = np.flatnonzero(ok)
        # lines are a few columns; when most of the window is "inked" there is no line
        # to tell from the rest (a blind or untrained segmenter): leave it alone
        if 0 < len(cols) <= max_share * W:
            if out is None:
                out = prob.copy()
            out[r0:r1, cols] = (prob[r0:r1, cols] * keep).astype(np.uint8)
    return prob if out is None else out


def solid_off_rules(ink: np.ndarray, *, solid: np.ndarray, dashed: np.ndarray,
                    lines: np.ndarray, keep: float = 0.3, reach: int = 1) -> np.ndarray:
    """A dashed curve's map with the solid-class ink on the vertical rules weakened.

    The segmenter sometimes inks stretches of a vertical rule as a *solid* line (a dark
    grid, a heavy centre or decade rule). Once a track's solid curve has taken its own
    ink, such a stretch is the cheapest way for the dashed curve's path across a place
    where its dashes are hidden (under the solid curve's exclusion band, between dots):
    the path runs down the rule and its values jump by the distance to it. A dashed curve
    on a rule column keeps its own class's ink there; the other class's counts only
    ``keep`` times.

    Parameters
    ----------
    ink : (rows, cols) uint8
        The map the dashed curve is traced on (curve ink of either class, 0..255).
    solid, dashed : (rows, cols) uint8
        The segmenter's solid and dashed probabilities of the same window.
    lines : (cols,) bool
        Columns of the vertical rules (:func:`logdigit.grid.periodic_rules`).
    keep : float
        Factor on the solid probability on those columns (0..1).
    reach : int
        Neighbouring columns treated with them (a rule one column off in the map).

    Returns
    -------
    (rows, cols) uint8
        ``ink``, lowered on the rule columns to ``max(dashed, keep * solid)`` where that
        is less; ``ink`` itself when there is no rule.
    """
    lines = np.asarray(lines, bool)
    if lines.shape != (ink.shape[1],) or solid.shape != ink.shape or dashed.shape != ink.shape:
        raise ValueError(f"shapes differ: ink {ink.shape}, solid {solid.shape}, dashed "
                         f"{dashed.shape}, lines {lines.shape}")
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be in 0..1, got {keep}")
    on = widen(lines, reach)
    if not on.any():
        return ink
    out = ink.copy()
    own = np.maximum(dashed[:, on], (solid[:, on] * keep).astype(np.uint8))
    out[:, on] = np.minimum(ink[:, on], own)
    return out


@numba.njit(cache=True, nogil=True)
def _inked(m, r, x):  # pragma: no cover - jitted
    """Ink at column ``x`` of row ``r`` or of the rows above and below it."""
    return m[r, x] != 0 or (r > 0 and m[r - 1, x] != 0) or (r + 1 < m.shape[0]
                                                             and m[r + 1, x] != 0)


@numba.njit(cache=True, nogil=True)
def _row_gap_links(m, max_gap, long_gaps, min_run, level):  # pragma: no cover - jitted
    H, W = m.shape
    out = np.zeros((H, W), np.uint8)
    for r in range(H):
        prev_lo = -1  # the previous run of ink in this row: prev_lo..prev_hi-1
        prev_hi = -1
        x = 0
        while x < W:
            if not _inked(m, r, x):
                x += 1
                continue
            lo = x
            while x < W and _inked(m, r, x):
                x += 1
            if prev_hi >= 0:
                gap = lo - prev_hi
                if gap <= max_gap or (gap <= long_gaps[r] and prev_hi - prev_lo >= min_run
                                      and x - lo >= min_run):
                    for k in range(prev_hi, lo):
                        out[r, k] = level
            prev_lo = lo
            prev_hi = x
    return out


def row_gap_links(mask: np.ndarray, *, max_gap: int, level: int = 200,
                  long_rows: np.ndarray | None = None, long_gap: int = 0,
                  min_run: int | None = None) -> np.ndarray:
    """Paper between two pieces of ink in the same row, at most ``max_gap`` px apart.

    A dashed curve drawn nearly horizontally (a sharp excursion) leaves its dashes side by
    side in the same rows, separated by the pattern's gaps; moving sideways across such a
    gap is moving along the curve. Ink of the rows above and below counts too (a slanted
    stroke's dashes are offset by a row).

    Parameters
    ----------
    mask : (rows, cols) bool
        The curve's ink: a dashed curve's, or a solid one's (linked only along rules:
        ``max_gap=0`` with ``long_rows``).
    max_gap : int
        Longest gap (px) linked.
    level : int
        Value (0..255) given to the linked paper.
    long_rows : (rows,) bool, optional
        Rows where gaps up to ``long_gap`` px are linked instead, between two pieces of
        ink at least ``min_run`` px long each (dashes lying along the row, not a steep
        stroke crossing it): rows along a horizontal rule, where the segmenter drops
        whole dashes that lie on the rule.
    long_gap : int
        Longest gap (px) linked in ``long_rows`` (used when larger than ``max_gap``).
    min_run : int, optional
        Least length (px) of the two pieces of ink a link in ``long_rows`` joins (default
        ``max_gap``); with ``max_gap=0`` only ``long_rows`` are linked.

    Returns
    -------
    (rows, cols) uint8
        ``level`` on linked paper, 0 elsewhere (also on the ink itself).
    """
    m = np.ascontiguousarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {m.shape}")
    max_gap = max(0, int(max_gap))
    long_gaps = np.full(m.shape[0], max_gap, np.int64)
    if long_rows is not None:
        long_rows = np.asarray(long_rows, dtype=bool)
        if long_rows.shape != (m.shape[0],):
            raise ValueError(f"long_rows must have shape ({m.shape[0]},), "
                             f"got {long_rows.shape}")
        long_gaps[long_rows] = max(max_gap, int(long_gap))
    if m.size == 0 or not long_gaps.any():
        return np.zeros(m.shape, np.uint8)
    # a dash lying along the row, not a steep stroke crossing it
    min_run = max(1, int(max_gap if min_run is None else min_run))
    return _row_gap_links(m.view(np.uint8), max_gap, long_gaps, min_run, np.uint8(level))


def trace_style(x: np.ndarray, *, solid: np.ndarray, dashed: np.ndarray) -> np.ndarray:
    """The line style under a trace, per row: the largest solid-minus-dashed probability
    within a column of it, scaled to -1 (dashed) .. 1 (solid).

    Parameters
    ----------
    x : (rows,) float
        The trace (columns), NaN in gaps.
    solid, dashed : (rows, cols) uint8
        The segmenter's solid and dashed probabilities (0..255).

    Returns
    -------
    (rows,) float
        NaN where ``x`` is.
    """
    x = np.asarray(x, np.float64)
    H, W = solid.shape
    st = np.full(H, np.nan)
    ok = np.flatnonzero(np.isfinite(x))
    if W == 0:
        return st
    xi = np.clip(np.round(x[ok]).astype(np.int64), 0, W - 1)
    best = np.full(len(ok), -np.inf)
    for dx in (-1, 0, 1):
        c = np.clip(xi + dx, 0, W - 1)
        best = np.maximum(best, solid[ok, c].astype(np.int16) - dashed[ok, c])
    st[ok] = best / 255.0
    return st


def claim_solid_stretches(x_solid: np.ndarray, x_dashed: np.ndarray, *, solid: np.ndarray,
                          dashed: np.ndarray, half_width: float, min_rows: int = 24,
                          max_style: float = -0.2, min_own_style: float = 0.5
                          ) -> np.ndarray:
    """Move the solid trace onto a solid line it left aside while it ran on dashed ink.

    A solid curve's excursion joined by thin horizontal strokes (a step out and back,
    drawn along a horizontal rule the segmenter calls background) costs the solid path a
    long walk across paper, so it may stay on the dashed curve's ink instead and leave
    the excursion's vertical stretch to no one. Each connected piece of solid-class ink
    (probability >= 0.5) farther than ``half_width`` from both traces, at least
    ``min_rows`` rows tall, whose own mean solid-minus-dashed probability is at least
    ``min_own_style``, takes the solid trace over its rows where the trace there runs on
    dashed ink (mean solid-minus-dashed probability below ``max_style``) or is missing.

    Parameters
    ----------
    x_solid, x_dashed : (rows,) float
        Traces (columns), NaN in gaps.
    solid, dashed : (rows, cols) uint8
        The segmenter's solid and dashed probabilities (0..255).
    half_width : float
        Reach (px) of a trace's stroke.
    min_rows : int
        Rows a piece must span (at the maps' resolution).
    max_style : float
        The solid trace's mean solid-minus-dashed probability (-1..1) over the piece's
        rows below which it counts as running on dashed ink.
    min_own_style : float
        The piece's own mean solid-minus-dashed probability (-1..1) at least this.

    Returns
    -------
    (rows,) float
        A new solid trace: the piece's mean column on each row it claims, elsewhere
        ``x_solid``.
    """
    from scipy import ndimage

    xs = np.asarray(x_solid, np.float64).copy()
    free = solid >= 128
    for x in (x_solid, x_dashed):  # the ink each trace's stroke explains
        _clear_band(free, np.asarray(x, np.float64), float(half_width))
    # a connected piece spans consecutive rows that hold free ink: only runs of such rows
    # at least ``min_rows`` long can hold a piece that tall, and they are labelled alone
    from .calibrate import _runs

    spans = [(r0, r1) for r0, r1 in _runs(free.any(axis=1)) if r1 - r0 >= min_rows]
    if not spans:
        return xs
    st = trace_style(xs, solid=solid, dashed=dashed)  # the solid trace's own line style
    for r0, r1 in spans:
        labels, _ = ndimage.label(free[r0:r1], structure=np.ones((3, 3), bool))
        for i, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None or sl[0].stop - sl[0].start < min_rows:
                continue
            piece = labels[sl] == i
            rows = np.flatnonzero(piece.any(axis=1))
            if len(rows) < min_rows:
                continue
            top = r0 + sl[0].start
            box = (slice(top, r0 + sl[0].stop), sl[1])
            own = solid[box][piece].astype(np.int16) - dashed[box][piece]
            if own.mean() / 255.0 < min_own_style:
                continue
            here = st[top + rows]
            if np.all(np.isnan(here)) or np.nanmean(here) < max_style:
                centre = (piece * np.arange(sl[1].start, sl[1].stop)[None, :]).sum(axis=1)
                xs[top + rows] = centre[rows] / piece[rows].sum(axis=1)
    return xs


def claim_solid_spikes(x_solid: np.ndarray, x_dashed: np.ndarray, *, solid: np.ndarray,
                       dashed: np.ndarray, half_width: float, max_rows: int = 24,
                       min_width: float | None = None, min_own_style: float = 0.5,
                       pixels: np.ndarray | None = None, dark: int = 64) -> np.ndarray:
    """Move the solid trace out onto a sharp solid spike on the rows where it left its ink.

    A spike drawn in a few rows (a single sample far out, often to the scale's end) is a
    wide, short blob of solid ink: nearly horizontal strokes out and back and the tip
    between them. Where the dashed curve runs through the spike's base, the least-cost
    path cuts across on the dashed curve's ink (or bridges over paper) and leaves the
    tip, and with it the sample that carries most of the curve's variance, to no one;
    the piece is too short for :func:`claim_solid_stretches`. Each connected piece of
    solid-class ink (probability >= 0.5) farther than ``half_width`` from both traces,
    shorter than ``max_rows`` rows, at least ``min_width`` px wide, whose own mean
    solid-minus-dashed probability is at least ``min_own_style`` and which touches the
    solid trace's band (within ``half_width + 2`` px: it leaves from the solid curve's
    stroke; a rough dashed curve's strokes that the segmenter calls solid touch only
    the dashed trace's),
    takes the solid trace on those of its rows where the trace is not on solid ink (no
    solid probability >= 0.5 within a column of it, or no trace): on the rows where the
    trace runs on solid ink (the spike's base, a stroke the path already follows) the
    trace stays. With ``pixels``, neither does it where it runs on a dark line of the scan
    that the segmenter calls neither class (a curve along a grid rule, which the
    segmenter leaves out as a rule).

    Parameters
    ----------
    x_solid, x_dashed : (rows,) float
        Traces (columns), NaN in gaps.
    solid, dashed : (rows, cols) uint8
        The segmenter's solid and dashed probabilities (0..255).
    half_width : float
        Reach (px) of a trace's stroke.
    max_rows : int
        Pieces this tall or taller are left to :func:`claim_solid_stretches`.
    min_width : float, optional
        Least width (px) of a piece; default ``6 * half_width``.
    min_own_style : float
        The piece's own mean solid-minus-dashed probability (-1..1) at least this.
    pixels : (rows, cols) uint8, optional
        The scan (0 = black).
    dark : int
        A pixel of ``pixels`` at least this much darker than its row's paper (the row's
        median) is on a line.

    Returns
    -------
    (rows,) float
        A new solid trace: the piece's mean column on each row it claims, elsewhere
        ``x_solid``.
    """
    from scipy import ndimage

    xs = np.asarray(x_solid, np.float64).copy()
    xd = np.asarray(x_dashed, np.float64)
    H, W = solid.shape
    if H == 0 or W == 0:
        return xs
    hw = float(half_width)
    min_width = 6 * hw if min_width is None else float(min_width)
    # the solid trace's rows on solid ink (within a column of it; no trace: off)
    with np.errstate(invalid="ignore"):
        on_solid = _sample(solid, xs, 1) >= 128
    rr = np.flatnonzero(np.isfinite(xs) & ~on_solid)
    if pixels is not None and len(rr):  # on a line of the scan no class claims
        cc = np.clip(np.round(xs[rr]).astype(np.int64), 0, W - 1)
        paper = np.median(pixels[rr], axis=1)
        on_solid[rr] |= (paper - pixels[rr, cc].astype(np.float64) >= dark) & (
            dashed[rr, cc] < 128)
    # a piece shorter than ``max_rows`` that holds a row off solid ink lies within
    # ``max_rows`` rows of it: only those windows are searched (whole, the same pieces)
    from .calibrate import _runs

    eight = np.ones((3, 3), bool)
    for w0, w1 in _runs(widen(~on_solid, int(max_rows))):
        free = solid[w0:w1] >= 128
        for x in (xs, xd):
            _clear_band(free, x[w0:w1], hw)
        near = np.ones(free.shape, bool)  # False within ``hw + 2`` of the solid trace
        _clear_band(near, xs[w0:w1], hw + 2)
        near = ~near
        labels, _ = ndimage.label(free, structure=eight)
        for i, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None or sl[0].stop - sl[0].start >= max_rows:
                continue
            if sl[1].stop - sl[1].start < min_width:
                continue
            top = sl[0].start
            rows = w0 + top + np.arange(sl[0].stop - top)
            claim = ~on_solid[rows]
            if not claim.any():
                continue
            piece = labels[sl] == i
            box = (slice(w0 + top, w0 + sl[0].stop), sl[1])
            own = solid[box][piece].astype(np.int16) - dashed[box][piece]
            if own.mean() / 255.0 < min_own_style:
                continue
            # the piece grown by a pixel, in a box a pixel larger, meets the band
            r0, r1 = max(0, top - 1), min(w1 - w0, sl[0].stop + 1)
            c0, c1 = max(0, sl[1].start - 1), min(W, sl[1].stop + 1)
            grown = np.zeros((r1 - r0, c1 - c0), bool)
            grown[top - r0:top - r0 + piece.shape[0],
                  sl[1].start - c0:sl[1].start - c0 + piece.shape[1]] = piece
            grown = ndimage.binary_dilation(grown, eight)
            if not (grown & near[r0:r1, c0:c1]).any():
                continue
            count = piece.sum(axis=1)
            claim &= count > 0
            centre = (piece * np.arange(sl[1].start, sl[1].stop)[None, :]).sum(axis=1)
            xs[rows[claim]] = centre[claim] / count[claim]
    return xs


def search_solid_stretches(x_solid: np.ndarray, x_dashed: np.ndarray, *, ink: np.ndarray,
                           solid: np.ndarray, dashed: np.ndarray, half_width: float,
                           min_rows: int = 24, max_style: float = -0.2,
                           min_dashed_share: float = 0.3, min_level: int = 8,
                           min_share: float = 0.6, jump_paper: float = 0.1,
                           off: np.ndarray | None = None, pixels: np.ndarray | None = None,
                           rule_rows: np.ndarray | None = None, faint: float = 40.0,
                           faint_level: int = 64, lattice: np.ndarray | None = None,
                           max_jump: float = 4.0, radius: int = 6,
                           trail_share: float = 0.0, trail_gap: int = 48,
                           trail_slope: float = 12.0, trail_rows: int = 192) -> np.ndarray:
    """Search again, off the dashed curve's ink, where the solid trace ran on it.

    Where the segmenter leaves a faint solid curve (nearly) unmarked, the solid path takes
    the dashed curve's ink instead: an unbroken stretch of strong ink costs less than a
    faint line or paper. :func:`resolve_crossings` cannot undo that when the dashed trace
    runs on the same ink. Such a stretch is one of at least ``min_rows`` rows where the
    solid trace is not on solid ink (its line style, the largest solid-minus-dashed
    probability within a column of it, -1..1, is under ``-max_style``) and is on dashed
    ink (style under ``max_style``) on at least ``min_dashed_share`` of them, with traced
    rows either side. It is searched again (a least-cost path pinned to the trace's
    columns on the rows either side; sideways moves cost ``jump_paper`` per column across
    paper) on ``ink`` without

    - the dashed-class pixels (probability >= 0.5) and the dashed trace's stroke
      (``half_width`` either side of it),
    - any strong ink (>= 0.5) joined to those (a rough curve's strokes reach far beyond
      its trace), and the fringe of all these (``half_width``, at least 1 px),
    - the vertical rules ``off``,

    and with the scan's faint ink added at probability ``faint_level``: pixels of
    ``pixels`` at least ``faint`` grey levels darker than their row's paper (the 75th
    percentile of the row), away from the excluded ink, the horizontal rules
    ``rule_rows`` and the columns where the grid's rules belong (``lattice``: the remains
    of a faint grid). The new way replaces the stretch where at least ``min_share`` of
    its rows lie on ink of at least ``min_level`` (the faint line, not paper) and it
    never moves more than ``max_jump`` half widths between two rows (a curve leading on
    from the rows either side, not a line elsewhere on the page). Where the whole way
    fails that, the rows it follows from either end on such ink without such a jump are
    kept when they are at least ``min_rows // 2``: the faint line is often lost on the
    way where the two curves run close together and its ink goes with the dashed one's
    (dev, 310 curves: dev/hard-0026 C2S 0.864 -> 0.941, no other moved; label masks
    unchanged).

    A faded line that a 1-bit scan kept only as scattered dots puts too few rows on ink
    for either test. With ``trail_share`` > 0, a stretch of at least ``trail_rows`` rows
    whose whole way failed is replaced by the line through the way's dots
    (:func:`_sparse_trail`) when at least ``trail_share`` of its rows hold one, no
    ``trail_gap`` rows in a row go without, and it never climbs more than
    ``trail_slope`` half widths per row; short stretches are where the two curves cross
    or the segmenter mixed up their styles for a while, and specks of noise make such a
    trail there.

    Parameters
    ----------
    x_solid, x_dashed : (rows,) float
        The track's solid and dashed traces (columns), NaN in gaps.
    ink : (rows, cols) uint8
        The map the solid curve was traced on (curve probability of either class, 0..255).
    solid, dashed : (rows, cols) uint8
        The segmenter's solid and dashed probabilities.
    half_width : float
        Reach (px) of a trace's stroke.
    min_rows : int
        Shortest stretch searched (rows at the maps' resolution).
    max_style, min_dashed_share, min_level, min_share : float
        See above.
    jump_paper, faint, faint_level, max_jump : float
        See above.
    off : (cols,) bool, optional
        Columns of the vertical rules (widened as wanted); none when None.
    pixels : (rows, cols) uint8, optional
        The scan at the maps' resolution (0 ink, 255 paper); no faint ink when None.
    rule_rows : (rows,) bool, optional
        Rows of horizontal rules (a row either side is left out too).
    lattice : (cols,) bool, optional
        Columns where the grid's rules belong (a column either side is left out too).
    radius : int
        Half-width (px) of the window of the new way's sub-pixel centroid.
    trail_share, trail_gap, trail_slope, trail_rows : float, int, float, int
        The sparse trail of a faded line (above); ``trail_share`` 0 (default): none.

    Returns
    -------
    (rows,) float
        A new solid trace: ``x_solid`` outside the stretches where a new way was kept.
    """
    from scipy import ndimage

    from .calibrate import _runs

    xs = np.asarray(x_solid, np.float64).copy()
    H, W = ink.shape
    if H == 0 or W == 0:
        return xs
    st = trace_style(xs, solid=solid, dashed=dashed)
    on_dashed = st < max_style
    spans = [(a, b) for a, b in _runs(~(st >= -max_style))
             if b - a >= min_rows and a > 0 and b < H and np.isfinite(xs[a - 1])
             and np.isfinite(xs[b]) and on_dashed[a:b].mean() >= min_dashed_share]
    reach = max(1, int(round(half_width)))
    square = np.ones((3, 3), bool)
    for a, b in spans:
        lo, hi = a - 1, b + 1  # with the pinned rows either side
        keep = dashed[lo:hi] < 128
        _clear_band(keep, np.asarray(x_dashed, np.float64)[lo:hi], float(half_width))
        lab, n = ndimage.label(ink[lo:hi] >= 128, structure=square)
        if n:
            hit = np.unique(lab[~keep])
            keep &= ~np.isin(lab, hit[hit > 0])
        near = ndimage.binary_dilation(~keep, structure=square, iterations=reach)
        route = np.where(near, np.uint8(0), ink[lo:hi]).astype(np.uint8)
        if pixels is not None:
            pix = pixels[lo:hi].astype(np.int16)
            paper = np.percentile(pix, 75, axis=1)[:, None]
            weak = (pix < paper - faint) & ~near
            if rule_rows is not None:
                weak &= ~widen(np.asarray(rule_rows, bool)[lo:hi], 1)[:, None]
            if lattice is not None:
                weak &= ~widen(np.asarray(lattice, bool), 1)[None, :]
            route = np.maximum(route, weak.astype(np.uint8) * np.uint8(faint_level))
        if off is not None:
            route[:, np.asarray(off, bool)] = 0
        start = int(np.clip(round(xs[lo]), 0, W - 1))
        end = int(np.clip(round(xs[b]), 0, W - 1))
        path = _viterbi(route, np.zeros(route.shape, np.uint8), _COST_LUT, 0.0, 0.005,
                        float(jump_paper), -1.0, start, end, None,
                        _back_pointers(route.shape))
        inner = np.arange(1, len(path) - 1)
        on = route[inner, path[inner]] >= min_level
        steady = np.abs(np.diff(path)) <= max_jump * max(half_width, 1.0)
        if on.mean() >= min_share and steady.all():
            x, _conf = _refine(route, path, int(radius), False, 3)
            xs[a:b] = x[1:-1]
            continue
        if trail_share > 0 and b - a >= trail_rows:
            dots = _sparse_trail(path[inner], on, share=trail_share,
                                 max_gap=max(min_rows, trail_gap),
                                 max_slope=trail_slope * max(half_width, 1.0))
            if dots is not None:
                xs[a:b] = dots
                continue
        # the faint line may be lost on the way (where the curves run close together,
        # its ink is taken away with the dashed one's): keep the rows it is followed
        # from either end, on ink and without a jump, when they are enough
        good = on & steady[:-1] & steady[1:]  # rows on ink, reached and left steadily
        # not all good (else the whole way was kept): the runs before the first and
        # after the last bad row
        head, tail = int(np.argmin(good)), int(np.argmin(good[::-1]))
        least = max(2, min_rows // 2)
        if max(head, tail) < least:
            continue
        x, _conf = _refine(route, path, int(radius), False, 3)
        if head >= least:
            xs[a:a + head] = x[1:1 + head]
        if tail >= least:
            xs[b - tail:b] = x[len(x) - 1 - tail:len(x) - 1]
    return xs


def _sparse_trail(path: np.ndarray, on: np.ndarray, *, share: float, max_gap: int,
                  max_slope: float) -> np.ndarray | None:
    """A faint line kept only as scattered dots, read through them, or None.

    ``path`` (n,) is the way found across a stretch, ``on`` (n,) bool its rows on faint
    ink. The dots are trusted as a line when at least ``share`` of the rows hold one,
    once the specks off the line are left out (a dot more than ``max_slope`` px from the
    median of the nine dots around it); no ``max_gap`` rows in a row go without a dot
    (nor before the first or after the last), and the line through consecutive dots is
    never steeper than ``max_slope`` px per row. Returns the columns (n,) interpolated
    linearly between the dots."""
    from scipy.ndimage import median_filter

    n = len(path)
    rows = np.flatnonzero(on)
    if n == 0 or len(rows) < max(2, share * n):
        return None
    xs = path[rows].astype(np.float64)
    speck = np.abs(xs - median_filter(xs, size=9, mode="nearest")) > max_slope
    rows, xs = rows[~speck], xs[~speck]
    if len(rows) < max(2, share * n):
        return None
    gaps = np.diff(np.concatenate(([-1], rows, [n])))
    if gaps.max() > max_gap or np.max(np.abs(np.diff(xs)) / np.diff(rows)) > max_slope:
        return None
    return np.interp(np.arange(n), rows, xs)


def give_back_dashed_ink(x_dashed: np.ndarray, x_before: np.ndarray, x_after: np.ndarray,
                         *, dashed: np.ndarray, half_width: float, min_rows: int = 24,
                         min_share: float = 0.5, margin: float = 0.3) -> np.ndarray:
    """Give the dashed trace the dashed ink the solid trace has just left.

    The solid curve is traced first; where its own line was lost, it ran on the dashed
    curve, and the dashed trace, which may not reuse that ink, went elsewhere (a dotted
    rule, noise). When a later step moves the solid trace off that ink
    (:func:`search_solid_stretches`, :func:`flat_solid_stretches`), the dashed curve is
    still where the solid trace was. Over each run of at least ``min_rows`` rows where
    the solid trace moved by more than two ``half_width`` (``x_before`` -> ``x_after``),
    the old solid path replaces the dashed trace when it lies on dashed ink (the dashed
    probability within a column of it >= 0.5) on at least ``min_share`` of the rows and
    on ``margin`` more of them than the dashed trace does: on the rows where, over the
    ``min_rows`` rows around, it lies on dashed ink more often than the dashed trace (the
    dashed trace may have found its own curve again for part of the run).

    Parameters
    ----------
    x_dashed, x_before, x_after : (rows,) float
        The dashed trace, and the solid trace before and after the steps that moved it
        (columns), NaN in gaps.
    dashed : (rows, cols) uint8
        The segmenter's dashed-class probability.
    half_width : float
        Reach (px) of a trace's stroke.
    min_rows, min_share, margin : int, float, float
        See above.

    Returns
    -------
    (rows,) float
        A new dashed trace.
    """
    from .calibrate import _runs

    xd = np.asarray(x_dashed, np.float64).copy()
    before = np.asarray(x_before, np.float64)
    after = np.asarray(x_after, np.float64)
    moved = np.isfinite(before) & ~(np.abs(after - before) <= 2 * half_width)
    if not moved.any():
        return xd
    on_old = _sample(dashed, before, 1) >= 128
    on_own = _sample(dashed, xd, 1) >= 128  # NaN rows (no trace) are not on ink
    from scipy.ndimage import uniform_filter1d

    for a, b in _runs(moved):
        if b - a < min_rows:
            continue
        old, own = on_old[a:b].mean(), on_own[a:b].mean()
        if old >= min_share and old >= own + margin:
            # only where the old path is the one on dashed ink over the ``min_rows``
            # around: a run can end where the dashed trace has found its curve again
            lead = uniform_filter1d(on_old[a:b].astype(np.float64)
                                    - on_own[a:b].astype(np.float64), size=min_rows,
                                    mode="nearest")
            take = lead > 0
            xd[a:b][take] = before[a:b][take]
    return xd


def flat_solid_stretches(x_solid: np.ndarray, *, solid: np.ndarray, dashed: np.ndarray,
                         pixels: np.ndarray, half_width: float, min_rows: int = 24,
                         max_style: float = -0.2, faint: float = 40.0,
                         min_dark: float = 0.8, min_off: float = 0.5,
                         rule_rows: np.ndarray | None = None, max_blip: int = 2
                         ) -> np.ndarray:
    """Put the solid trace back on a dead-straight line it left for other ink.

    A curve that reads the same value for a long stretch (a caliper in a gauge hole, a
    tool at its limit) is drawn as a straight vertical line, which the segmenter takes
    for a grid rule and leaves unmarked. The solid path then leaves the line for the
    nearest curve ink (usually the dashed curve) and comes back where the line bends
    again; :func:`search_solid_stretches` does not find it when it lies next to a rule
    or the dashed ink around it is rough. Such a stretch is one of at least ``min_rows``
    rows where the trace is not on solid ink (its :func:`trace_style` under
    ``-max_style``, or no trace), with traced rows either side at the same column
    (within ``half_width``). The straight line between those two rows replaces the
    stretch when the scan is dark on it (a pixel within ``max(1, half_width)`` columns at
    least ``faint`` grey levels darker than its row's paper, the 75th percentile of the
    row) on at least ``min_dark`` of the rows (horizontal rules ``rule_rows`` left out)
    and the trace is more than ``half_width`` away from it on at least ``min_off`` of
    them. Up to ``max_blip`` rows on solid ink inside such a stretch (where the path
    crosses a speck of ink the segmenter called solid) do not end it.

    Parameters
    ----------
    x_solid : (rows,) float
        The solid trace (columns), NaN in gaps.
    solid, dashed : (rows, cols) uint8
        The segmenter's solid and dashed probabilities (0..255).
    pixels : (rows, cols) uint8
        The scan at the maps' resolution (0 ink, 255 paper).
    half_width : float
        Reach (px) of a trace's stroke.
    min_rows : int
        Shortest stretch (rows at the maps' resolution).
    max_style, faint, min_dark, min_off : float
        See above.
    rule_rows : (rows,) bool, optional
        Rows of horizontal rules (a row either side is left out too).
    max_blip : int
        Longest run of rows on solid ink taken into a stretch.

    Returns
    -------
    (rows,) float
        A new trace: ``x_solid`` outside the stretches replaced.
    """
    from .calibrate import _runs

    xs = np.asarray(x_solid, np.float64).copy()
    H, W = solid.shape
    if H == 0 or W == 0 or pixels.shape != solid.shape:
        return xs
    st = trace_style(xs, solid=solid, dashed=dashed)
    reach = max(1, int(round(half_width)))
    skip = (widen(np.asarray(rule_rows, bool), 1) if rule_rows is not None
            else np.zeros(H, bool))
    off_solid = ~(st >= -max_style)
    for a, b in _runs(~off_solid):  # short blips of solid ink inside a stretch
        if 0 < a and b < H and b - a <= max_blip:
            off_solid[a:b] = True
    for a, b in _runs(off_solid):
        if b - a < min_rows or a == 0 or b >= H:
            continue
        x0, x1 = xs[a - 1], xs[b]
        if not (np.isfinite(x0) and np.isfinite(x1)) or abs(x1 - x0) > half_width:
            continue
        rows = np.arange(a, b)
        line = x0 + (x1 - x0) * (rows - (a - 1)) / (b - (a - 1))
        use = ~skip[a:b]
        if use.sum() < min_rows // 2:
            continue
        pix = pixels[a:b].astype(np.int16)
        under_paper = np.percentile(pix, 75, axis=1)[:, None] - pix  # grey levels
        dark = (_sample(under_paper, line, reach) > faint)[use]
        off = ~(np.abs(xs[a:b] - line) <= half_width)  # NaN counts as off
        if dark.mean() >= min_dark and off[use].mean() >= min_off:
            xs[a:b] = line
    return xs


def _clear_band(flags: np.ndarray, x: np.ndarray, half: float) -> None:
    """Set ``flags[r, c]`` False where ``|c - x[r]| <= half`` (rows where x is NaN kept)."""
    H, W = flags.shape
    rows = np.flatnonzero(np.isfinite(x))
    if not len(rows) or W == 0:
        return
    lo = np.ceil(x[rows] - half).astype(np.int64)
    hi = np.floor(x[rows] + half).astype(np.int64)
    for dc in range(int(np.max(hi - lo)) + 1 if len(rows) else 0):
        c = lo + dc
        keep = (c <= hi) & (c >= 0) & (c < W)
        flags[rows[keep], c[keep]] = False


def _edge_stretches(at_edge: np.ndarray) -> list[tuple[int, int]]:
    """Stretches ``[first, last + 1)`` of rows with ink in ``at_edge`` (rows, a few
    columns along an edge); rows a row or two apart are one stretch."""
    from .calibrate import _runs

    touch = at_edge.any(axis=1)
    out = []
    for a, b in _runs(widen(touch, 1)):
        at = a + np.flatnonzero(touch[a:b])
        out.append((int(at[0]), int(at[-1]) + 1))
    return out


@numba.njit(cache=True, nogil=True)
def _along_rules_rows(own, along, x, side, edge, min_run, half_width, gap
                      ):  # pragma: no cover - jitted
    H, W = own.shape
    fills = np.full((H, 2), -1, np.int64)
    for r in range(H):
        if not along[r] or not np.isfinite(x[r]):
            continue
        xr = x[r]
        c = 0
        while c < W:
            if own[r, c] == 0:
                c += 1
                continue
            a = c
            while c < W and own[r, c] != 0:
                c += 1
            b = c
            while True:  # pieces at most ``gap`` px apart: one run
                n = b
                while n < W and own[r, n] == 0 and n - b <= gap:
                    n += 1
                if n < W and own[r, n] != 0 and n - b <= gap:
                    c = n
                    while c < W and own[r, c] != 0:
                        c += 1
                    b = c
                else:
                    break
            if a - half_width <= xr <= b - 1 + half_width:  # the trace's own stroke
                # at least half the way to the edge is inked: an arm out to it
                if side == 0 and xr - a >= max(min_run, 0.5 * (xr - edge)):
                    fills[r, 0], fills[r, 1] = max(0, edge), b
                elif side == 1 and b - 1 - xr >= max(min_run, 0.5 * (edge - xr)):
                    fills[r, 0], fills[r, 1] = a, min(W, edge + 1)
            c = b
    return fills


def _along_rules(own: np.ndarray, along: np.ndarray, x: np.ndarray, *, side: int,
                 edge: int, min_run: int, half_width: float, gap: int) -> np.ndarray:
    """The columns ``[lo, hi)`` (rows, 2) that continue own ink out to the edge (``side``
    0: the left one), -1 where none: on each row of ``along`` whose run of ink through
    the trace ``x`` (pieces up to ``gap`` px apart joined) leaves it towards the edge by
    at least ``min_run`` px and half the way, that run and the rest of the way."""
    return _along_rules_rows(np.ascontiguousarray(own, dtype=bool).view(np.uint8),
                             np.ascontiguousarray(along, dtype=bool),
                             np.asarray(x, np.float64), int(side), int(edge), int(min_run),
                             float(half_width), int(gap))


def _filled(own: np.ndarray, fills: np.ndarray | None, top: int, bottom: int) -> np.ndarray:
    """``own[top:bottom]`` with the ``fills`` of :func:`_along_rules` set (a copy)."""
    out = own[top:bottom].copy()
    if fills is not None:
        for r in np.flatnonzero(fills[top:bottom, 0] >= 0):
            out[r, fills[top + r, 0]:fills[top + r, 1]] = True
    return out


def edge_excursions(x: np.ndarray, *, own: np.ndarray, edges: tuple[float, float],
                    half_width: float, faint: np.ndarray | None = None, reach: int = 3,
                    window: int = 64, max_support: float = 0.25, link_gap: int = 0,
                    tips: bool = False, along: np.ndarray | None = None,
                    min_run: int = 8, rule_gap: int = 0, max_rows: int = 64) -> np.ndarray:
    """Follow an excursion the trace skipped, out to a track edge and along it.

    A curve beyond its scale is drawn along the track's edge, on top of the edge's own
    line: the segmenter marks the strokes that take the curve out to the edge and back,
    but not the stretch between them, and a path that would have to cross the track
    twice in a few rows stays where it was. Where the curve's own ink touches an edge
    (within ``reach`` px) on two stretches of rows, the trace between them is not on own
    ink nor on ``faint`` ink (on at most ``max_support`` of those rows: on paper, in a
    gap, or on another curve's ink), and the ink touching the edge on each
    stretch is connected to the trace (within ``window`` rows of it), the trace takes
    the excursion: the mean column of that ink on the rows where it had left the trace
    on the way out and back, the edge on the rows between. With ``tips``, so does a
    single stretch of own ink on the edge (a sharp excursion whose tip lies on the
    edge) connected to the trace above and below, where the trace is not on ink on the
    rows it would move (at most ``max_support`` of them): a path that cut across the
    excursion's base, its dashes too far apart to follow.

    Parameters
    ----------
    x : (rows,) float
        The trace (columns of ``own``), NaN in gaps.
    own : (rows, cols) bool
        Ink of the trace's own class (the segmenter's probability >= 0.5).
    edges : (left, right) float
        Columns of the track's edges in ``own``.
    half_width : float
        Reach (px) of a trace's stroke.
    faint : (rows, cols) bool, optional
        Dark pixels of the scan where the segmenter saw no curve: a trace on them between
        the two stretches may be on a faint stretch of its own curve, and counts as on
        own ink.
    reach : int
        Ink at most this many px inside an edge touches it (the segmenter does not mark
        ink on the edge's line itself).
    window : int
        Rows above the first stretch and below the second searched for the ink's way
        to the trace.
    max_support : float
        Largest share of the rows between the two stretches (or, for a tip, of the rows
        the trace would move) where the trace has own ink within ``half_width``.
    link_gap : int
        Pieces of own ink in the same row (or the rows beside it) at most this many px
        apart count as connected (:func:`row_gap_links`: a dashed curve's dashes); 0:
        only touching ink.
    tips : bool
        Also take excursions that touch the edge on a single stretch of rows.
    along : (rows,) bool, optional
        Rows along a horizontal rule, which runs on to the edge. The segmenter drops a
        stroke that lies on a rule, so an arm out to the edge along a rule ends short of
        it: on these rows, the run of own ink through the trace that leaves it towards
        the edge by at least ``min_run`` px and half the way counts as reaching the edge
        (for two stretches only, not for a tip).
    min_run : int
        Least length (px) of such a run.
    rule_gap : int
        Pieces of own ink along a row of ``along`` at most this many px apart are one run.
    max_rows : int
        Longest stretch between two stretches (rows) taken along the edge: over a longer
        one the trace is more likely in a gap (no curve found: on a real scan, ink at the
        edge is often the edge itself, text or a tick) than on a curve hidden under the
        edge's line. On the dev cases the pairs that passed the support test spanned 13
        rows or fewer, but for three on a scan whose curves have faded away (100 to 823
        rows), and no dev curve's R² changed with the cap; on a real scan without it,
        17,000 rows of a gap became the edge's value.

    Returns
    -------
    (rows,) float
        A new trace.
    """
    from scipy import ndimage

    x = np.asarray(x, np.float64)
    own = np.asarray(own, bool)
    H, W = own.shape
    if x.shape != (H,):
        raise ValueError(f"x must have {H} rows, got {x.shape}")
    if faint is not None and np.shape(faint) != (H, W):
        raise ValueError(f"faint must have the shape {(H, W)}, got {np.shape(faint)}")
    xs = x.copy()
    if H < 3 or W == 0:
        return xs
    held = own if faint is None else own | np.asarray(faint, bool)
    reach_hw = max(1, int(np.ceil(half_width)))
    support = _sample(held.view(np.uint8), x, reach_hw) > 0
    eight = np.ones((3, 3), bool)
    if along is not None and np.shape(along) != (H,):
        raise ValueError(f"along must have shape ({H},), got {np.shape(along)}")
    for side, edge in enumerate(edges):
        e = int(round(edge))
        lo, hi = (max(0, e), min(W, e + reach + 1)) if side == 0 else (
            max(0, e - reach), min(W, e + 1))
        if hi <= lo:
            continue
        at_edge = own[:, lo:hi]
        fills = None  # the arms along rules continued to the edge
        if along is not None and np.any(along):
            fills = _along_rules(own, np.asarray(along, bool), x, side=side, edge=e,
                                 min_run=max(1, int(min_run)), half_width=half_width,
                                 gap=max(0, int(rule_gap)))
            if (fills[:, 0] >= 0).any():
                cols = np.arange(lo, hi)
                at_edge = at_edge | ((cols >= fills[:, :1]) & (cols < fills[:, 1:]))
            else:
                fills = None
        # two stretches: out to the edge, along its line (unmarked), back (an arm along
        # a rule reaches the edge); one stretch: out to the edge and straight back (the
        # tip on the edge; own ink only)
        pairs = _edge_stretches(at_edge)
        mine = pairs if fills is None else _edge_stretches(own[:, lo:hi])
        own_stretch = set(mine)  # stretches of own ink itself, not of arms along rules
        cands = [(s1, e1, s2, e2, e1, s2) for (s1, e1), (s2, e2)
                 in zip(pairs[:-1], pairs[1:], strict=True)]
        if tips:
            cands += [(s1, e1, s1, e1, s1, e1) for s1, e1 in mine]
        for s1, e1, s2, e2, f0, f1 in cands:
            if f0 != s1 and ((s1, e1) not in own_stretch or (s2, e2) not in own_stretch) and (
                    np.mean(np.isfinite(x[e1:s2])) < 0.5):
                # an arm along a rule: only across a stretch the path cut across (a
                # ruled page has arms everywhere; a gap in the trace is no cut)
                continue
            if f0 == s1:  # a tip: the trace as it stands now
                sup = _sample(held[s1:e1].view(np.uint8), xs[s1:e1], reach_hw) > 0
                if np.mean(sup) > max_support or np.any(np.abs(xs[s1:e1] - edge)
                                                        <= half_width + reach):
                    continue
            elif np.mean(support[e1:s2]) > max_support:
                continue  # the curve came back in between: its ink is on the trace
            elif s2 - e1 > max_rows:
                continue  # no curve runs hidden along the edge for so long: a gap
            top, bottom = max(0, s1 - window), min(H, e2 + window)
            ink = _filled(own, None if f0 == s1 else fills, top, bottom)
            if link_gap > 0:  # the dashes joined (rows beside count: one more each way)
                t0, b0 = max(0, top - 1), min(H, bottom + 1)
                ink |= (row_gap_links(own[t0:b0], max_gap=link_gap) > 0)[
                    top - t0:top - t0 + bottom - top]
            labels, _ = ndimage.label(ink, structure=eight)
            new = xs[top:bottom].copy()
            ok = True
            for rows, way in ((np.arange(f0 - 1, top - 1, -1), "out"),
                              (np.arange(f1, bottom), "back")):
                # the ink touching the edge in this stretch, followed away from the edge
                at = np.arange(s1, e1) if way == "out" else np.arange(s2, e2)
                ids = np.unique(labels[at - top, lo:hi])
                ids = ids[ids > 0]
                if not len(ids):
                    ok = False
                    break
                piece = np.isin(labels, ids)
                met = seen = False
                for r in rows:  # from the edge towards the trace
                    cols = np.flatnonzero(piece[r - top])
                    if not len(cols):
                        if seen:  # the ink ends before it meets the trace
                            break
                        continue  # a row of the stretch without ink at the edge
                    seen = True
                    if np.isfinite(x[r]) and cols[0] - half_width <= x[r] <= \
                            cols[-1] + half_width:
                        met = True  # the ink has reached the trace: the excursion starts
                        break
                    new[r - top] = cols.mean()
                if not met:
                    ok = False
                    break
            if not ok:
                continue
            new[f0 - top:f1 - top] = edge
            if f0 == s1:  # a tip: the trace must have crossed paper where it moves
                moved = np.abs(new - xs[top:bottom]) > half_width
                if moved.any() and np.mean(support[top:bottom][moved]) > max_support:
                    continue
            xs[top:bottom] = np.where(np.isfinite(new), new, xs[top:bottom])
    return xs


def rule_spikes(x: np.ndarray, *, own: np.ndarray, other: np.ndarray, rules: np.ndarray,
                min_jump: float, max_rows: int = 2) -> np.ndarray:
    """Take back a trace's sideways sweep of a row or two along a horizontal rule onto
    ink that is not its own.

    Where a dashed curve crosses a rule in a dash gap, the rule's ink (which the
    segmenter may mark as another curve's where that curve's stroke lies along it) is a
    cheaper place for the path than the gap's paper: it slides along the rule to that
    ink and back. A stretch of at most ``max_rows`` rows of ``rules`` where the trace
    lies more than ``min_jump`` px from its columns on the rows either side, those two
    agree within ``min_jump / 2``, and the trace is on ``other`` ink and not on its own
    on each of its rows, is bridged straight between the rows either side.

    Parameters
    ----------
    x : (rows,) float
        The trace (columns of ``own``), NaN in gaps.
    own : (rows, cols) bool
        Ink of the trace's own class.
    other : (rows, cols) bool
        Ink of the other class (a solid curve's, for a dashed trace).
    rules : (rows,) bool
        Rows on or beside a horizontal rule.
    min_jump : float
        Least sideways distance (px) of a sweep.
    max_rows : int
        Longest sweep (rows).

    Returns
    -------
    (rows,) float
        A new trace.
    """
    x = np.asarray(x, np.float64)
    own = np.asarray(own, bool)
    H, W = own.shape
    if x.shape != (H,) or np.shape(rules) != (H,) or np.shape(other) != (H, W):
        raise ValueError(f"x, rules and other must have {H} rows and other {W} columns, "
                         f"got {x.shape}, {np.shape(rules)}, {np.shape(other)}")
    other = np.asarray(other, bool)
    rules = np.asarray(rules, bool)
    out = x.copy()
    if H < 3:
        return out
    # a sweep's first row is more than 3/4 of min_jump from the row before it
    with np.errstate(invalid="ignore"):
        starts = np.flatnonzero(rules[1:-1] & (np.abs(np.diff(x)) > 0.75 * min_jump)[:-1]) + 1
    done = 0  # rows before this one are decided
    for r in starts:
        if r < done:
            continue
        before = x[r - 1]
        for n in range(1, max_rows + 1):
            b = r + n  # the row after a sweep over rows r .. b - 1
            if b >= H or not rules[b - 1] or not np.all(np.isfinite(x[r:b])):
                break
            if not np.isfinite(x[b]) or abs(x[b] - before) > min_jump / 2:
                continue
            if np.all(np.abs(x[r:b] - 0.5 * (before + x[b])) > min_jump):
                cols = np.clip(np.round(x[r:b]).astype(int), 0, W - 1)
                at = np.arange(r, b)
                if not own[at, cols].any() and other[at, cols].all():
                    out[r:b] = np.interp(at, [r - 1, b], [before, x[b]])
                    done = b + 1
            break
    return out
