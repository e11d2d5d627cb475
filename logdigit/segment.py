"""Run the segmentation network over a scan, tile by tile, and blend the tiles.

Only the layout's track columns are segmented. Rows are processed as a stream of
overlapping tile bands, so memory is bounded by a few batches of tiles in flight plus the
output probabilities, which are kept as uint8 (0..255) for the two curve classes. On the
CPU the tiles are shared out to threads that each run the network on one core
(:func:`tile_workers`), and blended in order.

The network is a :class:`logdigit.network.OnnxNetwork` (the CPU, without torch) or a torch
module (:func:`logdigit.model.load_model`); either gives logits for a batch of tiles
(:func:`tile_runner`), and the class probabilities are computed from them here
(:func:`logdigit.fullres.curve_probs`). Torch is imported only for a torch module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable

import numpy as np

from . import fullres
from .fullres import TailWeights
from .tiling import blend_window, round_up, tile_starts

logger = logging.getLogger(__name__)

#: The network's spatial size must be a multiple of this (2 ** encoder depth, with margin).
MULTIPLE = 32
#: Tiles at most this wide span the whole track: no column seams. On the 2-core CPU a
#: 1,168-px track (a bench scan's) in one 384 x 1,184 tile per band segmented faster than
#: in four 384 x 384 tiles that cover 46 % more pixels (curves of such tracks change a
#: little: 117 -> 116 pick + dev curves at R2 >= 0.95, see the model card).
MAX_TILE_WIDTH = 2048


def to_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels (0 ink .. 255 paper) -> float32 network input (ink 1 .. paper 0)."""
    return 1.0 - pixels.astype(np.float32) / 255.0


def device_type(device) -> str:
    """``"cpu"`` or ``"cuda"`` of a torch device or its name, without importing torch."""
    return str(getattr(device, "type", None) or device).split(":")[0].lower()


def default_batch_size(device) -> int:
    """Tiles per forward pass: 1 on the CPU, 8 on CUDA.

    On the CPU the network is compute-bound and a single tile's activations stay closer to
    the caches: on a 12,800 x 850 px track, one tile per pass segmented in 1.75-1.81 s
    against 2.71-2.77 s for four (alternating runs, 2 cores, same probabilities).
    A GPU needs batches to be kept busy.
    """
    return 8 if device_type(device) == "cuda" else 1


def logit_bias(config: dict) -> np.ndarray | None:
    """The per-class offsets added to the network's logits before the softmax, or None.

    ``config["logit_bias"]`` (one number per class, optional) calibrates a trained network
    without retraining it: a positive offset for a class makes it win more of the pixels
    the network is unsure about (the shipped model's is chosen on pick and dev cases; see
    its model card).

    Raises
    ------
    ValueError
        Not one finite number per class.
    """
    bias = config.get("logit_bias")
    if bias is None:
        return None
    n = int(config.get("classes", 3))
    try:
        values = np.asarray(bias, dtype=np.float32)
    except (TypeError, ValueError):
        values = np.zeros(0, np.float32)
    if values.shape != (n,) or not np.isfinite(values).all():
        raise ValueError(f"logit_bias must be {n} numbers, one per class, got {bias!r}")
    return values if values.any() else None


def flip_average(config: dict) -> bool:
    """Whether each tile is also segmented mirrored left to right (``config["flip_average"]``,
    optional, default false) and the two logits averaged: twice the network's work for
    steadier probabilities (the shipped model's card gives what it buys).

    Raises
    ------
    ValueError
        Not true or false.
    """
    return config_flag(config, "flip_average")


def config_flag(config: dict, key: str) -> bool:
    """``config[key]``, a true-or-false setting that defaults to false.

    Raises
    ------
    ValueError
        Not true or false.
    """
    value = config.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def with_flip_average(config: dict, flip: bool | None) -> dict:
    """``config`` with ``flip_average`` set to ``flip``; None leaves it as it is."""
    return config if flip is None else dict(config, flip_average=flip)


#: The thread count :func:`set_cpu_threads` gave this process (empty: not given).
_CPU_THREADS: list[int] = []


def set_cpu_threads(n: int | None) -> None:
    """Share work out to at most ``n`` threads in this process (``--threads``; a batch
    worker's share of the cores); torch's intra-op threads too when torch is loaded (a
    torch network loaded later is given them by :func:`tile_runner`). None: no change."""
    if n is None:
        return
    _CPU_THREADS[:] = [max(1, int(n))]
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(_CPU_THREADS[0])


def cpu_workers() -> int:
    """Threads for work shared out on the CPU (tiles here, tracks in
    :func:`logdigit.convert.convert_scan`), at most 4: what :func:`set_cpu_threads` gave,
    else torch's thread count when torch is loaded, else the cores this process may use."""
    torch = sys.modules.get("torch")
    if _CPU_THREADS:
        n = _CPU_THREADS[0]
    elif torch is not None:
        n = torch.get_num_threads()
    else:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # not on Linux
            n = os.cpu_count() or 1
    return max(1, min(4, n))


def tile_workers(device) -> int:
    """Tiles segmented at once: on the CPU :func:`cpu_workers`, each thread running the
    network on one core; 1 on CUDA.

    Two single-threaded passes side by side beat one pass on two threads for this small
    network: the bench scan's segment stage (``python -m logdigit SCAN --json``, 2 cores,
    alternating runs) took 5.17-5.49 s against 5.56-5.76 s.
    """
    if device_type(device) != "cpu":
        return 1
    return cpu_workers()


_THREADS_LOCK = threading.Lock()
_THREADS_HELD = [0, 0]  # blocks inside _torch_threads, torch's thread count before the first


@contextlib.contextmanager
def _torch_threads(n: int):
    """torch's intra-op threads set to ``n`` within the block, restored after the last of
    any overlapping blocks (several threads of one process may segment at once)."""
    import torch

    with _THREADS_LOCK:
        if _THREADS_HELD[0] == 0:
            _THREADS_HELD[1] = torch.get_num_threads()
            torch.set_num_threads(n)
        _THREADS_HELD[0] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_HELD[0] -= 1
            if _THREADS_HELD[0] == 0:
                torch.set_num_threads(_THREADS_HELD[1])


def _in_order(pool, fn, items: list, *, window: int):
    """``map(fn, items)`` on ``pool``, at most ``window`` items in flight, in order."""
    from collections import deque

    pending: deque = deque()
    it = iter(items)
    for item in it:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            break
    while pending:
        yield pending.popleft().result()
        for item in it:
            pending.append(pool.submit(fn, item))
            break


def _autocast(device):
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def segment_array(
    pixels: np.ndarray,
    *,
    model,
    config: dict,
    device="cpu",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Class probabilities for a 2-D image.

    Parameters
    ----------
    pixels : (rows, cols) uint8
        0 = ink, 255 = paper.
    model : OnnxNetwork or torch.nn.Module
        Maps (N, 1, h, w) float input to (N, C, h, w) logits (:func:`tile_runner`).
    config : dict
        Model config; uses ``tile`` (rows per tile), ``overlap`` (px) and the optional
        ``logit_bias`` (:func:`logit_bias`) and ``flip_average`` (:func:`flip_average`).
    device : str or torch device
        Where a torch module runs; autocast (float16) is used on CUDA only.
    batch_size : int, optional
        Tiles per forward pass; default :func:`default_batch_size` of ``device``.
    progress : callable, optional
        Called with the number of tiles finished after each batch (from the calling
        thread).

    Notes
    -----
    With :func:`tile_workers` > 1, batches are segmented by that many threads at once
    (a torch module with torch's own thread count set to 1 meanwhile, restored
    afterwards); at most twice that many batches are in flight, and the result is the same
    as one batch at a time.

    Returns
    -------
    (C - 1, rows, cols) uint8
        Probability of each curve class (1, 2, ...) scaled to 0..255.
    """
    batch_size = int(batch_size) if batch_size else default_batch_size(device)
    H, W = pixels.shape
    tile_h, tile_w, row_starts, col_starts = _tile_plan((H, W), config=config)
    win = blend_window((tile_h, tile_w)).astype(np.float32)
    n_out = int(config.get("classes", 3)) - 1
    out = np.empty((n_out, H, W), np.uint8)
    bias = logit_bias(config)
    flip = flip_average(config)

    tiles = [(int(r), int(c)) for r in row_starts for c in col_starts]
    batches = [tiles[b0 : b0 + batch_size] for b0 in range(0, len(tiles), batch_size)]
    run = tile_runner(model, device)

    def forward(batch: list[tuple[int, int]]) -> np.ndarray:
        x = np.zeros((len(batch), 1, tile_h, tile_w), np.float32)
        for i, (r, c) in enumerate(batch):
            patch = pixels[r : r + tile_h, c : c + tile_w]
            x[i, 0, : patch.shape[0], : patch.shape[1]] = to_input(patch)
        logits = run(x)
        # the mirrored tiles' opinion is averaged in, mirrored back (fullres.curve_probs)
        mirrored = run(np.ascontiguousarray(x[..., ::-1])) if flip else None
        # weighted for the blend here, in the worker
        return fullres.curve_probs(logits, win, mirrored=mirrored, bias=bias)

    workers = tile_workers(device) if len(batches) > 1 else 1
    # rolling accumulator over rows [acc0, acc0 + acc.shape[1])
    acc = np.zeros((n_out, 0, W), np.float32)
    wsum = np.zeros((0, W), np.float32)
    acc0 = 0
    with contextlib.ExitStack() as stack:
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            if _is_torch_module(model):
                stack.enter_context(_torch_threads(1))
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=workers))
            results = _in_order(pool, forward, batches, window=2 * workers)
        else:
            results = map(forward, batches)
        for bi, (batch, prob) in enumerate(zip(batches, results, strict=True)):
            need = min(max(r for r, _ in batch) + tile_h, H)
            if acc0 + acc.shape[1] < need:
                grow = need - acc0 - acc.shape[1]
                acc = np.concatenate([acc, np.zeros((n_out, grow, W), np.float32)], axis=1)
                wsum = np.concatenate([wsum, np.zeros((grow, W), np.float32)], axis=0)
            for i, (r, c) in enumerate(batch):
                h, w = min(tile_h, H - r), min(tile_w, W - c)
                ww = win[:h, :w]
                acc[:, r - acc0 : r - acc0 + h, c : c + w] += prob[i, :, :h, :w]
                wsum[r - acc0 : r - acc0 + h, c : c + w] += ww
            # rows above the next tile's start are final
            nxt = batches[bi + 1][0][0] if bi + 1 < len(batches) else H
            n_final = nxt - acc0
            if n_final > 0:
                blended = acc[:, :n_final] / wsum[:n_final]
                out[:, acc0:nxt] = np.clip(blended * 255.0 + 0.5, 0, 255).astype(np.uint8)
                acc, wsum = acc[:, n_final:], wsum[n_final:]
                acc0 = nxt
            if progress is not None:
                progress(len(batch))
    return out


def _is_torch_module(model) -> bool:
    torch = sys.modules.get("torch")  # a torch module means torch is loaded
    return torch is not None and isinstance(model, torch.nn.Module)


def tile_runner(model, device="cpu") -> Callable[[np.ndarray], np.ndarray]:
    """The function :func:`segment_array` runs on each batch of tiles.

    Parameters
    ----------
    model : OnnxNetwork or torch.nn.Module
        A network with a ``logits`` method (:class:`logdigit.network.OnnxNetwork`) is
        called as it is; a torch module runs on ``device`` (float16 autocast on CUDA),
        a :class:`logdigit.model.SplitTail` on the CPU with its full-resolution layers in
        :mod:`logdigit.fullres` (:func:`tile_logits`).

    Returns
    -------
    callable
        ``(N, 1, h, w)`` float32 tiles -> ``(N, K, h, w)`` float32 logits, as numpy arrays.
    """
    if not _is_torch_module(model):
        return model.logits
    import torch

    if _CPU_THREADS and torch.get_num_threads() != _CPU_THREADS[0]:
        torch.set_num_threads(_CPU_THREADS[0])  # torch was loaded after set_cpu_threads
    device = torch.device(device)
    tail = tail_weights(model) if device.type == "cpu" else None

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), _autocast(device):
            logits = tile_logits(model, torch.from_numpy(x).to(device), tail=tail)
            return logits.float().cpu().numpy()

    return run


def tail_weights(model) -> TailWeights | None:
    """The full-resolution layers of a :class:`logdigit.model.SplitTail` as float32
    arrays, or None for any other network."""
    from .model import SplitTail

    if not isinstance(model, SplitTail):
        return None
    return TailWeights(*(np.ascontiguousarray(getattr(model, n).detach().float().cpu().numpy())
                         for n in SplitTail.NAMES))


def tile_logits(model, x, *, tail: TailWeights | None = None):
    """The network's logits for a batch of tiles, as :func:`segment_array` runs it.

    Parameters
    ----------
    x : (N, 1, h, w) float tensor
    tail : TailWeights, optional
        :func:`tail_weights` of ``model`` (a :class:`logdigit.model.SplitTail` on the
        CPU): the body runs in torch and the full-resolution layers in
        :mod:`logdigit.fullres`. Without it the whole network runs in torch.

    Returns
    -------
    (N, K, h, w) tensor
    """
    import torch

    x = x.contiguous(memory_format=torch.channels_last)
    if tail is None:
        return model(x)
    u = model.body(x)
    # (N, h / 2, w / 2, 4 C): a view when u is channels last, as the body gives it
    return torch.from_numpy(fullres.logits(u.permute(0, 2, 3, 1).float().numpy(), tail))


def labels_from_probs(probs: np.ndarray, *, threshold: int = 128) -> np.ndarray:
    """Class map from curve-class probabilities.

    Parameters
    ----------
    probs : (C - 1, rows, cols) uint8
        As returned by :func:`segment_array` (classes 1, 2, ...).

    Returns
    -------
    (rows, cols) uint8
        The most probable curve class where its probability reaches ``threshold``
        (0..255), else 0 (background).
    """
    best = probs.argmax(0)
    top = np.take_along_axis(probs, best[None], 0)[0]
    return np.where(top >= threshold, best + 1, 0).astype(np.uint8)


def _tile_plan(shape: tuple[int, int], *, config: dict):
    """Tile size and start offsets for an image of ``shape`` (rows, cols).

    Tracks up to MAX_TILE_WIDTH px wide are covered by one tile column (no column seams);
    tiles are never larger than the image needs, and the overlap is at most half a tile.
    """
    H, W = shape
    tile = int(config.get("tile", 512))
    overlap = int(config.get("overlap", 64))
    if W <= MAX_TILE_WIDTH:
        tile_w = round_up(W, MULTIPLE)
        col_starts = np.zeros(1, np.int64)
    else:
        tile_w = round_up(min(tile, W), MULTIPLE)
        col_starts = tile_starts(W, tile=tile_w, overlap=min(overlap, tile_w // 2))
    tile_h = round_up(min(tile, H), MULTIPLE)
    row_starts = tile_starts(H, tile=tile_h, overlap=min(overlap, tile_h // 2))
    return tile_h, tile_w, row_starts, col_starts


def count_tiles(shape: tuple[int, int], *, config: dict) -> int:
    """How many tiles :func:`segment_array` runs for an image of ``shape`` (rows, cols)."""
    _, _, rows, cols = _tile_plan(shape, config=config)
    return len(rows) * len(cols)


def track_window(left_px: float, right_px: float, n_cols: int, *, margin: int = 12):
    """Columns ``[c0, c1)`` segmented for a track: its edges plus a margin, inside the image."""
    c0 = max(0, int(np.floor(left_px)) - margin)
    c1 = min(n_cols, int(np.ceil(right_px)) + margin + 1)
    return c0, c1
