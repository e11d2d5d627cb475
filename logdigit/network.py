"""The segmentation network as a conversion runs it: tiles in, class logits out.

A model is a folder (under ``models/`` for the shipped ones)::

    models/NAME/
        config.json          architecture and input convention (logdigit.model.DEFAULT_CONFIG)
        model.safetensors    weights
        MODEL_CARD.md        how it was trained and what it measured
        inference.onnx       optional: the same weights, BatchNorm folded, as ONNX
                             (logdigit.model.export_inference), for the CPU; its
                             convolutions in 8-bit integers with "int8": true

This module finds a folder and reads its config without importing torch. On the CPU,
:func:`load_network` runs the folder's ``inference.onnx`` in ONNX Runtime and the
network's full-resolution layers in :mod:`logdigit.fullres`: a conversion then never
imports torch, which took about 1.2 s of every ``logdigit`` run on the 2-core CPU (a
tenth of the bench scan's time), and two tiles run side by side on the two cores as fast
as in torch or faster. Elsewhere (CUDA, a folder without a current ONNX copy,
onnxruntime not installed) :func:`logdigit.model.load_model` builds the network in torch.
Both are run by :func:`logdigit.segment.segment_array`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

from .errors import ModelError
from .fullres import TailWeights

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "logdigit-small"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

#: The ONNX copy of a model folder's network for CPU inference.
ONNX_FILE = "inference.onnx"
#: Metadata keys of :data:`ONNX_FILE`: the SHA-256 of the ``model.safetensors`` it was made
#: from, and (for a network split at half resolution) the full-resolution layers' weights
#: as JSON ``{"name": [shape, [values]]}`` with the names of :class:`TailWeights`.
DIGEST_KEY, TAIL_KEY = "weights_sha256", "tail_weights"
#: Metadata key of an 8-bit copy (value ``"int8"``; absent in a float one).
QUANT_KEY = "quantized"


def resolve_model_path(name_or_path: str | os.PathLike | None) -> Path:
    """Find a model folder: an existing path, else a name under ``models/``.

    ``$LOGDIGIT_MODELS`` (a folder) is searched before the bundled ``models/``.
    """
    name = str(name_or_path or DEFAULT_MODEL)
    p = Path(name).expanduser()
    if p.exists():
        return p
    roots = [Path(os.environ["LOGDIGIT_MODELS"])] if os.environ.get("LOGDIGIT_MODELS") else []
    roots.append(MODELS_DIR)
    for root in roots:
        if (root / name).exists():
            return root / name
    raise ModelError(f"{name}: no such model folder (looked in {', '.join(map(str, roots))})")


def read_config(folder: Path) -> dict:
    """A model folder's ``config.json`` plus ``"path"``, checked.

    Raises
    ------
    ModelError
        Not a folder, no ``config.json`` or ``model.safetensors``, an unreadable config,
        or a ``logit_bias`` / ``flip_average`` / ``int8`` of the wrong kind.
    """
    from .segment import flip_average, logit_bias

    folder = Path(folder)
    cfg_path, w_path = folder / "config.json", folder / "model.safetensors"
    if not folder.is_dir():
        raise ModelError(f"{folder}: is not a model folder")
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise ModelError(f"{folder}: model folder has no {p.name}")
    try:
        config = json.loads(cfg_path.read_text())
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise ModelError(f"{cfg_path}: unreadable model config ({exc})") from None
    try:
        logit_bias(config)
        flip_average(config)
        int8(config)
    except ValueError as exc:
        raise ModelError(f"{cfg_path}: {exc}") from None
    return dict(config, path=str(folder))


def int8(config: dict) -> bool:
    """Whether the folder's ONNX copy is quantized to 8-bit integers (``config["int8"]``,
    optional, default false; :func:`logdigit.model.export_inference`): on this project's
    CPU (AVX-512 VNNI) a tile of the larger encoder ran in 43 ms against 57 ms.

    Raises
    ------
    ValueError
        Not true or false.
    """
    from .segment import config_flag

    return config_flag(config, "int8")


def weights_digest(path: Path) -> str:
    """SHA-256 (hex) of a file: what ties an inference copy to ``model.safetensors``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def encode_tail(tail: TailWeights) -> str:
    """:class:`TailWeights` as the JSON text of :data:`TAIL_KEY` (float32 values exact)."""
    return json.dumps({name: [list(a.shape), np.asarray(a, np.float32).ravel().tolist()]
                       for name, a in zip(TailWeights._fields, tail, strict=True)})


def decode_tail(text: str) -> TailWeights:
    """The inverse of :func:`encode_tail`; ValueError for anything else."""
    try:
        data = json.loads(text)
        return TailWeights(*(np.asarray(data[name][1], np.float32).reshape(data[name][0])
                             for name in TailWeights._fields))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"bad {TAIL_KEY} metadata ({exc})") from None


class OnnxNetwork:
    """A model folder's ``inference.onnx`` in ONNX Runtime, on the CPU.

    Each :meth:`logits` call runs on the calling thread alone (one intra-op thread):
    :func:`logdigit.segment.segment_array` shares tiles out to one thread per core.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        Input ``(N, 1, h, w)`` float32; output the logits ``(N, K, h, w)``, or with
        ``tail`` the last decoder block's phases at half resolution, channels last,
        ``(N, h / 2, w / 2, 4 C)`` (:func:`logdigit.fullres.logits`).
    tail : TailWeights, optional
        The full-resolution layers, run by :mod:`logdigit.fullres`.
    """

    device = "cpu"

    def __init__(self, session, *, tail: TailWeights | None = None):
        self.session = session
        self.tail = tail
        self._input = session.get_inputs()[0].name

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class logits ``(N, K, h, w)`` float32 of tiles ``x`` ``(N, 1, h, w)`` float32
        (``h``, ``w`` multiples of 32)."""
        from . import fullres

        out = self.session.run(None, {self._input: np.ascontiguousarray(x, np.float32)})[0]
        return out if self.tail is None else fullres.logits(out, self.tail)


def load_onnx(folder: Path, *, quantized: bool = False) -> OnnxNetwork | None:
    """The folder's ONNX copy if it exists, was made from its weights (8-bit when
    ``quantized``, float otherwise), onnxruntime is installed and the file loads; else
    None (with a warning for an unusable file)."""
    path = Path(folder) / ONNX_FILE
    if not path.is_file():
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        logger.debug("onnxruntime is not installed: the network runs in torch")
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: its warnings go to stderr, not our log
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta().custom_metadata_map
        tail = decode_tail(meta[TAIL_KEY]) if TAIL_KEY in meta else None
    except Exception as exc:  # noqa: BLE001 - an optional copy: any failure, build instead
        logger.warning("%s: unreadable (%s); building the network instead", path,
                       " ".join(str(exc).split())[:120])
        return None
    if meta.get(DIGEST_KEY) != weights_digest(Path(folder) / "model.safetensors"):
        logger.warning("%s: made from other weights than model.safetensors; building the "
                       "network instead", path)
        return None
    if (meta.get(QUANT_KEY) == "int8") != quantized:
        logger.warning("%s: %s, but the config says %s; building the network instead (make "
                       "the copy again: tools/export_inference.py)", path,
                       "8-bit" if not quantized else "float",
                       '"int8": true' if quantized else "float")
        return None
    logger.debug("loaded %s", path)
    return OnnxNetwork(session, tail=tail)


def cuda_possible() -> bool:
    """False where no CUDA device can exist, known without importing torch: Linux without
    the NVIDIA driver's device files, or macOS. True elsewhere (torch decides)."""
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/nvidia0",
                                              "/proc/driver/nvidia", "/dev/dxg"))
    return True


def check_device(spec: str | None) -> None:
    """UsageError for a device that is not auto, cpu, cuda or cuda:N, or for CUDA on a
    machine without one (torch is imported only to look for a GPU)."""
    from .errors import UsageError

    spec = (spec or "auto").lower()
    if spec in ("auto", "cpu"):
        return
    if (spec == "cuda" or spec.startswith("cuda:")) and not cuda_possible():
        raise UsageError(f"--device {spec}: no CUDA device is available on this machine")
    from .model import choose_device

    choose_device(spec)


def load_network(name_or_path: str | os.PathLike | None, *, device: str = "auto"):
    """Load a model folder for inference.

    Parameters
    ----------
    name_or_path : str or path, optional
        A folder, or a name under ``$LOGDIGIT_MODELS`` or ``models/``; default
        :data:`DEFAULT_MODEL`.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``auto`` is CUDA when available.

    Returns
    -------
    net : OnnxNetwork or torch.nn.Module
        On the CPU the folder's :class:`OnnxNetwork` when it has a current one, else the
        torch network with BatchNorm folded (:func:`logdigit.model.load_model`).
    config : dict
        The folder's config plus ``"path"``.
    device : str or torch.device
        Where it runs, for :func:`logdigit.segment.segment_array`.

    Raises
    ------
    ModelError
        See :func:`read_config` and :func:`logdigit.model.load_model`.
    UsageError
        An unknown device, or CUDA asked for where there is none.
    """
    spec = (device or "auto").lower()
    folder = resolve_model_path(name_or_path)
    if spec == "cpu" or (spec == "auto" and not cuda_possible()):
        config = read_config(folder)
        net = load_onnx(folder, quantized=int8(config))
        if net is not None:
            return net, config, "cpu"
    from .model import choose_device, load_model

    dev = choose_device(spec)
    net, config = load_model(folder, device=dev, fuse=True)
    return net, config, dev
