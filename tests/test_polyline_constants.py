"""tools/experiments/polyline_constants.py (an experiment, see the model card, session 38):
which cases it runs, and that the constants it tries are put back."""

from __future__ import annotations

from .conftest import load_tool

pc = load_tool("experiments/polyline_constants.py")

LAYOUT = """[depth]
top = 100.0
bottom = {bottom}
top_row = 0
bottom_row = 999
unit = "FT"
step = 0.5
"""


def _case(root, set_name, name, *, bottom, labels=True):
    folder = root / set_name / name
    folder.mkdir(parents=True)
    (folder / "scan.toml").write_text(LAYOUT.format(bottom=bottom))
    if labels:
        (folder / "labels.png").write_bytes(b"")
    return folder


def test_compressed_cases_are_those_under_the_rows_per_step(tmp_path):
    tight = _case(tmp_path, "dev", "clean-0000", bottom=100.0 + 999 / 4)  # 2 rows a step
    _case(tmp_path, "dev", "clean-0001", bottom=100.0 + 999 / 16)  # 8 rows a step
    _case(tmp_path, "dev", "clean-0002", bottom=100.0 + 999 / 4, labels=False)
    assert pc.rows_per_step(tight / "scan.toml") == 2.0
    assert pc.compressed_cases(tmp_path, ("dev", "missing")) == [tight]
    assert pc.compressed_cases(tmp_path, ("dev",), max_rows=1.5) == []
    assert pc.main(["--root", str(tmp_path / "nothing")]) == 1


def test_constants_are_put_back():
    import logdigit.polyline as pl

    before = (pl.PEN_SPARE, pl.ROUGH_STEP, pl.refine_rough_trace.__kwdefaults__["rough_step"])
    old = pc._with_constants({"PEN_SPARE": 9.0, "ROUGH_STEP": 7.0})
    assert pl.PEN_SPARE == 9.0 and pl.refine_rough_trace.__kwdefaults__["rough_step"] == 7.0
    pc._with_constants(old)
    assert (pl.PEN_SPARE, pl.ROUGH_STEP,
            pl.refine_rough_trace.__kwdefaults__["rough_step"]) == before
