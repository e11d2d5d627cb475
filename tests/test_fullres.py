import numpy as np
import pytest
import torch
import torch.nn.functional as F

from logdigit.fullres import TailWeights, curve_probs, logits


def _weights(rng, *, c: int, o: int, k: int) -> TailWeights:
    def f(*shape):
        return rng.normal(size=shape).astype(np.float32)

    return TailWeights(f(o, c, 3, 3), f(o), f(k, o, 3, 3), f(k))


def _reference(phases: np.ndarray, w: TailWeights) -> np.ndarray:
    """The torch layers: pixel_shuffle, ReLU, 3x3 conv, ReLU, 3x3 conv (zero padding 1)."""
    u = torch.from_numpy(phases).permute(0, 3, 1, 2)
    y = torch.relu(F.pixel_shuffle(u, 2))
    y = torch.relu(F.conv2d(y, torch.from_numpy(w.conv_weight), torch.from_numpy(w.conv_bias),
                            padding=1))
    y = F.conv2d(y, torch.from_numpy(w.head_weight), torch.from_numpy(w.head_bias), padding=1)
    return y.numpy()


@pytest.mark.parametrize("n,h,w,c,o,k", [
    (1, 6, 9, 4, 4, 3),   # the shipped network's channels
    (2, 1, 1, 4, 4, 3),   # one input pixel: every output row and column is a border
    (1, 3, 2, 1, 2, 5),   # other channel counts
    (3, 7, 5, 2, 3, 1),
])
def test_logits_equal_the_torch_layers(n, h, w, c, o, k):
    rng = np.random.default_rng(n * 100 + h * 10 + w)
    wts = _weights(rng, c=c, o=o, k=k)
    phases = rng.normal(size=(n, h, w, 4 * c)).astype(np.float32)
    out = logits(phases, wts)
    assert out.shape == (n, k, 2 * h, 2 * w) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(phases, wts), rtol=1e-4, atol=1e-4)


def test_logits_take_a_non_contiguous_view():
    """The segmenter passes the body's channels-last output as a permuted view."""
    rng = np.random.default_rng(5)
    wts = _weights(rng, c=4, o=4, k=3)
    nchw = rng.normal(size=(2, 16, 5, 8)).astype(np.float32)
    view = nchw.transpose(0, 2, 3, 1)
    assert not view.flags.c_contiguous
    np.testing.assert_allclose(logits(view, wts), _reference(np.ascontiguousarray(view), wts),
                               rtol=1e-4, atol=1e-4)


def test_phases_that_do_not_fit_the_weights_are_refused():
    rng = np.random.default_rng(0)
    wts = _weights(rng, c=4, o=4, k=3)
    with pytest.raises(ValueError, match="do not fit"):
        logits(np.zeros((1, 4, 4, 12), np.float32), wts)
    with pytest.raises(ValueError, match="do not fit"):
        logits(np.zeros((4, 4, 16), np.float32), wts)


@pytest.mark.parametrize("mirror,bias", [(False, None), (True, None), (True, [0.0, 0.3, 0.6]),
                                         (False, [1.0, -2.0, 0.5])])
def test_curve_probs_are_the_softmax_of_the_averaged_offset_logits(mirror, bias):
    rng = np.random.default_rng(1)
    a = (rng.normal(size=(2, 3, 5, 7)) * 4).astype(np.float32)
    m = (rng.normal(size=(2, 3, 5, 7)) * 4).astype(np.float32) if mirror else None
    win = rng.uniform(0.1, 1.0, size=(5, 7)).astype(np.float32)
    t = torch.from_numpy(a)
    if mirror:  # the mirrored tile's logits, mirrored back
        t = 0.5 * (t + torch.from_numpy(m).flip(3))
    if bias is not None:
        t = t + torch.tensor(bias).view(1, -1, 1, 1)
    want = (t.softmax(1)[:, 1:] * torch.from_numpy(win)).numpy()
    got = curve_probs(a, win, mirrored=m, bias=None if bias is None else np.array(bias))
    assert got.shape == (2, 2, 5, 7) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-5)


def test_curve_probs_keep_extreme_logits_finite():
    a = np.array([[[[1000.0, -1000.0]], [[-1000.0, 1000.0]], [[0.0, 0.0]]]], np.float32)
    got = curve_probs(a, np.ones((1, 2), np.float32))
    np.testing.assert_allclose(got[0, :, 0], [[0.0, 1.0], [0.0, 0.0]], atol=1e-6)


def test_curve_probs_refuse_mismatched_inputs():
    a = np.zeros((1, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match="mirrored"):
        curve_probs(a, np.ones((4, 4), np.float32), mirrored=np.zeros((1, 3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="2 logit offsets for 3 classes"):
        curve_probs(a, np.ones((4, 4), np.float32), bias=np.zeros(2))
