"""tools/dev_view.py: the picture, the captured maps and refusing a missing case."""

from __future__ import annotations

import numpy as np

from .conftest import load_tool

dv = load_tool("dev_view.py")


def test_compose_draws_ink_then_curves_and_zooms():
    pixels = np.full((4, 5), 255, np.uint8)
    pixels[0, 0] = 0
    ink = np.zeros((2, 4, 5), np.uint8)
    ink[0, 1, 1] = 200  # solid
    ink[1, 2, 2] = 128  # dashed, at the threshold
    ink[1, 3, 3] = 127  # under it
    x = np.array([4.0, np.nan, 9.0, 0.4])  # row 2 off the crop
    out = dv.compose(pixels, ink=ink, lines={"t": (x, dv.TRUTH)}, zoom=2)
    assert out.shape == (8, 10, 3) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == (100, 100, 100) and tuple(out[0, 2]) == (253, 253, 253)
    assert tuple(out[2, 2]) == dv.SOLID_INK and tuple(out[3, 3]) == dv.SOLID_INK
    assert tuple(out[4, 4]) == dv.DASHED_INK
    assert tuple(out[6, 6]) == (253, 253, 253)
    assert tuple(out[0, 8]) == dv.TRUTH and tuple(out[6, 0]) == dv.TRUTH
    assert (out == np.array(dv.TRUTH, np.uint8)).all(axis=2).sum() == 2 * 4


def test_capture_maps_records_each_track_and_restores(ink_model):
    import logdigit.convert as conv
    from logdigit.layout import parse_layout
    from logdigit.scanio import Scan

    pixels = np.full((200, 120), 255, np.uint8)
    pixels[:, 60:63] = 0  # a straight curve
    pixels[::3, 61] = 0
    lay = parse_layout({"depth": {"top": 0.0, "bottom": 199.0, "unit": "FT"},
                        "tracks": [{"left_px": 20, "right_px": 100, "curves": [
                            {"mnemonic": "GR", "left": 0.0, "right": 80.0}]}]})
    original = conv.trace_track
    model, config = ink_model
    with dv.capture_maps() as seen:
        conv.convert_scan(Scan(pixels=pixels, source="t.tif", page=0, n_pages=1,
                               transposed=False, dpi=None), lay, model=model, config=config)
    assert conv.trace_track is original
    assert len(seen) == 1
    track, pix, probs, cols, k, rows = seen[0]
    assert track.left_px == 20 and k == 1 and rows == (0, 200)
    assert probs.shape == (2, *pix.shape)
    win = dv._map_window(probs, cols, k, rows, c0=50, c1=70, r0=10, r1=30)
    assert win.shape == (2, 20, 20)
    assert np.array_equal(win, probs[:, 10:30, 50 - cols[0]:70 - cols[0]])


def test_a_missing_case_is_refused(tmp_path, capsys):
    assert dv.main(["set/case/GR", "0", "10", "-o", str(tmp_path / "v.png"),
                    "--root", str(tmp_path)]) == 1
    assert "not a case folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
