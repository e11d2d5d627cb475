"""The segmenter's full-resolution layers on the CPU, as numba kernels.

The shipped U-Net ends with three layers at the tile's full resolution: the last decoder
block's upsampled features (4 channels, see :class:`logdigit.model.SplitTail`), a 3x3
convolution to 4 channels with ReLU, and the 3x3 segmentation head to 3 class logits.
With so few channels the CPU convolution library runs them at a few GFLOP/s: on the
bench scan's 384 x 1,184 tiles they took about a quarter of each forward pass. Here they
run row by row, vectorised along the row, with the upsampling done on the fly
(:func:`logits`).

The class probabilities the segmenter keeps are computed from the logits here too
(:func:`curve_probs`: the mirrored tile's logits averaged in, the config's offsets added,
the softmax, the blend weight), so that no torch is needed after the network.

The results equal the torch layers' to float rounding (tested); the kernels release the
GIL, so the tile workers of :func:`logdigit.segment.segment_array` run them side by side.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


class TailWeights(NamedTuple):
    """The full-resolution layers' weights, float32.

    Attributes
    ----------
    conv_weight : (O, C, 3, 3)
    conv_bias : (O,)
    head_weight : (K, O, 3, 3)
        ``K`` classes.
    head_bias : (K,)
    """

    conv_weight: np.ndarray
    conv_bias: np.ndarray
    head_weight: np.ndarray
    head_bias: np.ndarray


@numba.njit(cache=True, nogil=True, fastmath=True)
def _conv_row(rows, weight, bias, o, out):  # pragma: no cover - compiled
    """out[:] = bias[o] + sum over c, dy of the 3 taps of weight[o, c, dy] along rows[dy][c]."""
    n = out.shape[0]
    for s in range(n):
        out[s] = bias[o]
    for c in range(weight.shape[1]):
        for dy in range(3):
            row = rows[dy][c]
            w0 = weight[o, c, dy, 0]
            w1 = weight[o, c, dy, 1]
            w2 = weight[o, c, dy, 2]
            for s in range(n):
                out[s] += w0 * row[s] + w1 * row[s + 1] + w2 * row[s + 2]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _tail(phases, conv_w, conv_b, head_w, head_b, out):  # pragma: no cover - compiled
    """One tile: phases (h, w, 4 C) -> out (K, 2 h, 2 w); see :func:`logits`."""
    h, w, p = phases.shape
    n_in = p // 4
    n_mid = conv_w.shape[0]
    n_cls = head_w.shape[0]
    H, W = 2 * h, 2 * w
    # three rows each of the upsampled input and of the middle layer, zero-padded by one
    # column each side; row i lives in slot i % 3; rows outside the tile are zero
    up = np.zeros((3, n_in, W + 2), np.float32)
    mid = np.zeros((3, n_mid, W + 2), np.float32)
    zero_in = np.zeros((n_in, W + 2), np.float32)
    zero_mid = np.zeros((n_mid, W + 2), np.float32)
    acc = np.empty(W, np.float32)
    for r in range(H + 2):
        if r < H:  # upsampled row r: phase (r % 2, b) of input row r // 2, with ReLU
            i, a = r // 2, r % 2
            slot = up[r % 3]
            for c in range(n_in):
                dst = slot[c]
                for j in range(w):
                    v0 = phases[i, j, 4 * c + 2 * a]
                    v1 = phases[i, j, 4 * c + 2 * a + 1]
                    dst[1 + 2 * j] = v0 if v0 > 0.0 else 0.0
                    dst[2 + 2 * j] = v1 if v1 > 0.0 else 0.0
        q = r - 1
        if 0 <= q < H:  # middle row q from upsampled rows q - 1 .. q + 1, with ReLU
            rows = (up[(q - 1) % 3] if q >= 1 else zero_in, up[q % 3],
                    up[(q + 1) % 3] if q + 1 < H else zero_in)
            for o in range(n_mid):
                _conv_row(rows, conv_w, conv_b, o, acc)
                dst = mid[q % 3, o]
                for s in range(W):
                    v = acc[s]
                    dst[s + 1] = v if v > 0.0 else 0.0
        q = r - 2
        if 0 <= q < H:  # logits row q from middle rows q - 1 .. q + 1
            rows = (mid[(q - 1) % 3] if q >= 1 else zero_mid, mid[q % 3],
                    mid[(q + 1) % 3] if q + 1 < H else zero_mid)
            for k in range(n_cls):
                _conv_row(rows, head_w, head_b, k, out[k, q])


def logits(phases: np.ndarray, weights: TailWeights) -> np.ndarray:
    """Class logits at full resolution from the last decoder block's phases.

    Parameters
    ----------
    phases : (N, h, w, 4 C) float32
        The last decoder block's upsampling convolution at half resolution, channels last:
        channel ``4 c + 2 a + b`` is input channel ``c`` of output pixel ``(2 i + a,
        2 j + b)`` (``pixel_shuffle``'s order), before its ReLU.
    weights : TailWeights
        ``C`` input channels.

    Returns
    -------
    (N, K, 2 h, 2 w) float32
        ``head(relu(conv(relu(pixel_shuffle(phases)))))``, both convolutions 3x3 with
        zero padding 1.
    """
    phases = np.asarray(phases, dtype=np.float32)
    if phases.ndim != 4 or phases.shape[3] != 4 * weights.conv_weight.shape[1]:
        raise ValueError(f"phases of shape {phases.shape} do not fit weights with "
                         f"{weights.conv_weight.shape[1]} input channels")
    n, h, w, _ = phases.shape
    out = np.empty((n, weights.head_weight.shape[0], 2 * h, 2 * w), np.float32)
    for i in range(n):
        _tail(np.ascontiguousarray(phases[i]), *weights, out[i])
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _curve_probs(logits, mirrored, bias, win, out):  # pragma: no cover - compiled
    """See :func:`curve_probs`; ``mirrored`` and ``bias`` of size 0 when not given."""
    n, n_cls, h, w = logits.shape
    has_mirror = mirrored.size > 0
    has_bias = bias.size > 0
    t = np.empty((n_cls, w), np.float32)
    top = np.empty(w, np.float32)
    total = np.empty(w, np.float32)
    for i in range(n):
        for r in range(h):
            for k in range(n_cls):
                row = logits[i, k, r]
                dst = t[k]
                if has_mirror:
                    mrow = mirrored[i, k, r]
                    for s in range(w):
                        dst[s] = 0.5 * (row[s] + mrow[w - 1 - s])
                else:
                    for s in range(w):
                        dst[s] = row[s]
                if has_bias:
                    b = bias[k]
                    for s in range(w):
                        dst[s] += b
            for s in range(w):
                top[s] = t[0, s]
                total[s] = 0.0
            for k in range(1, n_cls):
                for s in range(w):
                    top[s] = max(top[s], t[k, s])
            for k in range(n_cls):
                for s in range(w):
                    e = np.exp(t[k, s] - top[s])
                    t[k, s] = e
                    total[s] += e
            wr = win[r]
            for k in range(1, n_cls):
                dst = out[i, k - 1, r]
                for s in range(w):
                    dst[s] = t[k, s] / total[s] * wr[s]


def curve_probs(logits: np.ndarray, win: np.ndarray, *, mirrored: np.ndarray | None = None,
                bias: np.ndarray | None = None) -> np.ndarray:
    """The curve classes' probabilities of a batch of tiles, weighted for the blend.

    Parameters
    ----------
    logits : (N, K, h, w) float32
        The network's logits, class 0 the background.
    win : (h, w) float32
        The blend weight of each tile pixel (:func:`logdigit.tiling.blend_window`).
    mirrored : (N, K, h, w) float32, optional
        The logits of the tiles mirrored left to right: averaged in, mirrored back.
    bias : (K,) float32, optional
        Added to the (averaged) logits before the softmax (:func:`logdigit.segment.logit_bias`).

    Returns
    -------
    (N, K - 1, h, w) float32
        ``softmax(logits + bias)[:, 1:] * win``.
    """
    logits = np.ascontiguousarray(logits, np.float32)
    n, k, h, w = logits.shape
    empty = np.zeros((0, 0, 0, 0), np.float32)
    mirrored = empty if mirrored is None else np.ascontiguousarray(mirrored, np.float32)
    if mirrored.size and mirrored.shape != logits.shape:
        raise ValueError(f"mirrored logits {mirrored.shape} differ from logits {logits.shape}")
    bias = np.zeros(0, np.float32) if bias is None else np.asarray(bias, np.float32).ravel()
    if bias.size and bias.size != k:
        raise ValueError(f"{bias.size} logit offsets for {k} classes")
    win = np.ascontiguousarray(np.broadcast_to(win, (h, w)), np.float32)
    out = np.empty((n, k - 1, h, w), np.float32)
    _curve_probs(logits, mirrored, bias, win, out)
    return out
