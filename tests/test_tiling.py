import numpy as np
import pytest

from logdigit.tiling import blend_window, round_up, tile_starts


@pytest.mark.parametrize("length,tile,overlap", [(1000, 256, 32), (256, 256, 32), (100, 256, 0),
                                                 (257, 256, 64), (5000, 512, 64)])
def test_tiles_cover_with_overlap(length, tile, overlap):
    s = tile_starts(length, tile=tile, overlap=overlap)
    assert s[0] == 0
    assert np.all(np.diff(s) > 0)
    if length > tile:
        assert s[-1] + tile == length
        assert np.all(s[:-1] + tile - s[1:] >= overlap)  # consecutive tiles overlap enough


def test_bad_tile_args():
    with pytest.raises(ValueError):
        tile_starts(100, tile=64, overlap=64)


def test_blend_window_shape_peak_floor():
    w = blend_window((64, 96))
    assert w.shape == (64, 96)
    assert w.max() == pytest.approx(1.0, abs=1e-3)
    assert w.min() > 0
    assert w[32, 48] > w[0, 0]
    np.testing.assert_allclose(w, w[::-1, ::-1], rtol=1e-6)


def test_round_up():
    assert round_up(1, 32) == 32
    assert round_up(64, 32) == 64
    assert round_up(65, 32) == 96
