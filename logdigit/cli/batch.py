"""``logdigit batch IN_DIR -o OUT_DIR``: convert a folder tree of scans (see logdigit.batch)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer

from ..errors import EXIT_BATCH_FAILURES
from . import app, flip_option, setup_logging

BATCH_HELP = (
    "Convert every scan under IN_DIR (TIFF, PNG, JPEG, any depth of folders) into LAS files "
    "under OUT_DIR, mirroring the folders.\n\n"
    "Each scan's layout is its sidecar (scan.tif -> scan.toml), else the nearest logdigit.toml "
    "in its folder or a parent folder up to IN_DIR, else --layout. A rerun skips scans whose "
    "LAS already exists (--force redoes them); one line per scan is appended to "
    "OUT_DIR/manifest.jsonl as it finishes. --scheduler runs the scans on a Dask "
    "distributed cluster instead of local worker processes.\n\n"
    "Exit codes: 0 every scan converted or skipped; 4 some scans failed or failed the "
    "--gate; 2 bad usage (IN_DIR missing, OUT_DIR a file, --workers < 1, bad --layout or "
    "--scheduler); 1 the model cannot be loaded; 130 interrupted."
)


class _Bar:
    """A rich progress bar on stderr: done, failed, ETA (implements BatchProgress)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.ok = self.failed = self.gate_failed = 0
        self.bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.task = None
        self.saved: list = []

    def __enter__(self) -> _Bar:
        self.bar.__enter__()
        # log lines go through rich's stderr proxy, above the bar instead of through it
        for h in logging.getLogger().handlers:
            if isinstance(h, logging.StreamHandler) and h.stream is not sys.stderr:
                self.saved.append((h, h.setStream(sys.stderr)))
        return self

    def __exit__(self, *exc) -> None:
        for h, stream in self.saved:
            h.setStream(stream)
        self.bar.__exit__(*exc)

    def _counts(self) -> str:
        text = f"ok {self.ok}, failed {self.failed}"
        return text + (f", gate failed {self.gate_failed}" if self.gate_failed else "")

    def start(self, *, total: int, to_run: int) -> None:
        self.task = self.bar.add_task("batch", total=to_run, counts=self._counts())

    def update(self, record: dict) -> None:
        if record["status"] == "failed":
            self.failed += 1
        else:
            self.ok += 1
        if record.get("gate") == "failed":
            self.gate_failed += 1
        if self.task is not None:
            self.bar.update(self.task, advance=1, counts=self._counts())


def _print_summary(summary, *, quiet: bool) -> None:
    s = summary
    if quiet and s.ok:
        return
    line = (f"logdigit: batch: {s.done} converted, {s.skipped} skipped, {s.failed} failed"
            + (f", {s.gate_failed} failed the gate" if s.gate_failed else "")
            + f" (of {s.total} scans) in {s.seconds:.1f} s; manifest {s.manifest}")
    print(line, file=sys.stderr)
    shown = 20
    for f in s.failures[:shown]:
        print(f"  failed: {f['scan']}: {f['error']}", file=sys.stderr)
    for f in s.gate_failures[:shown]:
        print(f"  gate failed: {f['scan']}: {f['reason']}", file=sys.stderr)
    more = max(0, len(s.failures) - shown) + max(0, len(s.gate_failures) - shown)
    if more:
        print(f"  ... and {more} more (see the manifest)", file=sys.stderr)


@app.command(help=BATCH_HELP)
def batch(
    in_dir: Path = typer.Argument(..., help="Folder of scans (searched recursively)."),
    out_dir: Path = typer.Option(..., "-o", "--out-dir", help="Folder for the LAS files."),
    workers: int | None = typer.Option(None, "--workers", "-w",
                                       help="Local worker processes (default: one per core)."),
    layout: Path | None = typer.Option(None, "--layout", "-l",
                                       help="Layout for scans without a sidecar or a "
                                       "logdigit.toml."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Model name under models/ or a model folder."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    force: bool = typer.Option(False, "--force", help="Convert again scans already done."),
    overlays: bool = typer.Option(False, "--overlays", help="Also write a QC overlay PNG per "
                                  "scan."),
    gate: Path | None = typer.Option(None, "--gate", help="Folder of reference LAS files "
                                     "mirroring IN_DIR: apply the R² gate where one exists."),
    min_r2: float = typer.Option(0.95, "--min-r2", help="Gate: smallest R² that passes."),
    min_coverage: float = typer.Option(0.9, "--min-coverage", help="Gate: smallest coverage."),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="Dask scheduler tcp://HOST:PORT to run on."),
    deskew: bool = typer.Option(True, "--deskew/--no-deskew", help="Measure and remove the "
                                "skew of the grid (up to 2 degrees) before segmenting."),
    flip: bool | None = flip_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="A log line per scan."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    from ..batch import BatchProgress, run_batch

    setup_logging(quiet=quiet, verbose=verbose)
    bar = _Bar() if not quiet and sys.stderr.isatty() else None
    kwargs = dict(workers=workers, layout=layout, model=model, device=device, force=force,
                  overlays=overlays, gate_dir=gate, min_r2=min_r2, min_coverage=min_coverage,
                  scheduler=scheduler, deskew=deskew, flip_average=flip)
    if bar is not None:
        with bar:
            summary = run_batch(in_dir, out_dir, progress=bar, **kwargs)
    else:
        summary = run_batch(in_dir, out_dir, progress=BatchProgress(), **kwargs)
    _print_summary(summary, quiet=quiet)
    if as_json:
        print(json.dumps(summary.as_dict()))
    if not summary.ok:
        raise typer.Exit(EXIT_BATCH_FAILURES)
