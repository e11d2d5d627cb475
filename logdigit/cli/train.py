"""``logdigit train``: train the segmenter on pages rendered from LAS curves (CPU-friendly)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UsageError
from ..train_options import TrainOptions, parse_tier_mix
from . import app, check_rough_weight, rough_weight_option, setup_logging

#: the defaults of ``make train``, the from-scratch run the shipped model was fine-tuned from
#: (``logdigit.train.TrainOptions``; the fine-tune's options are in its model card)
_D = TrainOptions()


@app.command(help="Train a segmentation model on synthetic scans rendered on the fly from "
             "real LAS curves. Checkpoints every few minutes; --resume continues a run. The "
             "model folder (config.json, model.safetensors, MODEL_CARD.md) is rewritten at "
             "every checkpoint.")
def train(
    out: Path = typer.Option(..., "--out", help="Model folder to write (and resume from)."),
    las_dir: Path = typer.Option(..., "--las-dir", help="LAS files to render pages from."),
    val_las_dir: Path | None = typer.Option(None, "--val-las-dir",
                                            help="LAS files for validation pages."),
    steps: int = typer.Option(_D.steps, "--steps", min=1),
    batch: int = typer.Option(_D.batch, "--batch", min=1),
    crop: int = typer.Option(_D.crop, "--crop", min=64),
    lr: float = typer.Option(_D.lr, "--lr"),
    seed: int = typer.Option(_D.seed, "--seed"),
    checkpoint_minutes: float = typer.Option(_D.checkpoint_minutes, "--checkpoint-minutes"),
    val_every: int = typer.Option(_D.val_every, "--val-every", min=1),
    ema: float = typer.Option(_D.ema, "--ema", min=0.0, max=0.9999,
                              help="Decay of the saved weight average; 0 saves the trained "
                              "weights as they are."),
    pool: int = typer.Option(_D.pool, "--pool", min=1,
                             help="Pages each batch's crops are drawn from."),
    head: str = typer.Option(_D.head or "full", "--head",
                             help="'full' (the shipped model's) or 'subpixel': predicts at "
                             "1/2 resolution, 2 x 2 logits per pixel (faster, see the model "
                             "card)."),
    ink_weight: float = typer.Option(_D.ink_weight, "--ink-weight", min=0.0,
                                     help="Weight of the Tversky term on any curve ink "
                                     "(solid + dashed) in the loss."),
    cldice_weight: float = typer.Option(_D.cldice_weight, "--cldice-weight", min=0.0,
                                        help="Weight of a soft clDice term on any curve "
                                        "ink (topology; 0 = off)."),
    rule_weight: float = typer.Option(_D.rule_weight, "--rule-weight", min=0.0,
                                      help="Weight of the cross-entropy on background "
                                      "pixels on the grid's rules (1 = like any "
                                      "background)."),
    tier_mix: str = typer.Option(_D.tier_mix, "--tier-mix",
                                 help="Shares of clean, scanned and hard pages, e.g. "
                                 "0.2,0.4,0.4."),
    rough_weight: float = rough_weight_option(_D.rough_weight, pages="training pages"),
    flat_share: float = typer.Option(_D.flat_share, "--flat-share", min=0.0, max=1.0,
                                     help="Share of the training curves given stretches "
                                     "held at one value (drawn as straight lines); 0 = off."),
    seen_labels: bool = typer.Option(_D.seen_labels, "--seen-labels/--all-labels",
                                     help="Train on the curve label pixels near scan ink "
                                     "only: a stretch the scan erased is background."),
    scale_share: float = typer.Option(_D.scale_share, "--scale-share", min=0.0, max=1.0,
                                      help="Share of the training pages drawn at twice the "
                                      "scale, as a scan at twice the resolution; 0 = off."),
    init: Path | None = typer.Option(None, "--init", help="Start from the weights of this "
                                     "model folder (fine-tuning) instead of random ones."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.pt."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    from ..render import load_bank
    from ..train import train as run

    setup_logging(quiet=quiet, verbose=not quiet)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out is a file, expected a model folder")
    if head not in ("full", "subpixel"):
        raise UsageError(f"--head {head}: expected full or subpixel")
    try:
        parse_tier_mix(tier_mix)
    except ValueError as e:
        raise UsageError(f"--tier-mix: {e}") from None
    check_rough_weight(rough_weight)
    if init is not None and not (init / "config.json").is_file():
        raise UsageError(f"{init}: --init is not a model folder (no config.json)")
    for d in (las_dir, val_las_dir):
        if d is not None and not d.is_dir():
            raise UsageError(f"{d}: not a folder of LAS files")
        if d is not None and not load_bank(d).curves:
            raise UsageError(f"{d}: no usable curves in the LAS files there (a curve needs "
                             "at least 400 finite, varying samples)")
    opts = TrainOptions(las_dir=str(las_dir), val_las_dir=str(val_las_dir) if val_las_dir else
                        None, steps=steps, batch=batch, crop=crop, lr=lr, seed=seed,
                        checkpoint_minutes=checkpoint_minutes, val_every=val_every,
                        ema=ema, pool=pool, head=head, init=str(init) if init else None,
                        ink_weight=ink_weight, cldice_weight=cldice_weight,
                        rule_weight=rule_weight, tier_mix=tier_mix, rough_weight=rough_weight,
                        flat_share=flat_share, seen_labels=seen_labels,
                        scale_share=scale_share)
    folder = run(opts, out=out, resume=resume)
    print(folder)
