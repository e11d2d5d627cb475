"""tools/dev_stages.py: the stages recorded for one track, the table, refusing bad input."""

from __future__ import annotations

import numpy as np

from .conftest import load_tool

ds = load_tool("dev_stages.py")


def _two_tracks():
    from logdigit.layout import parse_layout
    from logdigit.scanio import Scan

    pixels = np.full((200, 240), 255, np.uint8)
    pixels[:, 60:63] = 0  # a straight curve in the first track
    pixels[:, 170:173] = 0  # and one in the second
    lay = parse_layout({"depth": {"top": 0.0, "bottom": 199.0, "unit": "FT"},
                        "tracks": [
                            {"left_px": 20, "right_px": 100, "curves": [
                                {"mnemonic": "GR", "left": 0.0, "right": 80.0}]},
                            {"left_px": 130, "right_px": 210, "curves": [
                                {"mnemonic": "SP", "left": 0.0, "right": 80.0}]}]})
    scan = Scan(pixels=pixels, source="t.tif", page=0, n_pages=1, transposed=False,
                dpi=None)
    return scan, lay


def test_record_stages_follows_one_track_in_image_columns_and_restores(ink_model):
    import logdigit.convert as conv

    scan, lay = _two_tracks()
    model, config = ink_model
    before = {name: getattr(conv, name) for name, _ in ds.STAGES}
    with ds.record_stages(left_px=130.0) as rows:
        conv.convert_scan(scan, lay, model=model, config=config, trace_workers=1)
    assert {name: getattr(conv, name) for name, _ in ds.STAGES} == before
    labels = [label for label, *_ in rows]
    assert labels[0] == "path (1)" and "reroute SP" in labels and "rough (1)" in labels
    assert not any("GR" in label for label in labels)  # the other track is not recorded
    for _label, x, k, offset in rows:
        assert k == 1
        np.testing.assert_allclose((x[10:190] + offset) * k, 171.0, atol=0.6)
    text = ds.table(rows, r0=50, r1=53, first_row=0,
                    truth={"SP": np.array([171.0, np.nan, 171.0])})
    lines = text.splitlines()
    assert lines[0].split()[-3:] == ["50", "51", "52"]
    assert lines[1].startswith("path (1)") and lines[1].split()[-3:] == ["171.0"] * 3
    assert lines[-1].split()[-3:] == ["171.0", "-", "171.0"]
    assert ds.table([], r0=0, r1=3, first_row=0, truth={}) == ""


def test_bad_input_is_refused(tmp_path, capsys):
    assert ds.main(["set/case/GR", "0", "10", "--root", str(tmp_path)]) == 1
    assert "not a case folder" in capsys.readouterr().err
    case = tmp_path / "set" / "case"
    case.mkdir(parents=True)
    for name in ("scan.tif", "scan.toml", "truth.las"):
        (case / name).write_text("x")
    assert ds.main(["set/case/GR", "10", "10", "--root", str(tmp_path)]) == 1
    assert "1 to 200 rows" in capsys.readouterr().err
