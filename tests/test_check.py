"""The R² acceptance gate: logdigit.check and ``logdigit check``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdigit.check import (
    CurveCheck,
    check_curves,
    format_table,
    parse_depth_range,
    parse_map,
)
from logdigit.errors import LasReadError, UsageError
from logdigit.lasfile import LasCurve, LasData, read_las, write_las

from .conftest import cli

TOP, BOTTOM, STEP = 1000.0, 1200.0, 0.5


def wiggle(d: np.ndarray) -> np.ndarray:
    """A curve without a short period, so a depth shift is found unambiguously."""
    d = np.asarray(d, dtype=float)
    return 75 + 30 * np.sin((d - TOP) / 9.0) + 12 * np.sin((d - TOP) / 3.3) + 0.05 * (d - TOP)


def grid(top: float = TOP, bottom: float = BOTTOM, step: float = STEP) -> np.ndarray:
    return np.round(top + step * np.arange(int(round((bottom - top) / step)) + 1), 6)


def las_data(curves: dict[str, np.ndarray], depth: np.ndarray | None = None, *,
             unit: str = "FT", path: str = "x.las") -> LasData:
    depth = grid() if depth is None else depth
    return LasData(path=Path(path), depth=depth, depth_unit=unit,
                   curves={k: LasCurve(k, "GAPI", np.asarray(v, float)) for k, v in curves.items()})


def write(path: Path, curves: dict[str, np.ndarray], depth: np.ndarray | None = None,
          unit: str = "FT") -> Path:
    depth = grid() if depth is None else depth
    write_las(path, depth=depth, depth_unit=unit,
              curves=[LasCurve(k, "GAPI", np.asarray(v, float)) for k, v in curves.items()])
    return path




def one_error_line(err: str, *needles: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("logdigit: error: "), err
    for n in needles:
        assert n in lines[0], (n, err)
    return lines[0]


# --------------------------------------------------------------------------- parsing


def test_parse_map() -> None:
    assert parse_map(None) == {}
    assert parse_map(["gr=GR_EDTC", "ild = RILD, nphi=NPHI_LS", ","]) == {
        "GR": "GR_EDTC", "ILD": "RILD", "NPHI": "NPHI_LS"}


@pytest.mark.parametrize("bad", ["GR", "=GR", "GR=", " = "])
def test_parse_map_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="expected OUT=REF"):
        parse_map([bad])


def test_parse_depth_range() -> None:
    assert parse_depth_range(None) is None
    assert parse_depth_range("") is None
    assert parse_depth_range("1200:3800.5") == (1200.0, 3800.5)
    assert parse_depth_range("-10:1e3") == (-10.0, 1000.0)


@pytest.mark.parametrize("bad", ["1200", "a:b", "1:2:3", "5:1", "5:5", "nan:5", "0:inf"])
def test_parse_depth_range_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="--depth-range"):
        parse_depth_range(bad)


# --------------------------------------------------------------------------- check_curves


def test_identical_curves_pass() -> None:
    d = grid()
    (res,) = check_curves(las_data({"GR": wiggle(d)}), las_data({"GR": wiggle(d)}))
    assert res.passed and res.reason == ""
    assert res.r2 == pytest.approx(1.0) and res.rmse == pytest.approx(0.0)
    assert res.coverage == 1.0 and res.shift == 0.0 and res.points == d.size
    assert (res.mnemonic, res.reference, res.unit) == ("GR", "GR", "GAPI")


def test_poor_curve_fails_with_reason() -> None:
    d = grid()
    noisy = wiggle(d) + np.random.default_rng(0).normal(0, 20, d.size)
    (res,) = check_curves(las_data({"GR": noisy}), las_data({"GR": wiggle(d)}))
    assert not res.passed
    assert res.reason.startswith("R² ") and "< 0.95" in res.reason


def test_low_coverage_fails() -> None:
    d = grid()
    v = wiggle(d)
    v[: d.size // 2] = np.nan
    (res,) = check_curves(las_data({"GR": v}), las_data({"GR": wiggle(d)}))
    assert res.r2 == pytest.approx(1.0)
    assert res.coverage == pytest.approx(0.5, abs=0.01)
    assert not res.passed and "coverage" in res.reason
    (ok,) = check_curves(las_data({"GR": v}), las_data({"GR": wiggle(d)}), min_coverage=0.4)
    assert ok.passed


def test_constant_reference_is_a_failure_not_a_crash() -> None:
    d = grid()
    (res,) = check_curves(las_data({"GR": wiggle(d)}), las_data({"GR": np.full(d.size, 5.0)}))
    assert not res.passed and math.isnan(res.r2)
    assert "constant reference" in res.reason
    assert res.as_dict()["r2"] is None
    json.dumps(res.as_dict())  # JSON-ready


def test_only_common_curves_are_checked_case_insensitively() -> None:
    d = grid()
    out = las_data({"GR": wiggle(d), "SP": wiggle(d)})
    ref = las_data({"gr": wiggle(d), "RHOB": wiggle(d)})
    ref = LasData(path=ref.path, depth=d, depth_unit="FT",
                  curves={k.upper(): c for k, c in ref.curves.items()})
    assert [r.mnemonic for r in check_curves(out, ref)] == ["GR"]


def test_map_aliases_out_to_ref() -> None:
    d = grid()
    out = las_data({"GR": wiggle(d)})
    ref = las_data({"GR_EDTC": wiggle(d)})
    with pytest.raises(LasReadError, match="no curve in common.*use --map"):
        check_curves(out, ref)
    (res,) = check_curves(out, ref, mapping={"gr": "gr_edtc"})
    assert (res.mnemonic, res.reference, res.passed) == ("GR", "GR_EDTC", True)


def test_requested_curve_missing() -> None:
    d = grid()
    out = las_data({"GR": wiggle(d)}, path="out.las")
    ref = las_data({"SP": wiggle(d)}, path="ref.las")
    with pytest.raises(UsageError, match=r"out\.las: has no curve RHOB \(it has GR\)"):
        check_curves(out, ref, curves=["RHOB"])
    with pytest.raises(UsageError, match=r"ref\.las: has no curve GR \(it has SP\); use --map"):
        check_curves(out, ref, curves=["gr"])


def test_no_depth_overlap() -> None:
    out = las_data({"GR": wiggle(grid())}, path="out.las")
    far = grid(5000, 5100)
    ref = las_data({"GR": wiggle(far)}, far, path="ref.las")
    with pytest.raises(LasReadError, match=r"ref\.las: no depth overlap with out\.las "
                                           r"\(1000-1200 vs 5000-5100 FT\)"):
        check_curves(out, ref)


def test_depth_range_restricts_the_comparison() -> None:
    d = grid()
    v = wiggle(d)
    v[d > 1100] += 500  # wrong below 1100
    out, ref = las_data({"GR": v}), las_data({"GR": wiggle(d)})
    (bad,) = check_curves(out, ref)
    assert not bad.passed
    (good,) = check_curves(out, ref, depth_range=(1000.0, 1100.0))
    assert good.passed and good.points == 201
    with pytest.raises(LasReadError, match="range 3000-4000"):
        check_curves(out, ref, depth_range=(3000.0, 4000.0))


def test_points_gives_evenly_spaced_depths() -> None:
    d = grid()
    (res,) = check_curves(las_data({"GR": wiggle(d)}), las_data({"GR": wiggle(d)}), points=37)
    assert res.points == 37 and res.passed


@pytest.mark.parametrize("shift", [2.5, -3.0, 0.5])
def test_max_shift_finds_a_known_depth_shift(shift: float) -> None:
    d = grid()
    out = las_data({"GR": wiggle(d + shift)})  # out(d) = truth(d + shift)
    ref = las_data({"GR": wiggle(d)})
    (plain,) = check_curves(out, ref)
    (best,) = check_curves(out, ref, max_shift=4.0)
    assert best.shift == pytest.approx(shift)
    assert best.r2 == pytest.approx(1.0) and best.passed
    assert plain.shift == 0.0 and plain.r2 < best.r2


def test_max_shift_smaller_than_a_step_changes_nothing() -> None:
    d = grid()
    (res,) = check_curves(las_data({"GR": wiggle(d + 1.0)}), las_data({"GR": wiggle(d)}),
                          max_shift=0.2)
    assert res.shift == 0.0


def test_reference_in_metres_is_converted() -> None:
    d_ft = grid()
    d_m = np.round(grid(304.8, 365.76, 0.1524), 6)
    out = las_data({"GR": wiggle(d_ft)})
    ref = las_data({"GR": wiggle(d_m / 0.3048)}, d_m, unit="M")
    (res,) = check_curves(out, ref)
    assert res.passed and res.r2 > 0.999


def test_nulls_are_ignored_not_zero() -> None:
    d = grid()
    ref_v = wiggle(d)
    ref_v[::7] = np.nan
    (res,) = check_curves(las_data({"GR": wiggle(d)}), las_data({"GR": ref_v}))
    assert res.passed and res.r2 == pytest.approx(1.0)
    assert res.points == int(np.isfinite(ref_v).sum())


def test_format_table_one_row_per_curve() -> None:
    d = grid()
    res = check_curves(las_data({"GR": wiggle(d), "SP": wiggle(d) * 0 + d}),
                       las_data({"GR": wiggle(d), "SP": wiggle(d)}))
    lines = format_table(res).splitlines()
    assert lines[0].split()[:4] == ["curve", "ref", "R²", "RMSE"]
    assert set(lines[1]) == {"-"}
    assert lines[2].startswith("GR") and lines[2].endswith("pass")
    assert lines[3].startswith("SP") and "FAIL (R²" in lines[3]
    assert len(lines) == 4


def test_curve_check_as_dict_rounds_and_nulls() -> None:
    c = CurveCheck(mnemonic="GR", reference="GR", unit="", r2=0.1234567891, rmse=math.inf,
                   mae=1.0, coverage=math.nan, shift=0.0, points=3, passed=False, reason="x")
    d = c.as_dict()
    assert d["r2"] == 0.123457 and d["rmse"] is None and d["coverage"] is None
    assert d["points"] == 3 and d["passed"] is False


@settings(max_examples=40, deadline=None)
@given(k=st.integers(-8, 8), step=st.sampled_from([0.25, 0.5, 1.0]))
def test_property_shift_of_whole_steps_is_recovered(k: int, step: float) -> None:
    d = grid(step=step)
    shift = k * step
    out = las_data({"GR": wiggle(d + shift)}, d)
    ref = las_data({"GR": wiggle(d)}, d)
    (res,) = check_curves(out, ref, max_shift=8 * step)
    assert res.shift == pytest.approx(shift)
    assert res.r2 == pytest.approx(1.0)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    d = grid()
    noisy = wiggle(d) + np.random.default_rng(1).normal(0, 15, d.size)
    return {
        "ref": write(tmp_path / "ref.las", {"GR": wiggle(d), "SP": -wiggle(d)}),
        "good": write(tmp_path / "good.las", {"GR": wiggle(d), "SP": -wiggle(d) + 0.01}),
        "bad": write(tmp_path / "bad.las", {"GR": noisy, "SP": -wiggle(d)}),
        "shifted": write(tmp_path / "shifted.las", {"GR": wiggle(d + 2.0)}),
        "alias": write(tmp_path / "alias.las", {"GAMMA": wiggle(d)}),
        "far": write(tmp_path / "far.las", {"GR": wiggle(grid(4000, 4100))}, grid(4000, 4100)),
    }


def test_cli_gate_passes(capsys, files) -> None:
    code, out, err = cli(capsys, "check", files["good"], files["ref"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("curve") and len(lines) == 4
    assert all(line.endswith("pass") for line in lines[2:])


def test_cli_gate_fails_with_exit_3_and_the_table(capsys, files) -> None:
    code, out, err = cli(capsys, "check", files["bad"], files["ref"])
    assert code == 3
    assert "GR" in out and "FAIL (R²" in out and out.count("pass") == 1  # SP passes
    one_error_line(err, "bad.las", "acceptance gate failed for GR", "ref.las")


def test_cli_min_r2_and_quiet(capsys, files) -> None:
    code, out, err = cli(capsys, "check", files["bad"], files["ref"], "--min-r2", "-100",
                         "--quiet")
    assert (code, out, err) == (0, "", "")


def test_cli_json(capsys, files) -> None:
    code, out, err = cli(capsys, "check", files["bad"], files["ref"], "--json")
    assert code == 3
    one_error_line(err, "acceptance gate failed")
    data = json.loads(out)  # exactly one JSON document
    assert data["passed"] is False and data["min_r2"] == 0.95
    assert data["output"] == str(files["bad"]) and data["reference"] == str(files["ref"])
    by_name = {c["mnemonic"]: c for c in data["curves"]}
    assert by_name["GR"]["passed"] is False and by_name["SP"]["passed"] is True
    assert set(by_name["GR"]) >= {"r2", "rmse", "mae", "coverage", "shift", "points", "reason"}


def test_cli_curves_selects(capsys, files) -> None:
    code, out, _ = cli(capsys, "check", files["bad"], files["ref"], "--curves", "sp", "--json")
    assert code == 0
    assert [c["mnemonic"] for c in json.loads(out)["curves"]] == ["SP"]


def test_cli_map(capsys, files) -> None:
    code, _, err = cli(capsys, "check", files["alias"], files["ref"])
    assert code == 1
    one_error_line(err, "ref.las", "no curve in common", "use --map")
    code, out, err = cli(capsys, "check", files["alias"], files["ref"], "--map", "GAMMA=GR",
                         "--json")
    assert code == 0, err
    (c,) = json.loads(out)["curves"]
    assert (c["mnemonic"], c["reference"], c["passed"]) == ("GAMMA", "GR", True)


def test_cli_max_shift(capsys, files) -> None:
    code, _, _ = cli(capsys, "check", files["shifted"], files["ref"], "--json")
    assert code == 3
    code, out, err = cli(capsys, "check", files["shifted"], files["ref"], "--max-shift", "3",
                         "--json")
    assert code == 0, err
    (c,) = json.loads(out)["curves"]
    assert c["shift"] == 2.0 and c["r2"] == pytest.approx(1.0)


def test_cli_points_and_depth_range(capsys, files) -> None:
    code, out, _ = cli(capsys, "check", files["good"], files["ref"], "--points", "50",
                       "--json")
    assert code == 0 and {c["points"] for c in json.loads(out)["curves"]} == {50}
    code, out, _ = cli(capsys, "check", files["good"], files["ref"], "--depth-range",
                       "1050:1100", "--json")
    assert code == 0 and {c["points"] for c in json.loads(out)["curves"]} == {101}


@pytest.mark.parametrize(
    ("args", "code", "needles"),
    [
        (["--map", "GR"], 2, ["--map GR: expected OUT=REF"]),
        (["--depth-range", "9:1"], 2, ["--depth-range 9:1", "TOP must be less than BOTTOM"]),
        (["--depth-range", "top:bottom"], 2, ["expected TOP:BOTTOM"]),
        (["--depth-range", "3000:4000"], 1, ["no depth overlap", "range 3000-4000"]),
        (["--curves", "RHOB"], 2, ["has no curve RHOB"]),
        (["--points", "1"], 2, ["--points"]),
        (["--max-shift", "-1"], 2, ["--max-shift"]),
        (["--min-r2", "high"], 2, ["--min-r2"]),
    ],
    ids=["map", "range-order", "range-text", "range-outside", "curve", "points", "shift", "r2"],
)
def test_cli_bad_options(capsys, files, args, code, needles) -> None:
    got, out, err = cli(capsys, "check", files["good"], files["ref"], *args)
    assert got == code
    assert out == ""
    one_error_line(err, *needles)


def test_cli_reference_without_the_curve(capsys, files, tmp_path) -> None:
    ref = write(tmp_path / "nogr.las", {"RHOB": wiggle(grid())})
    code, _, err = cli(capsys, "check", files["good"], ref)
    assert code == 1
    one_error_line(err, "nogr.las", "no curve in common", "GR, SP vs RHOB")
    code, _, err = cli(capsys, "check", files["good"], ref, "--curves", "GR")
    assert code == 2
    one_error_line(err, "nogr.las: has no curve GR (it has RHOB)")


def test_cli_no_depth_overlap(capsys, files) -> None:
    code, _, err = cli(capsys, "check", files["good"], files["far"])
    assert code == 1
    one_error_line(err, "far.las", "no depth overlap", "1000-1200 vs 4000-4100 FT")


@pytest.mark.parametrize("which", ["out", "ref"])
def test_cli_unreadable_inputs(capsys, files, tmp_path, which) -> None:
    bad = {"missing": tmp_path / "missing.las", "folder": tmp_path,
           "empty": tmp_path / "empty.las", "binary": tmp_path / "scan.tif",
           "text": tmp_path / "notes.las"}
    bad["empty"].write_bytes(b"")
    bad["binary"].write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    bad["text"].write_text("just some notes\nno LAS sections here\n")
    for name, path in bad.items():
        args = [path, files["ref"]] if which == "out" else [files["good"], path]
        code, out, err = cli(capsys, "check", *args)
        assert code == 1, (name, err)
        assert out == ""
        one_error_line(err, str(path))


def test_cli_real_reference(capsys, tmp_path) -> None:
    """A real LAS as reference, the recovered file written from its first usable curve."""
    from .conftest import cli, shared_or_skip

    ref_path = shared_or_skip("las", "eval", "alma3.las")
    ref = read_las(ref_path)
    name, curve = next((k, c) for k, c in ref.curves.items()
                       if np.isfinite(c.values).sum() > 100 and np.nanstd(c.values) > 0)
    out = tmp_path / "out.las"
    write_las(out, depth=ref.depth, depth_unit=ref.depth_unit,
              curves=[LasCurve("X", curve.unit, curve.values)])
    code, stdout, err = cli(capsys, "check", out, ref_path, "--map", f"X={name}", "--json")
    assert code == 0, err
    (c,) = json.loads(stdout)["curves"]
    assert c["r2"] == pytest.approx(1.0, abs=1e-6) and c["coverage"] == 1.0
