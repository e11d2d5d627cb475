"""Write synthetic evaluation cases: a scan, its layout sidecar, the true LAS and the labels.

Each case is a folder::

    case-0001/
        scan.tif      the rendered page (8-bit grey, or 1-bit CCITT G4 for binarised pages)
        scan.toml     its layout
        truth.las     the curves it was drawn from, on the layout's depth grid
        labels.png    class mask: 0 background, 1 solid curve, 2 dashed/dotted curve
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from .lasfile import LasCurve, write_las
from .outputs import atomic_output
from .render import TIERS, CurveBank, RenderedPage, render_page


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("non-finite number in layout")
        return repr(v)
    return json.dumps(str(v))


def dump_layout_toml(layout: dict) -> str:
    """Serialise a layout dictionary (the sidecar schema) as TOML text."""
    lines = []
    if "orientation" in layout:
        lines.append(f"orientation = {_toml_value(layout['orientation'])}")
    lines.append("\n[depth]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in layout["depth"].items()]
    if layout.get("well"):
        lines.append("\n[well]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in layout["well"].items()]
    for t in layout["tracks"]:
        lines.append("\n[[tracks]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in t.items() if k != "curves"]
        for c in t["curves"]:
            lines.append("  [[tracks.curves]]")
            lines += [f"  {k} = {_toml_value(v)}" for k, v in c.items()]
    return "\n".join(lines) + "\n"


def write_case(page: RenderedPage, folder: Path, *, overwrite: bool = False,
               layout_extra: dict | None = None) -> Path:
    """Write one rendered page as a case folder (see the module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    binary = np.isin(page.image, (0, 255)).all()
    with atomic_output(folder / "scan.tif", overwrite=overwrite) as tmp:
        if binary:
            Image.fromarray(page.image).convert("1").save(tmp, format="TIFF",
                                                          compression="group4")
        else:
            Image.fromarray(page.image).save(tmp, format="TIFF", compression="tiff_adobe_deflate")
    layout = dict(page.layout, **(layout_extra or {}))
    with atomic_output(folder / "scan.toml", overwrite=overwrite) as tmp:
        tmp.write_text(dump_layout_toml(layout))
    with atomic_output(folder / "labels.png", overwrite=overwrite) as tmp:
        Image.fromarray(page.labels).save(tmp, format="PNG", optimize=True)
    write_las(folder / "truth.las", depth=page.grid, depth_unit=layout["depth"]["unit"],
              curves=[LasCurve(m, u, v, "true curve") for m, u, v in page.truth],
              well=layout.get("well", {}), notes=["Synthetic truth written by logdigit synth"],
              overwrite=overwrite)
    return folder


def render_cases(bank: CurveBank, *, n: int, seed: int, height: int = 3000,
                 width: int = 1200, tiers: tuple[str, ...] = TIERS, extras: bool = False):
    """Yield ``(name, page)`` for the ``n`` cases of :func:`synth_cases`, without writing.

    ``name`` is ``<tier>-NNNN``; case ``i`` is drawn from its own generator
    ``numpy.random.default_rng([seed, i])``, so one case can be redrawn alone."""
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        tier = tiers[i % len(tiers)]
        page = render_page(rng=rng, bank=bank, height=height, width=width, tier=tier,
                           extras=extras)
        yield f"{tier}-{i:04d}", page


def synth_cases(bank: CurveBank, out: Path, *, n: int, seed: int, height: int = 3000,
                width: int = 1200, tiers: tuple[str, ...] = TIERS,
                overwrite: bool = False, extras: bool = False) -> list[Path]:
    """Render ``n`` cases into ``out/<tier>-NNNN``, tiers in rotation; reproducible by seed.

    ``extras`` adds shading, text blocks, a distractor curve and thick pens
    (:func:`logdigit.render.render_page`)."""
    return [write_case(page, Path(out) / name, overwrite=overwrite)
            for name, page in render_cases(bank, n=n, seed=seed, height=height, width=width,
                                           tiers=tiers, extras=extras)]


def make_example(folder: Path, *, seed: int = 2026) -> Path:
    """The bundled example (``examples/example-1``): a 1,100 x 3,000 px page with two
    tracks drawn from log-like synthetic curves, its layout and ``reference.las``."""
    from .render import random_walk_bank

    rng = np.random.default_rng(seed)
    bank = random_walk_bank(np.random.default_rng(seed + 1))
    page = render_page(rng=rng, bank=bank, height=3000, width=1100, n_tracks=2, tier="clean",
                       px_per_unit=6.0, line_width=2)
    # (mnemonic, unit, description, scale left, scale right): an affine map of both the
    # values and the scale leaves the drawing unchanged, so values get familiar ranges
    linear_names = [("GR", "GAPI", "Gamma ray", 0.0, 150.0),
                    ("SP", "MV", "Spontaneous potential", -80.0, 20.0),
                    ("RHOB", "G/CC", "Bulk density", 1.95, 2.95),
                    ("NPHI", "V/V", "Neutron porosity", 0.45, -0.15)]
    log_names = [("ILD", "OHMM", "Deep resistivity", 0.2, 2000.0),
                 ("SFL", "OHMM", "Shallow resistivity", 0.2, 2000.0)]
    new_truth = []
    for t in page.layout["tracks"]:
        for c in t["curves"]:
            log = c["scale"] == "log"
            m, u, d, a, b = (log_names if log else linear_names).pop(0)
            lo, hi = c["left"], c["right"]
            v = next(v for mm, _, v in page.truth if mm == c["mnemonic"])
            if log:
                f = (np.log10(v) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
                new_truth.append((m, u, 10 ** (np.log10(a) + f * (np.log10(b) - np.log10(a)))))
            else:
                new_truth.append((m, u, a + (v - lo) / (hi - lo) * (b - a)))
            c.update(mnemonic=m, unit=u, description=d, left=a, right=b)
    page.truth = new_truth
    page.layout["well"] = {"WELL": "EXAMPLE 1", "COMP": "logdigit", "FLD": "SYNTHETIC"}
    folder = write_case(page, Path(folder), overwrite=True)
    (folder / "truth.las").replace(folder / "reference.las")
    (folder / "labels.png").unlink()
    return folder


if __name__ == "__main__":
    import sys

    print(make_example(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/example-1")))
