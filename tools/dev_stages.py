"""Follow one track's traces through the tracer's stages, row by row.

::

    .venv/bin/python tools/dev_stages.py dev13/clean-0006/C2D 584 598

``KEY`` is ``set/case/MNEMONIC`` of a case under ``runs/devscore`` (``--root`` for another
folder of cases, e.g. ``runs/heldout/s1`` with ``KEY`` ``case/MNEMONIC``). The pipeline is
run on the case as ``logdigit convert`` runs it (one track at a time), and for the track
holding that curve the traces are printed after each stage of
:func:`logdigit.convert.trace_track` that moves them: the first paths
(``trace_curve``, in tracing order: solid curves first), the search of their gaps
(``reroute``), the solid/dashed crossings (``crossings``), the bridges after an exchange
(``rebridge``), the solid stretches claimed back and searched again (``claim_solid``,
``search_solid``) and the rough curves' vertices (``rough``), then the truth. Each column
is an image row of ``R0..R1``; values are image columns (at a working resolution 1/k,
the rows ``R0, R0 + k, ...``); a stage run once per curve is numbered in calling order
(the track's curves in tracing order, solid ones first). The session-26 tracer fixes
were found this way: the stage where a trace leaves the truth is the one to read.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

#: Stages of :mod:`logdigit.convert` followed, with what their result holds: "trace" (a
#: Trace), "pair" (two traces: solid, dashed) or "x" (one trace's columns).
STAGES = (("trace_curve", "trace"), ("resolve_crossings", "pair"), ("rebridge", "x"),
          ("claim_solid_stretches", "x"), ("search_solid_stretches", "x"),
          ("refine_rough_trace", "x"))
SHORT = {"trace_curve": "path", "resolve_crossings": "crossings", "rebridge": "rebridge",
         "claim_solid_stretches": "claim_solid", "search_solid_stretches": "search_solid",
         "refine_rough_trace": "rough"}


@contextlib.contextmanager
def record_stages(*, left_px: float):
    """While :func:`logdigit.convert.convert_scan` runs, record the traces of the track
    whose left edge is ``left_px`` after each stage; yields a list of ``(label, x, k,
    offset)`` rows: ``x`` (rows,) at the working resolution in the traced window's
    columns, ``k`` the shrink factor and ``offset`` the image column of the window's first
    column divided by ``k`` (image column = ``(x + offset) * k``). Restores the module on
    exit."""
    import logdigit.convert as conv

    rows: list[tuple[str, np.ndarray, int, float]] = []
    saved = {name: getattr(conv, name) for name, _ in STAGES}
    saved["trace_track"] = conv.trace_track
    saved["reroute_curves"] = conv.reroute_curves
    state: dict = {"on": False, "k": 1, "offset": 0.0}

    def add(label, x, *, count=False):
        if state["on"]:
            if count:  # a stage run once per curve: numbered in calling order
                seen = state.setdefault("calls", {})
                seen[label] = seen.get(label, 0) + 1
                label = f"{label} ({seen[label]})"
            rows.append((label, np.array(x, np.float64, copy=True), state["k"],
                         state["offset"]))

    def wrap(name, kind):
        fn = saved[name]

        def recorded(*args, **kw):
            out = fn(*args, **kw)
            if kind == "trace":
                add(SHORT[name], out.x, count=True)
            elif kind == "pair":
                add(SHORT[name] + " solid", out[0])
                add(SHORT[name] + " dashed", out[1])
            else:
                add(SHORT[name], out, count=True)
            return out
        return recorded

    def trace_track(track, pix, probs, **kw):
        state["on"] = abs(track.left_px - left_px) < 0.5
        k = kw["k"]
        a = max(0, int(np.floor((track.left_px - kw["cols"][0]) / k)))
        state["k"], state["offset"] = k, kw["cols"][0] / k + a
        state["calls"] = {}
        try:
            return saved["trace_track"](track, pix, probs, **kw)
        finally:
            state["on"] = False

    def reroute_curves(curves, traced, low, **kw):
        out = saved["reroute_curves"](curves, traced, low, **kw)
        for c in curves:
            add(f"reroute {c.mnemonic}", low[c.mnemonic][0])
        return out

    try:
        for name, kind in STAGES:
            setattr(conv, name, wrap(name, kind))
        conv.trace_track = trace_track
        conv.reroute_curves = reroute_curves
        yield rows
    finally:
        for name, fn in saved.items():
            setattr(conv, name, fn)


def shown_rows(*, r0: int, r1: int, first_row: int, k: int) -> np.ndarray:
    """The working-resolution rows (1/``k``) that cover image rows ``r0 <= row < r1``;
    ``first_row`` is the image row of the working resolution's row 0."""
    return np.arange((r0 - first_row) // k, -(-(r1 - first_row) // k))


def table(rows: list[tuple[str, np.ndarray, int, float]], *, r0: int, r1: int,
          first_row: int, truth: dict[str, np.ndarray]) -> str:
    """The printed table: one line per recorded stage and per truth, image columns at the
    image rows ``r0 <= row < r1`` (every ``k``-th: :func:`shown_rows`); ``truth`` holds
    one value per shown row."""
    if not rows:
        return ""
    k = rows[0][2]
    wrows = shown_rows(r0=r0, r1=r1, first_row=first_row, k=k)
    shown = first_row + wrows * k
    width = max(len(label) for label, *_ in rows + [(f"truth {m}",) for m in truth])
    lines = [f"{'image row':<{width}} " + " ".join(f"{r:7d}" for r in shown)]

    def fmt(v):
        return f"{v:7.1f}" if np.isfinite(v) else f"{'-':>7}"

    for label, x, kk, offset in rows:
        ok = (wrows >= 0) & (wrows < len(x))
        vals = np.full(len(wrows), np.nan)
        vals[ok] = (x[wrows[ok]] + offset) * kk
        lines.append(f"{label:<{width}} " + " ".join(fmt(v) for v in vals))
    for name, xt in truth.items():
        lines.append(f"{'truth ' + name:<{width}} " + " ".join(fmt(v) for v in xt))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("key", help="set/case/MNEMONIC under --root")
    ap.add_argument("r0", type=int, help="first image row")
    ap.add_argument("r1", type=int, help="row after the last")
    ap.add_argument("--root", default="runs/devscore", help="folder of the cases")
    ap.add_argument("-m", "--model", default=None, help="model folder or name")
    args = ap.parse_args(argv)
    *where, mnem = args.key.split("/")
    folder = Path(args.root, *where)
    need = [folder / f for f in ("scan.tif", "scan.toml", "truth.las")]
    if not where or any(not p.is_file() for p in need):
        print(f"dev_stages: {folder}: not a case folder with scan.tif, scan.toml and "
              "truth.las", file=sys.stderr)
        return 1
    if args.r1 - args.r0 > 200 or args.r1 <= args.r0:
        print("dev_stages: give 1 to 200 rows (R0 < R1)", file=sys.stderr)
        return 1
    from logdigit.calibrate import row_to_depth, value_to_x
    from logdigit.convert import convert_scan
    from logdigit.lasfile import read_las
    from logdigit.layout import load_layout
    from logdigit.network import load_network
    from logdigit.scanio import read_scan

    layout = load_layout(need[1])
    scan = read_scan(need[0], orientation=layout.orientation)
    resolved = layout.resolved(n_rows=scan.shape[0], n_cols=scan.shape[1])
    track = next((t for t in resolved.tracks
                  if any(c.mnemonic.upper() == mnem.upper() for c in t.curves)), None)
    if track is None:
        print(f"dev_stages: {need[1]}: no curve {mnem}", file=sys.stderr)
        return 1
    model, config, _ = load_network(args.model, device="cpu")
    with record_stages(left_px=track.left_px) as rows:
        convert_scan(scan, layout, model=model, config=config, trace_workers=1)
    first = resolved.depth.top_row
    k = rows[0][2] if rows else 1
    shown = first + shown_rows(r0=args.r0, r1=args.r1, first_row=first, k=k) * k
    depth = row_to_depth(shown.astype(float), depth=resolved.depth)
    las = read_las(need[2])
    truth = {}
    for c in track.curves:
        tc = las.curves.get(c.mnemonic.upper())
        if tc is not None:
            tv = np.interp(depth, las.depth, tc.values, left=np.nan, right=np.nan)
            truth[c.mnemonic] = value_to_x(tv, track=track, curve=c)
    print(table(rows, r0=args.r0, r1=args.r1, first_row=first, truth=truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
