import lasio
import numpy as np
from PIL import Image

from logdigit.layout import load_layout
from logdigit.render import random_walk_bank
from logdigit.scanio import read_scan
from logdigit.synth import make_example, render_cases, synth_cases

from .conftest import REPO


def test_cases_are_complete_and_reproducible(tmp_path):
    bank = random_walk_bank(np.random.default_rng(0), n=4, length=4000)
    a = synth_cases(bank, tmp_path / "a", n=3, seed=7, height=500, width=600)
    b = synth_cases(bank, tmp_path / "b", n=3, seed=7, height=500, width=600)
    assert [f.name for f in a] == ["clean-0000", "scanned-0001", "hard-0002"]
    for fa, fb in zip(a, b, strict=True):
        for name in ("scan.tif", "scan.toml", "truth.las", "labels.png"):
            assert (fa / name).read_bytes() == (fb / name).read_bytes(), name
        scan = read_scan(fa / "scan.tif")
        lay = load_layout(fa / "scan.toml").resolved(n_rows=scan.shape[0], n_cols=scan.shape[1])
        las = lasio.read(str(fa / "truth.las"))
        assert [c.mnemonic for c in las.curves[1:]] == [c.mnemonic for _, c in lay.curves]
        assert np.asarray(Image.open(fa / "labels.png")).shape == scan.shape


def test_render_cases_redraws_exactly_what_synth_cases_wrote(tmp_path):
    """One case can be redrawn without writing (tools/dev_anatomy.py needs the pen's x)."""
    bank = random_walk_bank(np.random.default_rng(1), n=4, length=4000)
    written = synth_cases(bank, tmp_path, n=2, seed=3, height=400, width=500)
    drawn = list(render_cases(bank, n=2, seed=3, height=400, width=500))
    assert [name for name, _ in drawn] == [f.name for f in written]
    for folder, (_, page) in zip(written, drawn, strict=True):
        assert np.array_equal(np.asarray(Image.open(folder / "labels.png")), page.labels)
        assert set(page.x_rows) == {c.mnemonic for _, c in load_layout(folder / "scan.toml").curves}
    other = next(iter(render_cases(bank, n=1, seed=4, height=400, width=500)))[1]
    assert not np.array_equal(other.labels, drawn[0][1].labels)


def test_bundled_example_is_what_the_code_draws(tmp_path):
    """examples/example-1 is regenerated bit for bit by `make example`."""
    out = make_example(tmp_path / "ex")
    for name in ("scan.tif", "scan.toml", "reference.las"):
        assert (out / name).read_bytes() == (REPO / "examples" / "example-1" / name).read_bytes()
    assert sum(p.stat().st_size for p in out.iterdir()) < 2 * 2**20
