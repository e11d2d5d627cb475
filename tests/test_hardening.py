"""Issue 6: a corpus of bad inputs, generated here, run through ``logdigit convert``/``check``.

For each bad input: exactly one line on stderr, ``logdigit: error: ...`` naming the file and
the problem, the documented exit code, no traceback, and no output file (or the previous
one untouched) and no temp file. Runs in-process (``logdigit.cli.main``) with the random
``tiny_model_dir`` model: conversions run, the curves mean nothing, but with these weights
every track traces something (checked by the success cases below).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import logdigit.convert
import logdigit.lasfile
import logdigit.model
import logdigit.scanio
from logdigit.errors import LasReadError
from logdigit.lasfile import LasCurve, read_las, write_las
from logdigit.model import DEFAULT_CONFIG

from .conftest import SHARED, cli

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_REASON = "running as root: permission bits do not stop root, nothing to test"

ROWS, COLS = 300, 160
LAYOUT = {
    "depth": {"top": 1000.0, "bottom": 1149.5, "unit": "FT"},
    "tracks": [{"left_px": 20, "right_px": 140, "curves": [
        {"mnemonic": "GR", "unit": "GAPI", "left": 0, "right": 150}]}],
}


# --------------------------------------------------------------------------- helpers


def toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)  # floats: nan, inf, -inf are TOML too


def to_toml(data: dict) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    for name in ("depth", "well"):
        if name in data:
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in data[name].items()]
    for track in data.get("tracks", []):
        lines.append("[[tracks]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in track.items() if k != "curves"]
        for curve in track.get("curves", []):
            lines.append("[[tracks.curves]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in curve.items()]
    return "\n".join(lines) + "\n"


def layout_with(**changes) -> dict:
    """LAYOUT with changes: ``depth__top=1``, ``track__right_px=9``, ``curve__scale="log"``;
    a value of None removes the key."""
    data = json.loads(json.dumps(LAYOUT))
    where = {"depth": data["depth"], "track": data["tracks"][0],
             "curve": data["tracks"][0]["curves"][0], "top": data}
    for key, value in changes.items():
        table, name = key.split("__")
        if value is None:
            where[table].pop(name, None)
        else:
            where[table][name] = value
    return data


def drawing(rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    img = Image.new("L", (cols, rows), 255)
    r = np.arange(rows)
    ImageDraw.Draw(img).line([(float(80 + 40 * np.sin(y / 25)), float(y)) for y in r],
                             fill=0, width=3)
    return np.asarray(img).copy()


def make_case(folder: Path, name: str = "scan.png", *, pixels=None, layout=LAYOUT,
              save=None) -> Path:
    """Write a scan (and its sidecar layout unless layout is None); return the scan path."""
    folder.mkdir(parents=True, exist_ok=True)
    scan = folder / name
    if save is not None:
        save(scan)
    else:
        Image.fromarray(drawing() if pixels is None else pixels).save(scan)
    if layout is not None:
        text = layout if isinstance(layout, str) else to_toml(layout)
        scan.with_suffix(".toml").write_text(text)
    return scan




def no_output_left(out: Path) -> None:
    assert not out.exists(), f"{out} was written"
    parts = [p.name for p in out.parent.iterdir() if p.name.endswith(".part")]
    assert parts == [], parts


def assert_error(code: int, err: str, expected: int, *needles: str) -> str:
    assert code == expected, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("logdigit: error: "), line
    for n in needles:
        assert n in line, (n, line)
    return line


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def convert(capsys, model):
    def run(scan: Path, out: Path, *extra) -> tuple[int, str, str]:
        return cli(capsys, "convert", scan, "-o", out, *model, *extra)

    return run


# --------------------------------------------------------------------------- images


def save_zero(p: Path) -> None:
    p.write_bytes(b"")


def save_truncated_tiff(p: Path) -> None:
    Image.fromarray(drawing()).save(p, format="TIFF")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def save_text(p: Path) -> None:
    p.write_text("This is a scanned log, honest.\n" * 20)


def save_bomb(p: Path, w: int = 200_000, h: int = 200_000) -> None:
    """A valid TIFF header declaring w x h px of 1-bit data, with no data at all."""
    tags = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 1), (259, 3, 1, 1), (262, 3, 1, 0),
            (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, 0xFFFFFFFF)]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags)
    p.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0))


def save_one_px(p: Path) -> None:
    Image.new("L", (1, 1), 255).save(p, format="PNG")


def save_png_named_tif_wrong(p: Path) -> None:
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 5)


BAD_IMAGES = [
    # (id, file name, writer, exit code, words of the message)
    ("zero-byte", "scan.tif", save_zero, 1, ["is empty (0 bytes)"]),
    ("truncated-tiff", "scan.tif", save_truncated_tiff, 1, ["truncated or corrupt"]),
    ("text-named-tif", "scan.tif", save_text, 1, ["not an image file"]),
    ("broken-png-header", "scan.png", save_png_named_tif_wrong, 1,
     ["starts like a PNG file", "header truncated or corrupt"]),
    ("bomb", "scan.tif", save_bomb, 1, ["200000 x 200000 px", "above the limit"]),
    ("1x1", "scan.png", save_one_px, 1, ["1 x 1 px, too small"]),
]


@pytest.mark.parametrize(("name", "writer", "code", "needles"),
                         [c[1:] for c in BAD_IMAGES], ids=[c[0] for c in BAD_IMAGES])
def test_bad_image(tmp_path, convert, name, writer, code, needles) -> None:
    scan = make_case(tmp_path, name, save=writer)
    out = tmp_path / "out.las"
    got, stdout, err = convert(scan, out)
    assert_error(got, err, code, str(scan), *needles)
    assert stdout == ""
    no_output_left(out)


def test_bad_image_without_layout_reports_the_image(tmp_path, convert) -> None:
    """A broken or missing scan is reported as such, not as 'no layout found'."""
    scan = make_case(tmp_path, "scan.tif", save=save_text, layout=None)
    got, _, err = convert(scan, tmp_path / "out.las")
    assert_error(got, err, 1, str(scan), "not an image file")
    got, _, err = convert(tmp_path / "typo.tif", tmp_path / "out.las")
    assert_error(got, err, 1, "typo.tif: does not exist")


def test_bomb_is_refused_before_decoding(tmp_path, convert, monkeypatch) -> None:
    def no_decode(*args, **kwargs):
        raise AssertionError("pixel data decoded")

    monkeypatch.setattr(logdigit.scanio, "_decode", no_decode)
    monkeypatch.setattr(logdigit.scanio, "_to_gray_checked", no_decode)
    scan = make_case(tmp_path, "bomb.tif", save=save_bomb)
    got, _, err = convert(scan, tmp_path / "out.las")
    assert_error(got, err, 1, "bomb.tif", "40000000000 pixels")


def test_folder_instead_of_scan(tmp_path, convert) -> None:
    scan = tmp_path / "scan.tif"
    scan.mkdir()
    (tmp_path / "scan.toml").write_text(to_toml(LAYOUT))
    got, _, err = convert(scan, tmp_path / "out.las")
    assert_error(got, err, 1, str(scan), "is a folder, expected an image file")
    no_output_left(tmp_path / "out.las")


@pytest.mark.skipif(IS_ROOT, reason=ROOT_REASON)
def test_unreadable_scan(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    scan.chmod(0)
    try:
        got, _, err = convert(scan, tmp_path / "out.las")
    finally:
        scan.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert_error(got, err, 1, str(scan), "permission denied")
    no_output_left(tmp_path / "out.las")


def test_image_narrower_than_the_track(tmp_path, convert) -> None:
    scan = make_case(tmp_path, pixels=drawing()[:, :100])
    got, _, err = convert(scan, tmp_path / "out.las")
    line = assert_error(got, err, 2, str(scan.with_suffix(".toml")), "tracks[0].right_px",
                        "column 140 is outside the image", "300 rows x 100 columns")
    assert "columns 0..99" in line
    no_output_left(tmp_path / "out.las")


def multipage(p: Path) -> None:
    pages = [Image.fromarray(drawing()), Image.fromarray(255 - drawing() // 2)]
    pages[0].save(p, format="TIFF", save_all=True, append_images=pages[1:])


def test_multipage_page_out_of_range(tmp_path, convert) -> None:
    scan = make_case(tmp_path, "scan.tif", save=multipage)
    got, _, err = convert(scan, tmp_path / "out.las", "--page", "2")
    assert_error(got, err, 1, str(scan), "page 2 requested, the file has 2 pages")
    no_output_left(tmp_path / "out.las")
    got, _, err = convert(scan, tmp_path / "out.las", "--page", "-1")
    assert_error(got, err, 2, "--page")


def save_16bit(p: Path) -> None:
    Image.fromarray(drawing().astype(np.uint16) * 257).save(p, format="TIFF")


def save_rgba(p: Path) -> None:
    g = drawing()
    alpha = np.full_like(g, 255)
    alpha[:, :10] = 0  # a transparent margin: white paper
    Image.fromarray(np.dstack([g, g, g, alpha]), "RGBA").save(p, format="PNG")


def save_palette(p: Path) -> None:
    Image.fromarray(drawing()).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE,
                                                      colors=16).save(p, format="PNG")


def save_1bit_g4(p: Path) -> None:
    Image.fromarray(drawing()).convert("1").save(p, format="TIFF", compression="group4")


GOOD_IMAGES = [("16-bit", "scan.tif", save_16bit, []),
               ("rgba", "scan.png", save_rgba, []),
               ("palette", "scan.png", save_palette, []),
               ("g4", "scan.tif", save_1bit_g4, []),
               ("multipage-page-1", "scan.tif", multipage, ["--page", "1"])]


@pytest.mark.parametrize(("name", "writer", "extra"), [c[1:] for c in GOOD_IMAGES],
                         ids=[c[0] for c in GOOD_IMAGES])
def test_image_kinds_that_must_work(tmp_path, convert, name, writer, extra) -> None:
    scan = make_case(tmp_path, name, save=writer)
    out = tmp_path / "out.las"
    got, stdout, err = convert(scan, out, "--json", *extra)
    assert got == 0, err
    assert err == ""
    summary = json.loads(stdout)
    assert (summary["rows"], summary["cols"]) == (ROWS, COLS)
    las = read_las(out)
    assert list(las.curves) == ["GR"]
    assert las.depth[0] == 1000.0 and las.depth[-1] == 1149.5


# --------------------------------------------------------------------------- layouts

BAD_LAYOUTS = [
    # (id, layout dict or TOML text, words of the message)
    ("invalid-toml", "[depth\ntop = 1000\n", ["invalid TOML", "line 1"]),
    ("not-utf8", b"\xff\xfe[depth]", ["not UTF-8"]),
    ("missing-depth", {"tracks": LAYOUT["tracks"]}, ["depth: missing", "[depth]"]),
    ("missing-top", layout_with(depth__top=None), ["depth.top: missing"]),
    ("missing-unit", layout_with(depth__unit=None), ["depth.unit: missing"]),
    ("missing-tracks", {"depth": LAYOUT["depth"]}, ["tracks: missing"]),
    ("missing-mnemonic", layout_with(curve__mnemonic=None), ["tracks[0].curves[0].mnemonic"]),
    ("missing-right", layout_with(curve__right=None), ["tracks[0].curves[0].right: missing"]),
    ("left-px-ge-right-px", layout_with(track__left_px=140, track__right_px=20),
     ["tracks[0].right_px: must be greater than left_px"]),
    ("left-px-eq-right-px", layout_with(track__left_px=50, track__right_px=50),
     ["tracks[0].right_px: must be greater than left_px"]),
    ("track-outside-image", layout_with(track__right_px=500),
     ["tracks[0].right_px: column 500 is outside the image", "columns 0..159"]),
    ("negative-px", layout_with(track__left_px=-5), ["tracks[0].left_px: must be >= 0"]),
    ("top-row-ge-bottom-row", layout_with(depth__top_row=200, depth__bottom_row=100),
     ["depth.bottom_row: must be greater than depth.top_row"]),
    ("top-row-eq-bottom-row", layout_with(depth__top_row=100, depth__bottom_row=100),
     ["depth.bottom_row"]),
    ("top-row-at-last-row", layout_with(depth__top_row=299),
     ["depth.top_row: must be less than depth.bottom_row", "299"]),
    ("bottom-row-outside", layout_with(depth__bottom_row=5000),
     ["depth.bottom_row: row 5000 is outside the image"]),
    ("bottom-eq-top", layout_with(depth__bottom=1000.0),
     ["depth.bottom: must be greater than depth.top"]),
    ("bottom-lt-top", layout_with(depth__bottom=900.0), ["depth.bottom"]),
    ("log-zero", layout_with(curve__scale="log", curve__left=0),
     ["tracks[0].curves[0].left: must be > 0 for a log scale"]),
    ("log-negative", layout_with(curve__scale="log", curve__left=0.2, curve__right=-20),
     ["tracks[0].curves[0].right: must be > 0 for a log scale"]),
    ("left-eq-right", layout_with(curve__left=5, curve__right=5), ["must differ from left"]),
    ("unknown-style", layout_with(curve__style="wavy"),
     ['tracks[0].curves[0].style: must be "solid", "dashed", "dotted" or "dash-dot", '
      'got "wavy"']),
    ("unknown-scale", layout_with(curve__scale="lin"),
     ['tracks[0].curves[0].scale: must be "linear" or "log", got "lin"']),
    ("unknown-unit", layout_with(depth__unit="YD"), ['depth.unit: must be "FT" or "M"']),
    ("unknown-orientation", layout_with(top__orientation="sideways"), ["orientation"]),
    ("duplicate-mnemonic", layout_with(track__curves=[
        {"mnemonic": "GR", "left": 0, "right": 150},
        {"mnemonic": "gr", "left": 0, "right": 150, "style": "dashed"}]),
     ["tracks[0].curves[1].mnemonic", "duplicate mnemonic"]),
    ("nan-top", layout_with(depth__top=float("nan")), ["depth.top: must be a finite number"]),
    ("inf-bottom", layout_with(depth__bottom=float("inf")), ["depth.bottom", "finite"]),
    ("-inf-left", layout_with(curve__left=float("-inf")),
     ["tracks[0].curves[0].left", "finite"]),
    ("nan-right-px", layout_with(track__right_px=float("nan")),
     ["tracks[0].right_px", "finite"]),
    ("string-number", layout_with(depth__top="1000"), ["depth.top: must be a number"]),
    ("fractional-row", layout_with(depth__top_row=1.5), ["depth.top_row: must be a whole"]),
    ("zero-step", layout_with(depth__step=0.0), ["depth.step: must be > 0"]),
]


@pytest.mark.parametrize(("layout", "needles"), [c[1:] for c in BAD_LAYOUTS],
                         ids=[c[0] for c in BAD_LAYOUTS])
def test_bad_layout(tmp_path, convert, layout, needles) -> None:
    scan = make_case(tmp_path, layout=None)
    toml = scan.with_suffix(".toml")
    if isinstance(layout, bytes):
        toml.write_bytes(layout)
    else:
        toml.write_text(layout if isinstance(layout, str) else to_toml(layout))
    out = tmp_path / "out.las"
    got, stdout, err = convert(scan, out)
    assert_error(got, err, 2, str(toml), *needles)
    assert stdout == ""
    no_output_left(out)


def test_missing_layout_says_how_to_write_one(tmp_path, convert) -> None:
    scan = make_case(tmp_path, layout=None)
    got, _, err = convert(scan, tmp_path / "out.las")
    line = assert_error(got, err, 2, str(scan), "no layout found", str(scan.with_suffix(".toml")),
                        "logdigit.toml", "write one")
    assert "README" in line


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_explicit_layout_missing_or_folder(tmp_path, convert, kind) -> None:
    scan = make_case(tmp_path)
    layout = tmp_path / "other.toml"
    if kind == "folder":
        layout.mkdir()
    got, _, err = convert(scan, tmp_path / "out.las", "--layout", layout)
    assert_error(got, err, 2, str(layout),
                 "layout file not found" if kind == "missing" else "is a folder")


def test_folder_layout_is_used(tmp_path, convert) -> None:
    scan = make_case(tmp_path, layout=None)
    (tmp_path / "logdigit.toml").write_text(to_toml(LAYOUT))
    got, _, err = convert(scan, tmp_path / "out.las")
    assert got == 0, err


def test_unknown_key_is_a_warning_naming_it(tmp_path, convert) -> None:
    data = layout_with(track__colour="red", depth__botom_row=5)
    scan = make_case(tmp_path, layout=data)
    out = tmp_path / "out.las"
    got, stdout, err = convert(scan, out)
    assert got == 0, err
    assert out.exists() and stdout.startswith(f"{out}: 1 curves (GR ")
    lines = err.splitlines()
    assert len(lines) == 2, err
    toml = str(scan.with_suffix(".toml"))
    assert lines[0] == (f"logdigit: WARNING: {toml}: unknown key depth.botom_row (ignored; "
                        "did you mean depth.bottom_row?)")
    assert lines[1] == f"logdigit: WARNING: {toml}: unknown key tracks[0].colour (ignored)"


# --------------------------------------------------------------------------- outputs


def test_output_in_a_missing_folder(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    out = tmp_path / "nowhere" / "out.las"
    got, _, err = convert(scan, out)
    assert_error(got, err, 1, str(out), "folder", "does not exist")
    assert not out.parent.exists()


def test_output_is_a_folder(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    got, _, err = convert(scan, tmp_path)
    assert_error(got, err, 1, str(tmp_path), "is a folder, expected a file name")


@pytest.mark.skipif(IS_ROOT, reason=ROOT_REASON)
def test_output_folder_not_writable(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        got, _, err = convert(scan, ro / "out.las")
    finally:
        ro.chmod(stat.S_IRWXU)
    assert_error(got, err, 1, str(ro / "out.las"), "not writable")
    assert list(ro.iterdir()) == []


def test_output_folder_refusing_files(tmp_path, convert, monkeypatch) -> None:
    """Root or a read-only mount: the access check passes, creating the temp file fails."""
    import logdigit.outputs

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    scan = make_case(tmp_path)
    monkeypatch.setattr(logdigit.outputs.tempfile, "mkstemp", refuse)
    out = tmp_path / "out.las"
    got, _, err = convert(scan, out)
    assert_error(got, err, 1, str(out), "cannot create a file there (Permission denied)")
    no_output_left(out)


def test_existing_output_untouched_without_overwrite(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    out = tmp_path / "out.las"
    out.write_text("previous result\n")
    got, _, err = convert(scan, out)
    assert_error(got, err, 1, str(out), "already exists", "--overwrite")
    assert out.read_text() == "previous result\n"
    got, _, err = convert(scan, out, "--overwrite", "--quiet")
    assert got == 0, err
    assert out.read_text().startswith("~Version")


def test_existing_overlay_untouched_and_no_las_written(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    qc = tmp_path / "qc.png"
    qc.write_bytes(b"old")
    got, _, err = convert(scan, tmp_path / "out.las", "--overlay", qc)
    assert_error(got, err, 1, str(qc), "already exists")
    assert qc.read_bytes() == b"old"
    no_output_left(tmp_path / "out.las")


def test_disk_full_leaves_no_partial_las(tmp_path, convert, monkeypatch) -> None:
    real_open = open

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def write(self, text):
            self.fh.write(text[: len(text) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def full_disk_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        return HalfWriter(fh) if "w" in mode else fh

    monkeypatch.setattr(logdigit.lasfile, "open", full_disk_open, raising=False)
    scan = make_case(tmp_path)
    out = tmp_path / "out.las"
    got, stdout, err = convert(scan, out)
    assert_error(got, err, 1, str(out), "cannot write", "No space left on device")
    assert stdout == ""
    no_output_left(out)


def test_ctrl_c_during_conversion(tmp_path, convert, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(logdigit.convert, "convert_scan", interrupted)
    scan = make_case(tmp_path)
    out = tmp_path / "out.las"
    got, stdout, err = convert(scan, out)
    assert got == 130
    assert err.splitlines() == ["logdigit: interrupted; no partial output was left"]
    assert stdout == ""
    no_output_left(out)


def test_ctrl_c_while_writing(tmp_path, convert, monkeypatch) -> None:
    real_open = open

    def interrupted_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            with real_open(path, mode, *args, **kwargs) as fh:
                fh.write("~VERSION INFORMATION\n")  # a partial temp file exists
            raise KeyboardInterrupt
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(logdigit.lasfile, "open", interrupted_open, raising=False)
    scan = make_case(tmp_path)
    out = tmp_path / "out.las"
    out.write_text("previous\n")
    got, _, err = convert(scan, out, "--overwrite")
    assert got == 130, err
    assert out.read_text() == "previous\n"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_nothing_traced_is_exit_1(tmp_path, convert, monkeypatch) -> None:
    class Blank(torch.nn.Module):
        def forward(self, x):
            logits = torch.full((x.shape[0], 3, *x.shape[2:]), -10.0)
            logits[:, 0] = 10.0  # background everywhere
            return logits

    monkeypatch.setattr(logdigit.model, "load_model",
                        lambda *a, **k: (Blank(), dict(DEFAULT_CONFIG, path="blank")))
    scan = make_case(tmp_path)
    out = tmp_path / "out.las"
    got, _, err = convert(scan, out)
    assert_error(got, err, 1, str(scan), "no curve could be traced")
    no_output_left(out)


# --------------------------------------------------------------------------- models


def model_folder(tmp_path: Path, tiny: Path, name: str, *, config=None, weights=None,
                 drop=None) -> Path:
    folder = tmp_path / "models" / name
    shutil.copytree(tiny, folder)
    if config is not None:
        cfg = json.loads((folder / "config.json").read_text())
        if isinstance(config, dict):
            cfg.update(config)
            (folder / "config.json").write_text(json.dumps(cfg))
        else:
            (folder / "config.json").write_text(config)
    if weights is not None:
        (folder / "model.safetensors").write_bytes(weights(folder / "model.safetensors"))
    if drop is not None:
        (folder / drop).unlink()
    return folder


MODELS = [
    ("corrupt", dict(weights=lambda p: b"not safetensors at all" * 10), ["corrupt weights"]),
    ("truncated", dict(weights=lambda p: p.read_bytes()[:4096]), ["corrupt weights"]),
    ("wrong-classes", dict(config={"classes": 2}), ["weights do not fit the architecture"]),
    ("wrong-encoder", dict(config={"encoder_name": "resnet18"}),
     ["weights do not fit the architecture"]),
    ("no-weights", dict(drop="model.safetensors"), ["has no model.safetensors"]),
    ("no-config", dict(drop="config.json"), ["has no config.json"]),
    ("config-not-json", dict(config="{arch: Unet"), ["unreadable model config"]),
    ("config-not-object", dict(config="[1, 2]"), ["unreadable model config"]),
]


@pytest.mark.parametrize(("kwargs", "needles"), [c[1:] for c in MODELS],
                         ids=[c[0] for c in MODELS])
def test_bad_model_folder(tmp_path, capsys, tiny_model_dir, kwargs, needles) -> None:
    folder = model_folder(tmp_path, tiny_model_dir, "bad", **kwargs)
    scan = make_case(tmp_path / "case")
    out = tmp_path / "case" / "out.las"
    got, _, err = cli(capsys, "convert", scan, "-o", out, "--model", folder)
    assert_error(got, err, 1, str(folder), *needles)
    no_output_left(out)


@pytest.mark.parametrize("config", [{"arch": "NoSuchNet"}, {"encoder_name": "no_such_enc"}],
                         ids=["arch", "encoder"])
def test_unbuildable_model_names_the_folder(tmp_path, capsys, tiny_model_dir, config) -> None:
    folder = model_folder(tmp_path, tiny_model_dir, "odd", config=config)
    scan = make_case(tmp_path / "case")
    got, _, err = cli(capsys, "convert", scan, "-o", tmp_path / "o.las", "--model", folder)
    line = assert_error(got, err, 1)
    assert str(folder) in line and len(line) < 400


def test_missing_model(tmp_path, capsys) -> None:
    scan = make_case(tmp_path)
    got, _, err = cli(capsys, "convert", scan, "-o", tmp_path / "out.las", "--model",
                      tmp_path / "no-such-model")
    assert_error(got, err, 1, "no-such-model: no such model folder")


def test_model_is_a_file(tmp_path, capsys) -> None:
    scan = make_case(tmp_path)
    got, _, err = cli(capsys, "convert", scan, "-o", tmp_path / "out.las", "--model", scan)
    assert_error(got, err, 1, str(scan), "is not a model folder")


# --------------------------------------------------------------------------- check references

MALFORMED = SHARED / "las" / "malformed"
MALFORMED_FILES = sorted(MALFORMED.glob("*")) if MALFORMED.is_dir() else []


def usable_curve(las):
    for name, c in las.curves.items():
        v = c.values
        if np.isfinite(v).sum() >= 5 and np.nanstd(v) > 1e-3 * max(1.0, np.nanmax(np.abs(v))):
            return name, c
    return None


@pytest.mark.skipif(not MALFORMED_FILES, reason=f"{MALFORMED} not available (../shared absent)")
@pytest.mark.parametrize("ref", MALFORMED_FILES, ids=[p.name for p in MALFORMED_FILES])
def test_malformed_real_las_as_reference(tmp_path, capsys, ref: Path) -> None:
    """Either read correctly (a copy of one of its curves passes the gate) or one line."""
    try:
        las = read_las(ref)
    except LasReadError as exc:
        got, stdout, err = cli(capsys, "check", ref, ref)
        line = assert_error(got, err, 1, str(ref))
        assert line == f"logdigit: error: {' '.join(str(exc).split())}"
        assert stdout == ""
        return
    assert np.all(np.diff(las.depth) > 0) and np.all(np.isfinite(las.depth))
    found = usable_curve(las)
    if found is None:  # too short or flat to score: the gate still answers, in one line
        got, _, err = cli(capsys, "check", ref, ref)
        assert got in (0, 3), err
        if got == 3:
            assert_error(got, err, 3, str(ref), "acceptance gate failed")
        return
    name, curve = found
    out = tmp_path / "out.las"
    write_las(out, depth=las.depth, depth_unit=las.depth_unit or "FT",
              curves=[LasCurve("X", curve.unit, curve.values)])
    got, stdout, err = cli(capsys, "check", out, ref, "--map", f"X={name}", "--json")
    assert got == 0, err
    (c,) = json.loads(stdout)["curves"]
    assert c["r2"] > 0.9999 and c["coverage"] == 1.0


def test_malformed_corpus_reference_without_the_curve(tmp_path, capsys) -> None:
    good = tmp_path / "out.las"
    d = np.round(1000 + 0.5 * np.arange(400), 6)
    write_las(good, depth=d, depth_unit="FT",
              curves=[LasCurve("NOSUCHCURVE", "", np.sin(d / 10))])
    ref = tmp_path / "ref.las"
    write_las(ref, depth=d, depth_unit="FT", curves=[LasCurve("GR", "", np.cos(d / 10))])
    got, _, err = cli(capsys, "check", good, ref)
    assert_error(got, err, 1, str(ref), "no curve in common", "use --map")


# --------------------------------------------------------------------------- determinism


def test_same_scan_twice_gives_byte_identical_las(tmp_path, convert) -> None:
    scan = make_case(tmp_path)
    a, b = tmp_path / "a.las", tmp_path / "b.las"
    assert convert(scan, a, "--quiet")[0] == 0
    assert convert(scan, b, "--quiet")[0] == 0
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert "Digitized by logdigit" in text and "layout: scan.toml" in text
