"""``logdigit convert SCAN -o OUT.las``: one scan to one LAS file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..errors import UsageError
from . import EXIT_CODES_HELP, app, flip_option, setup_logging, threads_option, use_threads


@app.command(
    help="Convert one scanned well log into a LAS 2.0 file.\n\n"
    "The layout is taken from --layout, else SCAN with its suffix replaced by .toml, else "
    "logdigit.toml in the scan's folder.\n\n" + EXIT_CODES_HELP
)
def convert(
    scan: Path = typer.Argument(..., help="Scan image: TIFF, PNG or JPEG."),
    output: Path = typer.Option(..., "-o", "--output", help="LAS file to write."),
    layout: Path | None = typer.Option(None, "--layout", "-l", help="Layout TOML file."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Model name under models/ or a model folder."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    page: int = typer.Option(0, "--page", min=0, help="Page of a multi-page TIFF (0-based)."),
    overlay: Path | None = typer.Option(None, "--overlay", help="Write a QC overlay PNG."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    deskew: bool = typer.Option(True, "--deskew/--no-deskew", help="Measure and remove the "
                                "skew of the grid (up to 2 degrees) before segmenting; the "
                                "layout stays in the coordinates of the image as stored."),
    flip: bool | None = flip_option(),
    threads: int | None = threads_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Detailed logs on stderr."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    reference: Path | None = typer.Option(None, "--reference",
                                          help="Reference LAS: apply the R² gate after "
                                          "converting (exit 3 when a curve fails)."),
    min_r2: float = typer.Option(0.95, "--min-r2", help="Gate: smallest R² that passes."),
    min_coverage: float = typer.Option(0.9, "--min-coverage", help="Gate: smallest coverage."),
    max_shift: float = typer.Option(0.0, "--max-shift", min=0.0,
                                    help="Gate: try depth offsets within +-D."),
) -> None:
    from ..convert import convert_file
    from ..network import load_network
    from ..outputs import check_output
    from ..scanio import image_info
    from ..segment import with_flip_average
    from .progress import tile_progress

    setup_logging(quiet=quiet, verbose=verbose)
    if reference is not None and not reference.is_file():
        raise UsageError(f"{reference}: --reference file does not exist")
    # cheap checks before loading the model (convert_file repeats them)
    check_output(output, overwrite=overwrite)
    if overlay is not None:
        check_output(overlay, overwrite=overwrite)
    image_info(scan, page=page)  # the scan's header: missing, not an image, no such page
    use_threads(threads)
    net, config, dev = load_network(model, device=device)
    config = with_flip_average(config, flip)
    with tile_progress(enabled=not quiet, label=scan.name) as factory:
        result = convert_file(scan, output, model=net, config=config, layout_path=layout,
                              device=dev, page=page, overlay=overlay, overwrite=overwrite,
                              progress_factory=factory, deskew=deskew)
    summary = {"scan": str(scan), "output": str(output), **result.summary()}
    if overlay is not None:
        summary["overlay"] = str(overlay)
    results = None
    if reference is not None:
        from .check import gate

        results, summary["check"] = gate(output, reference, curves=None, maps=None,
                                         min_r2=min_r2, min_coverage=min_coverage,
                                         depth_range=None, max_shift=max_shift, points=None)
    if as_json:  # one JSON object, the gate's verdict included
        print(json.dumps(summary))
    elif not quiet:
        cov = ", ".join(f"{c['mnemonic']} {100 * c['coverage']:.0f}%" for c in summary["curves"])
        print(f"{output}: {len(summary['curves'])} curves ({cov}) in "
              f"{result.seconds['total']:.1f} s", file=sys.stdout)
        if results is not None:
            from ..check import format_table

            print(format_table(results))
    if results is not None:
        from .check import raise_if_failed

        raise_if_failed(output, reference, results)
