import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from logdigit import network
from logdigit.errors import ModelError, UsageError
from logdigit.fullres import TailWeights
from logdigit.model import (
    DEFAULT_CONFIG,
    SplitTail,
    build_model,
    export_inference,
    load_model,
    save_model,
)
from logdigit.network import (
    DEFAULT_MODEL,
    MODELS_DIR,
    ONNX_FILE,
    OnnxNetwork,
    check_device,
    cuda_possible,
    decode_tail,
    encode_tail,
    load_network,
    read_config,
)
from logdigit.segment import segment_array

from .conftest import synth_case_folder


def _randomise_batchnorm(m: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():  # non-trivial running statistics, so folding has work to do
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


@pytest.fixture(scope="module")
def split_folder(tmp_path_factory):
    """A model folder of the default (split) architecture with its ONNX copy."""
    folder = tmp_path_factory.mktemp("net") / "split"
    torch.manual_seed(4)
    save_model(_randomise_batchnorm(build_model(DEFAULT_CONFIG)), folder, config=DEFAULT_CONFIG)
    export_inference(folder)
    return folder


@pytest.fixture()
def whole_folder(tmp_path):
    """A network that is not split (subpixel head): exported whole."""
    torch.manual_seed(3)
    cfg = dict(DEFAULT_CONFIG, head="subpixel")
    save_model(_randomise_batchnorm(build_model(cfg)), tmp_path / "m", config=cfg)
    export_inference(tmp_path / "m")
    return tmp_path / "m"


def _torch_logits(model, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(x).contiguous(memory_format=torch.channels_last)).numpy()


def test_the_shipped_folder_runs_in_onnx_runtime_with_the_numba_tail():
    net, cfg, dev = load_network(DEFAULT_MODEL, device="cpu")
    assert isinstance(net, OnnxNetwork) and dev == "cpu"
    assert net.tail.conv_weight.shape == (4, 4, 3, 3) and net.tail.head_weight.shape == (3, 4, 3, 3)
    assert cfg["path"] == str(MODELS_DIR / DEFAULT_MODEL)
    x = np.random.default_rng(0).random((1, 1, 64, 96), dtype=np.float32)
    torch_net, _ = load_model(DEFAULT_MODEL, fuse=True)
    got, want = net.logits(x), _torch_logits(torch_net, x)
    if cfg.get("int8"):  # an 8-bit copy: close, not equal
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.99
    else:
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape", [(1, 1, 64, 96), (3, 1, 128, 224)])  # exported on 1 x 64 x 96
def test_a_split_network_exports_as_body_and_tail_at_any_size(split_folder, shape):
    net, _, _ = load_network(split_folder, device="cpu")
    fused, _ = load_model(split_folder, fuse=True)
    assert isinstance(net, OnnxNetwork) and isinstance(fused, SplitTail)
    for name, a in zip(TailWeights._fields, net.tail, strict=True):  # exact weights
        b = getattr(fused, SplitTail.NAMES[TailWeights._fields.index(name)])
        np.testing.assert_array_equal(a, b.detach().numpy())
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    y = net.logits(x)
    assert y.shape == (shape[0], 3, *shape[2:]) and y.dtype == np.float32
    np.testing.assert_allclose(y, _torch_logits(fused, x), atol=1e-4, rtol=1e-4)


def test_a_network_that_is_not_split_exports_whole(whole_folder):
    net, cfg, _ = load_network(whole_folder, device="cpu")
    assert isinstance(net, OnnxNetwork) and net.tail is None and cfg["head"] == "subpixel"
    fused, _ = load_model(whole_folder, fuse=True)
    x = np.random.default_rng(2).random((2, 1, 64, 128), dtype=np.float32)
    np.testing.assert_allclose(net.logits(x), _torch_logits(fused, x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("extra", [{}, {"flip_average": True, "logit_bias": [0.0, 0.3, 0.6]}])
def test_segmenting_with_the_onnx_copy_gives_the_torch_probabilities(split_folder, extra):
    net, cfg, _ = load_network(split_folder, device="cpu")
    fused, _ = load_model(split_folder, fuse=True)
    pixels = np.random.default_rng(0).integers(0, 256, (200, 150), dtype=np.uint8)
    cfg = dict(cfg, tile=128, overlap=32, **extra)
    a = segment_array(pixels, model=net, config=cfg)
    b = segment_array(pixels, model=fused, config=cfg)
    assert a.shape == b.shape == (2, 200, 150)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


@pytest.fixture(scope="module")
def int8_folder(split_folder, tmp_path_factory):
    """``split_folder``'s weights with ``"int8": true``: its ONNX copy quantized."""
    import shutil

    folder = tmp_path_factory.mktemp("net") / "int8"
    shutil.copytree(split_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, int8=True)))
    export_inference(folder)
    return folder


def test_an_int8_copy_runs_integer_convolutions_close_to_the_float_network(split_folder,
                                                                           int8_folder):
    import onnx

    from logdigit.model import calibration_tiles

    q, f = int8_folder / ONNX_FILE, split_folder / ONNX_FILE
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in onnx.load(q).graph.node}
    assert "QuantizeLinear" not in {n.op_type for n in onnx.load(f).graph.node}
    assert q.stat().st_size < 0.5 * f.stat().st_size  # int8 weights
    net, cfg, _ = load_network(int8_folder, device="cpu")
    ref, _, _ = load_network(split_folder, device="cpu")
    assert isinstance(net, OnnxNetwork) and cfg["int8"] is True
    for a, b in zip(net.tail, ref.tail, strict=True):  # the full-resolution layers: float
        np.testing.assert_array_equal(a, b)
    x = calibration_tiles(seed=5)[0][:, :, :128, :256]  # a page it was not calibrated on
    got, want = net.logits(x), ref.logits(x)
    assert got.shape == want.shape == (1, 3, 128, 256) and got.dtype == np.float32
    assert not np.array_equal(got, want)
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.99
    assert np.mean(got.argmax(1) == want.argmax(1)) > 0.95
    assert np.abs(got - want).mean() < 0.1 * np.abs(want).mean()


def test_a_copy_quantized_otherwise_than_the_config_says_is_not_used(split_folder, int8_folder,
                                                                    tmp_path, caplog):
    import shutil

    for src, copy_from, name in ((int8_folder, split_folder, "float copy"),
                                 (split_folder, int8_folder, "int8 copy")):
        folder = tmp_path / name
        shutil.copytree(src, folder)  # this config, the other kind of copy
        shutil.copy2(copy_from / ONNX_FILE, folder / ONNX_FILE)
        caplog.clear()
        with caplog.at_level("WARNING", logger="logdigit.network"):
            net, _, _ = load_network(folder, device="cpu")
        assert isinstance(net, torch.nn.Module)  # built in torch from the weights instead
        assert "but the config says" in caplog.text
        assert isinstance(load_network(src, device="cpu")[0], OnnxNetwork)  # matching: used


def test_the_torch_network_of_an_int8_folder_stays_float(int8_folder, split_folder):
    """CUDA and training build the network from the float weights, whatever the copy."""
    a, _ = load_model(int8_folder, fuse=True)
    b, _ = load_model(split_folder, fuse=True)
    x = np.random.default_rng(6).random((1, 1, 64, 96), dtype=np.float32)
    np.testing.assert_array_equal(_torch_logits(a, x), _torch_logits(b, x))


def test_a_stale_copy_is_not_used(split_folder, tmp_path, caplog):
    import shutil

    from safetensors.torch import load_file, save_file

    folder = tmp_path / "stale"
    shutil.copytree(split_folder, folder)
    state = load_file(str(folder / "model.safetensors"))
    first = next(iter(state))
    state[first] = state[first] + 1.0  # other weights than the copy was made from
    save_file(state, str(folder / "model.safetensors"))
    with caplog.at_level("WARNING", logger="logdigit.network"):
        net, _, _ = load_network(folder, device="cpu")
    assert isinstance(net, torch.nn.Module)  # built in torch from the weights instead
    assert "made from other weights" in caplog.text


def test_an_unreadable_copy_is_not_used(split_folder, tmp_path, caplog):
    import shutil

    folder = tmp_path / "corrupt"
    shutil.copytree(split_folder, folder)
    (folder / ONNX_FILE).write_bytes(b"not onnx")
    with caplog.at_level("WARNING", logger="logdigit.network"):
        net, _, _ = load_network(folder, device="cpu")
    assert isinstance(net, torch.nn.Module)
    assert "unreadable" in caplog.text


def test_without_onnxruntime_the_network_runs_in_torch(split_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    net, cfg, dev = load_network(split_folder, device="cpu")
    assert isinstance(net, SplitTail) and str(dev) == "cpu"


def test_saving_new_weights_removes_the_old_copy(whole_folder):
    assert (whole_folder / ONNX_FILE).is_file()
    cfg = dict(DEFAULT_CONFIG, head="subpixel")
    save_model(build_model(cfg), whole_folder, config=cfg)
    assert not (whole_folder / ONNX_FILE).exists()


def test_a_conversion_on_the_cpu_never_imports_torch(tmp_path):
    """Importing torch took about 1.2 s of every conversion on the 2-core CPU."""
    case = synth_case_folder(tmp_path / "cases", n=1, seed=5) / "clean-0000"
    out = tmp_path / "out.las"
    code = ("import sys\n"
            "from logdigit.cli import main\n"
            "try:\n"
            f"    main([{str(case / 'scan.tif')!r}, '-o', {str(out)!r}, '-q', '--device', 'cpu'])\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "print(sorted(m for m in ('torch', 'segmentation_models_pytorch', 'onnxruntime')"
            " if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[-2] == "['onnxruntime']"
    assert out.is_file()


def test_tail_weights_round_trip_exactly_through_the_metadata():
    rng = np.random.default_rng(0)
    tail = TailWeights(*(rng.standard_normal(s).astype(np.float32)
                         for s in [(4, 4, 3, 3), (4,), (3, 4, 3, 3), (3,)]))
    back = decode_tail(encode_tail(tail))
    for a, b in zip(tail, back, strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    for bad in ["{}", "not json", json.dumps({"conv_weight": [[2], [1.0]]})]:
        with pytest.raises(ValueError, match="tail_weights"):
            decode_tail(bad)


def test_cuda_is_ruled_out_only_where_it_cannot_exist(monkeypatch):
    monkeypatch.setattr(network.sys, "platform", "darwin")
    assert not cuda_possible()
    monkeypatch.setattr(network.sys, "platform", "win32")
    assert cuda_possible()  # torch decides
    monkeypatch.setattr(network.sys, "platform", "linux")
    monkeypatch.setattr(network.Path, "exists", lambda self: str(self) == "/dev/nvidiactl")
    assert cuda_possible()
    monkeypatch.setattr(network.Path, "exists", lambda self: False)
    assert not cuda_possible()


def test_devices_are_checked_without_a_gpu(monkeypatch):
    check_device("auto")
    check_device("CPU")
    monkeypatch.setattr(network, "cuda_possible", lambda: False)
    with pytest.raises(UsageError, match="no CUDA device"):
        check_device("cuda")
    with pytest.raises(UsageError, match="expected auto, cpu or cuda"):
        check_device("tpu")
    with pytest.raises(UsageError, match="expected auto, cpu or cuda"):
        load_network(DEFAULT_MODEL, device="tpu")


def test_a_folder_is_checked_before_anything_loads(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_network(tmp_path / "nope", device="cpu")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps(DEFAULT_CONFIG))
    with pytest.raises(ModelError, match="has no model.safetensors"):
        read_config(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"")
    (tmp_path / "m" / "config.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match="unreadable model config"):
        load_network(tmp_path / "m", device="cpu")
