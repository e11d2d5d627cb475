"""``logdigit eval CASES_DIR``: score a model on synthetic case folders (a report, no gate)."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

import typer

from . import app, flip_option, setup_logging, threads_option, use_threads

logger = logging.getLogger(__name__)

EVAL_HELP = (
    "Run the pipeline on every case folder under CASES_DIR (scan.tif, scan.toml and "
    "truth.las as written by logdigit synth; labels.png optional) and report per case, per "
    "tier and overall: R², RMSE and coverage per curve, per-class IoU/F1/precision/recall "
    "of the segmentation where a label mask exists, seconds and MPix/s. A failing case is "
    "reported and the run goes on.\n\n"
    "Exit codes: 0 the evaluation ran (whatever the scores: this is a report, not a gate); "
    "1 no case found or none could be evaluated, or the model cannot be loaded; 2 bad usage."
)


@contextlib.contextmanager
def _case_progress(*, enabled: bool, total: int):
    """Yield ``advance(result)`` driving a bar over the cases on stderr (or a no-op)."""
    if not enabled:
        yield lambda result: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("eval {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda result: bar.update(task, advance=1, description=result.name)


@app.command(
    "eval",
    help=EVAL_HELP,
)
def eval_cases(
    cases_dir: Path = typer.Argument(..., metavar="CASES_DIR",
                                     help="Folder of case folders (searched recursively)."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Model name under models/ or a model folder."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    flip: bool | None = flip_option(),
    threads: int | None = threads_option(),
    min_r2: float = typer.Option(0.95, "--min-r2",
                                 help="Report the share of curves with at least this R²."),
    min_coverage: float = typer.Option(0.9, "--min-coverage",
                                       help="A curve passes with this coverage and --min-r2."),
    no_masks: bool = typer.Option(False, "--no-masks",
                                  help="Skip the mask scores (saves a second segmentation)."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as one JSON object."),
    markdown: Path | None = typer.Option(None, "--markdown",
                                         help="Write a markdown report (for a model card)."),
    overlays: Path | None = typer.Option(None, "--overlays",
                                         help="Folder for one QC overlay PNG per case."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing markdown report and overlays."),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="No table, no progress; only errors on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Detailed logs on stderr."),
) -> None:
    from ..errors import OutputError
    from ..evaluate import (
        EvalError,
        aggregate,
        case_name,
        evaluate_cases,
        find_cases,
        format_table,
        overlay_name,
        report,
        to_markdown,
    )
    from ..network import load_network
    from ..outputs import atomic_output, check_output
    from ..segment import with_flip_average

    setup_logging(quiet=quiet, verbose=verbose)
    folders = find_cases(cases_dir)
    if not folders:
        raise EvalError(f"{cases_dir}: no case folders found (a case folder holds scan.tif, "
                        "scan.toml and truth.las, as written by logdigit synth)")
    # check every output before the long run
    if markdown is not None:
        check_output(markdown, overwrite=overwrite)
    if overlays is not None:
        if overlays.exists() and not overlays.is_dir():
            raise OutputError(f"{overlays}: --overlays must be a folder")
        try:
            overlays.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{overlays}: cannot create the folder ({exc.strerror})") from None
        for f in folders:
            check_output(overlays / overlay_name(case_name(f, cases_dir)), overwrite=overwrite)

    use_threads(threads)
    net, config, dev = load_network(model, device=device)
    config = with_flip_average(config, flip)
    logger.info("evaluating %s on %d cases under %s", config["path"], len(folders), cases_dir)
    with _case_progress(enabled=not quiet, total=len(folders)) as advance:
        results = evaluate_cases(folders, model=net, config=config, device=dev, root=cases_dir,
                                 min_r2=min_r2, min_coverage=min_coverage, masks=not no_masks,
                                 overlays=overlays, overwrite=overwrite, on_case=advance)
    summary = aggregate(results, min_r2=min_r2)
    meta = {"model": config["path"], "cases_dir": str(cases_dir), "device": str(dev),
            "min_r2": min_r2, "min_coverage": min_coverage}
    if as_json:
        print(json.dumps(report(results, summary, meta=meta)))
    elif not quiet:
        print(format_table(results, summary, min_r2=min_r2))
    if markdown is not None:
        text = to_markdown(results, summary, meta=dict(meta, model=Path(config["path"]).name),
                           min_r2=min_r2)
        with atomic_output(markdown, overwrite=overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
    if not any(r.ok for r in results):
        first = results[0]
        raise EvalError(f"{cases_dir}: none of the {len(results)} cases could be evaluated "
                        f"(first: {first.name}: {first.error})")
