"""``logdigit synth``: render synthetic evaluation cases from real LAS curves."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import OutputError, UsageError
from . import app, check_rough_weight, rough_weight_option, setup_logging


@app.command(help="Render synthetic scans with layouts, true LAS curves and label masks.")
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the case folders into."),
    las_dir: Path | None = typer.Option(None, "--las-dir",
                                        help="Folder of LAS files to draw curves from "
                                        "(default: random-walk curves)."),
    n: int = typer.Option(10, "--n", min=1, help="Number of cases."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same cases)."),
    height: int = typer.Option(3000, "--height", min=256, help="Page height in px."),
    width: int = typer.Option(1200, "--width", min=256, help="Page width in px."),
    extras: bool = typer.Option(False, "--extras", help="Also draw shading fills, text "
                                "blocks, a distractor curve in the depth track and pens up to "
                                "12 px wide."),
    rough_weight: float = rough_weight_option(pages="the pages"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing cases."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    import numpy as np

    from ..render import load_bank, random_walk_bank
    from ..synth import synth_cases

    setup_logging(quiet=quiet, verbose=verbose)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out is a file, expected a folder")
    if las_dir is not None and not las_dir.is_dir():
        raise UsageError(f"{las_dir}: --las-dir is not a folder")
    bank = load_bank(las_dir) if las_dir else random_walk_bank(np.random.default_rng(seed))
    if not bank.curves:
        raise UsageError(f"{las_dir}: no usable curves found in the LAS files there")
    check_rough_weight(rough_weight)
    bank = bank.favour_rough(rough_weight)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None
    folders = synth_cases(bank, out, n=n, seed=seed, height=height, width=width,
                          overwrite=overwrite, extras=extras)
    for f in folders:
        print(f)
