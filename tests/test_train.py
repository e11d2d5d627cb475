"""Short training runs on random-walk pages: checkpoint, resume, fine-tuning start."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from logdigit.model import load_model
from logdigit.train import TrainOptions, confusion, sample_crops, scores_from_confusion, train

from .conftest import InkModel


def _opts(**kw):
    base = dict(steps=2, batch=2, crop=64, val_pages=1, val_every=1000, bn_batches=1,
                workers=0, threads=1, checkpoint_minutes=60.0)
    base.update(kw)
    return TrainOptions(**base)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(_opts(), out=out)
    return out


def test_train_writes_a_loadable_model_folder(first_run):
    model, config = load_model(first_run)
    assert (first_run / "MODEL_CARD.md").read_text().startswith("# logdigit")
    assert json.loads((first_run / "config.json").read_text())["classes"] == 3
    with torch.no_grad():
        y = model(torch.zeros(1, 1, 64, 64))
    assert y.shape == (1, 3, 64, 64)
    ck = torch.load(first_run / "checkpoint.pt", weights_only=False)
    assert ck["step"] == 2
    # validation ran at the last step: pixel scores and the recovered curves' median R²
    assert set(ck["val"]) == {"solid", "dashed", "curves_median_r2", "step"}
    assert ck["val"]["step"] == 2
    assert ck["val"]["curves_median_r2"] <= 1.0
    assert "Median R² of the curves" in (first_run / "MODEL_CARD.md").read_text()


def test_every_checkpoint_is_kept_as_a_snapshot(first_run):
    snaps = sorted(p.name for p in (first_run / "snapshots").iterdir())
    assert snaps == ["step000002"]
    model, config = load_model(first_run / "snapshots" / "step000002")
    assert config["encoder_name"] == json.loads((first_run / "config.json").read_text())[
        "encoder_name"]


def test_encoder_and_decoder_options_set_the_architecture(tmp_path):
    from logdigit.model import DEFAULT_CONFIG
    from logdigit.train import run_config

    assert run_config(_opts()) == DEFAULT_CONFIG
    cfg = run_config(_opts(encoder="tu-mobilenetv3_small_100", decoder="32,16,8"))
    assert cfg["encoder_name"] == "tu-mobilenetv3_small_100"
    assert cfg["decoder_channels"] == [32, 16, 8] and cfg["encoder_depth"] == 3
    train(_opts(steps=1, decoder="32,16,8", keep_snapshots=False), out=tmp_path / "small")
    _, loaded = load_model(tmp_path / "small")
    assert loaded["decoder_channels"] == [32, 16, 8]
    assert not (tmp_path / "small" / "snapshots").exists()


def test_resume_continues_from_the_checkpoint(first_run, tmp_path):

    out = tmp_path / "resumed"
    shutil.copytree(first_run, out)
    train(_opts(steps=3), out=out, resume=True)
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 3


def test_init_starts_from_the_given_weights(first_run, tmp_path):
    out = tmp_path / "ft"
    train(_opts(steps=1, lr=0.0, init=str(first_run)), out=out)  # lr 0: weights unchanged
    a, _ = load_model(first_run)
    b, _ = load_model(out)
    wa = {k: v for k, v in a.state_dict().items() if "running" not in k and "num_batches" not in k}
    wb = b.state_dict()
    assert all(torch.equal(v, wb[k]) for k, v in wa.items())
    assert "Started from: " + str(first_run) in (out / "MODEL_CARD.md").read_text()


def test_sample_crops_shape_and_bias_towards_ink():
    rng = np.random.default_rng(0)
    img = np.zeros((300, 300), np.float32)
    lab = np.zeros((300, 300), np.uint8)
    lab[:, 150:154] = 1  # labels are at least 3 px wide; the sampler looks at every 4th
    x, y = sample_crops(img, lab, rng=rng, crop=64, n=40)
    assert x.shape == (40, 64, 64) and y.shape == (40, 64, 64)
    assert (y.reshape(40, -1).max(1) > 0).mean() > 0.6  # 3 in 4 are centred near ink


def test_curve_r2_of_a_perfect_segmenter_is_high():
    from logdigit.render import random_walk_bank, render_page
    from logdigit.train import curve_r2

    rng = np.random.default_rng(3)
    page = render_page(rng=rng, bank=random_walk_bank(rng), height=800, width=500,
                       tier="clean", n_tracks=1)
    # dark pixels as curve: the grid is lighter than the threshold on clean pages
    r2s = curve_r2(InkModel(), page, device="cpu")
    assert len(r2s) == len(page.truth) and max(r2s) > 0.9


def test_scores_from_confusion():
    true = np.array([0, 1, 1, 2, 2, 0])
    pred = np.array([0, 1, 0, 2, 1, 1])
    cm = confusion(pred, true)
    s = scores_from_confusion(cm)
    assert s["solid"]["recall"] == pytest.approx(0.5)
    assert s["solid"]["precision"] == pytest.approx(1 / 3)
    assert s["dashed"]["precision"] == pytest.approx(1.0)


def test_every_batch_mixes_crops_from_several_pages(monkeypatch):
    """One page per batch makes BatchNorm's batch statistics those of one page type."""
    import itertools
    from types import SimpleNamespace

    import logdigit.train as tr

    made = itertools.count()
    mixes = []

    def fake_page(rng, bank, *, crop, extras=False, tier_mix=None):
        mixes.append(tier_mix)
        i = next(made)
        return SimpleNamespace(image=np.full((300, 300), i % 250, np.uint8),
                               labels=np.zeros((300, 300), np.uint8))

    monkeypatch.setattr(tr, "random_page", fake_page)
    stream = iter(tr.CropStream(las_dir=None, crop=64, batch=12, seed=0, pool=4))
    for _ in range(5):
        x, y = next(stream)
        assert x.shape == (12, 1, 64, 64) and y.shape == (12, 64, 64)
        pages = {round(float(v) * 255) for v in x[:, 0, 0, 0]}
        assert len(pages) >= 2
    assert next(made) > 4  # pages are replaced as the stream goes on
    # --pool sets the pool: 9 pages are rendered before the first batch
    made = itertools.count()
    monkeypatch.setattr(tr, "random_page", fake_page)
    stream = iter(tr.CropStream(las_dir=None, crop=64, batch=12, seed=0, pool=9))
    next(stream)
    assert next(made) == 9
    next(iter(tr.CropStream(las_dir=None, crop=64, batch=12, seed=0, pool=2,
                            tier_mix=(0.0, 0.0, 1.0))))
    assert mixes[-1] == (0.0, 0.0, 1.0) and mixes[0] == (0.3, 0.4, 0.3)
    with pytest.raises(ValueError, match="pool"):
        tr.CropStream(las_dir=None, crop=64, batch=12, seed=0, pool=0)


def test_weight_average_moves_towards_the_trained_weights():
    from logdigit.train import WeightAverage

    net = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(net.weight)
    avg = WeightAverage(net, decay=0.9)
    with torch.no_grad():
        net.weight.fill_(1.0)
    avg.update(net)  # first update: decay ramps from 2/11
    assert avg.model.weight.item() == pytest.approx(1 - 2 / 11)
    for _ in range(200):
        avg.update(net)
    assert avg.model.weight.item() == pytest.approx(1.0, abs=1e-6)
    assert not avg.model.weight.requires_grad
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(net, decay=1.0)


def test_ema_run_saves_the_averaged_weights_and_resumes_them(tmp_path):

    out = tmp_path / "ema"
    train(_opts(steps=3, ema=0.9, keep_snapshots=False), out=out)
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    saved, _ = load_model(out)
    trained = ck["model"]
    averaged = ck["ema"]["model"]
    assert ck["ema"]["updates"] == 3
    conv = [k for k, v in trained.items() if k.endswith("weight") and v.ndim == 4][0]
    # the saved model is the average, which lags behind the trained weights
    assert torch.equal(saved.state_dict()[conv], averaged[conv])
    assert not torch.equal(averaged[conv], trained[conv])
    assert "exponential moving average" in (out / "MODEL_CARD.md").read_text()
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    train(_opts(steps=4, ema=0.9, keep_snapshots=False), out=resumed, resume=True)
    assert torch.load(resumed / "checkpoint.pt", weights_only=False)["ema"]["updates"] == 4


def test_init_with_a_new_head_keeps_every_other_layer(first_run, tmp_path):
    out = tmp_path / "ft-head"
    train(_opts(steps=1, lr=0.0, init=str(first_run), head="subpixel"), out=out)
    a, _ = load_model(first_run)
    b, cfg = load_model(out)
    assert cfg["head"] == "subpixel"
    wa, wb = a.state_dict(), b.state_dict()
    kept = [k for k in wb if not k.startswith("segmentation_head")
            and "running" not in k and "num_batches" not in k]
    assert kept and all(torch.equal(wa[k], wb[k]) for k in kept)
    assert wb["segmentation_head.0.weight"].shape[0] == 12  # 3 classes x 4 sub-pixels


def test_init_from_a_different_encoder_is_refused(first_run, tmp_path):
    with pytest.raises(ValueError, match="encoder differs"):  # depth 3 against 4
        train(_opts(steps=1, init=str(first_run), decoder="32,16,8"), out=tmp_path / "x")


def test_init_with_a_narrower_decoder_copies_the_encoder(first_run, tmp_path):
    out = tmp_path / "narrow"
    train(_opts(steps=1, lr=0.0, init=str(first_run), decoder="32,16,8,4",
                keep_snapshots=False), out=out)
    a, _ = load_model(first_run)
    b, cfg = load_model(out)
    assert cfg["decoder_channels"] == [32, 16, 8, 4]
    wa, wb = a.state_dict(), b.state_dict()
    enc = [k for k in wb if k.startswith("encoder.") and "running" not in k
           and "num_batches" not in k]
    assert enc and all(torch.equal(wa[k], wb[k]) for k in enc)
    assert wb["segmentation_head.0.weight"].shape[1] == 4  # the new, narrower decoder


def test_tier_mix_sets_the_share_of_each_page_tier(monkeypatch):
    import logdigit.train as tr
    from logdigit.train_options import parse_tier_mix

    assert parse_tier_mix("0.3,0.4,0.3") == pytest.approx((0.3, 0.4, 0.3))
    assert parse_tier_mix("1, 1, 2") == pytest.approx((0.25, 0.25, 0.5))
    for bad in ("0.5,0.5", "a,b,c", "0,0,0", "-1,1,1", "1,1,1,1", "", "nan,1,1", "inf,1,1"):
        with pytest.raises(ValueError, match="tier mix"):
            parse_tier_mix(bad)
    tiers = []
    monkeypatch.setattr(tr, "render_page", lambda **kw: tiers.append(kw["tier"]))
    rng = np.random.default_rng(0)
    for mix, only in (((0, 0, 1), "hard"), ((1, 0, 0), "clean"), ((0, 1, 0), "scanned")):
        tiers.clear()
        for _ in range(30):
            tr.random_page(rng, None, crop=64, tier_mix=mix)
        assert set(tiers) == {only}
    tiers.clear()
    for _ in range(400):
        tr.random_page(rng, None, crop=64, tier_mix=(0.2, 0.4, 0.4))
    assert 0.12 < tiers.count("clean") / 400 < 0.28


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_train_repeats_the_shipped_models_run(monkeypatch):
    """`make train` passes the trainer exactly the options the shipped weights were trained
    with, as the model card's Training section lists them (paths aside): one JSON block
    per training command, in order (a run from scratch, then any fine-tune from it)."""
    import json
    import re
    import shlex
    import subprocess
    from dataclasses import asdict

    import logdigit.train as tr

    root = Path(__file__).resolve().parents[1]
    calls = []
    monkeypatch.setattr(tr, "train", lambda opts, *, out, resume: calls.append(
        {"opts": opts, "out": out, "resume": resume}))
    text = subprocess.run(["make", "-n", "-s", "--no-print-directory", "train", "STAMP="],
                          cwd=root, capture_output=True, text=True, check=True).stdout
    commands = [shlex.split(line) for line in text.replace("\\\n", " ").splitlines()
                if "logdigit.train" in line]
    for words in commands:
        tr.main(words[words.index("logdigit.train") + 1:])
    card = (root / "models" / "logdigit-small" / "MODEL_CARD.md").read_text()
    training = card[card.index("\n## Training"):]
    training = training[:training.index("\n## ", 1)]  # this section only
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", training, re.S)]
    assert commands and len(calls) == len(blocks) == len(commands)
    for run, shipped in zip(calls, blocks, strict=True):
        assert run["resume"]
        got = asdict(run["opts"])
        for key in ("las_dir", "val_las_dir", "init"):
            if got.get(key) is not None or shipped.get(key) is not None:
                assert Path(got.pop(key)).name == Path(shipped.pop(key)).name
        assert got == shipped


def test_training_target_marks_rule_background_only_when_asked():
    from types import SimpleNamespace

    from logdigit.losses import RULE
    from logdigit.train import target

    labels = np.zeros((8, 8), np.uint8)
    labels[:, 2] = 1
    rules = np.zeros((8, 8), bool)
    rules[:, 2:4] = True  # a rule under the curve at column 2, paper-side at column 3
    page = SimpleNamespace(labels=labels, rules=rules)
    assert target(page, rules=False) is labels
    t = target(page, rules=True)
    assert (t[:, 2] == 1).all() and (t[:, 3] == RULE).all()  # the curve keeps its class
    assert (t[:, 4:] == 0).all() and (t[:, :2] == 0).all()
    assert target(SimpleNamespace(labels=labels, rules=None), rules=True) is labels


def test_seen_labels_drop_curve_pixels_the_scan_erased():
    from logdigit.train import seen_labels

    image = np.full((40, 40), 250, np.uint8)
    labels = np.zeros((40, 40), np.uint8)
    labels[:, 10:13] = 1  # a solid curve, inked on the scan in its top half only
    image[:20, 11] = 0
    labels[:, 30] = 2  # a dashed one, faded: 30 grey levels below the paper
    image[:, 30] = 220
    got = seen_labels(labels, image, reach=2)
    assert (got[:20, 10:13] == 1).all()  # the pen's full width is kept beside its ink
    assert (got[23:, 10:13] == 0).all()  # the erased stretch is background
    assert (got[:, 30] == 0).all()  # too faint to count as ink
    assert (seen_labels(labels, image, dark=20)[:, 30] == 2).all()
    assert (seen_labels(labels, image, reach=0)[:20, 10] == 0).all()
    assert got.dtype == np.uint8 and got.shape == labels.shape
    assert (got[labels == 0] == 0).all()  # never a new label
    with pytest.raises(ValueError, match="differ"):
        seen_labels(labels, image[:, :5])


def test_training_target_keeps_seen_labels_and_marks_rules():
    from types import SimpleNamespace

    from logdigit.losses import RULE
    from logdigit.train import target

    image = np.full((8, 8), 250, np.uint8)
    labels = np.zeros((8, 8), np.uint8)
    labels[:, 2] = 1
    image[:4, 2] = 0  # the curve's lower half erased
    rules = np.zeros((8, 8), bool)
    rules[:, 7] = True
    page = SimpleNamespace(labels=labels, rules=rules, image=image)
    t = target(page, rules=True, seen=True)
    assert (t[:4, 2] == 1).all() and (t[7:, 2] == 0).all() and (t[:, 7] == RULE).all()
    assert (target(page, rules=False, seen=False) == labels).all()


def test_crop_stream_trains_on_seen_labels_only_when_asked(monkeypatch):
    import logdigit.train as tr

    calls = []
    original = tr.seen_labels
    monkeypatch.setattr(tr, "seen_labels", lambda *a, **k: calls.append(1) or original(*a, **k))
    for seen in (False, True):
        x, y = next(iter(tr.CropStream(las_dir=None, crop=64, batch=2, seed=1, pool=1,
                                       seen=seen)))
        assert y.shape == (2, 64, 64)
        assert bool(calls) == seen


def test_sample_crops_centre_on_curves_not_on_rules():
    from logdigit.losses import RULE

    rng = np.random.default_rng(1)
    img = np.zeros((400, 400), np.float32)
    lab = np.zeros((400, 400), np.uint8)
    lab[:, 20:24] = RULE  # a rule far from the curve
    lab[:, 300:304] = 2
    _, y = sample_crops(img, lab, rng=rng, crop=64, n=60)
    near_curve = ((y == 2).reshape(60, -1).any(1)).mean()
    assert near_curve > 0.6


def test_a_rule_weighted_run_trains_on_targets_that_mark_the_rules(tmp_path):
    from logdigit.losses import RULE
    from logdigit.train import CropStream

    stream = iter(CropStream(las_dir=None, crop=64, batch=4, seed=0, pool=2, rules=True))
    ys = np.concatenate([next(stream)[1].numpy() for _ in range(6)])
    assert (ys == RULE).any() and ((ys == 1) | (ys == 2)).any()
    plain = iter(CropStream(las_dir=None, crop=64, batch=4, seed=0, pool=2))
    assert next(plain)[1].max() <= 2
    out = train(_opts(rule_weight=4.0), out=tmp_path / "r")
    assert (out / "model.safetensors").is_file()
    assert "rule_weight" in (out / "MODEL_CARD.md").read_text()


def test_crop_stream_flattens_curves_only_when_asked(monkeypatch):
    import logdigit.render as render
    import logdigit.train as tr

    shares = []
    original = render.CurveBank.with_flat_stretches

    def spy(self, rng, *, share, **kw):
        shares.append(share)
        return original(self, rng, share=share, **kw)

    monkeypatch.setattr(render.CurveBank, "with_flat_stretches", spy)
    for share in (0.0, 0.5):
        stream = tr.CropStream(las_dir=None, crop=64, batch=2, seed=1, pool=1,
                               flat_share=share)
        x, y = next(iter(stream))
        assert x.shape == (2, 1, 64, 64) and y.shape == (2, 64, 64)
    assert shares == [0.0, 0.5]


def test_twice_the_scale_doubles_the_lines_and_keeps_the_classes():
    from logdigit.train import twice_the_scale

    image = np.full((20, 30), 255, np.uint8)
    image[:, 10] = 0  # a 1-px vertical line
    labels = np.zeros((20, 30), np.uint8)
    labels[:, 9:12] = 1
    labels[5, 0] = 3  # a rule pixel
    big, lab = twice_the_scale(image, labels)
    assert big.shape == lab.shape == (40, 60)
    assert big.dtype == np.uint8 and lab.dtype == np.uint8
    row = big[20]
    assert (row < 128).sum() == 2 and row[20] < 128 and row[21] < 128  # 2 px wide
    assert set(np.unique(lab)) == {0, 1, 3}
    assert np.array_equal(lab[::2, ::2], labels) and (lab == 1).sum() == 4 * (labels == 1).sum()


def test_crop_stream_draws_pages_at_twice_the_scale_when_asked(monkeypatch):
    import logdigit.train as tr

    calls = []
    original = tr.twice_the_scale

    def spy(image, target):
        calls.append(image.shape)
        return original(image, target)

    monkeypatch.setattr(tr, "twice_the_scale", spy)
    for share in (0.0, 1.0):
        calls.clear()
        stream = tr.CropStream(las_dir=None, crop=64, batch=2, seed=1, pool=2,
                               scale_share=share)
        x, y = next(iter(stream))
        assert x.shape == (2, 1, 64, 64) and y.shape == (2, 64, 64)
        assert len(calls) == (2 if share else 0)
