"""Tests of logdigit.bench (``make bench``): the report's shape on a small scan."""

from __future__ import annotations

import json

import pytest

from logdigit import bench


@pytest.mark.slow
def test_bench_warms_up_then_reports_the_median_of_repeated_runs(capsys):
    bench.main(["--sizes", "400x1600", "--repeat", "2", "--scale-check", "none", "--json"])
    warm, row = json.loads(capsys.readouterr().out)
    assert warm["warm_up_seconds"] > 0
    assert row["size"] == "400x1600"
    assert len(row["seconds_all"]) == 2
    assert row["seconds"] == max(row["seconds_all"])  # of two, the upper is the median
    assert row["mpix_per_s"] == pytest.approx(0.64 / row["seconds"])
    assert {"segment", "trace", "total"} <= set(row["stages"])
    assert row["peak_rss_mb"] > 0 and row["baseline"]["ratio"] > 1


def test_bench_refuses_no_repeats(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--repeat", "0"])
    assert exc.value.code == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_scale_check_converts_a_page_and_the_same_page_at_four_times_the_resolution(
        tmp_path):
    sc = bench.scale_check(tmp_path, width=800, height=3200, model=None)
    assert (sc["small"], sc["big"], sc["pixels_ratio"]) == ("800x3200", "3200x12800", 16)
    assert sc["small_factor"] == 1 and sc["big_factor"] >= 2  # segmented at a working scale
    assert sc["agreement_r2"] > 0.95  # the same curves come out of both
    assert sc["seconds_ratio"] == pytest.approx(sc["big_seconds"] / sc["small_seconds"])


def test_the_scaled_page_keeps_its_layout_on_the_same_ink(tmp_path):
    import tomllib

    from PIL import Image

    small = bench.make_scan(tmp_path, width=400, height=1600)
    big = bench.make_scaled(small, scale=4)
    a = tomllib.loads(small.with_suffix(".toml").read_text())
    b = tomllib.loads(big.with_suffix(".toml").read_text())
    assert Image.open(big).size == (1600, 6400)
    for ta, tb in zip(a["tracks"], b["tracks"], strict=True):
        assert tb["left_px"] == 4 * ta["left_px"] + 1.5
        assert tb["right_px"] == 4 * ta["right_px"] + 1.5
        assert tb["curves"] == ta["curves"]
    assert b["depth"]["top_row"] == 4 * a["depth"]["top_row"] + 2
    assert b["depth"]["bottom_row"] == 4 * a["depth"]["bottom_row"] + 2
    assert (b["depth"]["top"], b["depth"]["bottom"]) == (a["depth"]["top"], a["depth"]["bottom"])


def _las(path, depth, **curves):
    import lasio

    las = lasio.LASFile()
    las.append_curve("DEPT", depth, unit="FT")
    for name, values in curves.items():
        las.append_curve(name, values)
    las.write(str(path), version=2.0)
    return path


def test_curve_r2s_compares_curves_by_name_on_the_second_files_depths(tmp_path):
    import numpy as np

    depth = np.arange(100.0, 200.0, 0.5)
    gr = np.sin(depth / 7.0) * 50 + 60
    ref = _las(tmp_path / "ref.las", depth, GR=gr, SP=depth * 0.1)
    # the same GR on a finer grid (interpolated back exactly), SP with an offset error,
    # and a curve the reference does not have
    fine = np.arange(100.0, 199.75, 0.25)
    got = _las(tmp_path / "got.las", fine, GR=np.sin(fine / 7.0) * 50 + 60,
               SP=np.interp(fine, depth, depth * 0.1) + 1.0, XX=fine)
    r = bench.curve_r2s(got, ref)
    assert set(r) == {"GR", "SP"}
    assert r["GR"] > 0.999
    sp = depth * 0.1
    assert r["SP"] == pytest.approx(1 - np.sum(np.ones_like(sp)) / np.sum((sp - sp.mean()) ** 2),
                                    abs=0.01)
    assert bench.agreement(got, ref) == pytest.approx(np.median(list(r.values())))
