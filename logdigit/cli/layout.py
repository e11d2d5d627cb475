"""``logdigit layout``: draft a layout sidecar from the grid printed on a scan."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UsageError
from . import app, setup_logging


@app.command(
    "layout",
    help="Draft a layout TOML from the grid on a scan: track edges and grid type (linear/log) "
    "from the vertical grid lines, depth-line spacing and the rows of the major depth lines. "
    "Depths, units and curve scales are placeholders marked '# TO CONFIRM'. Also writes a PNG "
    "showing what was found (OUT.layout.png unless --png). Exit code 1 when no clear grid is "
    "found.",
)
def layout(
    scan: Path = typer.Argument(..., help="The scanned log (TIFF, PNG or JPEG)."),
    out: Path = typer.Option(..., "--out", "-o", help="The layout TOML to write."),
    png: Path | None = typer.Option(None, "--png",
                                    help="QC picture to write (default: OUT with .layout.png)."),
    page: int = typer.Option(0, "--page", min=0, help="Page of a multi-page TIFF (0-based)."),
    orientation: str = typer.Option("depth-down", "--orientation",
                                    help="depth-down, or depth-right for strips whose depth "
                                    "increases to the right (coordinates are then those of "
                                    "the transposed scan, as in the layout)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail on stderr."),
) -> None:
    import logging
    import tomllib

    from ..colour import ink_colours
    from ..draft import draft_image, draft_layout, draft_toml
    from ..layout import parse_layout
    from ..outputs import atomic_output, check_output
    from ..scanio import read_scan

    setup_logging(quiet=quiet, verbose=verbose)
    log = logging.getLogger("logdigit.layout")
    png = png if png is not None else out.with_name(out.stem + ".layout.png")
    if out.suffix.lower() != ".toml":
        raise UsageError(f"{out}: the layout must be a .toml file")
    for path in (out, png):
        if path.resolve() == scan.resolve():
            raise UsageError(f"{path}: would overwrite the scan")
    if out.resolve() == png.resolve():
        raise UsageError(f"{png}: --png is the same file as the layout")
    check_output(out, overwrite=overwrite)
    check_output(png, overwrite=overwrite)

    if orientation not in ("depth-down", "depth-right"):
        raise UsageError(f'--orientation must be "depth-down" or "depth-right", got '
                         f'"{orientation}"')
    page_read = read_scan(scan, page=page, orientation=orientation, colour=True)
    pixels, rgb = page_read.pixels, page_read.rgb
    draft = draft_layout(pixels, source=scan)
    colours = None
    if rgb is not None:  # a colour scan: list the ink colours of each track
        colours = [ink_colours(rgb[draft.top_row:draft.bottom_row + 1,
                                   max(0, int(t.left_px)):int(t.right_px) + 1])
                   for t in draft.tracks]
        del rgb
    text = draft_toml(draft, scan_name=scan.name, png_name=png.name, orientation=orientation,
                      colours=colours)
    picture = draft_image(draft, pixels)
    # never write a sidecar that logdigit itself would reject
    parse_layout(tomllib.loads(text), source=out).resolved(n_rows=draft.n_rows,
                                                           n_cols=draft.n_cols)
    # both files appear together or not at all (the PNG is renamed first, then the TOML)
    with atomic_output(out, overwrite=overwrite) as tmp_toml, \
            atomic_output(png, overwrite=overwrite) as tmp_png:
        tmp_toml.write_text(text, encoding="utf-8")
        picture.save(tmp_png, format="PNG", optimize=True)

    tracks = ", ".join(
        f"{t.scale}{f' {t.decades} dec' if t.decades else ''} {t.left_px:.0f}-{t.right_px:.0f}"
        for t in draft.tracks
    )
    d = draft.depth
    depth = (f"depth lines every {d.spacing_px:.2f} px"
             + (f" (major every {d.major_every})" if d.major_every else "")
             + f", rows {draft.top_row}..{draft.bottom_row}") if d else "no depth lines"
    print(f"{out}: {len(draft.tracks)} track{'s' if len(draft.tracks) != 1 else ''} "
          f"({tracks}); {depth}; skew {draft.skew:+.3f} deg; confidence {draft.confidence}")
    print(png)
    for note in draft.notes:
        log.warning("%s: %s", scan, note)
    if draft.unexplained:
        log.warning("%s: %d gridded region(s) with an unrecognised grid were left out",
                    scan, len(draft.unexplained))
    log.warning("%s: check every line marked '# TO CONFIRM' before converting", out)
