"""Look at one development curve: the scan, the network's ink, the truth and the traces.

::

    .venv/bin/python tools/dev_view.py dev/scanned-0007/C2D 2480 2640 -o view.png

``KEY`` is ``set/case/MNEMONIC`` of a case under ``runs/devscore`` (``make devscore``
renders them; ``--root`` for another folder of cases with ``scan.tif``, ``scan.toml`` and
``truth.las``, e.g. ``runs/heldout/s1`` with ``KEY`` ``case/MNEMONIC``). The pipeline is
run on the case as ``logdigit convert`` runs it, and the rows ``R0..R1`` of the curve's
track are drawn enlarged: the scan in grey, the network's ink where it reaches 0.5 (solid
class red, dashed blue), the true curve (green) and the trace of every curve of the
track (solid curves orange, dashed magenta); with ``--labels`` the label mask stands in
for the network (:mod:`dev_oracle`). For each of them the median distance
(px) between trace and truth over those rows is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

#: RGB of each layer.
SOLID_INK, DASHED_INK = (235, 90, 90), (100, 110, 240)
TRUTH, SOLID_TRACE, DASHED_TRACE = (0, 170, 0), (255, 150, 0), (230, 0, 230)


@contextlib.contextmanager
def capture_maps():
    """Record the map each track is traced on while :func:`logdigit.convert.convert_scan`
    runs; yields a list of ``(track, pix, probs, cols, k, rows)`` (as
    :func:`logdigit.convert.trace_track` receives them), restoring it on exit."""
    import logdigit.convert as conv

    seen: list[tuple] = []
    original = conv.trace_track

    def recording(track, pix, probs, **kw):
        seen.append((track, pix, probs, kw["cols"], kw["k"], kw["rows"]))
        return original(track, pix, probs, **kw)

    conv.trace_track = recording
    try:
        yield seen
    finally:
        conv.trace_track = original


def compose(pixels: np.ndarray, *, ink: np.ndarray | None, lines: dict[str, tuple],
            zoom: int) -> np.ndarray:
    """The picture: scan, ink, curves.

    Parameters
    ----------
    pixels : (h, w) uint8
        The scan's crop (0 ink, 255 paper).
    ink : (2, h, w) uint8 or None
        Solid and dashed probability (0..255) on the same crop.
    lines : dict
        name -> (x, colour): x (h,) float, the column in the crop in each row (NaN: none).
    zoom : int
        Each pixel becomes ``zoom`` x ``zoom``.

    Returns
    -------
    (h * zoom, w * zoom, 3) uint8
    """
    h, w = pixels.shape
    rgb = np.repeat((pixels.astype(np.float32) * 0.6 + 100)[..., None], 3, axis=2)
    if ink is not None:
        for layer, colour in ((ink[0], SOLID_INK), (ink[1], DASHED_INK)):
            rgb[layer >= 128] = colour
    for x, colour in lines.values():
        rows = np.flatnonzero(np.isfinite(x))
        cols = np.round(x[rows]).astype(int)
        keep = (cols >= 0) & (cols < w)
        rgb[rows[keep], cols[keep]] = colour
    out = np.clip(rgb, 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(out, zoom, axis=0), zoom, axis=1)


def _map_window(probs, cols, k, rows, *, c0, c1, r0, r1):
    """The part of a traced map under image rows r0..r1 and columns c0..c1 (each
    working-resolution pixel repeated k times), or None."""
    if probs is None:
        return None
    full = np.repeat(np.repeat(probs, k, axis=1), k, axis=2)
    a, b = r0 - rows[0], r1 - rows[0]
    return full[:, a:b, c0 - cols[0]:c1 - cols[0]] if a >= 0 and c0 >= cols[0] else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("key", help="set/case/MNEMONIC under --root")
    ap.add_argument("r0", type=int, help="first image row")
    ap.add_argument("r1", type=int, help="row after the last")
    ap.add_argument("-o", "--out", required=True, help="PNG to write")
    ap.add_argument("--root", default="runs/devscore", help="folder of the cases")
    ap.add_argument("-m", "--model", default=None, help="model folder or name")
    ap.add_argument("--zoom", type=int, default=4)
    ap.add_argument("--labels", action="store_true",
                    help="trace on the case's labels.png instead of the network's maps "
                         "(as tools/dev_oracle.py does)")
    args = ap.parse_args(argv)
    *where, mnem = args.key.split("/")
    folder = Path(args.root, *where)
    need = [folder / f for f in ("scan.tif", "scan.toml", "truth.las")]
    if not where or any(not p.is_file() for p in need):
        print(f"dev_view: {folder}: not a case folder with scan.tif, scan.toml and truth.las",
              file=sys.stderr)
        return 1
    from PIL import Image

    from logdigit.calibrate import row_to_depth, value_to_x
    from logdigit.convert import convert_scan
    from logdigit.lasfile import read_las
    from logdigit.layout import load_layout
    from logdigit.network import load_network
    from logdigit.outputs import atomic_output
    from logdigit.scanio import read_scan

    layout = load_layout(need[1])
    scan = read_scan(need[0], orientation=layout.orientation)
    model, config, _ = load_network(args.model, device="cpu")
    with contextlib.ExitStack() as stack:
        seen = stack.enter_context(capture_maps())
        if args.labels:
            from dev_oracle import label_masks

            labels = np.asarray(Image.open(folder / "labels.png"))
            stack.enter_context(label_masks(labels))
        result = convert_scan(scan, layout, model=model, config=config)
    mine = [c for c in result.curves if c.curve.mnemonic.upper() == mnem.upper()]
    if not mine:
        print(f"dev_view: {need[1]}: no curve {mnem}", file=sys.stderr)
        return 1
    track = mine[0].track
    r0, r1 = max(args.r0, result.layout.depth.top_row), min(args.r1, scan.shape[0])
    if r1 <= r0:
        print(f"dev_view: rows {args.r0}..{args.r1} hold no digitized row", file=sys.stderr)
        return 1
    c0, c1 = int(track.left_px) - 10, int(track.right_px) + 11
    c0, c1 = max(0, c0), min(scan.shape[1], c1)
    ink = None
    for t, _pix, probs, cols, k, rows in seen:
        if t.left_px == track.left_px and t.right_px == track.right_px:
            ink = _map_window(probs, cols, k, rows, c0=c0, c1=c1, r0=r0, r1=r1)
    truth = read_las(need[2])
    depth = row_to_depth(np.arange(r0, r1, dtype=float), depth=result.layout.depth)
    lines = {}
    for c in result.curves:
        if c.track is not track:
            continue
        name = c.curve.mnemonic
        rows = np.arange(r0, r1) - c.row0
        x = np.full(r1 - r0, np.nan)
        ok = (rows >= 0) & (rows < len(c.trace.x))
        x[ok] = c.trace.x[rows[ok]] - c0
        tc = truth.curves.get(name.upper())
        if tc is not None:
            tv = np.interp(depth, truth.depth, tc.values, left=np.nan, right=np.nan)
            xt = value_to_x(tv, track=track, curve=c.curve) - c0
            lines[f"{name} truth"] = (xt, TRUTH)
            off = np.abs(x - xt)
            err = float(np.nanmedian(off)) if np.isfinite(off).any() else float("nan")
            print(f"{name}: median |trace - truth| {err:.2f} px over rows {r0}..{r1 - 1}")
        lines[name] = (x, SOLID_TRACE if c.curve.cls == 1 else DASHED_TRACE)
    picture = compose(scan.pixels[r0:r1, c0:c1], ink=ink, lines=lines, zoom=args.zoom)
    out = Path(args.out)
    with atomic_output(out, overwrite=True) as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
    print(f"wrote {out} ({picture.shape[1]} x {picture.shape[0]} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
