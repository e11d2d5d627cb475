import json

import pytest
import torch

from logdigit.errors import ModelError, UsageError
from logdigit.model import (
    DEFAULT_CONFIG,
    DEFAULT_MODEL,
    MODELS_DIR,
    SplitTail,
    build_model,
    choose_device,
    load_model,
    resolve_model_path,
    save_model,
)


def test_round_trip(tmp_path):
    torch.manual_seed(1)
    m = build_model(DEFAULT_CONFIG).eval()
    save_model(m, tmp_path / "m", config=DEFAULT_CONFIG, card="card")
    m2, cfg = load_model(tmp_path / "m")
    x = torch.rand(1, 1, 64, 64)
    sd2 = m2.state_dict()
    assert all(torch.equal(v, sd2[k]) for k, v in m.state_dict().items())  # exact weights
    with torch.inference_mode():  # loaded channels-last: same outputs to float rounding
        torch.testing.assert_close(m(x), m2(x), atol=1e-5, rtol=1e-4)
    assert cfg["encoder_name"] == DEFAULT_CONFIG["encoder_name"]
    assert (tmp_path / "m" / "MODEL_CARD.md").read_text() == "card"


def test_output_shape_three_classes():
    m = build_model(DEFAULT_CONFIG).eval()
    with torch.inference_mode():
        assert m(torch.zeros(2, 1, 96, 128)).shape == (2, 3, 96, 128)


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="no such model"):
        resolve_model_path(tmp_path / "nope")


def test_folder_without_weights(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps(DEFAULT_CONFIG))
    with pytest.raises(ModelError, match="model.safetensors"):
        load_model(tmp_path / "m")


def test_corrupt_weights(tmp_path):
    save_model(build_model(DEFAULT_CONFIG), tmp_path / "m", config=DEFAULT_CONFIG)
    (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ModelError, match="corrupt"):
        load_model(tmp_path / "m")


def test_corrupt_config(tmp_path):
    save_model(build_model(DEFAULT_CONFIG), tmp_path / "m", config=DEFAULT_CONFIG)
    (tmp_path / "m" / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="config"):
        load_model(tmp_path / "m")


def test_malformed_logit_bias_in_the_config_is_a_model_error(tmp_path):
    save_model(build_model(DEFAULT_CONFIG), tmp_path / "m",
               config=dict(DEFAULT_CONFIG, logit_bias=[0.0, 1.0]))
    with pytest.raises(ModelError, match="logit_bias must be 3 numbers"):
        load_model(tmp_path / "m")


def test_wrong_architecture(tmp_path):
    save_model(build_model(DEFAULT_CONFIG), tmp_path / "m", config=DEFAULT_CONFIG)
    other = dict(DEFAULT_CONFIG, decoder_channels=[32, 16, 8, 4])
    (tmp_path / "m" / "config.json").write_text(json.dumps(other))
    with pytest.raises(ModelError, match="do not fit"):
        load_model(tmp_path / "m")


def test_unknown_encoder():
    with pytest.raises(ModelError, match="cannot build"):
        build_model(dict(DEFAULT_CONFIG, encoder_name="no-such-encoder"))


def test_devices():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cpu", "cuda")
    with pytest.raises(UsageError):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="CUDA"):
            choose_device("cuda")


def test_shipped_model_is_small_and_loads():
    folder = MODELS_DIR / DEFAULT_MODEL
    if not folder.exists():
        pytest.fail(f"the default model {folder} is not in the repository")
    assert (folder / "model.safetensors").stat().st_size < 10 * 2**20
    assert (folder / "MODEL_CARD.md").exists()
    m, cfg = load_model(DEFAULT_MODEL)
    assert cfg["classes"] == 3


def test_fused_model_gives_the_same_outputs_without_batchnorm(tmp_path):
    torch.manual_seed(2)
    m = build_model(DEFAULT_CONFIG).eval()
    with torch.no_grad():  # non-trivial running statistics, so folding has work to do
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    save_model(m, tmp_path / "m", config=DEFAULT_CONFIG)
    fused, _ = load_model(tmp_path / "m", fuse=True)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in fused.modules())
    # the full-resolution layers are split off (logdigit.fullres runs them on the CPU)
    assert isinstance(fused, SplitTail)
    # nor any functional batch_norm (timm's BatchNormAct2d traces into one unless split)
    calls = [str(n.target) for n in fused.body.graph.nodes
             if n.op in ("call_function", "call_method")]
    assert not [c for c in calls if "batch_norm" in c]
    # the decoder upsamples after its first convolution: no upsampled copy is made
    assert not [c for c in calls if "interpolate" in c or "upsample" in c]
    assert "pixel_shuffle" in " ".join(calls)
    assert any(type(mod).__name__ == "BatchNormAct2d" for mod in m.modules())  # untouched
    assert any(type(mod).__name__ == "UnetDecoderBlock" for mod in m.modules())
    x = torch.rand(2, 1, 96, 96)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), m(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 2, 1, 1), (1, 1, 8, 8)])
def test_phase_weights_convolve_the_upsampled_image_without_making_it(shape):
    from logdigit.model import _phase_weights

    torch.manual_seed(1)
    x = torch.randn(shape)
    w = torch.randn(4, shape[1], 3, 3)
    up = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    direct = torch.nn.functional.conv2d(up, w, padding=1)
    phased = torch.nn.functional.pixel_shuffle(
        torch.nn.functional.conv2d(x, _phase_weights(w), padding=1), 2)
    torch.testing.assert_close(phased, direct, atol=1e-5, rtol=1e-5)


def test_a_network_fx_cannot_trace_is_left_unfused():
    from logdigit.model import fuse_for_inference

    class Branchy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 1, 3)
            self.bn = torch.nn.BatchNorm2d(1)

        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: not symbolically traceable
                return self.bn(self.conv(x))
            return x

    m = Branchy().eval()
    assert fuse_for_inference(m) is m


def test_subpixel_head_predicts_full_resolution_and_fuses():
    from logdigit.model import fuse_for_inference

    torch.manual_seed(0)
    cfg = dict(DEFAULT_CONFIG, head="subpixel")
    m = build_model(cfg).eval()
    full = build_model(DEFAULT_CONFIG)
    # the full-resolution decoder block is gone: fewer parameters, same outputs' shape
    assert sum(p.numel() for p in m.parameters()) < sum(p.numel() for p in full.parameters())
    x = torch.rand(2, 1, 64, 96)
    with torch.inference_mode():
        y = m(x)
        assert y.shape == (2, 3, 64, 96)
        # each 2 x 2 block of output pixels gets its own logits, not one repeated value
        assert not torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 1::2])
        torch.testing.assert_close(fuse_for_inference(m)(x), y, atol=1e-4, rtol=1e-4)


def test_subpixel_head_round_trips_through_a_model_folder(tmp_path):
    cfg = dict(DEFAULT_CONFIG, head="subpixel")
    m = build_model(cfg).eval()
    save_model(m, tmp_path / "m", config=cfg)
    m2, loaded = load_model(tmp_path / "m")
    assert loaded["head"] == "subpixel"
    x = torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(m(x), m2(x), atol=1e-5, rtol=1e-4)


def test_unknown_head_is_a_model_error():
    with pytest.raises(ModelError, match="unknown head"):
        build_model(dict(DEFAULT_CONFIG, head="sideways"))


def test_a_network_without_the_full_resolution_block_is_not_split():
    from logdigit.model import fuse_for_inference

    m = build_model(dict(DEFAULT_CONFIG, head="subpixel")).eval()
    assert not isinstance(fuse_for_inference(m), SplitTail)
    with pytest.raises(ValueError, match="tail tensors"):
        SplitTail(torch.nn.Identity(), torch.zeros(1))


def test_export_tool_reports_a_missing_folder_in_one_line(tmp_path):
    import subprocess
    import sys

    from logdigit.model import MODELS_DIR

    tool = MODELS_DIR.parent / "tools" / "export_inference.py"
    proc = subprocess.run([sys.executable, str(tool), str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "nope: no such model folder" in proc.stderr
    assert not (tmp_path / "nope").exists()


def test_a_flip_average_that_is_not_true_or_false_is_a_model_error(tmp_path):
    save_model(build_model(DEFAULT_CONFIG), tmp_path / "m",
               config=dict(DEFAULT_CONFIG, flip_average="yes"))
    with pytest.raises(ModelError, match="flip_average must be true or false"):
        load_model(tmp_path / "m")


def test_the_shipped_model_averages_each_tile_with_its_mirror_image():
    """Its card's figures were measured with flip_average on."""
    _, config = load_model(None)
    assert config["flip_average"] is True


def test_an_int8_that_is_not_true_or_false_is_a_model_error(tmp_path):
    save_model(build_model(DEFAULT_CONFIG), tmp_path / "m", config=dict(DEFAULT_CONFIG, int8=1))
    with pytest.raises(ModelError, match="int8 must be true or false"):
        load_model(tmp_path / "m")


def test_calibration_tiles_are_rendered_pages_of_every_tier_the_same_each_time():
    import numpy as np

    from logdigit.model import CALIBRATION_TIERS, calibration_tiles

    tiles = calibration_tiles(seed=3, tile=(64, 96), per_page=2)
    assert len(tiles) == 2 * len(CALIBRATION_TIERS)
    for t in tiles:
        assert t.shape == (1, 1, 64, 96) and t.dtype == np.float32
        assert 0.0 <= t.min() and t.max() <= 1.0
    assert any(t.max() > 0.5 for t in tiles)  # ink on them (input: ink -> 1)
    again = calibration_tiles(seed=3, tile=(64, 96), per_page=2)
    assert all(np.array_equal(a, b) for a, b in zip(tiles, again, strict=True))
    other = calibration_tiles(seed=4, tile=(64, 96), per_page=2)
    assert not all(np.array_equal(a, b) for a, b in zip(tiles, other, strict=True))
