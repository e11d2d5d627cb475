"""Wire the stages for one scan: read -> layout -> segment -> trace -> calibrate -> write.

:func:`convert_scan` is the pure pipeline on arrays already in memory; :func:`convert_file`
adds the file handling the CLI and batch runs share (layout discovery, atomic LAS and
overlay output).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .calibrate import depth_grid, edge_samples, resample, row_to_depth, x_to_true_value
from .colour import colour_ink
from .errors import TraceError
from .grid import periodic_rules, rule_columns, rule_rows, rules_on_lattice, track_lattice
from .lasfile import LasCurve, write_las
from .layout import Curve, Layout, Track, find_layout, load_layout
from .outputs import check_output
from .polyline import refine_rough_trace
from .scale import expand_trace, rule_width, shrink, stroke_width, working_factor
from .scanio import Scan, image_info, read_scan
from .segment import count_tiles, cpu_workers, segment_array, track_window
from .trace import (
    MIN_PROB,
    Trace,
    bridge_gaps,
    centrelines,
    claim_solid_spikes,
    claim_solid_stretches,
    edge_excursions,
    exclude_trace,
    flat_solid_stretches,
    give_back_dashed_ink,
    ink_off_rules,
    order_left_to_right,
    reroute_gaps,
    resolve_crossings,
    resolve_same_style,
    row_gap_links,
    rule_spikes,
    search_solid_stretches,
    solid_off_rules,
    straight_stretches_only,
    suppress_straight_columns,
    trace_curve,
    unsupported_runs,
    widen,
)

logger = logging.getLogger(__name__)

#: Probability given to the scan's dark pixels off the grid's rules where the segmenter
#: saw no curve (:func:`logdigit.trace.ink_off_rules`). Chosen on the pick and dev cases
#: (``las/train``, 310 curves): 0.4 put 234 at R² >= 0.95 against 229 without (16 curves
#: up, 4 down by more than 0.005); 0.25, 0.6 and 0.8 gave 232, 234 and 234.
SCAN_INK_LEVEL = 0.4

#: ... but only in a track where the segmenter found curve ink on at least this share of
#: the rows: a segmenter blind to a whole track (a wrong model, a blank track) must not
#: turn every dark pixel into a curve.
MIN_SEEN_ROWS = 0.25

#: Sideways cost per column across paper (units of -log p) when a stretch a trace crossed
#: on paper is searched again for a peak it cut short (:func:`logdigit.trace.reroute_gaps`;
#: the first pass charges 1.0). On the pick and dev cases (310 curves): 0.1 put 239 at
#: R² >= 0.95 against 234 without (38 curves up, 13 down by more than 0.005; mean clipped
#: R² 0.9186 vs 0.9136); 0.05, 0.2 and 0.4 gave 239, 238 and 237. The new way's share of
#: rows on ink (``min_support``) at 0.5 or 0.6 gave the same 239.
REROUTE_PAPER = 0.1

#: ... and a new way that leaves the old path is kept only where its length off the old
#: path is on ink at least this share as often as the old path's rows are
#: (:func:`logdigit.trace.reroute_gaps`'s ``min_ink_share``): a dotted curve's trace had
#: run out 57 px to a speck of noise across paper and straight back in 5 rows (4 of 103
#: px on ink against 51 % of the path's rows), which cost the curve 0.38 of R² (found on
#: the held-out case hard-0005 C3D: 0.598 -> 0.976; see the model card, Session 37). On
#: the 310 dev curves no R² moved by more than 0.005 with 0.1; with 0.2 one real peak
#: was lost (dev13/scanned-0028 C1D 0.978 -> 0.968).
REROUTE_INK_SHARE = 0.1

#: ... and the new way keeps this many half line widths clear of the track's other traces
#: (1.5: 237 curves; 2: 239): the fringe of another curve's stroke is not a peak.
REROUTE_KEEP_OFF = 2.0

#: A stretch of a trace along a vertical rule is searched again only where the trace
#: spans at most this many columns (working resolution) there: it runs straight down the
#: rule (:func:`logdigit.trace.straight_stretches_only`). Since session 24: with session
#: 23's weights every stretch along a rule cost more than it gained. Dev (310 curves):
#: 274 at R² >= 0.95 and 217 at >= 0.99 against 271 and 216 (11 curves up, 8 down by more
#: than 0.005); spreads 1 and 3 gave 274 / 215 and 272 / 216, no stretch along a rule
#: searched 274 / 215 (13 up, 12 down). With label masks in place of the network 296
#: against 295.
RULE_RUN_SPREAD = 2.0

#: Dash gaps (px at full resolution) across which a dashed curve's trace moves sideways as
#: if along ink (:func:`logdigit.trace.row_gap_links`), and the ink probability (0..255)
#: such a gap counts as for that move. The renderer's dash gaps are 4-14 px along the line
#: (dotted: up to 8 px plus the line width). Chosen on the pick and dev cases
#: (``las/train``, 310 curves; session 18): 259 at R² >= 0.95 against 255 without (24 up,
#: 11 down by more than 0.005; 201 against 203 at >= 0.99, mean clipped R² 0.9374 against
#: 0.9373); level 255 gave 258; gaps of 10 and 24 px gave 259 as well (24: the same
#: scores; 10: 1 up, 4 down).
LINK_GAP_PX = 16
LINK_LEVEL = 200
#: Along a horizontal rule (rows within RULE_LINK_REACH of one) the segmenter drops whole
#: dashes lying on the rule: gaps up to this many px between dashes lying along the row
#: are linked there (dev cases, 310 curves, session 32: 285 at R² >= 0.95 against 284,
#: dev13/hard-0014 C2D 0.869 -> 0.995, none down by more than 0.005; label masks
#: unchanged).
RULE_LINK_GAP_PX = 64
RULE_LINK_REACH = 2
#: A dashed curve's trace that leaves its column for a row or two on a horizontal rule
#: by more than this many stroke reaches, onto solid-class ink and off its own, and comes
#: back, is bridged straight (:func:`logdigit.trace.rule_spikes`: in a dash gap the rule's
#: ink, marked as solid where a solid stroke lies along it, is cheaper than paper). Dev
#: cases, 310 curves, session 34: 287 at R² >= 0.95 against 286 (dev13/clean-0018 C2D
#: 0.950 -> 0.986; 10 curves moved, none by more than 0.005 but that one); 4 instead of
#: 6, or the rule rows alone instead of a row either side: the same 287. For solid curves
#: too it moved 27 curves, 12 of them down.
RULE_SWEEP = 6.0

#: The tracks are traced side by side (:func:`convert_scan`) only while the maps they
#: need, held at once, take at most this many bytes (the scan window and two
#: probabilities per pixel, uint8): beyond it each track is traced as soon as it is
#: segmented and its maps are dropped. Two tracks traced at once also hold two tracers'
#: temporaries: with 768 MB the 3,200 x 51,200 px bench scan (480 MB of maps) peaked at
#: 2.7 GB against 1.9 GB, over the 2.5 GB bound; the 12,800-row one (120 MB) stays under.
MAX_HELD_BYTES = 256 * 2**20


def default_trace_workers() -> int:
    """Threads for tracing tracks side by side: :func:`logdigit.segment.cpu_workers`."""
    return cpu_workers()


#: A dashed curve is traced with the solid-class ink on the vertical rules (and the columns
#: next to them) weakened to this share (:func:`logdigit.trace.solid_off_rules`). Chosen on
#: the pick and dev cases (``las/train``, 310 curves; session 20): 261 at R² >= 0.95
#: against 259 without, 202 against 201 at >= 0.99, mean clipped R² 0.9412 against 0.9374
#: (27 curves up, 7 down by more than 0.005); 0 gave 258 (mean clipped 0.9424), 0.15 260
#: (0.9426), 0.5 261 (0.9395); two columns either side of a rule instead of one, 260 with
#: 0.3 and 258 with 0. With the label masks in place of the network the same 284 curves
#: pass (two move by more than 0.005).
DASHED_RULE_KEEP = 0.3
#: ... and a stretch of a vertical rule the segmenter inked as *dashed* curve on most
#: rows (beside a rough dashed curve's dots) is weakened for it too: on the rule columns,
#: within windows of this many rows (full resolution), columns inked on at least
#: DASHED_STRAIGHT_FRACTION of the rows are multiplied by DASHED_STRAIGHT_KEEP
#: (:func:`logdigit.trace.suppress_straight_columns`); a dotted curve really drawn along
#: a rule keeps more than a rule inked as solid (DASHED_RULE_KEEP). Dev (310 curves,
#: session 32): 285 at R² >= 0.95 as without, dev/hard-0005 C1D 0.918 -> 0.949, none down
#: by more than 0.005 (0.4 the same; 0.3: 0.953, but a dotted curve on a rule then loses
#: to a rule inked as solid); windows of 96 or 128 rows, or a share of 0.7, moved the same
#: curve less; a share of 0.5 moved two others down.
DASHED_STRAIGHT_WINDOW_PX = 64
DASHED_STRAIGHT_FRACTION = 0.6
DASHED_STRAIGHT_KEEP = 0.5
#: A faint solid curve that a 1-bit scan kept only as scattered dots, where the solid
#: trace ran on the dashed curve's ink for at least TRAIL_ROWS_PX rows: the line through
#: the dots is taken when at least TRAIL_SHARE of the rows hold one, no TRAIL_GAP_PX rows
#: in a row go without, and it never climbs more than TRAIL_SLOPE half widths per row
#: (:func:`logdigit.trace.search_solid_stretches`, session 38). Found on
#: confirm19/hard-0005 C1S (-4.33 -> 0.15, the solid trace had copied the dashed curve
#: over 2,000 rows); dev (310 curves) unchanged, page-rough set 1 up (grough31/hard-0005
#: C1S -0.59 -> -0.45), none down. Over stretches of any length it took specks for
#: the line: 2 down on the confirmation sets, 3 on the page-rough set.
TRAIL_SHARE = 0.1
TRAIL_GAP_PX = 48
TRAIL_SLOPE = 12.0
TRAIL_ROWS_PX = 192

#: Rows (image px) a piece of solid-class ink no trace explains must span before it takes
#: the solid trace from dashed ink (:func:`logdigit.trace.claim_solid_stretches`). Chosen
#: on the dev cases (310 curves, session-22 weights ``runs/m22``; session 23): 271 at
#: R² >= 0.95 against 270 without, 215 against 214 at >= 0.99, mean clipped R² 0.9545
#: against 0.9500 (4 curves up, none down by more than 0.005); 12 rows: 271, 215, 0.9553
#: (6 up, 1 down). Also the shortest stretch where the solid trace ran on dashed ink that
#: is searched again for a faint solid curve (:func:`logdigit.trace.search_solid_stretches`;
#: session 24, dev: 275 at R² >= 0.95 and 218 at >= 0.99 against 274 and 217, mean clipped
#: R² 0.9606 against 0.9556; 12 and 48 rows gave 275 / 218 too. Its two guards, faint ink
#: off the grid's lattice and no jump from the rows either side, were added after a
#: held-out case, hard-0005 C2S, fell from 0.998 to -0.90 without them; on dev they cost
#: 0.0006 of the mean, none of the count).
CLAIM_ROWS = 24

#: A row's weight in the resampling's smoothing spline is its trace's confidence (the
#: peak curve probability under the path, 0..1) clipped to at least this floor, raised to
#: :data:`CONFIDENCE_POWER` (:func:`row_weights`): rows where the trace crossed paper or
#: faint ink (a dash gap, a detour) count for little against rows on sure ink. Chosen on
#: the pick and dev cases (session 21), together with the resampling's shorter smoothing
#: length (:func:`logdigit.calibrate.resample`): 263 at R² >= 0.95 against 261, mean
#: clipped R² 0.9420 against 0.9412 (17 curves up, 6 down by more than 0.005); floor 0.05
#: with power 1: 262 (with the old smoothing length), power 3 with floor 0.02: 261.
CONFIDENCE_FLOOR = 0.05
#: See :data:`CONFIDENCE_FLOOR`.
CONFIDENCE_POWER = 2.0


def row_weights(confidence: np.ndarray, *, floor: float = CONFIDENCE_FLOOR,
                power: float = CONFIDENCE_POWER) -> np.ndarray:
    """Weights of a trace's rows in the resampling, from its confidence.

    Parameters
    ----------
    confidence : numpy.ndarray, shape (rows,)
        Peak curve probability under the trace per row, 0..1 (NaN counts as 0).
    floor, power : float
        ``clip(confidence, floor, 1) ** power``; ``floor`` > 0 keeps every weight positive.

    Returns
    -------
    numpy.ndarray of float64, shape (rows,)
        Weights in ``[floor ** power, 1]``.
    """
    if not floor > 0:
        raise ValueError(f"floor must be > 0, got {floor}")
    c = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0)
    return np.clip(c, floor, 1.0) ** power


def at_scale_ends(values: np.ndarray, at_edge: np.ndarray, *, track: Track,
                  curve: Curve) -> np.ndarray:
    """``values`` (m,) with the scale's end value where ``at_edge`` (m,) is -1 (the left
    edge's value) or 1 (the right edge's), where a value was found (NaN stays NaN)."""
    v = np.asarray(values, dtype=np.float64)
    at = np.asarray(at_edge)
    if v.shape != at.shape:
        raise ValueError(f"values and at_edge differ in shape: {v.shape} and {at.shape}")
    if not at.any():
        return v
    ends = x_to_true_value(np.array([track.left_px, track.right_px], float), track=track,
                           curve=curve)
    out = np.where(at < 0, ends[0], np.where(at > 0, ends[1], v))
    return np.where(np.isfinite(v), out, v)


#: Tracer cost (units of -log p) of a wrap between the track edges, for curves with backup
#: scales: about the cost of a few rows without ink, far below crossing the track on paper.
WRAP_COST = 4.0


@dataclass
class CurveResult:
    """One recovered curve."""

    track: Track
    curve: Curve
    values: np.ndarray  # (m,) on the result's depth grid, NaN = NULL
    trace: Trace  # per image row, x in image columns
    row0: int  # image row of trace.x[0]

    @property
    def coverage(self) -> float:
        """Fraction of grid depths with a value."""
        return float(np.isfinite(self.values).mean()) if len(self.values) else 0.0


@dataclass
class ConversionResult:
    """Everything the pipeline produced for one scan."""

    grid: np.ndarray  # (m,) depths
    depth_unit: str
    curves: list[CurveResult]
    layout: Layout
    shape: tuple[int, int]  # (rows, cols) of the working image
    seconds: dict[str, float] = field(default_factory=dict)
    skew: float = 0.0  # degrees removed by deskewing before segmentation (0: none)
    factor: int = 1  # working-resolution shrink factor the scan was segmented and traced at
    warnings: list[str] = field(default_factory=list)  # also written to the LAS notes

    def summary(self) -> dict:
        """A JSON-ready summary: curves, coverage per curve, seconds per stage."""
        return {
            "curves": [
                {"mnemonic": c.curve.mnemonic, "unit": c.curve.unit,
                 "coverage": round(c.coverage, 4)}
                for c in self.curves
            ],
            "depth": {"top": float(self.grid[0]), "bottom": float(self.grid[-1]),
                      "step": self.layout.depth.step, "unit": self.depth_unit},
            "rows": self.shape[0],
            "cols": self.shape[1],
            "skew_degrees": round(self.skew, 4),
            "factor": self.factor,
            "warnings": list(self.warnings),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def convert_scan(
    scan: Scan,
    layout: Layout,
    *,
    model,
    config: dict,
    device="cpu",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    factor: int | None = None,
    stroke: float | None = None,
    trace_workers: int | None = None,
) -> ConversionResult:
    """Recover every curve of ``layout`` from ``scan``.

    Curves with a ``colour`` are traced on their colour when ``scan.rgb`` is set
    (:mod:`logdigit.colour`), the others on the segmenter's ink map without the ink the
    coloured ones took; a track whose curves all have colours is not segmented.

    Parameters
    ----------
    scan : Scan
        Depth runs down the rows (already transposed for depth-right scans); ``rgb``
        only for curves keyed by colour.
    layout : Layout
        Validated layout; resolved against the scan here.
    model, config :
        From :func:`logdigit.network.load_network`.
    progress : callable, optional
        Called with the number of tiles segmented, after each batch.
    factor : int, optional
        Working-resolution shrink factor; default: from the measured stroke width
        (:mod:`logdigit.scale`), 1 for strokes under 4 px.
    stroke : float, optional
        Stroke width in px if already measured (:func:`measure_stroke`).
    trace_workers : int, optional
        Threads that trace the tracks side by side once all are segmented (default
        :func:`default_trace_workers`); 1, or maps larger than :data:`MAX_HELD_BYTES`,
        trace each track as soon as it is segmented. The results are the same either way.

    Raises
    ------
    LayoutError
        The layout does not fit the image.
    TraceError
        No curve could be traced at all.
    """
    seconds: dict[str, float] = {"segment": 0.0, "trace": 0.0, "resample": 0.0}
    H, W = scan.shape
    layout = layout.resolved(n_rows=H, n_cols=W)
    d = layout.depth
    r0, r1 = d.top_row, d.bottom_row + 1
    grid = depth_grid(depth=d)
    rows = np.arange(r0, r1, dtype=np.float64)
    row_depths = row_to_depth(rows, depth=d)
    # a gap longer than a few output steps is NULL; dash gaps (up to ~24 px) are bridged
    px_per_step = d.step * (d.bottom_row - d.top_row) / (d.bottom - d.top)
    max_gap_rows = int(max(24, round(3 * px_per_step)))

    t = time.perf_counter()
    if stroke is None:
        stroke = measure_stroke(scan, layout)
    k = int(factor) if factor is not None else choose_factor(scan, layout, stroke=stroke)
    logger.info("stroke width %.1f px: working resolution 1/%d", stroke, k)
    seconds["scale"] = time.perf_counter() - t

    results: list[CurveResult] = []
    warnings: list[str] = []
    keyed = [c.mnemonic for _, c in layout.curves if c.colour is not None]
    if keyed and scan.rgb is None:
        msg = (f"the layout gives the colour of {', '.join(keyed)} but the scan is not in "
               "colour: traced on the segmenter's ink map")
        warnings.append(msg)
        logger.warning("%s", msg)
    trace_kw = dict(scan=scan, k=k, stroke=stroke, rows=(r0, r1), max_gap_rows=max_gap_rows,
                    row_depths=row_depths, grid=grid, depth_unit=d.unit)
    windows = [track_window(t.left_px, t.right_px, W, margin=12 * k) for t in layout.tracks]
    held = sum(3 * -(-(r1 - r0) // k) * -(-(c1 - c0) // k) for c0, c1 in windows)
    workers = trace_workers if trace_workers is not None else default_trace_workers()
    parallel = workers > 1 and len(layout.tracks) > 1 and held <= MAX_HELD_BYTES
    pending: list[tuple[Track, np.ndarray, np.ndarray | None, tuple[int, int]]] = []
    for track, (c0, c1) in zip(layout.tracks, windows, strict=True):
        t = time.perf_counter()
        # a track whose curves are all keyed by colour needs no segmentation
        pix = shrink(scan.pixels[r0:r1, c0:c1], k)
        probs = None if colour_only(scan, track) else segment_array(
            pix, model=model, config=config, device=device, batch_size=batch_size,
            progress=progress)
        seconds["segment"] += time.perf_counter() - t
        if parallel:  # traced together once every track is segmented
            pending.append((track, pix, probs, (c0, c1)))
            continue
        curves, notes, secs = trace_track(track, pix, probs, cols=(c0, c1), **trace_kw)
        results.extend(curves)
        warnings.extend(notes)
        for key, v in secs.items():
            seconds[key] += v
    if pending:
        # the tracks are independent and the tracer's kernels release the GIL: on the
        # 2-core CPU the bench scan's trace stage (``--json``, alternating runs) took
        # 1.24-1.48 s against 2.15-2.36 s one track after the other, same curves
        from concurrent.futures import ThreadPoolExecutor

        def trace_pending(job):
            track, pix, probs, cols = job
            return trace_track(track, pix, probs, cols=cols, **trace_kw)

        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=min(workers, len(pending))) as pool:
            done = list(pool.map(trace_pending, pending))
        wall = time.perf_counter() - t
        busy = {"trace": 0.0, "resample": 0.0}
        for curves, notes, secs in done:  # in the layout's order
            results.extend(curves)
            warnings.extend(notes)
            for key, v in secs.items():
                busy[key] += v
        total = sum(busy.values()) or 1.0
        for key, v in busy.items():  # wall time, shared out as the threads spent it
            seconds[key] += wall * v / total
    if not any(np.isfinite(c.values).any() for c in results):
        raise TraceError(f"{scan.source}: no curve could be traced in any track")
    return ConversionResult(grid=grid, depth_unit=d.unit, curves=results, layout=layout,
                            shape=(H, W), seconds=seconds, warnings=warnings, factor=k)


def trace_track(track: Track, pix: np.ndarray, probs: np.ndarray | None, *, scan: Scan,
                cols: tuple[int, int], k: int, stroke: float, rows: tuple[int, int],
                max_gap_rows: int, row_depths: np.ndarray, grid: np.ndarray,
                depth_unit: str) -> tuple[list[CurveResult], list[str], dict[str, float]]:
    """Trace, separate and resample the curves of one segmented track.

    Parameters
    ----------
    track : Track
        Resolved against the scan (pixel edges set).
    pix : (n, m) uint8
        The track's window of the scan at the working resolution (0 ink .. 255 paper):
        rows ``rows[0]:rows[1]`` and columns ``cols[0]:cols[1]`` shrunk by ``k``.
    probs : (2, n, m) uint8 or None
        Solid and dashed probabilities of ``pix`` (:func:`segment_array`); None for a track
        whose curves are all traced on their colours.
    scan : Scan
        For the colour channels of curves keyed by colour.
    stroke : float
        Stroke width in px of the stored image (NaN when unknown).
    row_depths : (rows[1] - rows[0],) float
        Depth of each digitized image row; ``grid`` (g,) the output depths.

    Returns
    -------
    (curves, warnings, seconds) :
        A :class:`CurveResult` per curve in the layout's order, the warnings raised, and
        the seconds spent tracing and resampling.
    """
    seconds = {"trace": 0.0, "resample": 0.0}
    warnings: list[str] = []
    (r0, r1), (c0, c1) = rows, cols
    # trace only between the track edges (the margin helps segmentation context)
    a = max(0, int(np.floor((track.left_px - c0) / k)))
    b = min(-(-(c1 - c0) // k), int(np.ceil((track.right_px - c0) / k)) + 1)
    # Curves are traced on the ink probability (solid + dashed): the line style is
    # decided afterwards over whole stretches, which is far more reliable than the
    # per-pixel class. The solid curve goes first (a gapless line is the cheaper
    # path), and the second curve never reuses the first one's ink.
    t = time.perf_counter()
    max_gap = max(2, max_gap_rows // k)  # longest gap bridged, rows at this resolution
    half = (max(4.0, 1.5 * stroke + 2) if np.isfinite(stroke) else 4.0) / k
    # rows above and below a horizontal rule compared with (:func:`rule_rows`)
    reach = max(4, int(np.ceil(2 * stroke / k))) if np.isfinite(stroke) else 4
    ordered = sorted(track.curves, key=lambda c: c.cls)  # stable: layout order kept
    p_ink = h_rules = near_rules = lines = faint = None
    if probs is not None:
        p_ink = np.minimum(probs[0][:, a:b].astype(np.int16) + probs[1][:, a:b], 255
                           ).astype(np.uint8)
        if len(ordered) == 1:  # lean on the class, but a wrong style still finds ink
            own = probs[ordered[0].cls - 1][:, a:b]
            p_ink = np.maximum(own, (p_ink * 0.75).astype(np.uint8))
        # grid and track-edge lines the segmenter calls curve must not capture a
        # trace; the rules are found in the scan itself (a flat curve is not one)
        p_seg = p_ink
        h_rules = rule_rows(pix[:, a:b], reach=reach)  # horizontal rules: rows
        near_rules = widen(h_rules, RULE_LINK_REACH)  # rows on or beside one
        window = max(64, 512 // k)
        # a flat curve is found among the rules; where the layout's grid explains the
        # others, a rule off that grid is such a curve, and so is a lone straight line
        # far from the grid's places on a scan whose grid cannot be seen (session 42:
        # confirm19/scanned-0010 C1S -5.44 -> 0.60, its dotted partner 0.967 -> 0.954;
        # no other curve of the four development sets moved by more than 0.005)
        lattice = grid_lattice(track, b - a, offset=c0 / k + a, k=k)
        lines = rules_on_lattice(periodic_rules(rule_columns(pix, window=window))[a:b],
                                 lattice)
        p_ink = suppress_straight_columns(p_ink, window=window, lines=lines)
        # where the segmenter missed a stretch of a curve, the scan's dark pixels off
        # the rules still hold the trace on it (a weak probability: the segmenter's ink
        # wins); a track where it saw (almost) no curve at all is not traced on the
        # scan alone
        seen = float((p_seg >= 128).any(axis=1).mean()) if len(p_seg) else 0.0
        if SCAN_INK_LEVEL > 0 and seen >= MIN_SEEN_ROWS:
            # rules that a 1-bit scan kept only in places are not among ``lines``:
            # their stretches are found on the grid's lattice (dev cases, 310 curves:
            # 253 at R² >= 0.95 against 252, 2 up and none down by more than 0.005;
            # without the lattice, any straight stretch left out: 251, 3 down)
            scan_ink = ink_off_rules(pix[:, a:b], rule_cols=lines, rule_rows=h_rules,
                                     level=SCAN_INK_LEVEL, lattice=lattice)
            p_ink = np.maximum(p_ink, scan_ink)
            faint = (scan_ink > 0) & (p_seg < 128)  # where the segmenter saw no curve
    low: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # mnemonic -> (x, confidence)
    remaining = p_ink  # the ink no curve has taken yet
    if scan.rgb is not None and any(c.colour is not None for c in ordered):
        # curves keyed by colour: each on its own colour map, and their ink is
        # taken away from the map the other curves are traced on
        rgb = shrink(scan.rgb[r0:r1, c0:c1], k)[:, a:b]
        for curve in [c for c in ordered if c.colour is not None]:
            cmap = colour_ink(rgb, curve.colour, tolerance=curve.colour_tolerance)
            tr = trace_curve(cmap, x_offset=0, max_gap=max_gap,
                             wrap=WRAP_COST if curve.backup else None)
            low[curve.mnemonic] = (tr.x, tr.confidence)
            if remaining is not None:
                remaining = exclude_trace(remaining, tr.x, half_width=half)
        ordered = [c for c in ordered if c.colour is None]
    # the ink's centrelines, found once: the later curves' maps are this one cut
    skeleton = centrelines(remaining) if ordered and remaining is not None else None
    traced: list[tuple[np.ndarray, Trace]] = []  # (the map traced on, the trace)
    # a dashed curve drawn nearly horizontally is followed across its dash gaps
    link = None
    if probs is not None and any(c.cls == 2 for c in ordered):
        link = row_gap_links(probs[1][:, a:b] >= 128, max_gap=max(1, LINK_GAP_PX // k),
                             level=LINK_LEVEL, long_rows=near_rules,
                             long_gap=max(1, RULE_LINK_GAP_PX // k))
    # ... and a solid one along a rule, where the segmenter drops stretches of it (dev,
    # 310 curves, session 32: 285 at R² >= 0.95 as without, 227 at >= 0.99 against 226;
    # dev13/scanned-0025 C1S 0.979 -> 0.996, none down by more than 0.005)
    solid_link = None
    if probs is not None and any(c.cls == 1 for c in ordered):
        solid_link = row_gap_links(probs[0][:, a:b] >= 128, max_gap=0, level=LINK_LEVEL,
                                   long_rows=near_rules,
                                   long_gap=max(1, RULE_LINK_GAP_PX // k),
                                   min_run=max(1, LINK_GAP_PX // k))
    for i, curve in enumerate(ordered):
        cmap = np.ascontiguousarray(remaining)
        if curve.cls == 2 and lines is not None:  # lines: the track was segmented
            cmap = solid_off_rules(cmap, solid=probs[0][:, a:b], dashed=probs[1][:, a:b],
                                   lines=lines, keep=DASHED_RULE_KEEP)
            cmap = suppress_straight_columns(
                cmap, window=max(8, DASHED_STRAIGHT_WINDOW_PX // k),
                min_fraction=DASHED_STRAIGHT_FRACTION, lines=lines, keep=DASHED_STRAIGHT_KEEP)
        own_link = link if curve.cls == 2 else solid_link
        if curve.cls == 2 and traced and probs is not None:
            # the dashes an earlier trace's exclusion took with the run of ink it touched
            # are still this curve's way sideways (not its pixels): a sharp dashed
            # excursion drawn out across the solid line is followed, not cut (session 43:
            # dev sets 293/300/103/107 curves at R² >= 0.95 against 292/299/102/107, 44 up
            # and 13 down by more than 0.005; confirm23/scanned-0007 C1D 0.941 -> 0.999,
            # rough29/hard-0026 C2D 0.555 -> 0.959; linking all the taken ink instead,
            # solid too, lets dashed paths ride the solid curve's strokes: 798)
            taken = np.where((remaining < p_ink) & (probs[1][:, a:b] >= 128), p_ink, 0
                             ).astype(np.uint8)
            own_link = taken if own_link is None else np.maximum(own_link, taken)
        tr = trace_curve(cmap, x_offset=0, max_gap=max_gap,
                         wrap=WRAP_COST if curve.backup else None, skeleton=skeleton,
                         link=own_link)
        traced.append((cmap, tr))
        low[curve.mnemonic] = (tr.x, tr.confidence)
        if i + 1 < len(ordered):  # never give this curve's ink to a later one
            remaining = exclude_trace(remaining, tr.x, half_width=half)
    reroute_curves(ordered, traced, low, lines=lines, half=half,
                   max_gap=max_gap)
    solids = [c for c in ordered if c.cls == 1]
    broken = [c for c in ordered if c.cls == 2]
    if len(solids) == 1 and broken:  # line style separates these
        m_s = solids[0].mnemonic
        ink = (p_seg >= 128).astype(np.uint8)  # a flat curve weakened as a rule counts
        style = probs[0][:, a:b].astype(np.int16) - probs[1][:, a:b]
        for other in broken:
            (xs0, cs), (xd0, cd) = low[m_s], low[other.mnemonic]
            xs, xd = resolve_crossings(
                xs0, xd0, ink=ink, style=style,
                half_width=half, skip_rows=h_rules, pixels=pix[:, a:b])
            # a gap bridged across the place where the traces traded curves leads to
            # the wrong curve once the stretches are exchanged: bridged again
            xs = rebridge(xs, xs0, xd0, cs >= MIN_PROB, cd >= MIN_PROB, max_gap=max_gap)
            xd = rebridge(xd, xd0, xs0, cd >= MIN_PROB, cs >= MIN_PROB, max_gap=max_gap)
            # a solid excursion the path skipped while it ran on dashed ink
            xs = claim_solid_stretches(xs, xd, solid=probs[0][:, a:b],
                                       dashed=probs[1][:, a:b], half_width=half,
                                       min_rows=max(2, CLAIM_ROWS // k))
            # ... and a sharp spike (a few rows) whose tip it cut across (session 43:
            # dev sets with f41 292/298/102/107 curves at R² >= 0.95 against 292/296/102/107,
            # 16 curves up and 4 down by more than 0.005, none of the 4 above 0.73;
            # confirm23/scanned-0001 C1S 0.13 -> 0.68)
            xs = claim_solid_spikes(xs, xd, solid=probs[0][:, a:b], dashed=probs[1][:, a:b],
                                    half_width=half, max_rows=max(2, CLAIM_ROWS // k),
                                    pixels=pix[:, a:b])
            # ... and a faint solid curve the path left for the dashed one's ink
            xs_on_dashed = xs
            xs = search_solid_stretches(xs, xd, ink=p_ink, solid=probs[0][:, a:b],
                                        dashed=probs[1][:, a:b], half_width=half,
                                        min_rows=max(2, CLAIM_ROWS // k),
                                        off=widen(lines, 1), pixels=pix[:, a:b],
                                        rule_rows=h_rules, lattice=lattice,
                                        trail_share=TRAIL_SHARE,
                                        trail_gap=max(1, TRAIL_GAP_PX // k),
                                        trail_slope=TRAIL_SLOPE,
                                        trail_rows=max(1, TRAIL_ROWS_PX // k))
            # ... and a flat stretch of the solid curve, unmarked as a rule would be (dev,
            # 310 curves, session 31: 284 at R² >= 0.95 against 282, 3 up, none down by
            # more than 0.005; pick/hard-0011 C1S 0.252 -> 0.964, dev/hard-0014 C1S
            # -0.625 -> 0.996; label masks unchanged)
            xs = flat_solid_stretches(xs, solid=probs[0][:, a:b], dashed=probs[1][:, a:b],
                                      pixels=pix[:, a:b], half_width=half,
                                      min_rows=max(2, CLAIM_ROWS // k), rule_rows=h_rules)
            # the dashed curve's ink those two steps took the solid trace off goes back to
            # the dashed trace, if it had gone elsewhere (session 38, found on the page-rough
            # set: grough31/hard-0005 C1D -2.28 -> 0.975; dev, confirmation and rough sets:
            # no curve moved by more than 0.005)
            xd = give_back_dashed_ink(xd, xs_on_dashed, xs, dashed=probs[1][:, a:b],
                                      half_width=half, min_rows=max(2, CLAIM_ROWS // k))
            low[m_s] = (xs, low[m_s][1])
            low[other.mnemonic] = (xd, low[other.mnemonic][1])
    for group in (solids, broken):  # same class: only position and continuity
        if len(group) > 1:  # listed left to right as they are at the top
            order = order_left_to_right([low[c.mnemonic][0] for c in group],
                                        half_width=half)
            picked = [low[group[j].mnemonic] for j in order]
            for c, got in zip(group, picked, strict=True):
                low[c.mnemonic] = got
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                (xa0, ca), (xb0, cb) = low[first.mnemonic], low[second.mnemonic]
                xa, xb, contacts = resolve_same_style(xa0, xb0, half_width=half)
                xa = rebridge(xa, xa0, xb0, ca >= MIN_PROB, cb >= MIN_PROB, max_gap=max_gap)
                xb = rebridge(xb, xb0, xa0, cb >= MIN_PROB, ca >= MIN_PROB, max_gap=max_gap)
                low[first.mnemonic] = (xa, low[first.mnemonic][1])
                low[second.mnemonic] = (xb, low[second.mnemonic][1])
                unsure = [ct for ct in contacts if ct.ambiguous]
                if contacts:
                    at = ", ".join(f"{row_depths[min(len(row_depths) - 1, ct.start * k)]:g}"
                                   for ct in unsure[:5])
                    msg = (f"{first.mnemonic} and {second.mnemonic} share a line style: "
                           f"{len(contacts)} contacts decided by continuity "
                           f"({sum(ct.swapped for ct in contacts)} exchanged), "
                           f"{len(unsure)} left NULL as ambiguous"
                           + (f" (at {at} {depth_unit})" if unsure else ""))
                    warnings.append(msg)
                    logger.warning("%s", msg)
    if p_ink is not None:  # rough curves: the vertices the pen drew, not a cut-short path
        for curve in ordered:
            if curve.backup:  # a wrap across the track is no stroke
                continue
            others = [low[c.mnemonic][0] for c in ordered if c is not curve]
            x_low, conf_low = low[curve.mnemonic]
            x_low = refine_rough_trace(p_ink, x_low, others=others, half=half,
                                       dashed=curve.cls == 2,
                                       link_gap=max(1, LINK_GAP_PX // k))
            low[curve.mnemonic] = (x_low, conf_low)
        # a curve beyond its scale, drawn along the track's edge on top of its line (dev
        # cases, 310 curves, session 27: 278 at R² >= 0.95 against 277, 223 against 222
        # at >= 0.99; dev/hard-0014 C1S 0.933 -> 0.995, none down by more than 0.005);
        # with its tip on the edge, across the dashes (session 34: 286 against 285,
        # dev13/clean-0012 C1D 0.947 -> 0.952, none down); out along a rule, which
        # hides the arm's last stretch (286 / 227, mean clipped R² 0.9731 against
        # 0.9708: dev/clean-0027 C2S -0.108 -> 0.727, none down); over at most 64 rows
        # between its two stretches (a longer one is a gap: on drafted real scans it had
        # filled thousands of rows with the edge's value; dev unchanged)
        edges = ((track.left_px - c0) / k - a, (track.right_px - c0) / k - a)
        for curve in ordered:
            if curve.backup or curve.colour is not None:  # a wrap does not run along
                continue
            x_low, conf_low = low[curve.mnemonic]
            x_low = edge_excursions(x_low, own=probs[curve.cls - 1][:, a:b] >= 128,
                                    edges=edges, half_width=half, faint=faint,
                                    link_gap=max(1, LINK_GAP_PX // k) if curve.cls == 2 else 0,
                                    tips=True, along=near_rules, min_run=max(1, LINK_GAP_PX // k),
                                    rule_gap=max(1, RULE_LINK_GAP_PX // k))
            if curve.cls == 2 and h_rules is not None:
                # a sweep along a rule in a dash gap, onto the other class's ink
                x_low = rule_spikes(x_low, own=probs[1][:, a:b] >= 128,
                                    other=probs[0][:, a:b] >= 128,
                                    rules=widen(h_rules, 1), min_jump=RULE_SWEEP * half)
            low[curve.mnemonic] = (x_low, conf_low)
    seconds["trace"] += time.perf_counter() - t
    by_curve: dict[str, CurveResult] = {}
    for curve in track.curves:
        t = time.perf_counter()
        x_low, conf_low = low[curve.mnemonic]
        tr = Trace(x=expand_trace(x_low + a, k, r1 - r0) + c0,
                   confidence=np.repeat(conf_low, k)[: r1 - r0])
        seconds["trace"] += time.perf_counter() - t
        t = time.perf_counter()
        x = np.clip(tr.x, track.left_px, track.right_px)
        vals = x_to_true_value(x, track=track, curve=curve)  # unwraps backups
        on_grid = resample(row_depths, vals, grid, weights=row_weights(tr.confidence))
        if not curve.backup:
            # where the trace is on a track edge the curve is at its scale's end: the
            # spline would cut a one-sample spike out to the edge short (session 44)
            on_grid = at_scale_ends(on_grid, edge_samples(row_depths, x, grid, edges=(
                track.left_px, track.right_px), tol=float(k)), track=track, curve=curve)
        seconds["resample"] += time.perf_counter() - t
        by_curve[curve.mnemonic] = CurveResult(track=track, curve=curve, values=on_grid,
                                               trace=tr, row0=r0)
        logger.info("%s: coverage %.1f %%", curve.mnemonic,
                    100 * by_curve[curve.mnemonic].coverage)
    return [by_curve[c.mnemonic] for c in track.curves], warnings, seconds


def grid_lattice(track: Track, n_cols: int, *, offset: float, k: int) -> np.ndarray | None:
    """Where the track's vertical rules belong (:func:`logdigit.grid.track_lattice`), in
    the columns of a window of ``n_cols`` whose first column is image column
    ``offset * k``, at working resolution ``k``: ten divisions when all its curves are
    linear, the decades of its curves' scale when all are logarithmic on the same number
    of decades (each decade ruled 1, 2, ... 9 from the left, as log grids are printed,
    whichever way a curve's scale runs), else None (a grid that cannot be told)."""
    left, right = track.left_px / k - offset, track.right_px / k - offset
    scales = {c.scale for c in track.curves}
    if scales == {"linear"}:
        return track_lattice(n_cols, left=left, right=right)
    if scales == {"log"}:
        decades = {round(abs(np.log10(c.right / c.left))) for c in track.curves}
        if len(decades) == 1 and min(decades) >= 1:
            return track_lattice(n_cols, left=left, right=right, decades=decades.pop())
    return None


def rebridge(x: np.ndarray, mine: np.ndarray, theirs: np.ndarray, sup_mine: np.ndarray,
             sup_theirs: np.ndarray, *, max_gap: int) -> np.ndarray:
    """Bridge a trace's gaps again after stretches were exchanged with another trace.

    A gap (rows without ink, bridged straight by :func:`logdigit.trace.trace_curve`) in
    which two traces traded curves -- the second curve's dash gap, after which the first
    trace ran on on the second curve's line -- is bridged from one curve to the other.
    Once :func:`logdigit.trace.resolve_crossings` exchanges the stretches after it, the
    bridge still leads to the other curve: each row that was a gap is bridged again between
    the supported rows of the trace as it now is. On the 310 dev curves (session 15) one
    curve rose from R² 0.667 to 0.961 (247 at R² >= 0.95 against 246); no other moved by
    more than 0.013.

    Parameters
    ----------
    x : (rows,) float
        The trace after the exchange, NaN in gaps.
    mine, theirs : (rows,) float
        This trace and the other one before the exchange.
    sup_mine, sup_theirs : (rows,) bool
        Their rows supported by ink (not bridged).
    max_gap : int
        Longest gap (rows) bridged (:func:`logdigit.trace.bridge_gaps`).

    Returns
    -------
    (rows,) float
        ``x`` with each gap row taken from ``mine`` or ``theirs`` bridged again; rows that
        came from neither (set by the exchange itself) and NaN rows are left as they are.
    """
    x, mine, theirs = (np.asarray(v, float) for v in (x, mine, theirs))
    if not (x.shape == mine.shape == theirs.shape == np.shape(sup_mine)
            == np.shape(sup_theirs)):
        raise ValueError("rebridge: all arrays must have the same shape")
    same = (x == mine) | (np.isnan(x) & np.isnan(mine))
    took = ~same & ((x == theirs) | (np.isnan(x) & np.isnan(theirs)))
    sup = np.where(same, sup_mine, np.where(took, sup_theirs, True)) | np.isnan(x)
    return bridge_gaps(x, sup, max_gap=int(max_gap))


def reroute_curves(curves: list[Curve], traced: list[tuple[np.ndarray, Trace]],
                   low: dict[str, tuple[np.ndarray, np.ndarray]], *,
                   lines: np.ndarray | None, half: float, max_gap: int) -> None:
    """Search again where each trace of a track crossed paper or ran along a rule.

    Sharp peaks of dashed or faint curves that the paths cut short, and stretches run
    along a vertical rule (a dark grid gets curve probability; a dashed curve beside it
    cannot compete), are searched again (:func:`logdigit.trace.reroute_gaps`) on the ink
    well clear of the track's other traces and off the vertical rules; a curve with
    backup scales is left alone (a wrap across the track is no peak). On the 310 dev
    curves: the gaps alone 239 at R² >= 0.95 against 234; the rules off the search 242;
    the stretches along a rule searched too 244 (32 up, 10 down by > 0.005).

    Parameters
    ----------
    curves : list of Curve
        The track's curves traced on the network's ink, in tracing order.
    traced : list of (map, Trace)
        For each, the (rows, cols) uint8 map it was traced on and its trace.
    low : dict
        mnemonic -> (x, confidence) at the working resolution; updated in place.
    lines : (cols,) bool or None
        The track's vertical rules (:func:`logdigit.grid.periodic_rules`).
    half : float
        Half a line width (px, working resolution).
    max_gap : int
        Longest gap (rows) bridged straight.
    """
    off = widen(lines, 1) if lines is not None and lines.any() else None
    for i, (curve, (cmap, tr)) in enumerate(zip(curves, traced, strict=True)):
        if curve.backup:
            continue
        doubtful = None
        if off is not None:
            xr = low[curve.mnemonic][0]
            seen = np.isfinite(xr)
            doubtful = np.zeros(len(xr), bool)
            doubtful[seen] = off[np.clip(np.round(xr[seen]).astype(int), 0, len(off) - 1)]
            # only where the trace runs straight down the rule, as a rule does: a curve
            # crossing a rule at a shallow angle moves across it
            doubtful = straight_stretches_only(doubtful, xr, max_spread=RULE_RUN_SPREAD)
        if not unsupported_runs(tr.confidence, doubtful=doubtful, max_rows=len(tr.x)):
            continue  # nothing to search: spare building the map
        route = cmap
        for j, other in enumerate(curves):
            if j != i:
                route = exclude_trace(route, low[other.mnemonic][0],
                                      half_width=REROUTE_KEEP_OFF * half)
        if off is not None:
            route = route.copy() if route is cmap else route
            route[:, off] = 0
        tr = reroute_gaps(cmap, tr, route=route, jump_paper=REROUTE_PAPER, max_gap=max_gap,
                          doubtful=doubtful, min_ink_share=REROUTE_INK_SHARE)
        low[curve.mnemonic] = (tr.x, tr.confidence)


#: Skews smaller than this (degrees) are left alone: under 1 px over 6,000 rows.
MIN_SKEW = 0.01


def straighten(scan: Scan, *, min_angle: float = MIN_SKEW) -> tuple[Scan, float]:
    """Remove the slant of the vertical grid lines (up to +-2 degrees) from a scan.

    The angle is measured on three bands of 1,024 rows (:func:`logdigit.deskew.measure_skew`)
    and removed by a shear about the centre row (:func:`logdigit.deskew.deskew`): rows keep
    their index, and a column of the stored image on its centre row keeps its index, so a
    layout written for the image as stored still applies.

    Returns
    -------
    (scan, angle) :
        The straightened scan (the same object when nothing was done) and the angle
        removed in degrees (0.0 when the skew was below ``min_angle`` or not measurable).
    """
    from dataclasses import replace

    from .deskew import deskew, measure_skew

    est = measure_skew(scan.pixels, n_bands=3, band_rows=1024)
    if not est.confident or abs(est.angle) < min_angle:
        return scan, 0.0
    logger.info("%s: skew %.3f degrees, straightened", scan.source, est.angle)
    rgb = None
    if scan.rgb is not None:
        rgb = np.stack([deskew(scan.rgb[..., ch], est.angle) for ch in range(3)], axis=-1)
    return replace(scan, pixels=deskew(scan.pixels, est.angle), rgb=rgb), float(est.angle)


def _digitized(scan: Scan, layout: Layout) -> tuple[np.ndarray, list[Track]]:
    """The scan's digitized rows (rows, cols) uint8 and the layout's tracks resolved to
    its pixel grid."""
    H, W = scan.shape
    lay = layout.resolved(n_rows=H, n_cols=W)
    return scan.pixels[lay.depth.top_row:lay.depth.bottom_row + 1], list(lay.tracks)


def measure_stroke(scan: Scan, layout: Layout) -> float:
    """Stroke width (px) of the ink between the outer track edges, in the digitized rows."""
    rows, tracks = _digitized(scan, layout)
    span = slice(max(0, int(min(tk.left_px for tk in tracks))),
                 int(max(tk.right_px for tk in tracks)) + 1)
    return stroke_width(rows[:, span])


def measure_rules(scan: Scan, layout: Layout, *, inset: int = 3) -> float:
    """Median width (px) of the grid's vertical rules in the digitized rows of the tracks
    (:func:`logdigit.scale.rule_width`; each track's window ``inset`` px inside its edges,
    whose lines are drawn heavier); NaN when none is found."""
    rows, tracks = _digitized(scan, layout)
    W = rows.shape[1]
    return rule_width([rows[:, max(0, int(np.ceil(tk.left_px)) + inset):
                            min(W, int(np.floor(tk.right_px)) - inset + 1)]
                       for tk in tracks])


def choose_factor(scan: Scan, layout: Layout, *, stroke: float | None = None) -> int:
    """Working-resolution shrink factor for ``scan``: from the stroke width in its tracks
    (``stroke`` if already measured, :func:`measure_stroke`), and 1 when the grid's rules
    are as thin as the training pages' (:func:`measure_rules`; measured only when the
    strokes alone would shrink the scan)."""
    if stroke is None:
        stroke = measure_stroke(scan, layout)
    k = working_factor(stroke)
    if k > 1:
        k = working_factor(stroke, rules=measure_rules(scan, layout))
    return k


def colour_only(scan: Scan, track: Track) -> bool:
    """True when every curve of ``track`` is keyed by colour and ``scan`` is in colour:
    then the track is traced on colours alone and not segmented."""
    return scan.rgb is not None and all(c.colour is not None for c in track.curves)


def total_tiles(scan: Scan, layout: Layout, *, config: dict, factor: int = 1) -> int:
    """Tiles :func:`convert_scan` will segment with shrink ``factor`` (for a progress bar)."""
    H, W = scan.shape
    lay = layout.resolved(n_rows=H, n_cols=W)
    n_rows = lay.depth.bottom_row + 1 - lay.depth.top_row
    total = 0
    for track in lay.tracks:
        if colour_only(scan, track):
            continue
        c0, c1 = track_window(track.left_px, track.right_px, W, margin=12 * factor)
        total += count_tiles((-(-n_rows // factor), -(-(c1 - c0) // factor)), config=config)
    return total


def write_result(result: ConversionResult, out: Path, *, overwrite: bool,
                 model_name: str = "", notes: tuple[str, ...] = ()) -> None:
    """Write the LAS file of a conversion (atomically)."""
    lay = result.layout
    curves = [
        LasCurve(mnemonic=c.curve.mnemonic, unit=c.curve.unit, values=c.values,
                 description=c.curve.description or f"digitized {c.curve.style} curve")
        for c in result.curves
    ]
    all_notes = [f"Digitized by logdigit {__version__}"]
    if model_name:
        all_notes.append(f"model: {model_name}")
    if lay.source is not None:
        all_notes.append(f"layout: {Path(lay.source).name}")
    if result.skew:
        all_notes.append(f"deskewed by {result.skew:+.3f} degrees before digitizing")
    all_notes.extend(f"warning: {w}" for w in result.warnings)
    all_notes.extend(notes)
    write_las(out, depth=result.grid, depth_unit=result.depth_unit, curves=curves,
              well=lay.well, notes=all_notes, overwrite=overwrite)


def convert_file(
    scan_path: Path,
    out: Path,
    *,
    model,
    config: dict,
    layout_path: Path | None = None,
    device="cpu",
    page: int = 0,
    overlay: Path | None = None,
    overwrite: bool = False,
    progress_factory: Callable[[int], Callable[[int], None]] | None = None,
    deskew: bool = True,
) -> ConversionResult:
    """Convert one scan file to a LAS file (and optionally a QC overlay PNG).

    Output paths are checked before any work; files are written atomically, so on any
    error no partial output exists. With ``deskew`` the slant of the vertical grid lines
    is measured (:func:`straighten`) and removed before segmentation; the layout keeps the
    coordinates of the image as stored.
    """
    t_all = time.perf_counter()
    scan_path = Path(scan_path)
    check_output(Path(out), overwrite=overwrite)
    if overlay is not None:
        check_output(Path(overlay), overwrite=overwrite)
    image_info(scan_path, page=page)  # the scan's own problems first: missing, not an image
    layout = load_layout(find_layout(scan_path, explicit=layout_path))
    t = time.perf_counter()
    keyed = any(c.colour is not None for _, c in layout.curves)
    scan = read_scan(scan_path, page=page, orientation=layout.orientation, colour=keyed)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    scan, angle = straighten(scan) if deskew else (scan, 0.0)
    t_skew = time.perf_counter() - t
    t = time.perf_counter()
    stroke = measure_stroke(scan, layout)  # once: it sets the factor and the trace bands
    k = choose_factor(scan, layout, stroke=stroke)
    t_scale = time.perf_counter() - t
    progress = progress_factory(total_tiles(scan, layout, config=config, factor=k)) if (
        progress_factory) else None
    result = convert_scan(scan, layout, model=model, config=config, device=device,
                          progress=progress, factor=k, stroke=stroke)
    result.seconds = {"read": t_read, "deskew": t_skew, **result.seconds}
    result.seconds["scale"] += t_scale  # the stroke width was measured here, not in there
    result.skew = angle
    t = time.perf_counter()
    model_name = Path(config.get("path", "")).name
    write_result(result, Path(out), overwrite=overwrite, model_name=model_name)
    result.seconds["write"] = time.perf_counter() - t
    if overlay is not None:
        from .overlay import write_overlay

        t = time.perf_counter()
        write_overlay(Path(overlay), scan.pixels, result, overwrite=overwrite)
        result.seconds["overlay"] = time.perf_counter() - t
    result.seconds["total"] = time.perf_counter() - t_all
    return result
