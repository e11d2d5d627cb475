"""Layout drafting (logdigit.draft, ``logdigit layout``) on rendered pages with known layouts."""

from __future__ import annotations

import functools
import math
import tomllib

import numpy as np
import pytest
from PIL import Image

from logdigit.deskew import shear_columns
from logdigit.draft import draft_image, draft_layout, draft_toml
from logdigit.errors import ScanError
from logdigit.layout import load_layout
from logdigit.render import random_walk_bank, render_page

from .conftest import cli


@functools.cache
def page(seed: int, tier: str, ppu: float | None = None):
    bank = random_walk_bank(np.random.default_rng(0), n=6, length=8000)
    p = render_page(rng=np.random.default_rng(seed), bank=bank, height=3000, width=1100,
                    tier=tier, px_per_unit=ppu)
    p.image.setflags(write=False)
    return p


@functools.cache
def drafted(seed: int, tier: str, ppu: float | None = None):
    return draft_layout(page(seed, tier, ppu).image)


def grid_truth(layout: dict) -> list[tuple[float, float, str, int]]:
    """(left, right, grid, decades) per track: the renderer draws a log grid when every
    curve of the track is on a log scale."""
    out = []
    for t in layout["tracks"]:
        log = all(c["scale"] == "log" for c in t["curves"])
        c = t["curves"][-1]
        decades = max(1, round(abs(math.log10(c["right"] / c["left"])))) if log else 0
        out.append((t["left_px"], t["right_px"], "log" if log else "linear", decades))
    return out


PAGES = [(0, "clean"), (6, "clean"), (12, "clean"), (4, "scanned"), (55, "scanned"),
         (100, "scanned"),
         (11, "hard")]


@pytest.mark.parametrize("seed,tier", PAGES)
def test_tracks_and_grid_types(seed, tier):
    truth = grid_truth(page(seed, tier).layout)
    d = drafted(seed, tier)
    assert len(d.tracks) == len(truth)
    for t, (left, right, grid, decades) in zip(d.tracks, truth, strict=True):
        assert abs(t.left_px - left) <= 2 and abs(t.right_px - right) <= 2
        assert t.scale == grid
        assert t.decades == decades
        assert t.fit >= 0.75


def test_the_pages_cover_both_grid_types():
    grids = {g for s, t in PAGES for *_, g, _ in grid_truth(page(s, t).layout)}
    assert grids == {"linear", "log"}


@pytest.mark.parametrize("seed,tier", PAGES)
def test_depth_line_spacing(seed, tier):
    """The renderer draws depth lines every 1, 2, 5 or 10 depth units, heavier every 5."""
    p = page(seed, tier)
    dep = p.layout["depth"]
    ppu = (dep["bottom_row"] - dep["top_row"]) / (dep["bottom"] - dep["top"])
    d = drafted(seed, tier).depth
    assert d is not None
    assert min(abs(d.spacing_px / (ppu * m) - 1) for m in (1, 2, 5, 10)) < 0.005
    assert d.major_every == 5


def test_depth_rows_exactly():
    """At 2.5 px per foot the renderer's minor lines are 10 ft apart, majors every 50 ft:
    the spacing, the major rows and the interval count are known exactly."""
    p = page(3, "clean", 2.5)
    top = p.layout["depth"]["top"]
    d = drafted(3, "clean", 2.5)
    assert abs(d.depth.spacing_px - 25.0) < 0.05
    assert d.depth.major_every == 5
    majors = [(k * 50 - top) * 2.5 for k in range(math.ceil(top / 50), 10_000)
              if (k * 50 - top) * 2.5 <= 2999]
    assert abs(d.top_row - majors[0]) <= 1.5
    assert abs(d.bottom_row - majors[-1]) <= 1.5
    assert d.minor_intervals == round((majors[-1] - majors[0]) / 25)
    assert d.depth.ends_on_majors and d.depth.stretches[0][2] == len(d.depth.rows)
    assert d.confidence == "high"


def test_toml_loads_and_marks_every_guess(tmp_path):
    d = drafted(55, "scanned")
    text = draft_toml(d, scan_name="scan.tif", png_name="scan.layout.png")
    path = tmp_path / "scan.toml"
    path.write_text(text)
    layout = load_layout(path).resolved(n_rows=3000, n_cols=1100)
    assert not layout.warnings
    assert [(t.left_px, t.right_px) for t in layout.tracks] == [
        (round(t.left_px, 1), round(t.right_px, 1)) for t in d.tracks]
    assert [c.scale for t in layout.tracks for c in t.curves] == [
        t.scale for t in d.tracks for _ in range(2)]
    assert layout.depth.top_row == d.top_row and layout.depth.bottom_row == d.bottom_row
    data = tomllib.loads(text)
    assert data["tracks"][0]["curves"][0]["mnemonic"] == "T1_SOLID"
    log = next(t for t in data["tracks"] if t["curves"][0]["scale"] == "log")
    assert log["curves"][0]["left"] > 0
    # every guessed value carries the marker on its own line
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in ("top", "bottom", "top_row", "bottom_row", "unit", "mnemonic", "left",
                   "right", "style"):
            assert "# TO CONFIRM" in line, line
    header = text.split("\n\n")[0]
    assert "Depth lines: every" in header and "Confidence:" in header
    assert "log grid, 2 decades" in header


def test_skewed_scan_is_drafted_in_deskewed_columns():
    p = page(55, "scanned")
    angle = 0.8
    skewed = shear_columns(p.image, -math.tan(math.radians(angle)), row0=0, rc=1499.5)
    d = draft_layout(skewed)
    assert abs(d.skew - angle) < 0.05
    for t, (left, right, *_) in zip(d.tracks, grid_truth(p.layout), strict=True):
        assert abs(t.left_px - left) <= 2 and abs(t.right_px - right) <= 2


def test_qc_picture():
    d = drafted(6, "clean")
    img = draft_image(d, page(6, "clean").image)
    assert img.mode == "RGB" and img.width <= 1430 and img.height > 500
    assert len(img.getcolors(1 << 20)) > 8  # colours were drawn


@pytest.mark.parametrize("kind", ["blank", "noise", "curves only"])
def test_no_clear_grid_is_an_error(kind):
    rng = np.random.default_rng(1)
    if kind == "blank":
        img = np.full((2500, 900), 255, np.uint8)
    elif kind == "noise":
        img = rng.normal(235, 10, (2500, 900)).clip(0, 255).astype(np.uint8)
    else:  # a wandering curve, no grid
        img = np.full((2500, 900), 255, np.uint8)
        x = (450 + np.cumsum(rng.normal(0, 2, 2500))).clip(5, 890).astype(int)
        img[np.arange(2500), x] = 0
    with pytest.raises(ScanError, match="no clear grid"):
        draft_layout(img)


# ------------------------------------------------------------------------------ the CLI




@pytest.fixture
def scan(tmp_path):
    path = tmp_path / "well.png"
    Image.fromarray(page(6, "clean").image).save(path)
    return path


def test_cli_writes_toml_and_png(tmp_path, capsys, scan):
    out = tmp_path / "well.toml"
    code, stdout, err = cli(capsys, "layout", scan, "-o", out)
    assert code == 0, err
    assert out.is_file() and (tmp_path / "well.layout.png").is_file()
    assert "2 tracks" in stdout and "linear" in stdout and "log 2 dec" in stdout
    assert "TO CONFIRM" in err  # the reminder
    layout = load_layout(out).resolved(n_rows=3000, n_cols=1100)
    assert len(layout.tracks) == 2
    assert not list(tmp_path.glob(".*.part"))  # atomic writes left nothing behind


def test_cli_refuses_to_overwrite(tmp_path, capsys, scan):
    out = tmp_path / "well.toml"
    out.write_text("# mine\n")
    code, _, err = cli(capsys, "layout", scan, "-o", out)
    assert code == 1
    assert err.strip().count("\n") == 0 and "already exists" in err and "--overwrite" in err
    assert out.read_text() == "# mine\n"
    assert not (tmp_path / "well.layout.png").exists()
    code, _, err = cli(capsys, "layout", scan, "-o", out, "--overwrite", "--quiet")
    assert code == 0 and err == ""
    assert "[[tracks]]" in out.read_text()


def test_cli_png_option(tmp_path, capsys, scan):
    png = tmp_path / "qc" / "look.png"
    png.parent.mkdir()
    code, _, err = cli(capsys, "layout", scan, "-o", tmp_path / "a.toml", "--png", png)
    assert code == 0, err
    assert png.is_file() and not (tmp_path / "a.layout.png").exists()


def test_cli_blank_scan_fails_with_one_line(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((1500, 700), 255, np.uint8)).save(blank)
    code, stdout, err = cli(capsys, "layout", blank, "-o", tmp_path / "blank.toml")
    assert code == 1
    assert stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("logdigit: error: ")
    assert "blank.png" in lines[0] and "no clear grid" in lines[0]
    assert not (tmp_path / "blank.toml").exists()


def test_cli_usage_errors(tmp_path, capsys, scan):
    code, _, err = cli(capsys, "layout", scan, "-o", tmp_path / "x.txt")
    assert code == 2 and ".toml" in err
    code, _, err = cli(capsys, "layout", scan, "-o", tmp_path / "x.toml", "--png", scan)
    assert code == 2 and "overwrite the scan" in err
    code, _, err = cli(capsys, "layout", tmp_path / "missing.png", "-o", tmp_path / "y.toml")
    assert code == 1 and "missing.png" in err


def test_cli_depth_right_strip(tmp_path, capsys):
    """A strip whose depth runs to the right is drafted in working (transposed) coordinates,
    the convention of the layout."""
    p = page(6, "clean")
    strip = tmp_path / "strip.png"
    Image.fromarray(np.ascontiguousarray(p.image.T)).save(strip)
    out = tmp_path / "strip.toml"
    code, _, err = cli(capsys, "layout", strip, "-o", out, "--orientation", "depth-right")
    assert code == 0, err
    layout = load_layout(out).resolved(n_rows=3000, n_cols=1100)
    assert layout.orientation == "depth-right"
    for t, (left, right, *_) in zip(layout.tracks, grid_truth(p.layout), strict=True):
        assert abs(t.left_px - left) <= 2 and abs(t.right_px - right) <= 2
    code, _, err = cli(capsys, "layout", strip, "-o", tmp_path / "x.toml", "--orientation", "up")
    assert code == 2 and "--orientation" in err


def test_cli_lists_the_ink_colours_of_each_track_of_a_colour_scan(tmp_path, capsys):
    p = page(6, "clean")
    rgb = np.repeat(p.image[..., None], 3, axis=2)
    # colour the curve ink of the first track green and of the second track red
    (l1, r1), (l2, r2) = [(t["left_px"], t["right_px"]) for t in p.layout["tracks"]]
    curve = p.labels > 0
    for (a, b), colour in (((l1, r1), (0, 200, 0)), ((l2, r2), (210, 0, 0))):
        sel = curve.copy()
        sel[:, : int(a) + 3] = False
        sel[:, int(b) - 2 :] = False
        rgb[sel] = colour
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    out = tmp_path / "colour.toml"
    code, _, err = cli(capsys, "layout", tmp_path / "colour.png", "-o", out)
    assert code == 0, err
    lines = [ln for ln in out.read_text().splitlines() if ln.startswith("# ink colours")]
    assert len(lines) == 2
    assert lines[0].startswith("# ink colours in this track: #00c800 (")
    assert lines[1].startswith("# ink colours in this track: #d20000 (")
    load_layout(out)  # still a valid layout
    # a grey scan gets no colour lines
    Image.fromarray(p.image).save(tmp_path / "grey.png")
    code, _, err = cli(capsys, "layout", tmp_path / "grey.png", "-o", tmp_path / "grey.toml")
    assert code == 0, err
    assert "# ink colours" not in (tmp_path / "grey.toml").read_text()
