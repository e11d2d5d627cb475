"""Draft a layout sidecar from the grid printed on a scan (``logdigit layout``).

What is measured
----------------
* **Skew** of the vertical grid lines (:mod:`logdigit.deskew`); when it is measurable the
  scan is deskewed by a shear about its centre row before anything else, so the columns
  reported are those of the track edges on the centre row of the stored image (see
  :mod:`logdigit.deskew`); rows are the stored rows.
* **Vertical grid lines**: in a few bands of rows spread over the scan (6 bands of 2,000
  rows by default), the fraction of ink in every column; columns well above their
  neighbourhood are long vertical lines.
* **Tracks**: runs of lines that fit a known grid between two edge lines: linear (10 equal
  divisions) or logarithmic (1 to 6 decades, lines at 1..9 of each decade). Lines are
  split into tracks by dynamic programming, which never lets a track span a gap with no
  horizontal grid lines (the depth track, the gap between two tracks).
* **Depth track**: the widest gap between tracks (or beside them) that holds ink but no grid.
* **Depth lines**: over the whole scan, rows whose ink covers most of the track columns
  (grid lines excluded). Their spacing is the minor depth-line spacing; heavier lines
  recurring every 5 or 10 minor lines are the major lines.

Nothing here reads the depth numbers: the depth values, units and curve scales in the
TOML are placeholders marked ``# TO CONFIRM``. When no track grid is found,
:func:`draft_layout` raises :class:`~logdigit.errors.ScanError` rather than guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from .deskew import deskew, ink_threshold, measure_skew, sample_bands
from .errors import ScanError

__all__ = [
    "DepthLines",
    "DraftTrack",
    "LayoutDraft",
    "draft_image",
    "draft_layout",
    "draft_toml",
]

TO_CONFIRM = "# TO CONFIRM"
_LINE_PROMINENCE = 0.3  # ink fraction above the local background that makes a grid line
_TRACK_COST = 3.0  # dynamic-programming cost of opening a track (in matched lines)
_MIN_FIT = 0.75  # (matched - extra) / expected for a grid to count as recognised
_MAX_DECADES = 6


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DraftTrack:
    """A track found from its vertical grid lines.

    Attributes
    ----------
    left_px, right_px : float
        Columns of the track's edge lines (centre of the line), in the deskewed image.
    scale : {"linear", "log"}
        The grid type.
    decades : int
        Number of log decades (0 for a linear grid).
    matched, expected, extra : int
        Grid lines found where the grid model puts one, lines the model has, and lines
        inside the track that the model does not explain.
    """

    left_px: float
    right_px: float
    scale: str
    decades: int
    matched: int
    expected: int
    extra: int

    @property
    def fit(self) -> float:
        """``(matched - extra) / expected``: 1.0 is a perfect grid."""
        return (self.matched - self.extra) / self.expected

    @property
    def spacing_px(self) -> float:
        """Width of one linear division, or of one log decade, in px."""
        width = self.right_px - self.left_px
        return width / 10 if self.scale == "linear" else width / max(1, self.decades)

    def describe(self) -> str:
        if self.scale == "linear":
            grid = f"linear grid, 10 divisions of {self.spacing_px:.1f} px"
        else:
            n = self.decades
            grid = f"log grid, {n} decade{'s' if n > 1 else ''} of {self.spacing_px:.1f} px"
        return (f"columns {self.left_px:.1f}..{self.right_px:.1f} "
                f"({self.right_px - self.left_px:.0f} px), {grid}; "
                f"{self.matched}/{self.expected} grid lines found, {self.extra} unexplained")


@dataclass(frozen=True)
class DepthLines:
    """The horizontal depth lines found over the track columns.

    Attributes
    ----------
    spacing_px : float
        Minor depth-line spacing in rows.
    rows : ndarray
        Row (centre) of every line on the regular lattice, in order.
    major_rows : ndarray
        Rows of the major (heavier) lines; empty when none stood out.
    major_every : int or None
        Minor intervals between major lines (5 or 10), None when no major lines stood out.
    regular : float
        Fraction of all line-like rows found that lie on the regular lattice.
    n_found : int
        Line-like rows found in total (on the lattice or not).
    """

    spacing_px: float
    rows: np.ndarray
    major_rows: np.ndarray
    major_every: int | None
    regular: float
    n_found: int


@dataclass
class LayoutDraft:
    """Everything :func:`draft_layout` found on a scan."""

    n_rows: int
    n_cols: int
    skew: float  # degrees applied by deskew (0.0 when none)
    skew_measured: float
    skew_strength: float
    tracks: list[DraftTrack]
    lines: np.ndarray  # x of every vertical line found (deskewed columns)
    depth_track: tuple[int, int] | None
    depth: DepthLines | None
    unexplained: list[tuple[float, float]] = field(default_factory=list)  # gridded, no model
    bands: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    support: list[int] = field(default_factory=list)  # bands showing each track
    n_bands_with_grid: int = 0

    @property
    def top_row(self) -> int | None:
        """First major depth line (first lattice line when no major lines stood out)."""
        rows = self._calibration_rows()
        return int(round(rows[0])) if rows is not None else None

    @property
    def bottom_row(self) -> int | None:
        """Last major depth line (last lattice line when no major lines stood out)."""
        rows = self._calibration_rows()
        return int(round(rows[-1])) if rows is not None else None

    def _calibration_rows(self) -> np.ndarray | None:
        if self.depth is None:
            return None
        rows = self.depth.major_rows if len(self.depth.major_rows) >= 2 else self.depth.rows
        return rows if len(rows) >= 2 else None

    @property
    def minor_intervals(self) -> int | None:
        """Minor depth-line intervals between ``top_row`` and ``bottom_row``."""
        if self.top_row is None or self.bottom_row is None or self.depth is None:
            return None
        return int(round((self.bottom_row - self.top_row) / self.depth.spacing_px))

    @property
    def confidence(self) -> str:
        """"high", "medium" or "low", from the grid fits and the depth-line regularity."""
        fits = [t.fit for t in self.tracks]
        if not fits:
            return "low"
        d = self.depth
        if (min(fits) >= 0.9 and d is not None and d.regular >= 0.8 and d.major_every
                and not self.unexplained):
            return "high"
        if min(fits) >= _MIN_FIT and d is not None and d.regular >= 0.5:
            return "medium"
        return "low"


# --------------------------------------------------------------------------- drafting


def draft_layout(pixels: np.ndarray, *, n_bands: int = 8, band_rows: int = 2000,
                 source: str | Path | None = None) -> LayoutDraft:
    """Find the tracks, grid types and depth lines of a scan.

    Parameters
    ----------
    pixels : ndarray, shape (rows, cols), uint8
        The scan (0 ink .. 255 paper), depth down the rows.
    n_bands, band_rows : int
        Bands of rows sampled for the vertical grid lines (see
        :func:`logdigit.deskew.sample_bands`). The depth lines are looked for in every row.
    source : str or Path, optional
        The scan's file name, for messages.

    Returns
    -------
    LayoutDraft

    Raises
    ------
    ScanError
        No track grid was recognised (the message says what was seen).
    """
    where = f"{source}: " if source is not None else ""
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise ValueError(f"pixels must be a 2-D image, got shape {pixels.shape}")
    n_rows, n_cols = pixels.shape
    skew = measure_skew(pixels)
    angle = skew.angle if abs(math.tan(math.radians(skew.angle))) * n_rows / 2 >= 0.5 else 0.0
    work = deskew(pixels, angle) if angle else pixels
    bands = sample_bands(n_rows, n_bands=n_bands, band_rows=band_rows)
    thr = ink_threshold(np.concatenate([work[a:b:5].ravel() for a, b in bands]))
    if not (work[:: max(1, n_rows // 4000)] < thr).any():
        raise ScanError(f"{where}no clear grid: the scan is blank (no ink at all)")

    # every band on its own: its vertical lines and the tracks they make
    run_h = max(15, int(round(n_cols / 80)) | 1)
    run_v = max(11, int(round(n_cols / 100)) | 1)
    per_band = []
    for a, b in bands:
        band = work[a:b]
        ink = band < thr
        cf = ink.mean(axis=0)
        h = _runs(ink, run_h, axis=1).mean(axis=0)
        v = _runs(ink, run_v, axis=0).mean(axis=0)
        xs = _vertical_lines(v, cf, 255.0 - band.mean(axis=0))
        tracks, _ = _find_tracks(xs, h, n_cols)
        per_band.append(_Band(cf=cf, h=h, xs=xs, tracks=tracks))
    tracks, support = _consensus([pb.tracks for pb in per_band], n_cols)
    if not tracks:
        seen = (f"up to {max(len(pb.xs) for pb in per_band)} long vertical lines per band "
                f"but no linear (10 divisions) or log (1..{_MAX_DECADES} decades) grid among "
                "them") if any(len(pb.xs) for pb in per_band) else "no long vertical grid lines"
        raise ScanError(f"{where}no clear grid in {len(bands)} bands of rows: {seen}; "
                        "write the layout by hand")
    # profiles of the bands that show the chosen grid
    used = sorted({i for members in support for i in members})
    f = np.median(np.stack([per_band[i].cf for i in used]), axis=0)
    h = np.median(np.stack([per_band[i].h for i in used]), axis=0)
    lines = np.unique(np.round(np.concatenate([per_band[i].xs for i in used]), 1))
    _, unexplained = _find_tracks(_vertical_lines_merged(lines), h, n_cols)
    unexplained = [(a, b) for a, b in unexplained
                   if not any(t.left_px - 2 <= a and b <= t.right_px + 2 for t in tracks)]

    notes = []
    n_with = sum(1 for pb in per_band if pb.tracks)
    weakest = min(len(m) for m in support)
    if weakest < len(used):
        notes.append(f"some tracks were recognised in only {weakest} of the {len(used)} "
                     "bands with a grid")
    if n_with < len(bands):
        notes.append(f"{len(bands) - n_with} of {len(bands)} sampled bands of rows show no "
                     "recognised grid (header, tables, blank or another log section?)")
    if skew.confident and not angle and abs(skew.measured) >= 0.005:
        notes.append(f"skew {skew.measured:+.3f} deg is below half a pixel over the scan: "
                     "not corrected")
    elif not skew.confident:
        notes.append("skew: no clear evidence, not corrected")
    depth_track = _depth_track(tracks, f, lines, h, n_cols)
    depth = _depth_lines(work, tracks, lines, thr)
    if depth is None:
        notes.append("no regular horizontal depth lines found over the tracks")
    return LayoutDraft(
        n_rows=n_rows, n_cols=n_cols, skew=angle, skew_measured=skew.measured,
        skew_strength=skew.strength, tracks=tracks, lines=lines, depth_track=depth_track,
        depth=depth, unexplained=unexplained, bands=bands, notes=notes,
        support=[len(m) for m in support], n_bands_with_grid=len(used),
    )


@dataclass
class _Band:
    cf: np.ndarray  # ink fraction per column
    h: np.ndarray  # fraction of rows in long horizontal runs, per column
    xs: np.ndarray  # vertical grid lines
    tracks: list[DraftTrack]


def _runs(ink: np.ndarray, length: int, *, axis: int) -> np.ndarray:
    """Pixels inside a window of ``length`` px along ``axis`` that is at least 80 % ink."""
    cover = ndimage.uniform_filter1d(ink.astype(np.float32), length, axis=axis, mode="constant")
    return ndimage.maximum_filter1d(cover >= 0.8, length, axis=axis, mode="constant")


def _vertical_lines(v: np.ndarray, cf: np.ndarray, dark: np.ndarray | None = None
                    ) -> np.ndarray:
    """Centres (sub-pixel columns) of the long vertical lines of a band.

    ``v`` is the fraction of rows in long vertical runs per column (solid or dashed lines,
    free of the horizontal grid), ``cf`` the plain ink fraction (dotted lines too); a
    column is on a line when either stands out from its neighbourhood. ``dark`` (mean
    darkness per column) separates lines that touch and weights the centres.
    """
    n = len(v)
    pv = v - ndimage.percentile_filter(v, 20, size=31, mode="nearest")
    pc = cf - ndimage.percentile_filter(cf, 20, size=31, mode="nearest")
    p = np.maximum(pv / 0.2, pc / _LINE_PROMINENCE)  # >= 1 on a line
    on = p >= 1.0
    xs = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    max_width = max(6, n // 150)
    weight = p if dark is None else np.maximum(dark - dark.min(), 1e-6)
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        for a2, b2 in _split_run(weight, a, b, max_width):
            w = weight[a2:b2]
            xs.append(float((np.arange(a2, b2) * w).sum() / w.sum()))
    return np.asarray(xs)


def _split_run(p: np.ndarray, a: int, b: int, max_width: int) -> list[tuple[int, int]]:
    """Split a run of line columns at clear dips (two lines a few px apart, e.g. the edges
    of adjacent tracks); runs still wider than ``max_width`` are solid blocks, dropped."""
    if b - a <= max_width:
        return [(a, b)]
    if b - a > 4 * max_width:
        return []
    k = a + 1 + int(np.argmin(p[a + 1 : b - 1]))
    if p[k] < 0.8 * min(p[a:k].max(), p[k + 1 : b].max()) and k - a >= 1 and b - k - 1 >= 1:
        return _split_run(p, a, k, max_width) + _split_run(p, k + 1, b, max_width)
    return []


def _vertical_lines_merged(xs: np.ndarray) -> np.ndarray:
    """Merge line positions from several bands that are within 2 px of each other."""
    if len(xs) == 0:
        return xs
    groups = [[xs[0]]]
    for x in xs[1:]:
        if x - groups[-1][-1] <= 2.0:
            groups[-1].append(x)
        else:
            groups.append([x])
    return np.asarray([float(np.mean(g)) for g in groups])


def _consensus(band_tracks: list[list[DraftTrack]], n_cols: int
               ) -> tuple[list[DraftTrack], list[list[int]]]:
    """Tracks recognised in the most bands, not overlapping each other.

    Tracks from different bands are the same when both edges agree within
    ``max(3, 0.005 * n_cols)`` px and the grid type is the same. Returns the tracks (median
    edges, the grid fit of the best band) and, for each, the bands that show it.
    """
    tol = max(3.0, 0.005 * n_cols)
    clusters: list[list[tuple[int, DraftTrack]]] = []
    for bi, tracks in enumerate(band_tracks):
        for t in tracks:
            for c in clusters:
                r = c[0][1]
                if (r.scale, r.decades) == (t.scale, t.decades) and abs(
                        r.left_px - t.left_px) <= tol and abs(r.right_px - t.right_px) <= tol:
                    c.append((bi, t))
                    break
            else:
                clusters.append([(bi, t)])
    if not clusters:
        return [], []
    cands = []
    for c in clusters:
        bands_in = sorted({bi for bi, _ in c})
        best = max((t for _, t in c), key=lambda t: t.fit)
        left = float(np.median([t.left_px for _, t in c]))
        right = float(np.median([t.right_px for _, t in c]))
        track = DraftTrack(left_px=left, right_px=right, scale=best.scale, decades=best.decades,
                           matched=best.matched, expected=best.expected, extra=best.extra)
        cands.append((track, bands_in, len(bands_in) + 0.01 * best.fit))
    top = max(w for _, _, w in cands)
    cands = [c for c in cands if c[2] >= 0.34 * top]
    # weighted interval scheduling: tracks may share an edge but not overlap
    cands.sort(key=lambda c: c[0].right_px)
    n = len(cands)
    best_w = [0.0] * (n + 1)
    take: list[bool] = [False] * n
    prev = []
    for k, (t, _, _) in enumerate(cands):
        p = -1
        for q in range(k - 1, -1, -1):
            if cands[q][0].right_px <= t.left_px + tol:
                p = q
                break
        prev.append(p)
    for k in range(n):
        with_k = cands[k][2] + best_w[prev[k] + 1]
        take[k] = with_k > best_w[k]
        best_w[k + 1] = max(best_w[k], with_k)
    chosen = []
    k = n - 1
    while k >= 0:
        if take[k] and best_w[k + 1] != best_w[k]:
            chosen.append(cands[k])
            k = prev[k]
        else:
            k -= 1
    chosen.reverse()
    return [c[0] for c in chosen], [c[1] for c in chosen]


def _grid_fractions(decades: int) -> np.ndarray:
    """Positions of the grid lines across a track, 0..1 (decades 0 means linear)."""
    if decades == 0:
        return np.arange(11) / 10
    fr = {(k + math.log10(j)) / decades for k in range(decades) for j in range(1, 10)}
    return np.asarray(sorted(fr | {1.0}))


_MODELS = [(d, _grid_fractions(d)) for d in range(0, _MAX_DECADES + 1)]


def _fit_segment(xs: np.ndarray, i: int, j: int, fracs: np.ndarray) -> tuple[int, int]:
    """(matched, extra) for the grid ``fracs`` between lines ``i`` and ``j``."""
    left, right = xs[i], xs[j]
    width = right - left
    min_gap = float(np.diff(fracs).min()) * width
    tol = min(max(1.5, 0.01 * width), 0.4 * min_gap)
    inner = xs[i + 1 : j]
    pred = left + fracs[1:-1] * width
    matched, used = 2, set()
    if len(inner):
        pos = np.searchsorted(inner, pred)
        for p, k in zip(pred, pos, strict=True):
            best, best_d = -1, tol
            for c in (k - 1, k):
                if 0 <= c < len(inner) and c not in used and abs(inner[c] - p) <= best_d:
                    best, best_d = c, abs(inner[c] - p)
            if best >= 0:
                used.add(best)
                matched += 1
    return matched, len(inner) - len(used)


def _find_tracks(xs: np.ndarray, h: np.ndarray, n_cols: int
                 ) -> tuple[list[DraftTrack], list[tuple[float, float]]]:
    """Split the vertical lines into gridded tracks (dynamic programming)."""
    n = len(xs)
    if n < 3:
        return [], []
    # intervals between consecutive lines without horizontal grid lines split tracks
    h_int = np.full(n - 1, np.nan)
    for k in range(n - 1):
        a, b = int(math.floor(xs[k])) + 3, int(math.ceil(xs[k + 1])) - 2
        if b - a >= 2:
            h_int[k] = float(h[a:b].mean())
    known = h_int[np.isfinite(h_int)]
    h_ref = float(np.median(known)) if len(known) else 0.0
    empty = np.zeros(n - 1, bool)
    if h_ref >= 0.003:
        empty = np.isfinite(h_int) & (h_int < 0.25 * h_ref)
    empty_before = np.concatenate([[0], np.cumsum(empty)])  # empties among intervals < k

    min_w = max(30.0, 0.03 * n_cols)
    best = np.zeros(n)
    choice: list[tuple[int, int, int, int] | None] = [None] * n
    for j in range(n):
        best[j] = best[j - 1] if j else 0.0
        for i in range(j - 2, -1, -1):
            if empty_before[j] - empty_before[i] > 0:
                break
            width = xs[j] - xs[i]
            if width < min_w:
                continue
            m = j - i + 1
            for d, fracs in _MODELS:
                e = len(fracs)
                if not 0.6 * e <= m <= 1.5 * e:
                    continue
                matched, extra = _fit_segment(xs, i, j, fracs)
                if (matched - extra) / e < _MIN_FIT:
                    continue
                gain = matched - extra - _TRACK_COST
                total = best[i] + gain
                if total > best[j]:
                    best[j] = total
                    choice[j] = (i, d, matched, extra)
    tracks = []
    j = n - 1
    while j > 0:
        if choice[j] is None:
            j -= 1
            continue
        i, d, matched, extra = choice[j]
        tracks.append(DraftTrack(left_px=float(xs[i]), right_px=float(xs[j]),
                                 scale="log" if d else "linear", decades=d, matched=matched,
                                 expected=len(_grid_fractions(d)), extra=extra))
        j = i  # the previous track may end on this track's left edge
    tracks.reverse()

    # gridded stretches (horizontal lines, several vertical lines) no model explained
    unexplained = []
    covered = np.zeros(n - 1, bool)
    for t in tracks:
        i, j = int(np.searchsorted(xs, t.left_px)), int(np.searchsorted(xs, t.right_px))
        covered[i:j] = True
    if h_ref >= 0.003:
        gridded = ~covered & np.isfinite(h_int) & ~empty
        k = 0
        while k < n - 1:
            if gridded[k]:
                s = k
                while k < n - 1 and gridded[k]:
                    k += 1
                if xs[k] - xs[s] >= min_w:
                    unexplained.append((float(xs[s]), float(xs[k])))
            k += 1
    return tracks, unexplained


def _depth_track(tracks, f, xs, h, n_cols) -> tuple[int, int] | None:
    """The widest gap beside or between the tracks that holds ink but no grid."""
    edges = [0.0] + [v for t in tracks for v in (t.left_px, t.right_px)] + [n_cols - 1.0]
    best, best_w = None, 0.0
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        lo, hi = int(math.ceil(a)) + 3, int(math.floor(b)) - 3
        if hi - lo < 20:
            continue
        inside = xs[(xs > lo) & (xs < hi)]
        if len(inside) > 2 or h[lo:hi].mean() > 0.02:
            continue
        ink = f[lo:hi]
        if ink.max() < 0.01:  # blank margin
            continue
        # the region of the gap that holds ink, so margins are not counted
        cols = np.flatnonzero(ink >= 0.2 * ink.max())
        a2, b2 = lo + int(cols[0]), lo + int(cols[-1])
        interior = 0.0 < a and b < n_cols - 1.0
        w = (b - a) * (1.5 if interior else 1.0)
        if w > best_w:
            best, best_w = (a2, b2), w
    return best


def _depth_lines(work: np.ndarray, tracks: list[DraftTrack], xs: np.ndarray, thr: float
                 ) -> DepthLines | None:
    """Rows of the horizontal depth lines over the tracks, their spacing and major lines."""
    n_rows, n_cols = work.shape
    mask = np.zeros(n_cols, bool)
    for t in tracks:
        mask[int(math.ceil(t.left_px)) + 3 : int(math.floor(t.right_px)) - 2] = True
    for x in xs:
        mask[max(0, int(round(x)) - 2) : int(round(x)) + 3] = False
    cols = np.flatnonzero(mask)
    if len(cols) < 10:
        return None
    if len(cols) > 1500:  # enough to see a line; keeps the pass over a big scan quick
        cols = cols[:: int(math.ceil(len(cols) / 1500))]
    rf = np.empty(n_rows, np.float32)
    step = 4096
    for a in range(0, n_rows, step):
        rf[a : a + step] = (work[a : a + step][:, cols] < thr).mean(axis=1)

    level = max(0.3, min(0.6, 0.5 * float(np.percentile(rf, 99.5))))
    on = rf >= level
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    centres, masses = [], []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a > 12:  # a black band, not a line
            continue
        w = rf[a:b]
        centres.append(float((np.arange(a, b) * w).sum() / w.sum()))
        lo, hi = max(0, a - 1), min(n_rows, b + 1)
        masses.append(float(rf[lo:hi].sum()))
    if len(centres) < 6:
        return None
    y = np.asarray(centres)
    mass = np.asarray(masses)
    d = np.diff(y)
    d = d[d >= 3]
    if len(d) < 5:
        return None
    hist = np.bincount(np.round(d * 2).astype(int))
    hist = np.convolve(hist, [1, 2, 1], mode="same")  # rows are whole pixels: 6, 7, 6, ...
    mode = np.argmax(hist) / 2
    near = d[np.abs(d - mode) <= 0.25 * mode]
    s0 = float(np.mean(near))
    if s0 < 3:
        return None
    tol = max(0.12, 0.6 / s0)

    # chains of lines whose gaps are whole multiples (1..3) of the spacing
    runs: list[list[int]] = [[0]]
    ks: list[list[int]] = [[0]]
    for i in range(1, len(y)):
        q = (y[i] - y[i - 1]) / s0
        kq = round(q)
        if 1 <= kq <= 3 and abs(q - kq) <= tol:
            runs[-1].append(i)
            ks[-1].append(ks[-1][-1] + kq)
        elif q < 0.5:  # a split line (thick or doubled): ignore the second half
            continue
        else:
            runs.append([i])
            ks.append([0])
    kept = []
    for r, k in zip(runs, ks, strict=True):
        r, k = np.asarray(r), np.asarray(k)
        if len(r) < 8:
            continue
        # drop lines off the fitted lattice (a fold mark or a stain next to a missing line)
        a, b = np.polyfit(k, y[r], 1)[::-1]
        good = np.abs(y[r] - (a + b * k)) <= max(2.0, 0.1 * s0)
        if good.sum() >= 8:
            kept.append((r[good], k[good]))
    if not kept:
        return None
    slopes, weights = [], []
    for r, k in kept:
        slopes.append(np.polyfit(k, y[r], 1)[0])
        weights.append(len(r))
    order = np.argsort(slopes)
    cw = np.cumsum(np.asarray(weights)[order])
    spacing = float(np.asarray(slopes)[order][np.searchsorted(cw, cw[-1] / 2)])
    on_lattice = sum(len(r) for r, _ in kept)
    major_every, major_rows = _major_lines(kept, y, mass)
    rows = np.concatenate([y[r] for r, _ in kept])
    return DepthLines(spacing_px=spacing, rows=np.sort(rows),
                      major_rows=np.sort(np.asarray(major_rows)), major_every=major_every,
                      regular=on_lattice / len(y), n_found=len(y))


def _major_lines(kept: list[tuple[np.ndarray, np.ndarray]], y: np.ndarray, mass: np.ndarray
                 ) -> tuple[int | None, list[float]]:
    """The period (5 or 10 minor lines) and rows of the clearly heavier depth lines.

    Each chain of lines gets its own phase. A period wins by how far the median weight
    of its lines stands above the others, in units of the others' spread; 10 is taken
    over 5 only when the lines half-way between its major lines are not heavy too.
    """
    def phase_split(period: int) -> tuple[float, list[int]]:
        score, total, phases = 0.0, 0, []
        for r, k in kept:
            m = mass[r]
            best_phase, best_sep = 0, -np.inf
            for phase in range(period):
                sel = (k % period) == phase
                if sel.sum() < 1 or (~sel).sum() < 3:
                    continue
                light = m[~sel]
                spread = 1.4826 * np.median(np.abs(light - np.median(light)))
                sep = (np.median(m[sel]) - np.median(light)) / (spread + 0.05 * np.median(light))
                if sep > best_sep:
                    best_phase, best_sep = phase, sep
            phases.append(best_phase)
            if np.isfinite(best_sep):
                score += max(best_sep, 0.0) * len(r)
                total += len(r)
        return (score / total if total else 0.0), phases

    score5, phases5 = phase_split(5)
    score10, phases10 = phase_split(10)
    period, phases = 5, phases5
    if score10 > score5:
        # are the lines half-way between the period-10 majors heavy as well?
        main, half = [], []
        for (r, k), phase in zip(kept, phases10, strict=True):
            main.extend(mass[r][(k % 10) == phase])
            half.extend(mass[r][(k % 10) == (phase + 5) % 10])
        if not half or np.median(half) < 0.8 * np.median(main):
            period, phases = 10, phases10
    heavy, light, rows = [], [], []
    for (r, k), phase in zip(kept, phases, strict=True):
        sel = (k % period) == phase
        heavy.extend(mass[r][sel])
        light.extend(mass[r][~sel])
        rows.extend(y[r][sel])
    if heavy and light and np.median(heavy) >= 1.25 * np.median(light):
        return period, rows
    return None, []


# --------------------------------------------------------------------------- outputs


def _num(v: float) -> str:
    return repr(float(v))


def draft_toml(draft: LayoutDraft, *, scan_name: str = "the scan",
               png_name: str | None = None) -> str:
    """The sidecar TOML for a draft, with every guessed field marked ``# TO CONFIRM``.

    The text is valid for :func:`logdigit.layout.load_layout`.
    """
    d = draft.depth
    lines = [
        f"# Draft layout written by `logdigit layout` for {scan_name}",
        f"# ({draft.n_cols} x {draft.n_rows} px). Every line marked \"{TO_CONFIRM}\" is a "
        "guess or a",
        "# placeholder: check it against the scan"
        + (f" and {png_name}" if png_name else "") + " before converting.",
        "#",
        "# Found:",
    ]
    if draft.skew:
        lines.append(f"#   skew {draft.skew:+.3f} deg (vertical lines drift right going down "
                     "when positive); columns")
        lines.append("#   below are those of the deskewed scan = the track edges on the centre "
                     f"row {(draft.n_rows - 1) / 2:.0f}")
    else:
        lines.append(f"#   skew: none corrected (measured {draft.skew_measured:+.3f} deg)")
    for i, t in enumerate(draft.tracks, 1):
        lines.append(f"#   track {i}: {t.describe()}")
    for a, b in draft.unexplained:
        lines.append(f"#   columns {a:.0f}..{b:.0f}: gridded, but the grid is neither linear "
                     "(10 divisions) nor log: not drafted")
    if draft.depth_track:
        a, b = draft.depth_track
        lines.append(f"#   depth track (ink, no grid: depth numbers?): columns {a}..{b}")
    else:
        lines.append("#   depth track: not found")
    if d is not None:
        major = (f"major lines every {d.major_every} minor ({d.major_every * d.spacing_px:.2f} "
                 f"px), {len(d.major_rows)} found") if d.major_every else (
                 "no heavier major lines stood out")
        lines.append(f"#   depth lines: every {d.spacing_px:.3f} px (minor); {major}")
        lines.append(f"#   {len(d.rows)} lines on a regular lattice out of {d.n_found} "
                     f"line-like rows ({100 * d.regular:.0f} %), rows "
                     f"{d.rows[0]:.0f}..{d.rows[-1]:.0f}")
        if d.major_every:
            first = ", ".join(f"{r:.0f}" for r in d.major_rows[:8])
            more = ", ..." if len(d.major_rows) > 8 else ""
            lines.append(f"#   major lines at rows {first}{more}")
    else:
        lines.append("#   depth lines: none found (set top_row/bottom_row by hand)")
    for note in draft.notes:
        lines.append(f"#   note: {note}")
    lines.append(f"#   confidence: {draft.confidence}")
    lines.append("#   depth numbers were not read (no OCR): depth values are placeholders")
    lines += ["", 'orientation = "depth-down"', "", "[depth]"]

    if d is not None and draft.top_row is not None and draft.bottom_row is not None:
        n_minor = draft.minor_intervals or 1
        what = "major" if d.major_every and len(d.major_rows) >= 2 else "lattice"
        lines += [
            f"top = 0.0              {TO_CONFIRM}: depth at top_row (read it off the scan)",
            f"bottom = {_num(float(n_minor)):<13} {TO_CONFIRM}: depth at bottom_row "
            f"({n_minor} minor intervals below top_row: top + {n_minor} x depth per minor "
            "line)",
            f"top_row = {draft.top_row:<12} {TO_CONFIRM}: first {what} depth line found",
            f"bottom_row = {draft.bottom_row:<9} {TO_CONFIRM}: last {what} depth line found",
        ]
    else:
        lines += [
            f"top = 0.0              {TO_CONFIRM}: depth at top_row",
            f"bottom = {_num(float(draft.n_rows - 1)):<13} {TO_CONFIRM}: depth at bottom_row",
            f"top_row = 0            {TO_CONFIRM}: no depth lines found; set by hand",
            f"bottom_row = {draft.n_rows - 1:<9} {TO_CONFIRM}: no depth lines found; set by hand",
        ]
    lines.append(f'unit = "FT"            {TO_CONFIRM}: FT or M')
    for i, t in enumerate(draft.tracks, 1):
        log = t.scale == "log"
        left, right = (0.2, 0.2 * 10 ** t.decades) if log else (0.0, 100.0)
        lines += [
            "",
            "[[tracks]]",
            f"left_px = {t.left_px:<12.1f} # left edge line ({t.scale} grid)",
            f"right_px = {t.right_px:<11.1f} # right edge line",
        ]
        for style in ("solid", "dashed"):
            scale = f'"{t.scale}"'
            lines += [
                "  [[tracks.curves]]",
                f'  mnemonic = "T{i}_{style.upper()}"  {TO_CONFIRM}: the curve\'s LAS mnemonic',
                f'  unit = ""               {TO_CONFIRM}',
                f"  left = {_num(left):<16} {TO_CONFIRM}: value at left_px",
                f"  right = {_num(right):<15} {TO_CONFIRM}: value at right_px",
                f"  scale = {scale:<15} # from the grid"
                + (f" ({t.decades} decade{'s' if t.decades > 1 else ''})" if log else ""),
                f'  style = "{style}"{" " * (14 - len(style))} {TO_CONFIRM}: '
                "solid, or dashed/dotted",
            ]
    return "\n".join(lines) + "\n"


_COLOURS = {
    "edge": (220, 0, 0),
    "linear": (0, 90, 255),
    "log": (0, 170, 0),
    "minor": (255, 150, 0),
    "major": (200, 0, 200),
    "depth": (255, 235, 120),
    "text": (0, 0, 0),
}


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def draft_image(draft: LayoutDraft, pixels: np.ndarray, *, width: int = 1400,
                strip_rows: int = 1600) -> Image.Image:
    """A QC picture of the draft: a strip of the scan at readable size with the track
    edges, grid lines and depth lines drawn in colour, and an overview of the whole scan.

    ``pixels`` is the scan as stored; it is deskewed the same way as for drafting.
    """
    pixels = np.asarray(pixels)
    n_rows, n_cols = pixels.shape
    d = draft.depth
    # the strip: around the first major line, else the middle of the lattice
    centre = n_rows // 2
    if d is not None and len(d.rows):
        centre = int(d.major_rows[0] if len(d.major_rows) else d.rows[len(d.rows) // 2])
    r0 = int(np.clip(centre - strip_rows // 4, 0, max(0, n_rows - strip_rows)))
    r1 = min(n_rows, r0 + strip_rows)
    strip = pixels[r0:r1]
    if draft.skew:
        from .deskew import shear_columns

        strip = shear_columns(strip, math.tan(math.radians(draft.skew)), row0=r0,
                              rc=(n_rows - 1) / 2)
    scale = min(1.0, (width * 0.7) / n_cols)
    sw, sh = max(1, round(n_cols * scale)), max(1, round((r1 - r0) * scale))
    img = Image.fromarray(strip).convert("RGB").resize((sw, sh), Image.Resampling.BOX)
    # overview of the whole scan, same height as the strip
    ov_scale = sh / n_rows
    ow = max(1, round(n_cols * ov_scale))
    step = max(1, n_rows // (sh * 4))
    ov = Image.fromarray(pixels[::step]).convert("RGB").resize((ow, sh), Image.Resampling.BOX)

    head = 70
    canvas = Image.new("RGB", (sw + ow + 30, sh + head), (255, 255, 255))
    canvas.paste(img, (0, head))
    canvas.paste(ov, (sw + 30, head))
    draw = ImageDraw.Draw(canvas, "RGBA")
    font = _font(13)

    def sx(x: float) -> float:
        return x * scale

    def sy(r: float) -> float:
        return head + (r - r0) * scale

    if draft.depth_track:
        a, b = draft.depth_track
        draw.rectangle([sx(a), head, sx(b), head + sh], fill=(*_COLOURS["depth"], 90))
    for t in draft.tracks:
        fracs = _grid_fractions(t.decades)
        for fr in fracs[1:-1]:
            x = sx(t.left_px + fr * (t.right_px - t.left_px))
            draw.line([(x, head), (x, head + 12)], fill=_COLOURS[t.scale], width=1)
            draw.line([(x, head + sh - 12), (x, head + sh)], fill=_COLOURS[t.scale], width=1)
    if d is not None:
        sel = (d.rows >= r0) & (d.rows < r1)
        majors = set(np.round(d.major_rows).astype(int).tolist())
        for r in d.rows[sel]:
            colour = _COLOURS["major"] if int(round(r)) in majors else _COLOURS["minor"]
            y = sy(r)
            for t in draft.tracks:
                draw.line([(sx(t.left_px), y), (sx(t.left_px) + 14, y)], fill=colour, width=2)
                draw.line([(sx(t.right_px) - 14, y), (sx(t.right_px), y)], fill=colour,
                          width=2)
    for i, t in enumerate(draft.tracks, 1):
        for x in (t.left_px, t.right_px):
            draw.line([(sx(x), head), (sx(x), head + sh)], fill=(*_COLOURS["edge"], 200),
                      width=2)
        label = f"T{i} {t.scale}" + (f" {t.decades}dec" if t.decades else "")
        draw.text((sx(t.left_px) + 3, 4), label, fill=_COLOURS[t.scale], font=font)
        draw.text((sx(t.left_px) + 3, 20), f"{t.left_px:.0f}-{t.right_px:.0f}",
                  fill=_COLOURS["text"], font=font)
    # the overview: track edges (following the skew) and the top/bottom rows
    ox = sw + 30
    tan_a = math.tan(math.radians(draft.skew))
    rc = (n_rows - 1) / 2
    for t in draft.tracks:
        for x in (t.left_px, t.right_px):
            xt, xb = x + (0 - rc) * tan_a, x + (n_rows - 1 - rc) * tan_a
            draw.line([(ox + xt * ov_scale, head), (ox + xb * ov_scale, head + sh)],
                      fill=(*_COLOURS["edge"], 160), width=1)
    for r in (draft.top_row, draft.bottom_row):
        if r is not None:
            y = head + r * ov_scale
            draw.line([(ox - 8, y), (ox + ow, y)], fill=_COLOURS["major"], width=2)
    draw.rectangle([ox - 1, head + r0 * ov_scale, ox + ow, head + r1 * ov_scale],
                   outline=(0, 0, 0))
    info = (f"rows {r0}-{r1}" + (f", deskewed {draft.skew:+.3f} deg" if draft.skew else "")
            + (f"; depth lines every {d.spacing_px:.2f} px" if d else "; no depth lines")
            + (f", major every {d.major_every}" if d and d.major_every else "")
            + f"; confidence {draft.confidence}")
    draw.text((4, 38), info, fill=_COLOURS["text"], font=font)
    draw.text((ox, 4), "whole scan", fill=_COLOURS["text"], font=font)
    draw.text((ox, 20), "top/bottom_row", fill=_COLOURS["major"], font=font)
    return canvas
