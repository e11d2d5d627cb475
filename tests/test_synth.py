import lasio
import numpy as np
from PIL import Image

from logdigit.layout import load_layout
from logdigit.render import random_walk_bank
from logdigit.scanio import read_scan
from logdigit.synth import make_example, synth_cases

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


def test_bundled_example_is_what_the_code_draws(tmp_path):
    """examples/example-1 is regenerated bit for bit by `make example`."""
    out = make_example(tmp_path / "ex")
    for name in ("scan.tif", "scan.toml", "reference.las"):
        assert (out / name).read_bytes() == (REPO / "examples" / "example-1" / name).read_bytes()
    assert sum(p.stat().st_size for p in out.iterdir()) < 2 * 2**20
