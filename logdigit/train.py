"""Train the segmenter on synthetic pages rendered on the fly from real LAS curves.

CPU-first: a small network, crops sampled from freshly rendered pages by a background
worker process, checkpoints every few minutes, ``resume=True`` to continue after a stop.
At every checkpoint the model folder (config, safetensors, model card) is rewritten, so the
newest usable model is always on disk.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .losses import RULE, segmentation_loss
from .metrics import scores_from_counts
from .model import DEFAULT_CONFIG, build_model, save_model
from .render import TIERS, CurveBank, load_bank, random_walk_bank, render_page
from .segment import to_input
from .train_options import DEFAULT_TIER_MIX, TrainOptions, parse_tier_mix

logger = logging.getLogger(__name__)


def sample_crops(page_img, page_lab, *, rng, crop: int, n: int):
    """``n`` random crops (n, crop, crop); 3 in 4 are centred near curve ink (classes 1
    and 2 of ``page_lab``)."""
    H, W = page_img.shape
    sub = page_lab[:: 4, :: 4]
    ys, xs = np.nonzero((sub == 1) | (sub == 2))  # curve ink, not rules (losses.RULE)
    out_i, out_l = [], []
    for _ in range(n):
        if len(ys) and rng.random() < 0.75:
            k = rng.integers(len(ys))
            cy, cx = ys[k] * 4, xs[k] * 4
            y0 = int(np.clip(cy - rng.integers(0, crop), 0, H - crop))
            x0 = int(np.clip(cx - rng.integers(0, crop), 0, W - crop))
        else:
            y0, x0 = int(rng.integers(0, H - crop + 1)), int(rng.integers(0, W - crop + 1))
        out_i.append(page_img[y0 : y0 + crop, x0 : x0 + crop])
        out_l.append(page_lab[y0 : y0 + crop, x0 : x0 + crop])
    return np.stack(out_i), np.stack(out_l)


#: Grey levels below the paper a scan pixel must be to count as ink (:func:`seen_labels`).
SEEN_DARK = 40.0
#: Distance (px) from scan ink within which a curve's label pixel is kept.
SEEN_REACH = 2


def scan_ink(image: np.ndarray, *, dark: float = SEEN_DARK) -> np.ndarray:
    """(rows, cols) bool: the pixels of a scan (0 ink .. 255 paper) at least ``dark`` grey
    levels below its paper, the 75th percentile of its grey levels."""
    image = np.asarray(image, np.float32)
    return image < np.percentile(image, 75) - dark


def seen_labels(labels: np.ndarray, image: np.ndarray, *, dark: float = SEEN_DARK,
                reach: int = SEEN_REACH) -> np.ndarray:
    """The curve labels where the scan shows the curve.

    A faded pen on a page binarised or blurred hard can vanish from the scan while its
    label mask stays whole. Trained on such a mask, the segmenter is asked to mark blank
    paper; kept only where there is ink near, the target is what the scan shows.

    Parameters
    ----------
    labels : (rows, cols) uint8
        Class per pixel (0 background, 1 solid, 2 dashed or dotted).
    image : (rows, cols) uint8
        The rendered scan (0 ink .. 255 paper).
    dark : float
        Grey levels below the paper (the image's 75th percentile) that count as ink.
    reach : int
        A label pixel is kept when ink lies within this many px (a square window).

    Returns
    -------
    (rows, cols) uint8
        ``labels`` with the curve pixels far from any ink set to background.
    """
    from scipy.ndimage import maximum_filter

    image = np.asarray(image, np.float32)
    if image.shape != np.shape(labels):
        raise ValueError(f"image {image.shape} and labels {np.shape(labels)} differ")
    if image.size == 0:
        return np.asarray(labels, np.uint8)
    ink = scan_ink(image, dark=dark)
    if reach > 0:
        ink = maximum_filter(ink, size=2 * reach + 1)
    return np.where(ink, labels, 0).astype(np.uint8)


def target(page, *, rules: bool, seen: bool = False) -> np.ndarray:
    """A page's training target (rows, cols) uint8: its labels (with ``seen``, only where
    the scan shows them: :func:`seen_labels`), and with ``rules`` the background pixels
    on the grid's rules set to :data:`logdigit.losses.RULE`."""
    labels = seen_labels(page.labels, page.image) if seen else page.labels
    if not rules or page.rules is None:
        return labels
    return np.where(page.rules & (labels == 0), np.uint8(RULE), labels)


def twice_the_scale(image: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A page as a scan at twice the resolution would show it.

    Parameters
    ----------
    image : (rows, cols) uint8
        The rendered page (0 = ink).
    target : (rows, cols) uint8
        Its training target (class per pixel).

    Returns
    -------
    image : (2 rows, 2 cols) uint8
        Bilinear: every line twice as wide, its edges grey.
    target : (2 rows, 2 cols) uint8
        Each pixel's class repeated over its 2 x 2 block.
    """
    from PIL import Image

    H, W = image.shape
    big = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(
        (2 * W, 2 * H), Image.BILINEAR))
    return big, np.repeat(np.repeat(target, 2, axis=0), 2, axis=1)


def random_page(rng: np.random.Generator, bank: CurveBank, *, crop: int, extras: bool = False,
                tier_mix: tuple[float, float, float] = DEFAULT_TIER_MIX):
    """A page of random size; its tier drawn with the probabilities ``tier_mix``
    (clean, scanned, hard), the renderer extras on half of the pages when ``extras``."""
    tier = TIERS[int(rng.choice(3, p=list(tier_mix)))]
    h = int(rng.integers(max(crop, 600), 1400))
    w = int(rng.integers(max(crop, 500), 1500))
    return render_page(rng=rng, bank=bank, height=h, width=w, tier=tier,
                       extras=extras and rng.random() < 0.5)


class CropStream(torch.utils.data.IterableDataset):
    """An endless stream of training batches rendered on the fly.

    Every batch mixes crops from a pool of ``pool`` pages (one page is replaced by a fresh
    render every other batch). Batches from a single page would make BatchNorm's batch
    statistics those of one page type (a clean white page, a dark-grid one), which the
    running averages used at inference do not match: a network trained that way went
    blind on clean pages.
    """

    def __init__(self, *, las_dir, crop, batch, seed, extras=False, pool: int = 6,
                 tier_mix: tuple[float, float, float] = DEFAULT_TIER_MIX, rules: bool = False,
                 rough_weight: float = 1.0, flat_share: float = 0.0, seen: bool = False,
                 scale_share: float = 0.0):
        if pool < 1:
            raise ValueError(f"pool must be at least 1 page, got {pool}")
        self.las_dir, self.crop, self.batch, self.seed = las_dir, crop, batch, seed
        self.extras, self.pool, self.tier_mix = extras, pool, tuple(tier_mix)
        self.rules, self.rough_weight = rules, float(rough_weight)
        self.flat_share, self.seen = float(flat_share), bool(seen)
        self.scale_share = float(scale_share)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info else 0
        rng = np.random.default_rng([self.seed, wid, int(time.time() * 1000) % 2**31])
        bank = load_bank(Path(self.las_dir)) if self.las_dir else random_walk_bank(rng)
        bank = bank.favour_rough(self.rough_weight).with_flat_stretches(
            rng, share=self.flat_share)

        def fresh() -> tuple[np.ndarray, np.ndarray]:
            """A new page's image and training target (made once per page)."""
            page = random_page(rng, bank, crop=self.crop, extras=self.extras,
                               tier_mix=self.tier_mix)
            image, labels = page.image, target(page, rules=self.rules, seen=self.seen)
            if self.scale_share and rng.random() < self.scale_share:
                image, labels = twice_the_scale(image, labels)
            return image, labels

        pages = [fresh() for _ in range(self.pool)]
        n = 0
        while True:
            xs, ys = [], []
            for k in rng.integers(0, len(pages), self.batch):
                x, y = sample_crops(*pages[k], rng=rng, crop=self.crop, n=1)
                xs.append(x)
                ys.append(y)
            x, y = np.concatenate(xs), np.concatenate(ys)
            yield torch.from_numpy(to_input(x))[:, None], torch.from_numpy(y.astype(np.int64))
            n += 1
            if n % 2 == 0:  # rendering is the expensive part: one new page per two batches
                pages[int(rng.integers(len(pages)))] = fresh()


class WeightAverage:
    """Exponential moving average of a network's parameters (Polyak averaging).

    The solid-vs-dashed decision swings from step to step as batches favour one style or
    the other (session 4: the dashed class's validation recall went from 0.12 to 0.44 and
    back); the average of the recent weights is a steadier network to validate and ship.
    The decay ramps up as ``(1 + n) / (10 + n)`` over the first updates, so early weights
    do not linger. BatchNorm statistics are not averaged: they are recomputed for the
    averaged weights (:func:`recalibrate_bn`) before it is validated or saved.

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained; it is copied.
    decay : float
        Weight of the old average at each update, in [0, 1).
    """

    def __init__(self, model: torch.nn.Module, *, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average towards ``model``'s current parameters."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, p in zip(self.model.parameters(), model.parameters(), strict=True):
            avg.lerp_(p.detach(), 1.0 - d)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


def confusion(pred: np.ndarray, true: np.ndarray, n: int = 3) -> np.ndarray:
    """(n, n) confusion counts, rows = truth, columns = prediction."""
    return np.bincount(true.ravel().astype(np.int64) * n + pred.ravel(), minlength=n * n).reshape(
        n, n
    )


def scores_from_confusion(cm: np.ndarray) -> dict:
    out = {}
    for c, name in ((1, "solid"), (2, "dashed")):
        tp = int(cm[c, c])
        out[name] = asdict(scores_from_counts(tp, int(cm[:, c].sum()) - tp,
                                              int(cm[c, :].sum()) - tp))
    return out


def run_config(opts: TrainOptions) -> dict:
    """The model config of a run: DEFAULT_CONFIG with the encoder and decoder options."""
    config = dict(DEFAULT_CONFIG)
    if opts.encoder:
        config["encoder_name"] = opts.encoder
    if opts.decoder:
        chans = [int(c) for c in opts.decoder.split(",")]
        config["decoder_channels"] = chans
        config["encoder_depth"] = len(chans)
    if opts.head and opts.head != config.get("head", "full"):
        config["head"] = opts.head
    return config


def load_start_weights(model: torch.nn.Module, start: torch.nn.Module) -> list[str]:
    """Copy ``start``'s weights into ``model`` wherever name and shape agree.

    Returns the names of ``model``'s tensors left as they were (e.g. a new head when
    fine-tuning a model whose other layers are the same).
    """
    own, theirs = model.state_dict(), start.state_dict()
    fits = {k: v for k, v in theirs.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fits, strict=False)
    return [k for k in own if k not in fits]


def curve_r2(model, page, *, device, config: dict | None = None) -> list[float]:
    """R² of every curve recovered from a rendered page by the whole pipeline."""
    from .convert import convert_scan
    from .errors import LogdigitError
    from .layout import parse_layout
    from .metrics import r2
    from .scanio import Scan

    scan = Scan(pixels=page.image, source="validation page", page=0, n_pages=1,
                transposed=False, dpi=None)
    try:
        res = convert_scan(scan, parse_layout(page.layout), model=model,
                           config=dict(config or DEFAULT_CONFIG), device=device)
    except LogdigitError:
        return [float("-inf")] * len(page.truth)
    got = {c.curve.mnemonic: c.values for c in res.curves}
    out = []
    for mnemonic, _unit, values in page.truth:
        v = r2(got[mnemonic], values)
        out.append(v if np.isfinite(v) else float("-inf"))
    return out


def validate(model, pages, *, device, config: dict | None = None) -> dict:
    """Per-class IoU / precision / recall / F1 over whole validation pages, and the median
    R² of the curves the pipeline recovers from them (``curves_median_r2``)."""
    from .segment import labels_from_probs, segment_array

    config = dict(config or DEFAULT_CONFIG)
    cm = np.zeros((3, 3), np.int64)
    r2s: list[float] = []
    for page in pages:
        prob = segment_array(page.image, model=model, config={**config, "tile": 512},
                             device=device)
        cm += confusion(labels_from_probs(prob).astype(np.int64), page.labels)
        r2s += curve_r2(model, page, device=device, config=config)
    out = scores_from_confusion(cm)
    out["curves_median_r2"] = float(np.median(r2s)) if r2s else float("nan")
    return out


def recalibrate_bn(model: torch.nn.Module, batches) -> None:
    """Recompute BatchNorm running statistics as a plain average over ``batches``.

    The exponential running averages lag behind weights that change quickly, which makes
    eval-mode predictions much worse than train-mode ones early in training; an exact
    average over fresh batches with the final weights removes that gap.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for x in batches:
            model(x)
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    model.eval()


def model_card(opts: TrainOptions, *, step: int, seconds: float, val: dict | None,
               config: dict) -> str:
    lines = [
        "# logdigit segmentation model",
        "",
        "Three classes: 0 background, 1 solid-line curve, 2 dashed/dotted curve.",
        f"Architecture: smp.{config['arch']} with encoder `{config['encoder_name']}` "
        f"(depth {config['encoder_depth']}, decoder {config['decoder_channels']}), "
        "`encoder_weights=None`, 1 input channel (ink = 1).",
        "",
        "## Training",
        f"- Data: synthetic pages rendered by `logdigit.render` from the curves in "
        f"`{opts.las_dir or 'random walks'}`, crops of {opts.crop} px, batch {opts.batch}; "
        f"clean / scanned / hard pages in the shares {opts.tier_mix}.",
        f"- Loss: Tversky (alpha {opts.alpha}, beta {opts.beta}) + focal CE (gamma {opts.gamma})"
        f" + {opts.style_weight} x solid-vs-dashed CE on curve pixels"
        f" + {opts.ink_weight} x Tversky of any curve ink"
        + (f" + {opts.cldice_weight} x soft clDice of any curve ink." if opts.cldice_weight
           else "."),
        f"- Started from: {opts.init or 'random weights'}.",
        f"- Steps: {step}, AdamW lr {opts.lr} with cosine decay, seed {opts.seed}.",
        (f"- Saved weights: exponential moving average of the trained weights (decay "
         f"{opts.ema}), BatchNorm statistics recomputed for them."
         if opts.ema else "- Saved weights: the trained weights as they are at that step."),
        f"- Training time: {seconds / 60:.1f} min on this project's 2-core CPU.",
        "- Command: `python -m logdigit.train` (see `make train`); options:",
        "",
        "```json",
        json.dumps(asdict(opts), indent=2),
        "```",
        "",
    ]
    if val:
        lines += [
            "## Validation (whole pages, pixel level)",
            f"{opts.val_pages} pages rendered with a fixed seed from "
            f"`{opts.val_las_dir or opts.las_dir or 'random walks'}`, measured at step "
            f"{val.get('step', step)}:",
            "",
            "| class | IoU | precision | recall | F1 |",
            "|---|---|---|---|---|",
        ]
        for name, s in val.items():
            if isinstance(s, dict):
                lines.append(f"| {name} | {s['iou']:.3f} | {s['precision']:.3f} | "
                             f"{s['recall']:.3f} | {s['f1']:.3f} |")
        if "curves_median_r2" in val:
            lines += ["", f"Median R² of the curves the pipeline recovers from those pages: "
                          f"{val['curves_median_r2']:.4f}."]
        lines.append("")
    return "\n".join(lines)


def train(opts: TrainOptions, *, out: Path, resume: bool = False) -> Path:
    """Train and write the model folder ``out``; ``out/checkpoint.pt`` allows resuming."""
    torch.set_num_threads(opts.threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    config = run_config(opts)
    torch.manual_seed(opts.seed)
    # channels last: a training step of the shipped architecture (12 crops of 256 px, 2
    # threads) took 0.36 s against 0.63-0.65 s in the default layout (session 29)
    model = build_model(config).to(memory_format=torch.channels_last)
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=1e-4)
    def lr_factor(s: int) -> float:  # linear warm-up, then cosine decay to 0
        warm = min(1.0, (s + 1) / max(1, opts.warmup))
        return warm * 0.5 * (1 + math.cos(math.pi * min(s, opts.steps) / opts.steps))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_factor)
    step, seconds, val = 0, 0.0, None
    if opts.init and not (resume and ckpt_path.exists()):
        from .model import load_model

        start, start_config = load_model(opts.init)
        # the encoder must be the same; a decoder of other widths starts fresh (the
        # encoder's weights are still copied: a narrower, faster decoder can be trained on
        # a trained encoder)
        same = ("arch", "encoder_name", "encoder_depth", "in_channels", "classes")
        if any(start_config.get(k) != config.get(k) for k in same):
            raise ValueError(f"{opts.init}: encoder differs from this run's")
        fresh = load_start_weights(model, start)
        logger.info("starting from the weights in %s%s", opts.init,
                    f" ({len(fresh)} tensors new: {', '.join(fresh[:6])})" if fresh else "")
    ema = WeightAverage(model, decay=opts.ema) if opts.ema else None
    if resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        if ema is not None:
            if ck.get("ema"):
                ema.load_state_dict(ck["ema"])
            else:
                ema = WeightAverage(model, decay=opts.ema)
        optim.load_state_dict(ck["optim"])
        sched.load_state_dict(ck["sched"])
        step, seconds, val = ck["step"], ck["seconds"], ck.get("val")
        logger.info("resumed from %s at step %d", ckpt_path, step)

    val_rng = np.random.default_rng(12345)
    vbank = load_bank(Path(opts.val_las_dir)) if opts.val_las_dir else (
        load_bank(Path(opts.las_dir)) if opts.las_dir else random_walk_bank(val_rng))
    val_pages = []
    for i in range(opts.val_pages):
        p = render_page(rng=val_rng, bank=vbank, height=1024, width=1024, tier=TIERS[i % 3])
        val_pages.append(p)

    stream = CropStream(las_dir=opts.las_dir, crop=opts.crop, batch=opts.batch,
                        seed=opts.seed + step, extras=opts.extras, pool=opts.pool,
                        tier_mix=parse_tier_mix(opts.tier_mix), rules=opts.rule_weight != 1.0,
                        rough_weight=opts.rough_weight, flat_share=opts.flat_share,
                        seen=opts.seen_labels, scale_share=opts.scale_share)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=opts.workers,
                                         prefetch_factor=4 if opts.workers else None,
                                         persistent_workers=bool(opts.workers))

    served = ema.model if ema is not None else model  # the weights validated and saved

    def checkpoint():
        tmp = ckpt_path.with_suffix(".part")
        torch.save(dict(model=model.state_dict(), optim=optim.state_dict(),
                        sched=sched.state_dict(), step=step, seconds=seconds, val=val,
                        ema=ema.state_dict() if ema is not None else None), tmp)
        tmp.replace(ckpt_path)
        card = model_card(opts, step=step, seconds=seconds, val=val, config=config)
        save_model(served, out, config=config, card=card)
        if opts.keep_snapshots:
            save_model(served, out / "snapshots" / f"step{step:06d}", config=config, card=card)
        logger.info("checkpoint at step %d (%.1f min)", step, seconds / 60)

    batches = iter(loader)

    def refresh_bn():
        recalibrate_bn(served, (next(batches)[0] for _ in range(opts.bn_batches)))

    model.train()
    last_ckpt = time.monotonic()
    t0 = time.monotonic() - seconds
    running = None
    while step < opts.steps:
        x, y = next(batches)
        logits = model(x.contiguous(memory_format=torch.channels_last))
        loss = segmentation_loss(logits, y, alpha=opts.alpha, beta=opts.beta, gamma=opts.gamma,
                                 style_weight=opts.style_weight, ink_weight=opts.ink_weight,
                                 cldice_weight=opts.cldice_weight,
                                 rule_weight=opts.rule_weight)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        if ema is not None:
            ema.update(model)
        step += 1
        seconds = time.monotonic() - t0
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % 25 == 0:
            logger.info("step %d loss %.4f lr %.2e %.1f s/step", step, running,
                        sched.get_last_lr()[0], seconds / max(step, 1))
        if step % opts.val_every == 0 or step == opts.steps:
            refresh_bn()
            val = dict(validate(served, val_pages, device="cpu", config=config), step=step)
            model.train()
            logger.info("val step %d: %s", step, json.dumps(val))
        if time.monotonic() - last_ckpt > opts.checkpoint_minutes * 60 or step == opts.steps:
            refresh_bn()
            checkpoint()
            model.train()
            last_ckpt = time.monotonic()
    refresh_bn()
    checkpoint()
    return out


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", action="store_true")
    def flag(text: str) -> bool:
        return text.strip().lower() in ("1", "true", "yes", "on")

    for f, v in asdict(TrainOptions()).items():
        kind = flag if isinstance(v, bool) else (type(v) if v is not None else str)
        ap.add_argument(f"--{f.replace('_', '-')}", type=kind, default=v)
    a = vars(ap.parse_args(argv))
    out, resume = a.pop("out"), a.pop("resume")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train(TrainOptions(**a), out=Path(out), resume=resume)


if __name__ == "__main__":
    main()
