"""Tests for logdigit.layout: parsing, validation, sidecar discovery and resolving."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import logging
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logdigit.errors import LayoutError
from logdigit.layout import (
    LAYOUT_FILENAME,
    Curve,
    DepthCalibration,
    Layout,
    Track,
    find_layout,
    layout_template,
    load_layout,
    parse_layout,
)

SRC = Path("scan.toml")

FULL_TOML = """\
orientation = "depth-down"

[depth]
top = 1000.0
bottom = 1850.0
top_row = 10
bottom_row = 8799
unit = "FT"
step = 0.25

[well]
WELL = "EXAMPLE 1-1"
UWI = 5123456780000
COMP = "ACME"
DATE = 1985-03-01

[[tracks]]
left_px = 2
right_px = 499

  [[tracks.curves]]
  mnemonic = " GR "
  unit = "GAPI"
  description = "Gamma ray"
  left = 0
  right = 150
  scale = "linear"
  style = "solid"

  [[tracks.curves]]
  mnemonic = "sp"
  unit = "MV"
  left = 20
  right = -80
  style = "dashed"

[[tracks]]
left_px = 560.5
right_px = 1060

  [[tracks.curves]]
  mnemonic = "ILD"
  unit = "OHMM"
  left = 0.2
  right = 2000
  scale = "log"
  style = "dotted"
"""


def base() -> dict:
    """A minimal valid layout as a dict (fresh copy each call)."""
    return {
        "depth": {"top": 1000.0, "bottom": 1850.0, "unit": "FT"},
        "tracks": [
            {
                "left_px": 2,
                "right_px": 499,
                "curves": [
                    {"mnemonic": "GR", "left": 0, "right": 150},
                    {"mnemonic": "SP", "left": -80, "right": 20, "style": "dashed"},
                ],
            },
            {
                "left_px": 560,
                "right_px": 1060,
                "curves": [{"mnemonic": "ILD", "left": 0.2, "right": 2000, "scale": "log"}],
            },
        ],
    }


def parse(data: dict) -> Layout:
    return parse_layout(data, source=SRC)


def assert_one_line_error(data: dict, *fragments: str) -> str:
    with pytest.raises(LayoutError) as info:
        parse(data)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("scan.toml: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --------------------------------------------------------------------------- valid


def test_full_example(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_text(FULL_TOML, encoding="utf-8")
    layout = load_layout(path)

    assert layout.source == path
    assert layout.warnings == ()
    assert layout.orientation == "depth-down"
    assert layout.depth == DepthCalibration(
        top=1000.0, bottom=1850.0, unit="FT", step=0.25, top_row=10, bottom_row=8799
    )
    assert layout.well == (
        ("WELL", "EXAMPLE 1-1"),
        ("UWI", "5123456780000"),
        ("COMP", "ACME"),
        ("DATE", "1985-03-01"),
    )
    assert len(layout.tracks) == 2
    gr, sp = layout.tracks[0].curves
    assert gr == Curve(mnemonic="GR", left=0.0, right=150.0, unit="GAPI", description="Gamma ray")
    assert (sp.mnemonic, sp.left, sp.right, sp.style, sp.cls) == ("sp", 20.0, -80.0, "dashed", 2)
    assert gr.cls == 1
    ild = layout.tracks[1].curves[0]
    assert (ild.scale, ild.style, ild.cls) == ("log", "dotted", 2)
    assert layout.tracks[1].left_px == 560.5
    assert [c.mnemonic for _, c in layout.curves] == ["GR", "sp", "ILD"]
    assert layout.curves[2][0] is layout.tracks[1]
    # all numbers are floats / ints as documented
    assert isinstance(layout.depth.top, float) and isinstance(layout.depth.top_row, int)
    assert isinstance(gr.left, float)


def test_dataclasses_are_frozen() -> None:
    layout = parse(base())
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.orientation = "depth-right"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.tracks[0].curves[0].left = 1.0  # type: ignore[misc]
    hash(layout)


def test_defaults() -> None:
    layout = parse(base())
    assert layout.orientation == "depth-down"
    assert layout.well == ()
    assert layout.warnings == ()
    assert layout.depth.top_row == 0
    assert layout.depth.bottom_row is None
    assert layout.depth.step == 0.5
    gr = layout.tracks[0].curves[0]
    assert (gr.unit, gr.description, gr.scale, gr.style, gr.cls) == ("", "", "linear", "solid", 1)

    metres = base()
    metres["depth"]["unit"] = "M"
    assert parse(metres).depth.step == 0.1524


@pytest.mark.parametrize(
    ("given", "unit"),
    [
        ("FT", "FT"),
        ("ft", "FT"),
        ("F", "FT"),
        ("feet", "FT"),
        ("Foot", "FT"),
        (" FT ", "FT"),
        ("M", "M"),
        ("m", "M"),
        ("meter", "M"),
        ("METERS", "M"),
        ("metre", "M"),
        ("Metres", "M"),
    ],
)
def test_unit_aliases(given: str, unit: str) -> None:
    data = base()
    data["depth"]["unit"] = given
    depth = parse(data).depth
    assert depth.unit == unit
    assert depth.step == {"FT": 0.5, "M": 0.1524}[unit]


def test_orientation_depth_right_and_case() -> None:
    data = base()
    data["orientation"] = "Depth-Right"
    assert parse(data).orientation == "depth-right"


def test_choices_are_case_insensitive() -> None:
    data = base()
    data["tracks"][0]["curves"][0]["scale"] = "LOG"
    data["tracks"][0]["curves"][0]["left"] = 1
    data["tracks"][0]["curves"][1]["style"] = "Dotted"
    curve0, curve1 = parse(data).tracks[0].curves
    assert curve0.scale == "log"
    assert curve1.style == "dotted"


def test_integral_float_rows_accepted() -> None:
    data = base()
    data["depth"].update(top_row=5.0, bottom_row=100.0)
    depth = parse(data).depth
    assert (depth.top_row, depth.bottom_row) == (5, 100)
    assert isinstance(depth.top_row, int)


def test_well_values_become_strings() -> None:
    data = base()
    data["well"] = {
        "WELL": " A 1 ",
        "ELEV": 1234.5,
        "API": 42,
        "DATE": datetime.date(1985, 3, 1),
    }
    assert parse(data).well == (
        ("WELL", "A 1"),
        ("ELEV", "1234.5"),
        ("API", "42"),
        ("DATE", "1985-03-01"),
    )


def test_well_keys_written_by_logdigit_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    data = base()
    data["well"] = {"WELL": "A", "STRT": 1000, "null": -999.25}
    with caplog.at_level(logging.WARNING, logger="logdigit.layout"):
        layout = parse(data)
    assert layout.well == (("WELL", "A"),)
    assert any("well.STRT" in w for w in layout.warnings)
    assert any("well.null" in w for w in layout.warnings)


def test_backup_scales() -> None:
    data = base()
    data["tracks"][0]["curves"][0]["backup"] = [150, 300]
    data["tracks"][1]["curves"][0]["backup"] = [[2000, 20000], [0.02, 0.2]]
    lay = parse(data)
    assert lay.tracks[0].curves[0].backup == ((150.0, 300.0),)
    assert lay.tracks[1].curves[0].backup == ((2000.0, 20000.0), (0.02, 0.2))
    assert lay.tracks[0].curves[1].backup == ()


def test_template_is_valid_and_documents_schema() -> None:
    text = layout_template()
    layout = parse_layout(tomllib.loads(text), source=SRC)
    assert layout.warnings == ()
    for word in ("orientation", "top_row", "bottom_row", "step", "[well]", "left_px", "style"):
        assert word in text
    assert layout.resolved(n_rows=8800, n_cols=1100).depth.bottom_row == 8799


# --------------------------------------------------------------------------- invalid


def _set(path: tuple, value):
    def mutate(data: dict) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple):
    def mutate(data: dict) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


C00 = ("tracks", 0, "curves", 0)
C01 = ("tracks", 0, "curves", 1)
T0 = ("tracks", 0)

INVALID = {
    "missing depth": (_delete(("depth",)), "depth"),
    "depth not a table": (_set(("depth",), 3), "depth"),
    "missing top": (_delete(("depth", "top")), "depth.top"),
    "missing bottom": (_delete(("depth", "bottom")), "depth.bottom"),
    "missing unit": (_delete(("depth", "unit")), "depth.unit"),
    "top is a string": (_set(("depth", "top"), "1000"), "depth.top"),
    "top is a bool": (_set(("depth", "top"), True), "depth.top"),
    "top nan": (_set(("depth", "top"), math.nan), "depth.top"),
    "bottom inf": (_set(("depth", "bottom"), math.inf), "depth.bottom"),
    "bottom <= top": (_set(("depth", "bottom"), 1000.0), "depth.bottom"),
    "bottom < top": (_set(("depth", "bottom"), 900), "depth.bottom"),
    "top_row negative": (_set(("depth", "top_row"), -1), "depth.top_row"),
    "top_row fractional": (_set(("depth", "top_row"), 1.5), "depth.top_row"),
    "top_row string": (_set(("depth", "top_row"), "0"), "depth.top_row"),
    "bottom_row negative": (_set(("depth", "bottom_row"), -5), "depth.bottom_row"),
    "bottom_row fractional": (_set(("depth", "bottom_row"), 99.5), "depth.bottom_row"),
    "unknown unit": (_set(("depth", "unit"), "yards"), "depth.unit"),
    "unit not a string": (_set(("depth", "unit"), 1), "depth.unit"),
    "step zero": (_set(("depth", "step"), 0), "depth.step"),
    "step negative": (_set(("depth", "step"), -0.5), "depth.step"),
    "step nan": (_set(("depth", "step"), math.nan), "depth.step"),
    "step larger than range": (_set(("depth", "step"), 1000.0), "depth.step"),
    "no tracks key": (_delete(("tracks",)), "tracks"),
    "empty tracks": (_set(("tracks",), []), "tracks"),
    "tracks a single table": (_set(("tracks",), {"left_px": 0}), "tracks"),
    "track not a table": (_set(("tracks", 0), 5), "tracks[0]"),
    "missing left_px": (_delete((*T0, "left_px")), "tracks[0].left_px"),
    "left_px == right_px": (_set((*T0, "left_px"), 499), "tracks[0].right_px"),
    "left_px > right_px": (_set((*T0, "left_px"), 600), "tracks[0].right_px"),
    "left_px negative": (_set((*T0, "left_px"), -1), "tracks[0].left_px"),
    "right_px inf": (_set((*T0, "right_px"), math.inf), "tracks[0].right_px"),
    "right_px string": (_set((*T0, "right_px"), "499"), "tracks[0].right_px"),
    "no curves key": (_delete((*T0, "curves")), "tracks[0].curves"),
    "empty curves": (_set((*T0, "curves"), []), "tracks[0].curves"),
    "missing mnemonic": (_delete((*C00, "mnemonic")), "tracks[0].curves[0].mnemonic"),
    "empty mnemonic": (_set((*C00, "mnemonic"), "   "), "tracks[0].curves[0].mnemonic"),
    "mnemonic not str": (_set((*C00, "mnemonic"), 7), "tracks[0].curves[0].mnemonic"),
    "mnemonic with dot": (_set((*C00, "mnemonic"), "G.R"), "tracks[0].curves[0].mnemonic"),
    "mnemonic DEPT": (_set((*C00, "mnemonic"), "dept"), "tracks[0].curves[0].mnemonic"),
    "unit with space": (_set((*C00, "unit"), "API UNITS"), "tracks[0].curves[0].unit"),
    "description multi-line": (
        _set((*C00, "description"), "a\nb"),
        "tracks[0].curves[0].description",
    ),
    "missing left": (_delete((*C00, "left")), "tracks[0].curves[0].left"),
    "left nan": (_set((*C00, "left"), math.nan), "tracks[0].curves[0].left"),
    "right -inf": (_set((*C00, "right"), -math.inf), "tracks[0].curves[0].right"),
    "left == right": (_set((*C00, "right"), 0), "tracks[0].curves[0].right"),
    "bad scale": (_set((*C00, "scale"), "lin"), "tracks[0].curves[0].scale"),
    "log with left 0": (_set((*C00, "scale"), "log"), "tracks[0].curves[0].left"),
    "log with negative right": (
        _set(("tracks", 1, "curves", 0, "right"), -1),
        "tracks[1].curves[0].right",
    ),
    "bad style": (_set((*C00, "style"), "wavy"), "tracks[0].curves[0].style"),
    "duplicate mnemonic": (
        _set(("tracks", 1, "curves", 0, "mnemonic"), "GR"),
        "tracks[1].curves[0].mnemonic",
    ),
    "duplicate mnemonic other case": (
        _set(("tracks", 1, "curves", 0, "mnemonic"), "gr"),
        "tracks[1].curves[0].mnemonic",
    ),
    "bad orientation": (_set(("orientation",), "sideways"), "orientation"),
    "orientation not str": (_set(("orientation",), 1), "orientation"),
    "well not a table": (_set(("well",), "A"), "well"),
    "well array value": (_set(("well",), {"WELL": ["a", "b"]}), "well.WELL"),
    "well table value": (_set(("well",), {"WELL": {"a": 1}}), "well.WELL"),
    "well bool value": (_set(("well",), {"WELL": True}), "well.WELL"),
    "well nan value": (_set(("well",), {"ELEV": math.nan}), "well.ELEV"),
    "well duplicate key": (_set(("well",), {"WELL": "a", "well": "b"}), "well.well"),
    "backup not a list": (_set(C00 + ("backup",), 150), "tracks[0].curves[0].backup"),
    "backup empty": (_set(C00 + ("backup",), []), "tracks[0].curves[0].backup"),
    "backup one value": (_set(C00 + ("backup",), [150]), "tracks[0].curves[0].backup"),
    "backup equal ends": (_set(C00 + ("backup",), [150, 150]), "tracks[0].curves[0].backup"),
    "backup string": (_set(C00 + ("backup",), ["a", 300]), "tracks[0].curves[0].backup"),
    "backup repeats main": (_set(C00 + ("backup",), [0, 150]), "tracks[0].curves[0].backup"),
    "backup list item bad": (_set(C00 + ("backup",), [[150, 300], [1, 2, 3]]),
                             "tracks[0].curves[0].backup[1]"),
    "backup log not positive": (_set(("tracks", 1, "curves", 0, "backup"), [0, 20]),
                                "tracks[1].curves[0].backup"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid(case: str) -> None:
    mutate, key = INVALID[case]
    data = base()
    mutate(data)
    message = assert_one_line_error(data, key)
    # the key appears as a key, right after the file name
    assert message.startswith(f"scan.toml: {key}"), message


def test_invalid_messages_are_helpful() -> None:
    data = base()
    data["tracks"][0]["curves"][0]["scale"] = "lin"
    assert str(_error(data)) == (
        'scan.toml: tracks[0].curves[0].scale: must be "linear" or "log", got "lin"'
    )

    data = base()
    data["depth"]["bottom"] = 900
    assert "depth increases downward" in str(_error(data))

    data = base()
    data["depth"].update(top_row=10, bottom_row=10)
    message = str(_error(data))
    assert "depth.bottom_row" in message and "depth.top_row" in message

    data = base()
    data["tracks"][0]["curves"][1]["style"] = "solid"  # two solid curves: allowed now
    assert [c.cls for c in parse(data).tracks[0].curves] == [1, 1]

    data = base()
    data["tracks"][0]["left_px"] = 600
    assert "greater" in str(_error(data))

    data = base()
    data["depth"]["top"] = math.nan
    assert "finite" in str(_error(data))

    data = base()
    data["tracks"] = {"left_px": 0}
    assert "[[tracks]]" in str(_error(data))


def test_missing_key_mentions_likely_typo() -> None:
    data = base()
    data["depth"]["botom"] = data["depth"].pop("bottom")
    message = str(_error(data))
    assert message.startswith("scan.toml: depth.bottom: missing")
    assert "depth.botom" in message


def test_source_defaults_in_message() -> None:
    data = base()
    del data["depth"]
    with pytest.raises(LayoutError, match=r"^layout: depth: "):
        parse_layout(data)


def test_not_a_mapping() -> None:
    with pytest.raises(LayoutError):
        parse_layout([1, 2], source=SRC)  # type: ignore[arg-type]


def _error(data: dict) -> LayoutError:
    with pytest.raises(LayoutError) as info:
        parse(data)
    return info.value


# --------------------------------------------------------------------------- warnings


def test_unknown_keys_warn(caplog: pytest.LogCaptureFixture) -> None:
    data = base()
    data["colour_scheme"] = "x"
    data["depth"]["datum"] = "KB"
    data["tracks"][0]["colour"] = "red"
    data["tracks"][0]["curves"][1]["pen"] = "blue"
    with caplog.at_level(logging.WARNING, logger="logdigit.layout"):
        layout = parse(data)
    assert "scan.toml: unknown key tracks[0].colour (ignored)" in layout.warnings
    assert "scan.toml: unknown key tracks[0].curves[1].pen (ignored)" in layout.warnings
    assert "scan.toml: unknown key colour_scheme (ignored)" in layout.warnings
    assert "scan.toml: unknown key depth.datum (ignored)" in layout.warnings
    assert len(layout.warnings) == 4
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert logged == list(layout.warnings)


def test_unknown_key_suggests_close_match() -> None:
    data = base()
    data["tracks"][0]["curves"][0]["styel"] = "dashed"
    (warning,) = parse(data).warnings
    assert "tracks[0].curves[0].styel" in warning
    assert "tracks[0].curves[0].style" in warning


def test_unknown_key_with_odd_name_is_quoted() -> None:
    data = base()
    data["depth"]["my key"] = 1
    (warning,) = parse(data).warnings
    assert 'depth."my key"' in warning


# --------------------------------------------------------------------------- load_layout


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(LayoutError, match="not found") as info:
        load_layout(path)
    assert str(path) in str(info.value)


def test_load_folder(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="folder"):
        load_layout(tmp_path)


def test_load_invalid_toml_has_line_info(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_text('[depth]\ntop = 1000\nbottom = = 3\nunit = "FT"\n', encoding="utf-8")
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: invalid TOML")
    assert "line 3" in message


def test_load_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_bytes(b'[well]\nWELL = "caf\xe9"\n')
    with pytest.raises(LayoutError, match="UTF-8"):
        load_layout(path)


def test_load_accepts_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_bytes(b"\xef\xbb\xbf" + FULL_TOML.replace("\n", "\r\n").encode())
    assert load_layout(path).depth.top == 1000.0


def test_load_nan_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_text(FULL_TOML.replace("top = 1000.0", "top = nan"), encoding="utf-8")
    with pytest.raises(LayoutError, match=r"depth\.top: must be a finite number, got nan"):
        load_layout(path)


def test_load_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "scan.toml"
    path.write_text(FULL_TOML.replace('scale = "linear"', 'scale = "lin"'), encoding="utf-8")
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    assert str(info.value) == (
        f'{path}: tracks[0].curves[0].scale: must be "linear" or "log", got "lin"'
    )


# --------------------------------------------------------------------------- find_layout


def test_find_layout_order(tmp_path: Path) -> None:
    scan = tmp_path / "scan.tif"
    scan.write_bytes(b"")
    sidecar = tmp_path / "scan.toml"
    folder = tmp_path / LAYOUT_FILENAME
    explicit = tmp_path / "other.toml"

    with pytest.raises(LayoutError) as info:
        find_layout(scan)
    message = str(info.value)
    assert str(sidecar) in message and str(folder) in message
    assert "README" in message and "Layout" in message
    assert "\n" not in message

    folder.write_text("")
    assert find_layout(scan) == folder
    sidecar.write_text("")
    assert find_layout(scan) == sidecar
    explicit.write_text("")
    assert find_layout(scan, explicit=explicit) == explicit
    assert find_layout(str(scan), explicit=str(explicit)) == explicit


def test_find_layout_explicit_must_exist(tmp_path: Path) -> None:
    scan = tmp_path / "scan.tif"
    (tmp_path / "scan.toml").write_text("")
    with pytest.raises(LayoutError, match="not found"):
        find_layout(scan, explicit=tmp_path / "missing.toml")
    with pytest.raises(LayoutError, match="folder"):
        find_layout(scan, explicit=tmp_path)


def test_find_layout_ignores_sidecar_folder(tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    (tmp_path / "scan.toml").mkdir()
    (tmp_path / LAYOUT_FILENAME).write_text("")
    assert find_layout(scan) == tmp_path / LAYOUT_FILENAME


# --------------------------------------------------------------------------- resolved


def test_resolved_fills_bottom_row() -> None:
    layout = parse(base())
    resolved = layout.resolved(n_rows=8800, n_cols=1100)
    assert resolved.depth.bottom_row == 8799
    assert layout.depth.bottom_row is None  # original unchanged
    assert resolved.tracks == layout.tracks
    assert resolved.resolved(n_rows=8800, n_cols=1100) == resolved


def test_resolved_keeps_given_bottom_row() -> None:
    data = base()
    data["depth"]["bottom_row"] = 5000
    assert parse(data).resolved(n_rows=8800, n_cols=1100).depth.bottom_row == 5000


@pytest.mark.parametrize(
    ("depth", "n_rows", "n_cols", "key"),
    [
        ({"bottom_row": 9000}, 8800, 1100, "depth.bottom_row"),
        ({"top_row": 8800}, 8800, 1100, "depth.top_row"),
        ({"top_row": 100}, 100, 1100, "depth.top_row"),
        ({"top_row": 99}, 100, 1100, "depth.top_row"),
        ({}, 8800, 1060, "tracks[1].right_px"),
        ({}, 8800, 400, "tracks[0].right_px"),
        ({}, 8800, 2, "tracks[0].left_px"),
        ({}, 1, 1100, "depth.top_row"),
    ],
)
def test_resolved_rejects_outside_image(depth: dict, n_rows: int, n_cols: int, key: str) -> None:
    data = base()
    data["depth"].update(depth)
    layout = parse(data)
    with pytest.raises(LayoutError) as info:
        layout.resolved(n_rows=n_rows, n_cols=n_cols)
    message = str(info.value)
    assert message.startswith(f"scan.toml: {key}: "), message
    assert f"{n_rows} rows x {n_cols} columns" in message
    assert "\n" not in message


def test_resolved_mentions_transpose_for_depth_right() -> None:
    data = base()
    data["orientation"] = "depth-right"
    with pytest.raises(LayoutError, match="depth-right"):
        parse(data).resolved(n_rows=8800, n_cols=500)


def test_resolved_is_keyword_only_and_checks_sizes() -> None:
    layout = parse(base())
    with pytest.raises(TypeError):
        layout.resolved(8800, 1100)  # type: ignore[misc]
    with pytest.raises(ValueError):
        layout.resolved(n_rows=0, n_cols=1100)


def test_curve_cls_and_constructed_objects() -> None:
    assert Curve("GR", 0, 150).cls == 1
    assert Curve("SP", 0, 1, style="dashed").cls == 2
    assert Curve("SP", 0, 1, style="dotted").cls == 2
    track = Track(0, 10, [Curve("GR", 0, 150)])  # type: ignore[arg-type]
    assert isinstance(track.curves, tuple)
    depth = DepthCalibration(top=0, bottom=10, unit="M", step=0.1524)
    layout = Layout(depth=depth, tracks=[track], source="x.toml")  # type: ignore[arg-type]
    assert layout.source == Path("x.toml")
    assert layout.curves == ((track, track.curves[0]),)


# --------------------------------------------------------------------------- properties

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
positive = st.floats(allow_nan=False, allow_infinity=False, min_value=1e-6, max_value=1e12)
mnemonic_chars = st.characters(
    categories=("Lu", "Ll", "Nd"), max_codepoint=127
)  # ASCII letters and digits


@st.composite
def curve_dicts(draw, style: str) -> dict:
    scale = draw(st.sampled_from(["linear", "log", None]))
    values = positive if scale == "log" else finite
    left = draw(values)
    right = draw(values.filter(lambda v: v != left))
    curve = {"left": left, "right": right}
    if scale is not None:
        curve["scale"] = scale
    if style != "solid" or draw(st.booleans()):
        curve["style"] = style
    if draw(st.booleans()):
        curve["unit"] = draw(st.sampled_from(["GAPI", "MV", "OHMM", "G/C3", "us/ft"]))
    if draw(st.booleans()):
        curve["description"] = draw(st.text(alphabet="abc XYZ-", max_size=20))
    return curve


@st.composite
def layout_dicts(draw) -> dict:
    top = draw(finite)
    span = draw(st.floats(min_value=1.0, max_value=1e6))
    bottom = top + span
    depth: dict = {"top": top, "bottom": bottom}
    depth["unit"] = draw(st.sampled_from(["FT", "M", "ft", "metres", "FEET"]))
    if draw(st.booleans()):
        depth["step"] = draw(st.floats(min_value=1e-3, max_value=0.5))
    if draw(st.booleans()):
        depth["top_row"] = draw(st.integers(0, 10_000))
    if draw(st.booleans()):
        depth["bottom_row"] = depth.get("top_row", 0) + draw(st.integers(1, 100_000))
    n_tracks = draw(st.integers(1, 4))
    names = draw(
        st.lists(
            st.text(mnemonic_chars, min_size=1, max_size=6).filter(
                lambda s: s.upper() not in ("DEPT", "DEPTH")
            ),
            min_size=2 * n_tracks,
            max_size=2 * n_tracks,
            unique_by=str.upper,
        )
    )
    tracks = []
    for i in range(n_tracks):
        left_px = draw(st.floats(min_value=0, max_value=1e5))
        right_px = left_px + draw(st.floats(min_value=1e-3, max_value=1e5))
        styles = draw(
            st.sampled_from(
                [["solid"], ["dashed"], ["dotted"], ["solid", "dashed"], ["dotted", "solid"]]
            )
        )
        curves = []
        for j, style in enumerate(styles):
            curve = draw(curve_dicts(style))
            curve["mnemonic"] = names[2 * i + j]
            curves.append(curve)
        tracks.append({"left_px": left_px, "right_px": right_px, "curves": curves})
    data = {"depth": depth, "tracks": tracks}
    if draw(st.booleans()):
        data["orientation"] = draw(st.sampled_from(["depth-down", "depth-right"]))
    return data


def _check_round_trip(data: dict, layout: Layout) -> None:
    depth = data["depth"]
    assert layout.depth.top == depth["top"]
    assert layout.depth.bottom == depth["bottom"]
    assert layout.depth.top_row == depth.get("top_row", 0)
    assert layout.depth.bottom_row == depth.get("bottom_row")
    if "step" in depth:
        assert layout.depth.step == depth["step"]
    assert layout.orientation == data.get("orientation", "depth-down")
    assert len(layout.tracks) == len(data["tracks"])
    for track, track_data in zip(layout.tracks, data["tracks"], strict=True):
        assert track.left_px == track_data["left_px"]
        assert track.right_px == track_data["right_px"]
        for curve, curve_data in zip(track.curves, track_data["curves"], strict=True):
            assert curve.mnemonic == curve_data["mnemonic"]
            assert curve.left == curve_data["left"]
            assert curve.right == curve_data["right"]
            assert curve.scale == curve_data.get("scale", "linear")
            assert curve.style == curve_data.get("style", "solid")
            assert curve.unit == curve_data.get("unit", "")
            assert curve.description == curve_data.get("description", "").strip()
    assert layout.warnings == ()


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _to_toml(data: dict) -> str:
    lines = []
    if "orientation" in data:
        lines.append(f"orientation = {_toml_value(data['orientation'])}")
    lines.append("[depth]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in data["depth"].items()]
    for track in data["tracks"]:
        lines.append("[[tracks]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in track.items() if k != "curves"]
        for curve in track["curves"]:
            lines.append("[[tracks.curves]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in curve.items()]
    return "\n".join(lines) + "\n"


@given(layout_dicts())
@settings(max_examples=200, deadline=None)
def test_property_valid_layouts_round_trip(data: dict) -> None:
    snapshot = copy.deepcopy(data)
    layout = parse(data)
    assert data == snapshot  # input not modified
    _check_round_trip(data, layout)


@given(layout_dicts())
@settings(max_examples=50, deadline=None)
def test_property_valid_layouts_round_trip_through_toml(data: dict) -> None:
    layout = parse_layout(tomllib.loads(_to_toml(data)), source=SRC)
    _check_round_trip(data, layout)


NUMERIC_PATHS = [
    (("depth", "top"), "depth.top"),
    (("depth", "bottom"), "depth.bottom"),
    (("depth", "step"), "depth.step"),
    (("depth", "top_row"), "depth.top_row"),
    (("depth", "bottom_row"), "depth.bottom_row"),
    (("tracks", 0, "left_px"), "tracks[0].left_px"),
    (("tracks", 0, "right_px"), "tracks[0].right_px"),
    (("tracks", 0, "curves", 0, "left"), "tracks[0].curves[0].left"),
    (("tracks", 0, "curves", 0, "right"), "tracks[0].curves[0].right"),
]


@given(
    layout_dicts(),
    st.sampled_from(NUMERIC_PATHS),
    st.sampled_from([math.nan, math.inf, -math.inf, float("-nan")]),
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_non_finite_numbers_rejected(data: dict, where: tuple, bad: float) -> None:
    path, key = where
    _set(path, bad)(data)
    with pytest.raises(LayoutError) as info:
        parse(data)
    message = str(info.value)
    assert message.startswith(f"scan.toml: {key}: "), message
    assert "finite" in message


@given(
    st.sampled_from(NUMERIC_PATHS),
    st.sampled_from(["nan", "+nan", "-nan", "inf", "+inf", "-inf"]),
)
@settings(max_examples=60, deadline=None)
def test_property_non_finite_toml_rejected(where: tuple, bad: str) -> None:
    path, key = where
    data = base()
    data["depth"].update(step=0.5, top_row=0, bottom_row=100)
    text = _to_toml(data)
    data_from_text = tomllib.loads(text)
    _set(path, "@@BAD@@")(data_from_text)
    # re-emit with the bad literal in place of the marker
    text = _to_toml(data_from_text).replace('"@@BAD@@"', bad)
    with pytest.raises(LayoutError) as info:
        parse_layout(tomllib.loads(text), source=SRC)
    assert str(info.value).startswith(f"scan.toml: {key}: ")


# --------------------------------------------------------------------------- colour


@pytest.mark.parametrize(("key", "value", "rgb"), [
    ("colour", "green", (0, 160, 0)),
    ("color", "#2CA02C", (44, 160, 44)),
    ("colour", "ff0000", (255, 0, 0)),
])
def test_curve_colour(key: str, value: str, rgb: tuple) -> None:
    data = base()
    data["tracks"][0]["curves"][0][key] = value
    data["tracks"][0]["curves"][0]["colour_tolerance"] = 60
    curve = parse(data).tracks[0].curves[0]
    assert curve.colour == rgb
    assert curve.colour_tolerance == 60
    assert parse(base()).tracks[0].curves[0].colour is None


@pytest.mark.parametrize(("extra", "where"), [
    ({"colour": "greenish"}, "colour"),
    ({"colour": 7}, "colour"),
    ({"colour": "red", "color": "red"}, "color"),
    ({"colour": "red", "colour_tolerance": 0}, "colour_tolerance"),
])
def test_curve_colour_errors(extra: dict, where: str) -> None:
    data = base()
    data["tracks"][0]["curves"][0].update(extra)
    err = _error(data)
    assert f"tracks[0].curves[0].{where}" in str(err)
    assert "\n" not in str(err)
