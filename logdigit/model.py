"""Build, save and load the segmentation network in torch; choose the device.

A model is a folder (see :mod:`logdigit.network`, which finds and reads it without torch
and runs its ``inference.onnx`` on the CPU). Here the network is built from
``config.json`` and ``model.safetensors`` (training, CUDA, folders without a current ONNX
copy), BatchNorm is folded for inference, and the ONNX copy is written
(:func:`export_inference`).

The network is a segmentation-models-pytorch model with ``in_channels=1`` and
``classes=3`` (0 background, 1 solid-line curve, 2 dashed/dotted curve), built with
``encoder_weights=None``: nothing is ever downloaded.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import torch

from .errors import ModelError
from .network import (  # noqa: F401 - re-exported: the folder helpers live there
    DEFAULT_MODEL,
    DIGEST_KEY,
    MODELS_DIR,
    ONNX_FILE,
    QUANT_KEY,
    TAIL_KEY,
    encode_tail,
    int8,
    read_config,
    resolve_model_path,
    weights_digest,
)

logger = logging.getLogger(__name__)

#: The architecture and input convention of a new model.
DEFAULT_CONFIG: dict = {
    "arch": "Unet",
    "encoder_name": "tu-mobilenetv3_small_100",
    "encoder_depth": 4,
    # the last two decoder blocks run at 1/2 and full resolution: few channels there
    "decoder_channels": [64, 32, 16, 8],
    "in_channels": 1,
    "classes": 3,
    "class_names": ["background", "solid", "dashed"],
    # input: x = 1 - pixels / 255 (ink -> 1, paper -> 0)
    "input": "inverted-unit",
    "tile": 384,
    "overlap": 32,
}


class _KeepResolution(torch.nn.Module):
    """Stands in for the U-Net's last decoder block: passes the 1/2-resolution features on."""

    def forward(self, feature_map, target_height=None, target_width=None,
                skip_connection=None):
        return feature_map


def _subpixel_head(model: torch.nn.Module, config: dict) -> None:
    """Make ``model`` predict at full resolution from its 1/2-resolution decoder features.

    The last decoder block (upsampling, two 3x3 convolutions at full resolution) is
    dropped; the head's 3x3 convolution runs at 1/2 resolution and gives 4 logits per
    class, one per pixel of each 2 x 2 block, which ``PixelShuffle(2)`` puts in place.
    That block got no new information (there is no full-resolution skip connection), and
    at full resolution it took about a third of the forward pass on the CPU.
    """
    blocks = model.decoder.blocks
    chans = list(config["decoder_channels"])
    if len(chans) < 2:
        raise ValueError("head 'subpixel' needs at least two decoder blocks")
    blocks[len(blocks) - 1] = _KeepResolution()
    classes = int(config.get("classes", 3))
    model.segmentation_head = torch.nn.Sequential(
        torch.nn.Conv2d(chans[-2], classes * 4, kernel_size=3, padding=1),
        torch.nn.PixelShuffle(2))


def build_model(config: dict) -> torch.nn.Module:
    """Build the network described by ``config`` with random weights (no download).

    ``config["head"]`` is ``"full"`` (default: segmentation-models-pytorch's U-Net, whose
    last decoder block runs at full resolution) or ``"subpixel"`` (see
    :func:`_subpixel_head`).
    """
    import segmentation_models_pytorch as smp

    arch = config.get("arch", "Unet")
    try:
        cls = getattr(smp, arch)
        kwargs = dict(
            encoder_name=config["encoder_name"],
            encoder_weights=None,
            in_channels=int(config.get("in_channels", 1)),
            classes=int(config.get("classes", 3)),
        )
        if "encoder_depth" in config:
            kwargs["encoder_depth"] = int(config["encoder_depth"])
        if "decoder_channels" in config:
            kwargs["decoder_channels"] = list(config["decoder_channels"])
        model = cls(**kwargs)
        head = config.get("head", "full")
        if head == "subpixel":
            _subpixel_head(model, config)
        elif head != "full":
            raise ValueError(f"unknown head {head!r} (expected 'full' or 'subpixel')")
        return model
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())
        if len(detail) > 160:  # smp lists every known encoder: keep the line short
            detail = detail[:157] + "..."
        raise ModelError(f"cannot build model {arch}/{config.get('encoder_name')}: {detail}"
                         ) from None


def save_model(model: torch.nn.Module, folder: Path, *, config: dict, card: str | None = None):
    """Write ``config.json``, ``model.safetensors`` and (if given) ``MODEL_CARD.md``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = folder / ".model.safetensors.part"
    save_file(state, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, folder / "model.safetensors")
    (folder / ONNX_FILE).unlink(missing_ok=True)  # it holds the old weights
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if card is not None:
        (folder / "MODEL_CARD.md").write_text(card)


class _PhasesChannelsLast(torch.nn.Module):
    """What :func:`export_inference` exports for a :class:`SplitTail`: the body, its
    output channels last, ``(N, h / 2, w / 2, 4 C)``, as :func:`logdigit.fullres.logits`
    takes it (no copy between the two)."""

    def __init__(self, body: torch.nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x).permute(0, 2, 3, 1)


#: Degradation tiers of the pages :func:`calibration_tiles` renders.
CALIBRATION_TIERS = ("clean", "scanned", "hard")


def calibration_tiles(*, seed: int = 0, tile: tuple[int, int] = (384, 1184),
                      per_page: int = 4) -> list:
    """Tiles to calibrate an 8-bit copy of the network on: ``per_page`` consecutive tiles
    of one page rendered from random-walk curves per degradation tier (clean, scanned,
    hard), as :func:`logdigit.segment.segment_array` feeds them to the network.

    Returns
    -------
    list of (1, 1, h, w) float32 arrays
        ``tile`` is (h, w) px; the same ``seed`` gives the same tiles.
    """
    import numpy as np

    from .render import random_walk_bank, render_page
    from .segment import to_input

    h, w = tile
    rng = np.random.default_rng(seed)
    bank = random_walk_bank(np.random.default_rng(seed + 1), n=8, length=20000)
    tiles = []
    for tier in CALIBRATION_TIERS:
        page = render_page(rng=rng, bank=bank, height=h * per_page, width=w, tier=tier)
        for i in range(per_page):
            tiles.append(to_input(page.image[i * h:(i + 1) * h])[None, None].astype(np.float32))
    return tiles


def quantize_int8(proto, *, tiles: list) -> bytes:
    """The ONNX network ``proto`` in 8-bit integers wherever ONNX Runtime's static
    quantizer can (the convolutions above all): weights per output channel (int8),
    activations per tensor (uint8) with ranges taken from ``tiles`` (the minimum and
    maximum each reaches), as QuantizeLinear / DequantizeLinear pairs ONNX Runtime fuses
    into integer kernels. The metadata is kept.

    Parameters
    ----------
    proto : onnx.ModelProto
        Float32 network with one input ``x``.
    tiles : list of (1, C, h, w) float32 arrays
        Calibration inputs (:func:`calibration_tiles`).

    Returns
    -------
    bytes
        The serialised quantized model.
    """
    import tempfile

    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Tiles(CalibrationDataReader):
        def __init__(self):
            self._it = iter(tiles)

        def get_next(self):
            x = next(self._it, None)
            return None if x is None else {"x": x}

    meta = [(p.key, p.value) for p in proto.metadata_props]
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its advice to pre-process: done
        src, pre, out = (Path(tmp) / n for n in ("float.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(proto.SerializeToString())
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out), _Tiles(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, calibrate_method=CalibrationMethod.MinMax)
        q = onnx.load(str(out))
    del q.metadata_props[:]
    for key, value in meta:
        entry = q.metadata_props.add()
        entry.key, entry.value = key, value
    return q.SerializeToString()


def export_inference(folder: str | os.PathLike) -> Path:
    """Write ``folder/inference.onnx``: the folder's network with BatchNorm folded, as
    ONNX (opset 17, any batch and tile size), tagged with the SHA-256 of
    ``model.safetensors``.

    A :class:`SplitTail` network is written as its body (channels-last phases at half
    resolution) with the full-resolution layers' weights in the file's metadata, for
    :mod:`logdigit.fullres`; any other network whole. With ``"int8": true`` in the
    folder's config the file's convolutions are quantized to 8-bit integers
    (:func:`quantize_int8`, calibrated on :func:`calibration_tiles`); the full-resolution
    layers and the torch network (CUDA, training) stay in float32.
    :func:`logdigit.network.load_network` runs the file in ONNX Runtime on the CPU while
    the digest matches the weights. Needs the ``onnx`` package (``pip install -e
    '.[dev]'``).
    """
    import io

    import onnx

    folder = resolve_model_path(folder)
    model, config = load_model(folder, fuse=True)
    model = model.to(memory_format=torch.contiguous_format)
    meta = {DIGEST_KEY: weights_digest(folder / "model.safetensors")}
    if isinstance(model, SplitTail):
        from .segment import tail_weights

        meta[TAIL_KEY] = encode_tail(tail_weights(model))
        model = _PhasesChannelsLast(model.body)
    example = torch.zeros(1, int(config.get("in_channels", 1)), 64, 96)
    buf = io.BytesIO()
    dims = {0: "n", 1: "h", 2: "w"} if TAIL_KEY in meta else {0: "n", 2: "h", 3: "w"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation
        torch.onnx.export(model, (example,), buf, dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": dims})
    proto = onnx.load_from_string(buf.getvalue())
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    if int8(config):
        entry = proto.metadata_props.add()
        entry.key, entry.value = QUANT_KEY, "int8"
        data = quantize_int8(proto, tiles=calibration_tiles())
    else:
        data = proto.SerializeToString()
    out = folder / ONNX_FILE
    tmp = folder / f".{ONNX_FILE}.part"
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out

def _phase_weights(weight: torch.Tensor) -> torch.Tensor:
    """The 3x3 kernels that give a 3x3 convolution of a 2x nearest-upsampled image from
    the image itself, one set per output phase.

    ``conv(upsample2x(x), weight)`` equals ``pixel_shuffle(conv(x, phase), 2)`` with
    ``phase = _phase_weights(weight)`` (both with padding 1): an output pixel at
    (2i + a, 2j + b) sees input rows i - 1, i, i (a = 0) or i, i, i + 1 (a = 1), and
    likewise columns, so the kernel rows (columns) that fall on the same input row
    (column) are summed.

    Parameters
    ----------
    weight : (O, C, 3, 3) tensor

    Returns
    -------
    (4 O, C, 3, 3) tensor
        Output channel ``4 o + 2 a + b`` is phase (a, b) of channel o, the order
        ``pixel_shuffle`` expects.
    """
    def split(w: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        before, centre, after = w.unbind(dim)
        zero = torch.zeros_like(before)
        return (torch.stack([before, centre + after, zero], dim),
                torch.stack([zero, before + centre, after], dim))

    phases = [col for row in split(weight, 2) for col in split(row, 3)]  # (a, b) order
    return torch.stack(phases, 1).reshape(-1, *weight.shape[1:])


class _UpsampleLastBlock(torch.nn.Module):
    """A U-Net decoder block (2x nearest upsampling, concatenation with the skip features,
    then two 3x3 convolution + BatchNorm + ReLU) computed with the upsampling last.

    The first convolution is split by input channels: the upsampled part runs at the low
    resolution with :func:`_phase_weights` and ``pixel_shuffle`` puts its four phases in
    place; the skip part runs as before. No upsampled copy of the features and no
    concatenation is made, which took a fifth of the forward pass on the CPU. BatchNorm
    is folded. Inference only; the outputs agree with the block's to float rounding.
    """

    def __init__(self, block: torch.nn.Module, up_channels: int):
        super().__init__()
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        conv1 = fuse_conv_bn_eval(block.conv1[0], block.conv1[1])
        w, b = conv1.weight.detach(), conv1.bias.detach()
        out_ch, skip_ch = w.shape[0], w.shape[1] - up_channels
        self.up = torch.nn.Conv2d(up_channels, 4 * out_ch, 3, padding=1)
        self.up.weight.data.copy_(_phase_weights(w[:, :up_channels]))
        self.up.bias.data.copy_(b.repeat_interleave(4))
        self.skip = None
        if skip_ch:
            self.skip = torch.nn.Conv2d(skip_ch, out_ch, 3, padding=1, bias=False)
            self.skip.weight.data.copy_(w[:, up_channels:])
        self.conv2 = torch.nn.Sequential(
            fuse_conv_bn_eval(block.conv2[0], block.conv2[1]), torch.nn.ReLU())

    def forward(self, feature_map, target_height=None, target_width=None,
                skip_connection=None):
        x = torch.nn.functional.pixel_shuffle(self.up(feature_map), 2)
        if self.skip is not None:
            x = x + self.skip(skip_connection)
        return self.conv2(torch.relu(x))


def _upsample_last(model: torch.nn.Module) -> None:
    """Replace the U-Net decoder blocks by :class:`_UpsampleLastBlock`, in place.

    Only blocks of segmentation-models-pytorch's ``Unet`` with nearest upsampling,
    BatchNorm and no attention are replaced; anything else is left as it is.
    """
    decoder = getattr(model, "decoder", None)
    blocks = getattr(decoder, "blocks", None)
    encoder_channels = getattr(getattr(model, "encoder", None), "out_channels", None)
    if blocks is None or encoder_channels is None or not isinstance(
            getattr(decoder, "center", None), torch.nn.Identity):
        return
    up_channels = encoder_channels[-1]
    for i, block in enumerate(blocks):
        if type(block).__name__ != "UnetDecoderBlock":
            return  # e.g. the subpixel head's stand-in: the blocks before were replaced
        plain = (getattr(block, "interpolation_mode", "") == "nearest"
                 and all(isinstance(getattr(block, a).attention, torch.nn.Identity)
                         for a in ("attention1", "attention2"))
                 and all(isinstance(getattr(block, c)[1], torch.nn.BatchNorm2d)
                         and not getattr(block, c)[1].training for c in ("conv1", "conv2")))
        if not plain:
            return
        out_channels = block.conv2[0].out_channels
        blocks[i] = _UpsampleLastBlock(block, up_channels)
        up_channels = out_channels


class _Phases(torch.nn.Module):
    """Stands in for the last :class:`_UpsampleLastBlock` (one without skip features) in a
    :class:`SplitTail`'s body: its upsampling convolution's phases, at half resolution."""

    def __init__(self, up: torch.nn.Module):
        super().__init__()
        self.up = up

    def forward(self, feature_map, target_height=None, target_width=None,
                skip_connection=None):
        return self.up(feature_map)


class SplitTail(torch.nn.Module):
    """The network as a body up to half resolution and its full-resolution tail.

    ``body(x)`` gives the last decoder block's upsampling convolution at half resolution,
    ``(N, 4 C, H / 2, W / 2)`` (``pixel_shuffle``'s phase order); the tail is that
    block's second 3x3 convolution (BatchNorm folded, ReLU) and the segmentation head's
    3x3 convolution, kept as buffers. :meth:`forward` runs both in torch and gives the
    network's logits; on the CPU :func:`logdigit.segment.segment_array` runs the tail with
    :mod:`logdigit.fullres` instead, about twice as fast as torch at these few channels.
    """

    NAMES = ("tail_conv_weight", "tail_conv_bias", "tail_head_weight", "tail_head_bias")

    def __init__(self, body: torch.nn.Module, *tail: torch.Tensor):
        super().__init__()
        self.body = body
        if len(tail) != len(self.NAMES):
            raise ValueError(f"SplitTail needs {len(self.NAMES)} tail tensors, got {len(tail)}")
        for name, t in zip(self.NAMES, tail, strict=True):
            self.register_buffer(name, t.detach().clone())

    @classmethod
    def from_layers(cls, body: torch.nn.Module, conv: torch.nn.Conv2d,
                    head: torch.nn.Conv2d) -> SplitTail:
        def bias(layer):
            return layer.bias if layer.bias is not None else torch.zeros(layer.out_channels)

        return cls(body, conv.weight, bias(conv), head.weight, bias(head))

    def forward(self, x):
        y = torch.relu(torch.nn.functional.pixel_shuffle(self.body(x), 2))
        y = torch.relu(torch.nn.functional.conv2d(
            y, self.tail_conv_weight, self.tail_conv_bias, padding=1))
        return torch.nn.functional.conv2d(y, self.tail_head_weight, self.tail_head_bias,
                                          padding=1)


def _is_plain_conv3(layer) -> bool:
    return (isinstance(layer, torch.nn.Conv2d) and layer.kernel_size == (3, 3)
            and layer.stride == (1, 1) and layer.padding == (1, 1)
            and layer.dilation == (1, 1) and layer.groups == 1
            and layer.padding_mode == "zeros")


def _tail_layers(model: torch.nn.Module):
    """The last decoder block (an :class:`_UpsampleLastBlock` without skip features) and
    the head's convolution when the network ends as :class:`SplitTail` expects, else None."""
    blocks = getattr(getattr(model, "decoder", None), "blocks", None)
    head = getattr(model, "segmentation_head", None)
    if not blocks or not isinstance(head, torch.nn.Sequential) or len(head) == 0:
        return None
    last = blocks[len(blocks) - 1]
    if not isinstance(last, _UpsampleLastBlock) or last.skip is not None:
        return None
    conv, act = last.conv2[0], last.conv2[1]
    rest = [m for m in list(head)[1:]
            if not isinstance(m, torch.nn.Identity)
            and not isinstance(getattr(m, "activation", None), torch.nn.Identity)]
    if (not _is_plain_conv3(conv) or type(act) is not torch.nn.ReLU
            or not _is_plain_conv3(head[0]) or rest
            or last.up.out_channels != 4 * conv.in_channels):
        return None
    return last, head[0]


def _split_norm_act(model: torch.nn.Module) -> None:
    """Replace every BatchNorm subclass that also applies an activation (timm's
    ``BatchNormAct2d``) by ``Sequential(BatchNorm2d, drop, act)``, in place.

    ``torch.fx`` traces through such a module into a functional ``batch_norm`` call,
    which its BatchNorm folding cannot see; split, the plain ``BatchNorm2d`` follows the
    convolution as a module and gets folded.
    """
    for name, child in list(model.named_children()):
        if (isinstance(child, torch.nn.BatchNorm2d) and type(child) is not torch.nn.BatchNorm2d
                and hasattr(child, "act")):
            bn = torch.nn.BatchNorm2d(child.num_features, eps=child.eps,
                                      momentum=child.momentum, affine=child.affine,
                                      track_running_stats=child.track_running_stats)
            bn.load_state_dict(child.state_dict())
            parts = [bn] + [m for m in (getattr(child, "drop", None), child.act)
                            if m is not None and not isinstance(m, torch.nn.Identity)]
            setattr(model, name, torch.nn.Sequential(*parts).train(child.training))
        else:
            _split_norm_act(child)


def fuse_for_inference(model: torch.nn.Module) -> torch.nn.Module:
    """Fold every BatchNorm into the convolution before it (inference only).

    The U-Net's decoder runs at full tile resolution, where BatchNorm alone took about a
    fifth of the forward time on the CPU; folded, the outputs agree to ~1e-5. The
    encoder's BatchNorm-plus-activation modules are split first so that they fold too
    (:func:`_split_norm_act`). The decoder blocks upsample after their first convolution
    instead of before it (:class:`_UpsampleLastBlock`). A network ``torch.fx`` cannot
    trace is returned unchanged.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode (the running statistics are what gets folded).

    Returns
    -------
    torch.nn.Module
        A new module without BatchNorm, or ``model``: a ``torch.fx.GraphModule``, or a
        :class:`SplitTail` around one when the network ends in a full-resolution decoder
        block without skip features and a plain 3x3 head (the shipped U-Net does).
    """
    import copy

    from torch.fx.experimental.optimization import fuse

    try:
        plain = copy.deepcopy(model).eval()  # the caller's model is left as it is
        _upsample_last(plain)
        _split_norm_act(plain)
        tail = _tail_layers(plain)
        if tail is None:
            return fuse(plain, inplace=True)
        last, head = tail
        blocks = plain.decoder.blocks
        blocks[len(blocks) - 1] = _Phases(last.up)
        plain.segmentation_head = torch.nn.Identity()
        return SplitTail.from_layers(fuse(plain, inplace=True), last.conv2[0], head)
    except Exception as exc:  # noqa: BLE001 - any tracing failure: run unfused
        logger.debug("BatchNorm not folded (%s: %s)", type(exc).__name__, exc)
        return model


def load_model(name_or_path: str | os.PathLike | None, *, device: torch.device | str = "cpu",
               fuse: bool = False):
    """Build a model folder's network in torch and load its weights.

    Conversions load models with :func:`logdigit.network.load_network`, which runs the
    folder's ONNX copy on the CPU and comes here otherwise.

    Parameters
    ----------
    fuse : bool
        Fold BatchNorm into the convolutions (:func:`fuse_for_inference`): faster, but
        for inference only (no BatchNorm left to train, different ``state_dict`` keys).

    Returns
    -------
    model : torch.nn.Module
        In eval mode, on ``device``.
    config : dict
        The folder's ``config.json`` plus ``"path"``.

    Raises
    ------
    ModelError
        Missing folder or files, unreadable config, corrupt weights, or weights that do not
        fit the architecture the config names.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = resolve_model_path(name_or_path)
    config = read_config(folder)
    w_path = folder / "model.safetensors"
    device = torch.device(device)
    try:
        model = build_model(config)
    except ModelError as exc:
        raise ModelError(f"{folder}: {exc}") from None
    try:
        state = load_file(str(w_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{w_path}: corrupt weights ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(f"{folder}: weights do not fit the architecture in config.json "
                         f"({first})") from None
    if fuse:
        model = fuse_for_inference(model)
    # channels-last convolutions are ~1.7x faster on this CPU for the shipped network
    # (per-tile timing, python -m logdigit.bench); results agree to ~1e-6
    return model.to(device, memory_format=torch.channels_last).eval(), config


def choose_device(spec: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    from .errors import UsageError

    spec = (spec or "auto").lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available on this machine")
        return torch.device(spec)
    raise UsageError(f"--device {spec}: expected auto, cpu or cuda")
