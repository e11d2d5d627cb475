"""Tests of logdigit.bench (``make bench``): the report's shape on a small scan."""

from __future__ import annotations

import json

import pytest

from logdigit import bench


@pytest.mark.slow
def test_bench_warms_up_then_reports_the_median_of_repeated_runs(capsys):
    bench.main(["--sizes", "400x1600", "--repeat", "2", "--json"])
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
