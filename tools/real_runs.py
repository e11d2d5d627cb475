"""Reproduce the runs on the real scans (issues #3 and #7) and write a markdown summary.

Steps (all by default; ``--steps`` picks some):

``pair``
    Convert the real pair ``pairs/lavaca_myska/scan.tif`` with ``layouts/real/lavaca_myska.toml``
    and score it against ``reference.las`` with ``logdigit check`` over the logged interval,
    without and with a depth shift. Also traces each curve by its palette colour (the pair is
    a colour vector plot) with the same layout: a "colour oracle" that scores the layout's
    depth and scale calibration independently of the model and the tracer.
``layouts``
    Convert every scan that has a handwritten layout in ``layouts/real/`` (and the pair) with
    ``logdigit batch`` over a folder of symlinks (scan + ``<stem>.toml`` sidecar).
``batch``
    ``logdigit layout`` on every scan of ``scans/real`` and the pair (drafts in
    ``OUT/drafts/``), then add every remaining scan to the symlink folder with its drafted
    sidecar (a handwritten one wins) and run ``logdigit batch`` over the whole folder.
    Scans already converted (by ``layouts`` or an earlier run) are skipped, as usual for a
    batch; ``--force`` redoes them.

Finally the summary (counts, failures with reasons from the batch manifest, the pair's R²
table, seconds per step) is written to ``--summary`` (default ``OUT/summary.md``).

Scans are never copied: the batch input folder holds symlinks. Usage::

    .venv/bin/python tools/real_runs.py [--shared ../shared/data] [--out runs/real]
        [--summary FILE] [--steps pair,layouts,batch] [--only TEXT ...] [--limit N]
        [--workers 1] [--threads N] [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYOUTS = REPO / "layouts" / "real"
DEFAULT_SHARED = REPO.parent / "shared" / "data"
SCAN_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")

PAIR_NAME = "lavaca_myska"
#: logged interval of the pair's reference LAS (TLI 1214 ft, last sample 3832 ft)
PAIR_DEPTH_RANGE = "1214:3832"
#: palette index of each curve's colour in the pair's scan (read off the palette; see
#: docs/real-scans.md): GR green, SP/M1R9/PORZC blue (one per track), CNCF red
PAIR_COLOURS = {"GR": 39, "SP": 40, "M1R9": 40, "PORZC": 40, "CNCF": 41}
STEPS = ("pair", "layouts", "batch")
#: --steps summary: no conversion, only the summary of what OUT holds


# --------------------------------------------------------------------------- scans


@dataclass
class Entry:
    """One scan of the run: where it is, its path in the batch folder, its sidecar."""

    rel: str  # path inside the batch input folder, with "/"
    scan: Path  # the real scan (symlink target)
    layout: Path | None = None  # sidecar to link beside it (None: no layout)
    kind: str = "none"  # "handwritten", "draft" or "none"
    draft: dict = field(default_factory=dict)  # result of `logdigit layout`

    @property
    def stem(self) -> str:
        return Path(self.rel).stem

    @property
    def name(self) -> str:
        """The name used in reports: the layout stem (the pair's scan is scan.tif)."""
        return PAIR_NAME if self.rel.startswith("pairs/") else self.stem


def find_scans(root: Path) -> list[Path]:
    """Every scan file under ``root`` (any case of the suffixes), hidden ones left out, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in SCAN_SUFFIXES:
                out.append(Path(dirpath) / name)
    return sorted(out)


def plan_entries(shared: Path, layouts: Path = LAYOUTS) -> list[Entry]:
    """The pair and every scan of ``scans/real``, each with its handwritten layout if any.

    A handwritten layout is ``layouts/<scan stem>.toml`` (``lavaca_myska.toml`` for the pair).

    Raises
    ------
    ValueError
        Two scans share a stem (a layout could not tell them apart), or a layout in
        ``layouts`` matches no scan.
    """
    root = shared / "scans" / "real"
    entries = [Entry(rel=f"pairs/{PAIR_NAME}/scan.tif",
                     scan=shared / "pairs" / PAIR_NAME / "scan.tif")]
    seen: dict[str, Path] = {}
    for scan in find_scans(root):
        if scan.stem in seen or scan.stem == PAIR_NAME:
            raise ValueError(f"{scan}: same stem as {seen.get(scan.stem, PAIR_NAME)}")
        seen[scan.stem] = scan
        entries.append(Entry(rel="real/" + scan.relative_to(root).as_posix(), scan=scan))
    by_name = {e.name: e for e in entries}
    for toml in sorted(layouts.glob("*.toml")):
        entry = by_name.get(toml.stem)
        if entry is None:
            raise ValueError(f"{toml}: no scan named {toml.stem}.* under {root}")
        entry.layout, entry.kind = toml, "handwritten"
    return entries


def select(entries: Sequence[Entry], only: Sequence[str] = ()) -> list[Entry]:
    """Entries whose name contains one of ``only`` (case-insensitive); all without ``only``."""
    if not only:
        return list(entries)
    keys = [o.lower() for o in only]
    return [e for e in entries if any(k in e.name.lower() for k in keys)]


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.is_dir() and not link.is_symlink():
            raise IsADirectoryError(f"{link}: is a folder")
        link.unlink()
    link.symlink_to(target)


def build_batch_folder(entries: Iterable[Entry], dest: Path, *, prune: bool = True) -> list[Path]:
    """Symlink each entry's scan to ``dest/rel`` and its layout to ``dest/<rel stem>.toml``.

    Existing links are replaced; a sidecar left from an earlier run is removed when the entry
    has no layout now, and with ``prune`` every other symlink under ``dest`` (scans of an
    earlier, larger selection) is removed, so a batch over ``dest`` sees exactly these
    entries. Only symlinks are ever created or removed: scans and layouts are never copied.
    Returns the scan links.
    """
    links, keep = [], set()
    for e in entries:
        link = dest / e.rel
        link.parent.mkdir(parents=True, exist_ok=True)
        _link(e.scan.resolve(), link)
        sidecar = link.with_suffix(".toml")
        if e.layout is not None:
            _link(Path(e.layout).resolve(), sidecar)
            keep.add(sidecar)
        elif sidecar.is_symlink():
            sidecar.unlink()
        links.append(link)
        keep.add(link)
    if prune and dest.is_dir():
        for path in sorted(dest.rglob("*")):
            if path.is_symlink() and path not in keep:
                path.unlink()
    return links


# --------------------------------------------------------------------------- running


def _env(threads: int | None) -> dict:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def logdigit(args: Sequence[str], *, threads: int | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m logdigit ARGS`` (this interpreter), capturing stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "logdigit", *map(str, args)],
                          capture_output=True, text=True, env=_env(threads), check=False)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln]
    return (errors or lines or [""])[-1]


def draft_layouts(entries: Sequence[Entry], drafts: Path) -> None:
    """``logdigit layout`` on every entry; sets ``entry.draft`` and, without a handwritten
    layout, ``entry.layout`` to the draft when one was written."""
    for e in entries:
        out = drafts / Path(e.rel).with_suffix(".toml")
        out.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        proc = logdigit(["layout", e.scan, "-o", out, "--overwrite"])
        found = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ": " in ln
                 and ("track" in ln or "error:" in ln)]
        message = found[0] if found else last_line(proc.stderr)
        e.draft = {"rc": proc.returncode, "seconds": round(time.perf_counter() - t, 2),
                   "message": message.split(": ", 1)[-1] if proc.returncode == 0 else message,
                   "toml": str(out)}
        if proc.returncode == 0 and e.kind != "handwritten":
            e.layout, e.kind = out, "draft"
        print(f"layout {e.name}: rc {proc.returncode} {e.draft['message'][:100]}",
              file=sys.stderr)


def load_drafts(entries: Sequence[Entry], path: Path) -> None:
    """Set ``entry.draft`` (and a drafted layout where there is no handwritten one) from the
    ``drafts.jsonl`` an earlier run wrote."""
    if not path.is_file():
        return
    by_rel = {e.rel: e for e in entries}
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        e = by_rel.get(rec.pop("scan", None))
        if e is None:
            continue
        e.draft = rec
        if rec.get("rc") == 0 and e.kind != "handwritten":
            e.layout, e.kind = Path(rec["toml"]), "draft"


def _merge_json(path: Path, new: dict) -> dict:
    """``new`` over the dict stored in ``path`` (written back): results of earlier steps
    that this run did not redo stay in the summary."""
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    merged = {**old, **new}
    path.write_text(json.dumps(merged, indent=1), encoding="utf-8")
    return merged


def run_batch(in_dir: Path, out_dir: Path, *, workers: int, force: bool,
              threads: int | None) -> dict:
    """``logdigit batch IN -o OUT --overlays``; returns its JSON summary plus rc and seconds."""
    args = ["batch", in_dir, "-o", out_dir, "--overlays", "--workers", workers, "-q", "--json"]
    if force:
        args.append("--force")
    t = time.perf_counter()
    proc = logdigit(args, threads=threads)
    try:
        summary = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        summary = {}
    summary.update(rc=proc.returncode, seconds=round(time.perf_counter() - t, 1),
                   stderr=last_line(proc.stderr))
    return summary


def read_records(manifest: Path) -> list[dict]:
    """All records of a batch manifest, in order (a torn last line is ignored)."""
    if not manifest.is_file():
        return []
    out = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def final_records(records: Iterable[dict]) -> dict[str, dict]:
    """Per scan, the newest record that converted or failed; a later ``skipped`` record only
    stands when the scan was never converted in this manifest (an output made elsewhere)."""
    out: dict[str, dict] = {}
    for rec in records:
        scan = rec.get("scan")
        if scan is None:
            continue
        if rec.get("status") in ("ok", "failed") or scan not in out:
            out[scan] = rec
    return out


# --------------------------------------------------------------------------- the pair


def colour_oracle(scan: Path, layout: Path, colours: dict[str, int], out: Path) -> None:
    """Trace each curve of ``colours`` by its palette index and write a LAS with the layout's
    calibration (main scale only): what a perfect segmentation + tracer would give.

    Per row the run of curve-coloured pixels nearest to the previous row's pick is taken (a
    continuity trace), a 9-row running median over the traced rows removes the one-row
    horizontal strokes of dashed lines, and rows without the colour stay gaps.
    """
    import numpy as np
    from PIL import Image
    from scipy.ndimage import median_filter

    from logdigit.calibrate import depth_grid, resample, row_to_depth, x_to_value
    from logdigit.lasfile import LasCurve, write_las
    from logdigit.layout import load_layout

    img = np.asarray(Image.open(scan))
    if img.ndim != 2:
        raise ValueError(f"{scan}: not a palette image")
    lay = load_layout(layout).resolved(n_rows=img.shape[0], n_cols=img.shape[1])
    d = lay.depth
    rows = np.arange(d.top_row, d.bottom_row + 1, dtype=np.float64)
    grid = depth_grid(depth=d)
    row_depths = row_to_depth(rows, depth=d)
    curves = []
    for track in lay.tracks:
        c0 = int(np.floor(track.left_px))
        c1 = int(np.ceil(track.right_px)) + 1
        for curve in track.curves:
            if curve.mnemonic not in colours:
                continue
            hit = img[d.top_row:d.bottom_row + 1, c0:c1] == colours[curve.mnemonic]
            x = np.full(len(rows), np.nan)
            prev = None
            for i, row in enumerate(hit):
                cols = np.flatnonzero(row)
                if not len(cols):
                    continue
                runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
                centres = np.array([r.mean() for r in runs])
                j = 0 if prev is None else int(np.argmin(np.abs(centres - prev)))
                prev = centres[j]
                x[i] = prev + c0
            ok = np.isfinite(x)
            if ok.sum() > 9:
                x[ok] = median_filter(x[ok], size=9, mode="nearest")
            values = x_to_value(x, track=track, curve=curve)
            curves.append(LasCurve(curve.mnemonic, curve.unit, resample(row_depths, values, grid),
                                   description="colour oracle (palette trace)"))
    write_las(out, depth=grid, depth_unit=d.unit, curves=curves, overwrite=True,
              notes=["colour oracle: curves traced by palette colour, layout calibration"])


def in_scale_r2(out_las: Path, ref_las: Path, layout: Path, depth_range: str) -> dict[str, float]:
    """R² per curve over the reference depths where the reference lies on the curve's main
    scale (between its ``left`` and ``right``): the points a main-scale trace can reach."""
    import numpy as np

    from logdigit.lasfile import read_las
    from logdigit.layout import load_layout
    from logdigit.metrics import r2

    out, ref = read_las(out_las), read_las(ref_las)
    top, bottom = (float(v) for v in depth_range.split(":"))
    sel = (ref.depth >= top) & (ref.depth <= bottom)
    result = {}
    for track in load_layout(layout).tracks:
        for curve in track.curves:
            m = curve.mnemonic
            if m not in out.curves or m not in ref.curves:
                continue
            pred = np.interp(ref.depth, out.depth, out.curves[m].values,
                             left=np.nan, right=np.nan)
            rv = ref.curves[m].values
            lo, hi = sorted((float(curve.left), float(curve.right)))
            keep = sel & np.isfinite(rv) & (rv >= lo) & (rv <= hi)
            result[m] = round(float(r2(pred[keep], rv[keep])), 4)
    return result


def check(las: Path, ref: Path, *, max_shift: float) -> dict:
    proc = logdigit(["check", las, ref, "--depth-range", PAIR_DEPTH_RANGE, "--max-shift",
                     max_shift, "--min-coverage", "0", "--json"])
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": last_line(proc.stderr), "curves": []}


def run_pair(shared: Path, out: Path, *, max_shift: float, threads: int | None) -> dict:
    scan = shared / "pairs" / PAIR_NAME / "scan.tif"
    ref = shared / "pairs" / PAIR_NAME / "reference.las"
    layout = LAYOUTS / f"{PAIR_NAME}.toml"
    out.mkdir(parents=True, exist_ok=True)
    las, png = out / f"{PAIR_NAME}.las", out / f"{PAIR_NAME}.png"
    t = time.perf_counter()
    proc = logdigit([scan, "--layout", layout, "-o", las, "--overlay", png, "--overwrite",
                     "-q", "--json"], threads=threads)
    res: dict = {"rc": proc.returncode, "seconds": round(time.perf_counter() - t, 1),
                 "las": str(las), "overlay": str(png)}
    if proc.returncode != 0:
        res["error"] = last_line(proc.stderr)
        return res
    res["convert"] = json.loads(proc.stdout)
    res["check"] = check(las, ref, max_shift=0)
    res["check_shift"] = check(las, ref, max_shift=max_shift)
    res["max_shift"] = max_shift
    res["in_scale"] = in_scale_r2(las, ref, layout, PAIR_DEPTH_RANGE)
    oracle = out / f"{PAIR_NAME}.oracle.las"
    try:
        colour_oracle(scan, layout, PAIR_COLOURS, oracle)
        res["oracle_check"] = check(oracle, ref, max_shift=0)
        res["oracle_in_scale"] = in_scale_r2(oracle, ref, layout, PAIR_DEPTH_RANGE)
    except Exception as exc:  # the oracle is a diagnostic: report, do not stop the run
        res["oracle_error"] = f"{type(exc).__name__}: {exc}"
    return res


# --------------------------------------------------------------------------- summary


def _fmt(v, nd: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


_PATH_PREFIX = re.compile(r"^(?:logdigit: error: )?.*?\.(?:tiff?|png|jpe?g|toml|las): ",
                          re.IGNORECASE)


def reason(message: str) -> str:
    """An error line without its ``logdigit: error: PATH:`` prefix."""
    return _PATH_PREFIX.sub("", message.strip(), count=1)


def _pair_table(pair: dict) -> list[str]:
    if "check" not in pair:
        return [f"Pair conversion failed (exit {pair.get('rc')}): {pair.get('error', '')}", ""]
    by = {c["mnemonic"]: c for c in pair["check"].get("curves", [])}
    shifted = {c["mnemonic"]: c for c in pair["check_shift"].get("curves", [])}
    oracle = {c["mnemonic"]: c for c in pair.get("oracle_check", {}).get("curves", [])}
    ins, oins = pair.get("in_scale", {}), pair.get("oracle_in_scale", {})
    cov = {c["mnemonic"]: c["coverage"] for c in pair["convert"].get("curves", [])}
    ms = pair.get("max_shift")
    lines = [
        f"Depth range {PAIR_DEPTH_RANGE} ft; R² on the reference's 0.5 ft samples. "
        f"\"shift\" = best offset within ±{ms} ft. \"in scale\" = only where the reference "
        "lies on the curve's main scale. Oracle = curves traced by palette colour with the "
        "same layout (no model, no tracer).",
        "",
        "| curve | R² | MAE | R² (shift) | shift ft | R² in scale | coverage "
        "| oracle R² | oracle MAE | oracle R² in scale |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, c in by.items():
        s, o = shifted.get(m, {}), oracle.get(m, {})
        lines.append(
            f"| {m} | {_fmt(c.get('r2'))} | {_fmt(c.get('mae'), 2)} | {_fmt(s.get('r2'))} "
            f"| {_fmt(s.get('shift'), 1)} | {_fmt(ins.get(m))} | {_fmt(cov.get(m), 3)} "
            f"| {_fmt(o.get('r2'))} | {_fmt(o.get('mae'), 2)} | {_fmt(oins.get(m))} |")
    if "oracle_error" in pair:
        lines.append(f"\nColour oracle failed: {pair['oracle_error']}")
    lines.append("")
    return lines


def summarize(entries: Sequence[Entry], records: dict[str, dict], *, pair: dict | None,
              batches: dict[str, dict], seconds: dict[str, float],
              header: Sequence[str] = ()) -> str:
    """The markdown summary of a run.

    Parameters
    ----------
    entries : the scans of the run (with ``draft`` results when drafting ran).
    records : batch manifest, newest converted/failed record per scan rel path.
    pair : result of :func:`run_pair`, or None when that step did not run.
    batches : JSON summaries of the batch runs by step name.
    seconds : wall seconds per step.
    """
    lines = ["# Real scans: run summary", "", *header]
    drafted = [e for e in entries if e.draft]
    if drafted:
        ok = [e for e in drafted if e.draft["rc"] == 0]
        lines += ["## Drafted layouts (`logdigit layout`)", "",
                  f"{len(ok)} of {len(drafted)} scans drafted; "
                  f"{len(drafted) - len(ok)} without a recognisable grid:", ""]
        lines += [f"- `{e.name}`: {e.draft['message']}" for e in drafted if e.draft["rc"]]
        lines += ["", "| scan | draft (tracks, depth lines, confidence) |", "|---|---|"]
        lines += [f"| `{e.name}` | {e.draft['message']} |" for e in ok]
        lines.append("")
    in_batch = [e for e in entries if e.rel in records]
    if in_batch:
        conv = [e for e in in_batch if records[e.rel].get("status") in ("ok", "skipped")]
        failed = [e for e in in_batch if records[e.rel].get("status") == "failed"]
        kinds: dict[str, list[int]] = {}
        for e in in_batch:
            k = kinds.setdefault(e.kind, [0, 0])
            k[0 if records[e.rel].get("status") != "failed" else 1] += 1
        lines += ["## Conversions (`logdigit batch`, manifest)", "",
                  f"{len(in_batch)} scans in the batch folder: {len(conv)} converted, "
                  f"{len(failed)} failed.", "",
                  "| layout | converted | failed |", "|---|---|---|"]
        lines += [f"| {k} | {v[0]} | {v[1]} |" for k, v in sorted(kinds.items())]
        lines.append("")
        if failed:
            lines += ["Failures (reason from the manifest):", ""]
            for e in failed:
                why = reason(records[e.rel].get("error", ""))
                if e.kind == "none" and e.draft.get("rc"):
                    why += f" — `logdigit layout`: {reason(e.draft['message'])}"
                lines.append(f"- `{e.name}` ({e.kind} layout): {why}")
            lines.append("")
        lines += ["| scan | layout | status | seconds | coverage per curve |",
                  "|---|---|---|---|---|"]
        for e in in_batch:
            r = records[e.rel]
            cov = ", ".join(f"{k} {v:.2f}" for k, v in (r.get("coverage") or {}).items())
            lines.append(f"| `{e.name}` | {e.kind} | {r.get('status')} "
                         f"| {_fmt(r.get('seconds'), 1)} | {cov} |")
        lines.append("")
    if pair is not None:
        lines += ["## The real pair (lavaca_myska)", "", *_pair_table(pair)]
    if batches or seconds:
        lines += ["## Seconds", "", "| step | seconds | notes |", "|---|---|---|"]
        for step, s in seconds.items():
            b = batches.get(step)
            note = ""
            if b:
                note = (f"batch exit {b.get('rc')}: converted {b.get('done', '?')}, skipped "
                        f"{b.get('skipped', '?')}, failed {b.get('failed', '?')} "
                        f"of {b.get('total', '?')}")
            lines.append(f"| {step} | {s:.0f} | {note} |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "logdigit"],
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" (logdigit/ has uncommitted changes)" if dirty else "")


def _model_name() -> str:
    try:
        from logdigit.model import resolve_model_path

        return resolve_model_path(None).name
    except Exception as exc:  # reported, not fatal: the conversions report their own errors
        return f"unknown ({exc})"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="the shared data folder (default: ../shared/data beside the repo)")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "real",
                    help="output folder (default: runs/real)")
    ap.add_argument("--summary", type=Path, default=None,
                    help="markdown summary to write (default: OUT/summary.md)")
    ap.add_argument("--steps", default=",".join(STEPS),
                    help="comma-separated subset of: pair, layouts, batch; or 'summary' "
                         "(no conversion: rewrite the summary from OUT)")
    ap.add_argument("--only", nargs="+", default=(),
                    help="only scans whose name contains one of these (case-insensitive)")
    ap.add_argument("--limit", type=int, default=None,
                    help="batch step: at most N scans without a handwritten layout")
    ap.add_argument("--workers", type=int, default=1, help="batch worker processes (default 1)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads per conversion (OMP_NUM_THREADS; default: torch's)")
    ap.add_argument("--max-shift", type=float, default=10.0,
                    help="pair check: largest depth shift tried, ft (default 10)")
    ap.add_argument("--force", action="store_true",
                    help="batch step: convert again scans whose LAS exists")
    args = ap.parse_args(argv)
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    bad = [s for s in args.steps if s not in (*STEPS, "summary")]
    if bad:
        ap.error(f"unknown step(s): {', '.join(bad)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shared = args.shared.resolve()
    if not (shared / "scans" / "real").is_dir():
        print(f"real_runs: {shared}/scans/real not found (give --shared)", file=sys.stderr)
        return 2
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    summary_path = args.summary or out / "summary.md"
    entries = select(plan_entries(shared), args.only)
    in_dir, out_dir = out / "batch" / "in", out / "batch" / "out"
    seconds: dict[str, float] = {}
    batches: dict[str, dict] = {}
    pair = None

    if "pair" in args.steps:
        t = time.perf_counter()
        pair = run_pair(shared, out / "pair", max_shift=args.max_shift, threads=args.threads)
        seconds["pair"] = time.perf_counter() - t
        (out / "pair" / "result.json").write_text(json.dumps(pair, indent=1), encoding="utf-8")
    if "layouts" in args.steps:
        t = time.perf_counter()
        hand = [e for e in entries if e.kind == "handwritten"]
        build_batch_folder(hand, in_dir)
        batches["layouts"] = run_batch(in_dir, out_dir, workers=args.workers, force=True,
                                       threads=args.threads)
        seconds["layouts"] = time.perf_counter() - t
    if "batch" in args.steps:
        t = time.perf_counter()
        draft_layouts(entries, out / "drafts")
        seconds["drafts"] = time.perf_counter() - t
        with open(out / "drafts" / "drafts.jsonl", "w", encoding="utf-8") as fh:
            for e in entries:
                fh.write(json.dumps({"scan": e.rel, **e.draft}) + "\n")
        rest = [e for e in entries if e.kind != "handwritten"]
        if args.limit is not None:
            rest = rest[: args.limit]
        chosen = [e for e in entries if e.kind == "handwritten" or e in rest]
        build_batch_folder(chosen, in_dir)
        t = time.perf_counter()
        batches["batch"] = run_batch(in_dir, out_dir, workers=args.workers, force=args.force,
                                     threads=args.threads)
        seconds["batch"] = time.perf_counter() - t
        entries = chosen
    # what this run did not redo comes from the earlier runs' files in OUT
    if pair is None and (out / "pair" / "result.json").is_file():
        pair = json.loads((out / "pair" / "result.json").read_text(encoding="utf-8"))
    if not any(e.draft for e in entries):
        load_drafts(entries, out / "drafts" / "drafts.jsonl")
    seconds = _merge_json(out / "seconds.json", seconds)
    batches = _merge_json(out / "batches.json", batches)
    records = final_records(read_records(out_dir / "manifest.jsonl"))
    header = [f"Command: `{' '.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])}`  ",
              f"Repository: {_git_state()}; model: {_model_name()}; outputs under `{out}`.",
              ""]
    text = summarize(entries, records, pair=pair, batches=batches, seconds=seconds,
                     header=header)
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(text, encoding="utf-8")
    print(f"summary written to {summary_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
