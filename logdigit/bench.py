"""``make bench``: speed and memory of the whole pipeline on rendered scans.

A small scan is converted first (:func:`warm_up`: on a fresh install the tracer's numba
functions are compiled then, once). For each size, a scan is rendered (8-bit grey with grid
lines, 3 tracks), written as a TIFF with its layout, and converted by ``logdigit`` in a
child process, so that the child's peak RSS is the conversion's alone; the first size
``--repeat`` times (the median run is reported, with the range: these machines are noisy).
Reported: end-to-end seconds, MPix/s of the whole image, seconds per stage, peak RSS. In
the same run, a resnet18-encoder U-Net (smp defaults) is timed on a sample of the same
tiles and its time for all tiles is extrapolated, giving the speed ratio of the shipped
model to that common baseline. The shipped model is loaded as a conversion loads it (its
``inference.onnx`` in ONNX Runtime, the full-resolution layers in numba); the baseline is
BatchNorm-folded, exported and run the same way. ``--scale-check`` converts a small page and
the same page at 4x the resolution (lines 4x thicker): scale normalisation should keep the
second far below 16x the first's time.

Run: ``make bench`` or
``python -m logdigit.bench [--sizes 3200x12800,3200x51200] [--repeat 3]
[--scale-check 800x3200|none] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_scan(folder: Path, *, width: int, height: int, seed: int = 0) -> Path:
    """Render a bench scan (tiled from one rendered page to keep rendering cheap)."""
    from PIL import Image

    from .render import random_walk_bank, render_page
    from .synth import dump_layout_toml

    rng = np.random.default_rng(seed)
    bank = random_walk_bank(np.random.default_rng(seed + 1), n=8, length=60000)
    page = render_page(rng=rng, bank=bank, height=min(height, 12800), width=width, n_tracks=3,
                       tier="scanned", px_per_unit=5.0)
    reps = -(-height // page.image.shape[0])
    img = np.concatenate([page.image] * reps, axis=0)[:height]
    layout = dict(page.layout)
    depth = dict(layout["depth"])
    depth["bottom_row"] = height - 1
    depth["bottom"] = round(depth["top"] + (height - 1) / 5.0, 6)
    layout["depth"] = depth
    path = folder / f"bench-{width}x{height}.tif"
    Image.fromarray(img).save(path, compression="tiff_adobe_deflate")
    path.with_suffix(".toml").write_text(dump_layout_toml(layout))
    return path


def make_scaled(scan: Path, *, scale: int = 4) -> Path:
    """The same page as ``scan`` at ``scale`` times its resolution (bilinear, so its lines
    are ``scale`` times thicker), with its layout mapped to the new pixel grid."""
    import tomllib

    from PIL import Image

    from .synth import dump_layout_toml

    img = Image.open(scan)
    big = img.resize((img.width * scale, img.height * scale), Image.BILINEAR)
    layout = tomllib.loads(scan.with_suffix(".toml").read_text())

    def centre(v: float) -> float:  # a pixel centre of the scan, in the scaled grid
        return round(scale * float(v) + (scale - 1) / 2, 6)

    for t in layout["tracks"]:
        t["left_px"], t["right_px"] = centre(t["left_px"]), centre(t["right_px"])
    for key in ("top_row", "bottom_row"):  # whole rows: half a row off at most
        layout["depth"][key] = scale * int(layout["depth"][key]) + scale // 2
    path = scan.with_name(f"{scan.stem}-x{scale}.tif")
    big.save(path, compression="tiff_adobe_deflate")
    path.with_suffix(".toml").write_text(dump_layout_toml(layout))
    return path


def scale_check(folder: Path, *, width: int, height: int, model: str | None,
                scale: int = 4) -> dict:
    """Seconds to convert a scan and the same page at ``scale`` times the resolution.

    With scale normalisation the larger scan is segmented and traced at the working
    resolution of the smaller one (its lines are ``scale`` times thicker), so it should
    cost far less than ``scale ** 2`` times as much: what is left is reading, deskewing
    and measuring the full-size image, and shrinking it.
    """
    small = make_scan(folder, width=width, height=height, seed=2)
    big = make_scaled(small, scale=scale)
    a = run_convert(small, folder / "scale-small.las", model=model)
    b = run_convert(big, folder / "scale-big.las", model=model)
    return {"scale": scale, "small": f"{width}x{height}",
            "agreement_r2": agreement(folder / "scale-big.las", folder / "scale-small.las"),
            "big": f"{width * scale}x{height * scale}", "pixels_ratio": scale ** 2,
            "small_seconds": a["wall"], "big_seconds": b["wall"],
            "seconds_ratio": b["wall"] / a["wall"], "small_factor": a.get("factor"),
            "big_factor": b.get("factor"), "big_stages": b["seconds"]}


def curve_r2s(las_a: Path, las_b: Path) -> dict[str, float]:
    """R² of each curve of ``las_a`` against the curve of that name in ``las_b``, on
    ``las_b``'s depths (``las_a`` interpolated linearly; NaN where no R² can be had)."""
    import lasio

    from .metrics import r2

    a, b = lasio.read(las_a), lasio.read(las_b)
    return {c.mnemonic: float(r2(np.interp(b.index, a.index, a[c.mnemonic], left=np.nan,
                                           right=np.nan), b[c.mnemonic]))
            for c in a.curves[1:] if c.mnemonic in b.keys()}


def agreement(las_a: Path, las_b: Path) -> float:
    """Median over the curves of the R² of ``las_a``'s curve against ``las_b``'s on the
    depths both have."""
    vals = [v for v in curve_r2s(las_a, las_b).values() if np.isfinite(v)]
    return float(np.median(vals)) if vals else float("nan")


def run_convert(scan: Path, out: Path, *, model: str | None) -> dict:
    """Convert in a child process; return its JSON summary plus wall seconds and peak RSS."""
    cmd = [sys.executable, "-m", "logdigit", str(scan), "-o", str(out), "--json", "--quiet",
           "--overwrite"]
    if model:
        cmd += ["--model", model]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"bench: conversion failed: {proc.stderr.strip()}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(proc.stdout)
    summary["wall"] = wall
    summary["peak_rss_mb"] = max(peak_kb, before) / 1024  # ru_maxrss is the max over children
    return summary


def baseline_ratio(scan: Path, *, model: str | None, sample: int = 6) -> dict:
    """Seconds per tile of the shipped model and of a resnet18 U-Net on the same tiles.

    Both run as a conversion runs a network on the CPU: BatchNorm folded, exported to ONNX
    (:func:`logdigit.model.export_inference`; the baseline to a temporary folder) and run
    by :func:`logdigit.segment.tile_runner`, one tile per pass on one core.
    """
    import torch

    from .layout import find_layout, load_layout
    from .model import DEFAULT_CONFIG, build_model, export_inference, save_model
    from .network import load_network
    from .scanio import read_scan
    from .segment import _tile_plan, default_batch_size, tile_runner, to_input, track_window

    net, cfg, _ = load_network(model, device="cpu")
    lay = load_layout(find_layout(scan))
    img = read_scan(scan).pixels
    t0 = lay.tracks[0]
    c0, c1 = track_window(t0.left_px, t0.right_px, img.shape[1])
    th, tw, rows, _ = _tile_plan((img.shape[0], c1 - c0), config=cfg)
    tiles = [img[r : r + th, c0 : c0 + tw] for r in rows[:sample]]
    x = np.stack([to_input(t) for t in tiles])[:, None]
    base_cfg = dict(DEFAULT_CONFIG, encoder_name="resnet18", encoder_depth=5,
                    decoder_channels=[256, 128, 64, 32, 16])
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        save_model(build_model(base_cfg).eval(), Path(tmp) / "resnet18", config=base_cfg)
        export_inference(Path(tmp) / "resnet18")
        baseline, _, _ = load_network(Path(tmp) / "resnet18", device="cpu")
    out = {"runtime": {"shipped": type(net).__name__, "resnet18_unet": type(baseline).__name__}}
    n = default_batch_size("cpu")  # tiles per forward pass, as segment_array runs them
    for name, m in (("shipped", net), ("resnet18_unet", baseline)):
        run = tile_runner(m, "cpu")
        run(x[:1])
        t = time.perf_counter()
        for i in range(0, len(x), n):
            run(x[i : i + n])
        out[name] = (time.perf_counter() - t) / len(x)
    out["tile"] = [int(th), int(tw)]
    out["ratio"] = out["resnet18_unet"] / out["shipped"]
    return out


def warm_up(folder: Path, *, model: str | None) -> float:
    """Convert a small scan once, so the tracer's numba functions are compiled and cached
    before anything is timed (a fresh install, or a changed ``trace.py``, compiles them on
    its first conversion: seconds that every later conversion skips). Returns its seconds."""
    scan = make_scan(folder, width=800, height=1600, seed=1)
    return run_convert(scan, folder / "warm-up.las", model=model)["wall"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="logdigit benchmark")
    ap.add_argument("--sizes", default="3200x12800",
                    help="comma-separated WIDTHxHEIGHT list (default 3200x12800)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeat", type=int, default=3,
                    help="conversions of the first size (the median is reported with the "
                    "range; later sizes once); default 3")
    ap.add_argument("--scale-check", default="800x3200", metavar="WxH",
                    help="also convert a WxH scan and the same page at 4x the resolution "
                    "(lines 4x thicker) and report the ratio of their times; 'none' skips "
                    "it; default 800x3200")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--batch", action="store_true",
                    help="also time `logdigit batch` with 1 and 2 workers (scans per minute)")
    a = ap.parse_args(argv)
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    results = []
    with tempfile.TemporaryDirectory(prefix="logdigit-bench-") as tmp:
        tmp = Path(tmp)
        first = warm_up(tmp, model=a.model)
        results.append({"warm_up_seconds": first})
        if not a.json:
            print(f"warm-up (800x1600, compiles the tracer on a fresh install): {first:.1f} s")
        for i, size in enumerate(a.sizes.split(",")):
            w, h = (int(v) for v in size.lower().split("x"))
            scan = make_scan(tmp, width=w, height=h)
            runs = [run_convert(scan, tmp / "out.las", model=a.model)
                    for _ in range(a.repeat if i == 0 else 1)]
            runs.sort(key=lambda r: r["wall"])
            r = runs[len(runs) // 2]  # the median run (the upper one of two)
            mpix = w * h / 1e6
            row = {
                "size": f"{w}x{h}",
                "mpix": mpix,
                "seconds": r["wall"],
                "seconds_all": [x["wall"] for x in runs],
                "mpix_per_s": mpix / r["wall"],
                "stages": r["seconds"],
                "peak_rss_mb": max(x["peak_rss_mb"] for x in runs),
            }
            row["baseline"] = baseline_ratio(scan, model=a.model)
            results.append(row)
            if not a.json:
                st = ", ".join(f"{k} {v:.2f}" for k, v in r["seconds"].items())
                b = row["baseline"]
                spread = (f" (median of {len(runs)}: {runs[0]['wall']:.1f}-"
                          f"{runs[-1]['wall']:.1f} s)" if len(runs) > 1 else "")
                print(f"{row['size']}: {row['seconds']:.1f} s end to end{spread} "
                      f"({row['mpix_per_s']:.2f} MPix/s), peak RSS {row['peak_rss_mb']:.0f} MB")
                print(f"  stages (s): {st}")
                print(f"  per {b['tile'][0]}x{b['tile'][1]} tile: shipped {b['shipped']:.3f} s, "
                      f"resnet18 U-Net {b['resnet18_unet']:.3f} s -> {b['ratio']:.1f}x faster")
        if a.scale_check.lower() != "none":
            w, h = (int(v) for v in a.scale_check.lower().split("x"))
            sc = scale_check(tmp, width=w, height=h, model=a.model)
            results.append({"scale_check": sc})
            if not a.json:
                print(f"scale: {sc['small']} (factor {sc['small_factor']}) "
                      f"{sc['small_seconds']:.1f} s; the same page at {sc['scale']}x the "
                      f"resolution, {sc['big']} (factor {sc['big_factor']}), "
                      f"{sc['big_seconds']:.1f} s: {sc['pixels_ratio']}x the pixels, "
                      f"{sc['seconds_ratio']:.1f}x the time; the two scans' curves agree "
                      f"to median R² {sc['agreement_r2']:.4f}")
    if a.batch:
        rows = bench_batch(model=a.model, quiet=a.json)
        results.append({"batch": rows})
    if a.json:
        print(json.dumps(results, indent=2))


def bench_batch(*, model: str | None = None, n: int = 6, width: int = 1600, height: int = 6400,
                workers: tuple[int, ...] = (1, 2), quiet: bool = False) -> list[dict]:
    """Scans per minute of ``logdigit batch`` with 1 and 2 local workers.

    ``n`` copies of one rendered ``width`` x ``height`` scan (with its layout) are converted by
    :func:`logdigit.batch.run_batch` with ``force``, once per worker count; the time includes
    starting the workers and loading the model in each, as a real batch does.
    """
    import shutil

    from .batch import run_batch

    rows = []
    with tempfile.TemporaryDirectory(prefix="logdigit-bench-batch-") as tmp:
        tmp = Path(tmp)
        scan = make_scan(tmp, width=width, height=height)
        in_dir = tmp / "in"
        for i in range(n):
            (in_dir / f"well {i % 2}").mkdir(parents=True, exist_ok=True)
            dest = in_dir / f"well {i % 2}" / f"scan {i}.tif"
            shutil.copyfile(scan, dest)
            shutil.copyfile(scan.with_suffix(".toml"), dest.with_suffix(".toml"))
        for w in workers:
            t = time.perf_counter()
            summary = run_batch(in_dir, tmp / f"out-{w}", workers=w, model=model, force=True)
            seconds = time.perf_counter() - t
            if not summary.ok:
                raise SystemExit(f"bench: batch with {w} workers failed: {summary.failures}")
            row = {"workers": w, "scans": n, "size": f"{width}x{height}",
                   "seconds": seconds, "scans_per_min": 60 * n / seconds}
            rows.append(row)
            if not quiet:
                print(f"batch, {w} worker{'s' if w > 1 else ''}: {n} scans of {width}x{height} "
                      f"in {seconds:.1f} s -> {row['scans_per_min']:.1f} scans/min")
    return rows


if __name__ == "__main__":
    main()
