"""tools/real_runs.py and the handwritten layouts in layouts/real/ (issues 3 and 7).

The layout checks need ../shared/data (the real scans) and skip with a reason without it;
the unit tests of the script's symlink folder, manifest and summary logic run on tmp data.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from logdigit.layout import load_layout
from logdigit.scanio import image_info

from .conftest import REPO, SHARED

LAYOUTS = REPO / "layouts" / "real"
LAYOUT_FILES = sorted(LAYOUTS.glob("*.toml"))


def _load_script():
    spec = importlib.util.spec_from_file_location("real_runs", REPO / "tools" / "real_runs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("real_runs", module)  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


rr = _load_script()


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def fake_shared(tmp_path):
    """A shared-data tree with three fake scans and the pair, and a layouts folder."""
    shared = tmp_path / "shared"
    real = shared / "scans" / "real"
    _touch(real / "a" / "one.tif")
    _touch(real / "a" / "two words #1.TIFF")
    _touch(real / "b" / "three.png")
    _touch(real / "b" / "notes.txt")
    _touch(real / "b" / ".hidden.tif")
    _touch(real / ".cache" / "four.tif")
    _touch(shared / "pairs" / "lavaca_myska" / "scan.tif")
    layouts = tmp_path / "layouts"
    _touch(layouts / "one.toml", "# one")
    _touch(layouts / "lavaca_myska.toml", "# pair")
    return shared, layouts


# --------------------------------------------------------------------------- unit tests


def test_find_scans_skips_hidden_and_other_files(fake_shared):
    shared, _ = fake_shared
    names = [p.name for p in rr.find_scans(shared / "scans" / "real")]
    assert names == ["one.tif", "two words #1.TIFF", "three.png"]


def test_plan_entries_pairs_layouts_by_stem(fake_shared):
    shared, layouts = fake_shared
    entries = rr.plan_entries(shared, layouts)
    by_name = {e.name: e for e in entries}
    assert list(by_name) == ["lavaca_myska", "one", "two words #1", "three"]
    assert by_name["lavaca_myska"].rel == "pairs/lavaca_myska/scan.tif"
    assert by_name["one"].rel == "real/a/one.tif"
    assert (by_name["one"].kind, by_name["one"].layout) == ("handwritten", layouts / "one.toml")
    assert by_name["lavaca_myska"].layout == layouts / "lavaca_myska.toml"
    assert by_name["three"].layout is None and by_name["three"].kind == "none"
    assert [e.name for e in rr.select(entries, ["THREE", "pair"])] == ["three"]
    assert len(rr.select(entries, [])) == 4


def test_plan_entries_rejects_orphan_layout_and_stem_clash(fake_shared, tmp_path):
    shared, layouts = fake_shared
    _touch(layouts / "nowhere.toml")
    with pytest.raises(ValueError, match="no scan named nowhere"):
        rr.plan_entries(shared, layouts)
    (layouts / "nowhere.toml").unlink()
    _touch(shared / "scans" / "real" / "c" / "one.jpg")
    with pytest.raises(ValueError, match="same stem"):
        rr.plan_entries(shared, layouts)


def test_batch_folder_holds_symlinks_and_sidecars(fake_shared, tmp_path):
    shared, layouts = fake_shared
    entries = rr.plan_entries(shared, layouts)
    dest = tmp_path / "in"
    links = rr.build_batch_folder(entries, dest)
    assert len(links) == 4
    for e, link in zip(entries, links, strict=True):
        assert link == dest / e.rel
        assert link.is_symlink() and link.resolve() == e.scan.resolve()
    one = dest / "real" / "a" / "one.toml"
    assert one.is_symlink() and one.resolve() == (layouts / "one.toml").resolve()
    assert (dest / "pairs" / "lavaca_myska" / "scan.toml").resolve() == (
        layouts / "lavaca_myska.toml").resolve()
    assert not (dest / "real" / "b" / "three.toml").exists()
    # nothing was copied: every file in the folder is a symlink
    files = [p for p in dest.rglob("*") if not p.is_dir()]
    assert files and all(p.is_symlink() for p in files)

    # a draft appears for "three": linked on the next build; gone again: the sidecar goes
    three = next(e for e in entries if e.name == "three")
    draft = _touch(tmp_path / "drafts" / "three.toml", "# draft")
    three.layout, three.kind = draft, "draft"
    rr.build_batch_folder(entries, dest)
    assert (dest / "real" / "b" / "three.toml").resolve() == draft.resolve()
    three.layout, three.kind = None, "none"
    rr.build_batch_folder(entries, dest)
    assert not (dest / "real" / "b" / "three.toml").exists()
    assert (dest / "real" / "b" / "three.png").is_symlink()

    # a smaller selection prunes the other links (never the scans themselves)
    rr.build_batch_folder(entries[:2], dest)
    left = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_symlink())
    assert left == ["pairs/lavaca_myska/scan.tif", "pairs/lavaca_myska/scan.toml",
                    "real/a/one.tif", "real/a/one.toml"]
    assert all(e.scan.is_file() for e in entries)


def test_drafts_and_step_results_are_reloaded(fake_shared, tmp_path):
    shared, layouts = fake_shared
    entries = rr.plan_entries(shared, layouts)
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text("\n".join(json.dumps(r) for r in [
        {"scan": "real/b/three.png", "rc": 0, "message": "1 track", "toml": "/d/three.toml"},
        {"scan": "real/a/one.tif", "rc": 0, "message": "2 tracks", "toml": "/d/one.toml"},
        {"scan": "real/gone.tif", "rc": 1, "message": "no grid", "toml": "/d/gone.toml"},
    ]))
    rr.load_drafts(entries, drafts)
    by_name = {e.name: e for e in entries}
    assert (by_name["three"].kind, by_name["three"].layout) == ("draft", Path("/d/three.toml"))
    assert by_name["one"].kind == "handwritten" and by_name["one"].draft["message"] == "2 tracks"
    store = tmp_path / "seconds.json"
    assert rr._merge_json(store, {"pair": 1.0}) == {"pair": 1.0}
    assert rr._merge_json(store, {"batch": 2.0}) == {"pair": 1.0, "batch": 2.0}


def _rec(scan, status, **kw):
    return {"scan": scan, "status": status, "error": kw.pop("error", ""), **kw}


def test_manifest_records_keep_the_last_conversion(tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    lines = [
        _rec("real/a/one.tif", "ok", coverage={"GR": 0.9}, seconds=3.0),
        _rec("real/b/three.png", "failed", error="three.png: no layout found"),
        _rec("real/a/one.tif", "skipped", coverage={"GR": 0.9}),
        _rec("real/b/three.png", "ok", coverage={"T1_SOLID": 1.0}, seconds=2.0),
    ]
    manifest.write_text("\n".join(json.dumps(r) for r in lines) + '\n{"scan": "torn')
    records = rr.read_records(manifest)
    assert len(records) == 4  # the torn last line is ignored
    final = rr.final_records(records)
    assert final["real/a/one.tif"]["status"] == "ok"  # a later skip does not hide it
    assert final["real/a/one.tif"]["seconds"] == 3.0
    assert final["real/b/three.png"]["status"] == "ok"  # the newest conversion wins
    assert rr.final_records([_rec("x.tif", "skipped")])["x.tif"]["status"] == "skipped"
    assert rr.read_records(tmp_path / "missing.jsonl") == []


def test_summary_counts_failures_and_pair_table(fake_shared):
    shared, layouts = fake_shared
    entries = rr.plan_entries(shared, layouts)
    by_name = {e.name: e for e in entries}
    for e in entries:
        e.draft = {"rc": 0, "message": "3 tracks (linear 8-258); confidence high"}
    by_name["three"].draft = {"rc": 1, "message": "logdigit: error: /s/three.png: no clear grid"}
    by_name["two words #1"].kind = "draft"
    records = {
        "pairs/lavaca_myska/scan.tif": _rec("pairs/lavaca_myska/scan.tif", "ok",
                                            coverage={"GR": 1.0}, seconds=30.0),
        "real/a/one.tif": _rec("real/a/one.tif", "ok", coverage={"GR": 0.5}, seconds=4.0),
        "real/a/two words #1.TIFF": _rec("real/a/two words #1.TIFF", "skipped"),
        "real/b/three.png": _rec("real/b/three.png", "failed",
                                 error="/x/in/real/b/three.png: no layout found"),
    }
    curves = [{"mnemonic": "GR", "r2": 0.5, "mae": 10.0, "shift": 0.0, "coverage": 1.0}]
    pair = {"convert": {"curves": [{"mnemonic": "GR", "coverage": 0.99}]},
            "check": {"curves": curves},
            "check_shift": {"curves": [dict(curves[0], r2=0.6, shift=2.5)]},
            "max_shift": 10.0, "in_scale": {"GR": 0.55},
            "oracle_check": {"curves": [dict(curves[0], r2=0.97, mae=1.0)]},
            "oracle_in_scale": {"GR": 0.99}}
    text = rr.summarize(entries, records, pair=pair,
                        batches={"batch": {"rc": 4, "done": 2, "skipped": 1, "failed": 1,
                                           "total": 4}},
                        seconds={"pair": 31.0, "batch": 120.0})
    assert "3 of 4 scans drafted; 1 without a recognisable grid" in text
    assert "- `three`: logdigit: error: /s/three.png: no clear grid" in text
    assert "4 scans in the batch folder: 3 converted, 1 failed." in text
    assert ("- `three` (none layout): no layout found — `logdigit layout`: no clear grid"
            in text)
    assert rr.reason("logdigit: error: /a b/c #1.TIF: no clear grid: x") == "no clear grid: x"
    assert "| handwritten | 2 | 0 |" in text and "| draft | 1 | 0 |" in text
    assert "| GR | 0.500 | 10.00 | 0.600 | 2.5 | 0.550 | 0.990 | 0.970 | 1.00 | 0.990 |" in text
    assert "| batch | 120 | batch exit 4: converted 2, skipped 1, failed 1 of 4 |" in text
    failed = rr.summarize(entries, {}, pair={"rc": 1, "error": "boom"}, batches={}, seconds={})
    assert "Pair conversion failed (exit 1): boom" in failed


def test_main_without_shared_data_exits_2(tmp_path, capsys):
    assert rr.main(["--shared", str(tmp_path / "none"), "--out", str(tmp_path / "out")]) == 2
    assert "not found" in capsys.readouterr().err


def test_parse_args_rejects_unknown_step():
    with pytest.raises(SystemExit):
        rr.parse_args(["--steps", "pair,everything"])
    assert rr.parse_args(["--steps", "pair, batch"]).steps == ["pair", "batch"]
    assert rr.parse_args(["--steps", "summary"]).steps == ["summary"]


# --------------------------------------------------------------------------- shared data


def _shared_or_skip() -> Path:
    if not (SHARED / "scans" / "real").is_dir():
        pytest.skip(f"{SHARED}/scans/real not available (../shared is absent)")
    return SHARED


@pytest.fixture(scope="module")
def real_entries():
    shared = _shared_or_skip()
    return {e.name: e for e in rr.plan_entries(shared)}


def test_layouts_cover_the_pair_and_ten_real_scans(real_entries):
    hand = [n for n, e in real_entries.items() if e.kind == "handwritten"]
    assert "lavaca_myska" in hand
    assert len(hand) - 1 >= 10


@pytest.mark.parametrize("toml", LAYOUT_FILES, ids=[p.stem[:40] for p in LAYOUT_FILES])
def test_layout_parses_and_fits_its_scan(toml, real_entries):
    entry = real_entries.get(toml.stem)
    assert entry is not None, f"{toml.name}: no scan with this stem"
    layout = load_layout(toml)
    assert not layout.warnings, layout.warnings
    width, height, _ = image_info(entry.scan)
    rows, cols = (width, height) if layout.orientation == "depth-right" else (height, width)
    resolved = layout.resolved(n_rows=rows, n_cols=cols)  # raises when it does not fit
    d = resolved.depth
    assert d.bottom > d.top and d.bottom_row > d.top_row
    assert all(tr.curves for tr in resolved.tracks)


def test_pair_layout_has_gr_and_the_reference_mnemonics():
    ref = _shared_or_skip() / "pairs" / "lavaca_myska" / "reference.las"
    from logdigit.lasfile import read_las

    mnemonics = {c.mnemonic for tr in load_layout(LAYOUTS / "lavaca_myska.toml").tracks
                 for c in tr.curves}
    assert "GR" in mnemonics and len(mnemonics) >= 2
    assert mnemonics <= set(read_las(ref).curves)
