"""Try other resamplings of the pipeline's own traces, without tracing again.

The pipeline is run once on every case of some development sets (under ``runs/devscore``,
rendered by ``tools/dev_score.py``) and, for every curve, the values per image row that
:func:`logdigit.calibrate.resample` receives (depths, values, weights) are stored with
the pipeline's output and the true curve (``--record``). Then each resampling variant is
scored on them in seconds: the default smoothing (which must reproduce the pipeline's
output exactly), the smoothing length's floor at other fractions of the output step or
other multiples of the row (or bin) spacing, a robust fit (Tukey's biweight on the
residuals, a few rounds), and linear interpolation. Curves at R² >= 0.95 per group of
sets, and how many moved by more than 0.005 against the default::

    .venv/bin/python tools/dev_resample.py --record pick dev dev13      # ~5 min
    .venv/bin/python tools/dev_resample.py                              # the variants
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from pathlib import Path

import numpy as np

#: The smoothing length's floor is ``step / waves``; the pipeline's is 2 pi
#: (``logdigit.calibrate._MIN_SMOOTHING_WAVES``).
WAVES = (4.0, 2.0 * math.pi, 8.0, 16.0, math.inf)
#: ... and at least ``spacings`` rows or bins; the pipeline's is 1
#: (``logdigit.calibrate._MIN_SMOOTHING_SPACINGS``).
SPACINGS = (0.5, 0.7, 1.15, 1.5)
#: Tukey biweight constants tried, in units of the residuals' robust (MAD) scale.
TUKEY = (8.0, 15.0)


def record(cases: Path, *, model, config) -> dict[str, dict]:
    """``{"case/MNEMONIC": record}`` for every case folder under ``cases``: the
    resampling's inputs (``d``, ``v``, ``w``, per image row), the output depth grid
    ``grid``, the pipeline's values ``out`` and the true values ``truth`` on it."""
    import logdigit.convert as conv
    from logdigit.lasfile import read_las
    from logdigit.layout import load_layout
    from logdigit.scanio import read_scan

    seen: list[tuple] = []
    original = conv.resample

    def spy(d, v, g, **kw):
        seen.append((np.array(d), np.array(v), kw.get("weights")))
        return original(d, v, g, **kw)

    out: dict[str, dict] = {}
    conv.resample = spy
    try:
        for folder in sorted(p for p in Path(cases).iterdir() if (p / "scan.tif").is_file()):
            layout = load_layout(folder / "scan.toml")
            scan = read_scan(folder / "scan.tif", orientation=layout.orientation)
            seen.clear()
            # one tracing thread: resample is called in the order of the result's curves
            res = conv.convert_scan(scan, layout, model=model, config=config,
                                    trace_workers=1)
            truth = read_las(folder / "truth.las")
            for c, (d, v, w) in zip(res.curves, seen, strict=True):
                t = truth.curves[c.curve.mnemonic.upper()]
                out[f"{folder.name}/{c.curve.mnemonic}"] = dict(
                    grid=res.grid, out=c.values, d=d, v=v, w=w,
                    truth=np.interp(res.grid, truth.depth, t.values))
    finally:
        conv.resample = original
    return out


def resampled(rec: dict, *, waves: float | None = 2.0 * math.pi, spacings: float = 1.0,
              tukey: float | None = None, rounds: int = 2) -> np.ndarray:
    """The record's curve on its grid, resampled with the smoothing length's floor at
    ``step / waves`` (``math.inf``: none) and ``spacings`` rows or bins, or linearly
    (``waves`` None). ``tukey``: refit ``rounds`` times with each row's weight times
    Tukey's biweight of its residual over ``tukey`` robust (MAD) scales."""
    import logdigit.calibrate as cal

    if waves is None:
        return cal.resample(rec["d"], rec["v"], rec["grid"], smooth=False)
    old = cal._MIN_SMOOTHING_WAVES, cal._MIN_SMOOTHING_SPACINGS, cal._fit_run
    plain = cal._fit_run

    def robust(d, v, g, *, smooth, grid_step, w=None):
        if not smooth or d.size < 8:
            return plain(d, v, g, smooth=smooth, grid_step=grid_step, w=w)
        w0 = np.ones(d.shape) if w is None else np.asarray(w, np.float64)
        ww = w0
        for _ in range(rounds):
            r = v - plain(d, v, d, smooth=True, grid_step=grid_step, w=ww)
            scale = max(1.4826 * float(np.median(np.abs(r - np.median(r)))), 1e-12)
            u = r / (tukey * scale)
            ww = w0 * np.maximum(np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0), 1e-3)
        return plain(d, v, g, smooth=True, grid_step=grid_step, w=ww)

    cal._MIN_SMOOTHING_WAVES, cal._MIN_SMOOTHING_SPACINGS = waves, spacings
    if tukey is not None:
        cal._fit_run = robust
    try:
        return cal.resample(rec["d"], rec["v"], rec["grid"], weights=rec["w"])
    finally:
        cal._MIN_SMOOTHING_WAVES, cal._MIN_SMOOTHING_SPACINGS, cal._fit_run = old


def r2_of(rec: dict, values: np.ndarray) -> float:
    """R² of ``values`` (on the record's grid) against its truth, as ``logdigit eval``."""
    from logdigit.metrics import compare_on_grid, r2

    _, a, b = compare_on_grid(rec["grid"], values, rec["grid"], rec["truth"])
    return float(r2(a, b))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", nargs="+", metavar="SET", help="record these sets first")
    ap.add_argument("--out", default="runs/devscore", help="the sets are here; records go "
                    "to OUT/traces")
    args = ap.parse_args(argv)
    out = Path(args.out)
    store = out / "traces"
    if args.record:
        from logdigit.network import load_network

        model, config, _ = load_network(None, device="cpu")
        store.mkdir(parents=True, exist_ok=True)
        for name in args.record:
            recs = record(out / name, model=model, config=config)
            (store / f"{name}.pkl").write_bytes(pickle.dumps(recs))
            print(f"{name}: {len(recs)} curves recorded", file=sys.stderr)
    recs: dict[str, dict] = {}
    for path in sorted(store.glob("*.pkl")):
        recs.update({f"{path.stem}/{k}": v for k, v in pickle.loads(path.read_bytes()).items()})
    if not recs:
        print(f"dev_resample: nothing recorded in {store}", file=sys.stderr)
        return 1
    base = {k: r2_of(r, r["out"]) for k, r in recs.items()}
    again = max(float(np.nanmax(np.abs(resampled(r) - r["out"]), initial=0))
                for r in recs.values())
    print(f"{len(recs)} curves; the default resampling again: largest change {again:.2g}")
    variants = ([(f"floor step/{w:.3g}", dict(waves=w)) for w in WAVES]
                + [(f"floor {sp:g} rows", dict(spacings=sp)) for sp in SPACINGS]
                + [(f"Tukey {c:g}", dict(tukey=c)) for c in TUKEY]
                + [("linear", dict(waves=None))])
    for name, kw in variants:
        got = base if kw == {"waves": 2 * math.pi} else {
            k: r2_of(r, resampled(r, **kw)) for k, r in recs.items()}
        groups: dict[str, list[float]] = {}
        for k, v in got.items():
            groups.setdefault(k.split("/")[0], []).append(v)
        up = sum(got[k] - base[k] > 0.005 for k in got)
        down = sum(base[k] - got[k] > 0.005 for k in got)
        print(f"{name:>18}: " + ", ".join(f"{g} {sum(x >= 0.95 for x in v)}/{len(v)}"
                                          for g, v in groups.items())
              + f"; {up} up, {down} down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
