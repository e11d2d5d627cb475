import numpy as np
import pytest
import torch

from logdigit.model import DEFAULT_CONFIG
from logdigit.segment import count_tiles, segment_array, to_input, track_window

from .conftest import ConstantModel, InkModel


def test_constant_model_blends_to_constant_no_seams():
    """Tiles overlap and are blended; a constant prediction must come out constant."""
    logits = torch.tensor([0.1, 0.5, 0.2])
    expected = (logits.softmax(0)[1:] * 255).numpy()
    img = np.random.default_rng(0).integers(0, 256, (1500, 1300), dtype=np.uint8)
    cfg = dict(DEFAULT_CONFIG, tile=256, overlap=48)
    out = segment_array(img, model=ConstantModel(), config=cfg, batch_size=3)
    assert out.shape == (2, 1500, 1300) and out.dtype == np.uint8
    for c in range(2):
        assert np.abs(out[c].astype(float) - expected[c]).max() <= 0.5 + 1e-6


def test_logit_bias_is_added_before_the_softmax():
    logits = torch.tensor([0.1, 0.5, 0.2])
    img = np.random.default_rng(1).integers(0, 256, (300, 200), dtype=np.uint8)
    cfg = dict(DEFAULT_CONFIG, tile=128, overlap=32, logit_bias=[0.0, -0.3, 0.6])
    out = segment_array(img, model=ConstantModel(), config=cfg)
    expected = ((logits + torch.tensor([0.0, -0.3, 0.6])).softmax(0)[1:] * 255).numpy()
    for c in range(2):
        assert np.abs(out[c].astype(float) - expected[c]).max() <= 0.5 + 1e-6
    # the dashed class now wins where it lost before
    assert expected[1] > expected[0] and logits[2] < logits[1]


@pytest.mark.parametrize("bias", [[0.0, 0.6], [0, 0, "x"], [0, 0, float("nan")], 0.6])
def test_a_malformed_logit_bias_is_refused(bias):
    from logdigit.segment import logit_bias

    with pytest.raises(ValueError, match="logit_bias"):
        logit_bias(dict(DEFAULT_CONFIG, logit_bias=bias))
    assert logit_bias(DEFAULT_CONFIG) is None
    assert logit_bias(dict(DEFAULT_CONFIG, logit_bias=[0, 0, 0])) is None


class _LeftHandedModel(torch.nn.Module):
    """Logits that grow from left to right across each tile: not mirror-symmetric."""

    def forward(self, x):
        n, _, h, w = x.shape
        ramp = torch.linspace(-2.0, 2.0, w).expand(n, 1, h, w)
        return torch.cat([torch.zeros_like(ramp), ramp, -ramp], dim=1)


def test_flip_average_mirrors_each_tile_and_averages_the_logits():
    pixels = np.full((64, 96), 255, np.uint8)
    model = _LeftHandedModel()
    cfg = dict(DEFAULT_CONFIG, tile=64, overlap=16)
    plain = segment_array(pixels, model=model, config=cfg)
    # the left-to-right ramp: solid grows to the right, dashed to the left
    assert plain[0, 10, -1] > plain[0, 10, 0] and plain[1, 10, 0] > plain[1, 10, -1]
    both = segment_array(pixels, model=model, config=dict(cfg, flip_average=True))
    # averaged with its mirror image, the ramp cancels: every class gets 1/3 everywhere
    np.testing.assert_allclose(both.astype(float), 255 / 3, atol=1.0)


def test_ink_model_marks_ink_exactly_across_tile_borders():
    img = np.full((700, 300), 255, np.uint8)
    img[:, 150] = 0  # one vertical line
    img[333, :] = 0  # one horizontal line crossing a tile border region
    cfg = dict(DEFAULT_CONFIG, tile=128, overlap=32)
    calls = []
    out = segment_array(img, model=InkModel(), config=cfg, batch_size=2, progress=calls.append)
    assert (out[0] > 250).sum() == (img == 0).sum()
    assert ((out[0] > 250) == (img == 0)).all()
    assert out[1].max() < 5
    assert sum(calls) == count_tiles(img.shape, config=cfg)


def test_small_and_odd_sizes():
    for shape in [(5, 7), (33, 1025), (1, 40)]:
        img = np.full(shape, 255, np.uint8)
        out = segment_array(img, model=InkModel(), config=dict(DEFAULT_CONFIG, tile=64),
                            batch_size=4)
        assert out.shape == (2, *shape)


def test_to_input_and_track_window():
    x = to_input(np.array([[0, 255]], np.uint8))
    assert x.tolist() == [[1.0, 0.0]]
    assert track_window(10, 100, 105, margin=12) == (0, 105)
    assert track_window(50, 60, 1000, margin=5) == (45, 66)


def test_labels_from_probs():
    from logdigit.segment import labels_from_probs

    probs = np.array([[[200, 10, 100], [130, 129, 0]],
                      [[10, 220, 100], [140, 0, 0]]], np.uint8)
    assert labels_from_probs(probs).tolist() == [[1, 2, 0], [2, 1, 0]]


def test_one_tile_per_pass_on_the_cpu_and_the_same_probabilities_at_any_batch_size():
    from logdigit.segment import default_batch_size

    assert default_batch_size("cpu") == 1
    assert default_batch_size(torch.device("cuda")) == 8
    seen = []

    class Recording(torch.nn.Module):
        def forward(self, x):
            seen.append(x.shape[0])
            return InkModel()(x) + 0.3 * torch.roll(x, 1, dims=3)  # context across columns

    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (900, 200), dtype=np.uint8)
    cfg = dict(DEFAULT_CONFIG, tile=128, overlap=32)
    default = segment_array(img, model=Recording(), config=cfg)
    assert set(seen) == {1} and len(seen) == count_tiles(img.shape, config=cfg)
    seen.clear()
    batched = segment_array(img, model=Recording(), config=cfg, batch_size=3)
    assert max(seen) == 3
    np.testing.assert_array_equal(default, batched)


def test_a_track_up_to_2048_px_wide_is_one_tile_column():
    from logdigit.segment import _tile_plan

    cfg = dict(DEFAULT_CONFIG, tile=384, overlap=32)
    # the bench scan's first track with its margins: one 1,184-px column, no seams
    _, tile_w, rows, cols = _tile_plan((12800, 1168), config=cfg)
    assert (tile_w, len(cols)) == (1184, 1) and len(rows) == 37
    _, tile_w, _, cols = _tile_plan((1000, 2048), config=cfg)
    assert (tile_w, len(cols)) == (2048, 1)
    _, tile_w, _, cols = _tile_plan((1000, 2049), config=cfg)
    assert tile_w == 384 and len(cols) > 1


class _PositionModel(torch.nn.Module):
    """Logits that depend on every pixel of the tile and on its position: blending the
    tiles out of order or into the wrong rows would show."""

    def forward(self, x):
        import threading

        _PositionModel.threads.add(threading.get_ident())
        _PositionModel.intra.add(torch.get_num_threads())
        row = torch.arange(x.shape[2], dtype=x.dtype).reshape(1, 1, -1, 1) / x.shape[2]
        col = x.mean(dim=(2, 3), keepdim=True)
        return torch.cat([torch.zeros_like(x), 3 * x - row, col + torch.roll(x, 2, 3)], 1)


def test_tiles_segmented_side_by_side_blend_to_the_same_probabilities(monkeypatch):
    import threading

    import logdigit.segment as seg

    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (1500, 150), dtype=np.uint8)
    cfg = dict(DEFAULT_CONFIG, tile=128, overlap=32, flip_average=True)
    before = torch.get_num_threads()
    monkeypatch.setattr(seg, "tile_workers", lambda device: 1)
    _PositionModel.threads, _PositionModel.intra = set(), set()
    one = segment_array(img, model=_PositionModel(), config=cfg)
    assert _PositionModel.threads == {threading.get_ident()}
    monkeypatch.setattr(seg, "tile_workers", lambda device: 3)
    _PositionModel.threads, _PositionModel.intra = set(), set()
    calls = []
    three = segment_array(img, model=_PositionModel(), config=cfg, progress=calls.append)
    assert threading.get_ident() not in _PositionModel.threads
    assert len(_PositionModel.threads) > 1  # the tiles were shared out
    assert _PositionModel.intra == {1}  # each pass on one core ...
    assert torch.get_num_threads() == before  # ... and torch's threads given back after
    assert sum(calls) == count_tiles(img.shape, config=cfg)
    np.testing.assert_array_equal(one, three)


def test_tile_workers_follow_torchs_thread_budget():
    from logdigit.segment import tile_workers

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert tile_workers("cpu") == 1
        torch.set_num_threads(2)
        assert tile_workers("cpu") == 2
        assert tile_workers(torch.device("cuda")) == 1  # batches keep a GPU busy instead
    finally:
        torch.set_num_threads(before)


def test_in_order_keeps_the_order_and_a_bounded_window():
    from concurrent.futures import ThreadPoolExecutor

    from logdigit.segment import _in_order

    started, lock = [], __import__("threading").Lock()

    def slow_square(i):
        with lock:
            started.append(i)
        __import__("time").sleep(0.002 * (i % 3))
        return i * i

    with ThreadPoolExecutor(3) as pool:
        got = []
        for v in _in_order(pool, slow_square, list(range(20)), window=4):
            got.append(v)
            assert len(started) <= len(got) + 4  # never more than the window ahead
    assert got == [i * i for i in range(20)]
    with ThreadPoolExecutor(2) as pool:
        assert list(_in_order(pool, slow_square, [], window=2)) == []


def test_a_failing_pass_in_a_worker_is_raised_and_torchs_threads_restored(monkeypatch):
    import logdigit.segment as seg

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("out of memory")

    before = torch.get_num_threads()
    monkeypatch.setattr(seg, "tile_workers", lambda device: 2)
    img = np.full((600, 100), 255, np.uint8)
    with pytest.raises(RuntimeError, match="out of memory"):
        segment_array(img, model=Broken(), config=dict(DEFAULT_CONFIG, tile=128, overlap=32))
    assert torch.get_num_threads() == before


def test_overlapping_segmentations_give_torch_its_threads_back():
    """Two threads of one process segmenting at once (a Dask worker with two threads),
    the first to start finishing first: torch's thread count is restored when the last
    of them finishes, not left at 1 by the second, which saw 1 as the count before it."""
    from logdigit.segment import _torch_threads

    outside = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first, second = _torch_threads(1), _torch_threads(1)
        first.__enter__()
        assert torch.get_num_threads() == 1
        second.__enter__()
        first.__exit__(None, None, None)
        assert torch.get_num_threads() == 1  # the second one still runs on one core each
        second.__exit__(None, None, None)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(outside)


def test_set_cpu_threads_limits_the_workers_and_torch():
    from logdigit.segment import cpu_workers, set_cpu_threads

    before = torch.get_num_threads()
    try:
        set_cpu_threads(1)
        assert cpu_workers() == 1 and torch.get_num_threads() == 1
        set_cpu_threads(None)  # no change
        assert cpu_workers() == 1
        set_cpu_threads(9)
        assert cpu_workers() == 4 and torch.get_num_threads() == 9  # at most 4 workers
    finally:
        torch.set_num_threads(before)


def test_a_network_that_is_not_a_torch_module_is_called_with_numpy_tiles():
    """What an OnnxNetwork is to segment_array: ``logits`` of numpy tiles, no torch."""

    class Numpy:
        calls = 0

        def logits(self, x):
            assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 4
            Numpy.calls += 1
            out = np.zeros((x.shape[0], 3, *x.shape[2:]), np.float32)
            out[:, 1] = 20 * (x[:, 0] - 0.5)  # ink is solid curve
            out[:, 2] = -20
            return out

    pixels = np.full((300, 200), 255, np.uint8)
    pixels[:, 100] = 0
    probs = segment_array(pixels, model=Numpy(), config=dict(DEFAULT_CONFIG, tile=128,
                                                             overlap=32))
    assert Numpy.calls > 1
    assert (probs[0][:, 100] > 250).all() and (probs[0][:, 50] < 5).all()
    assert probs[1].max() < 5
