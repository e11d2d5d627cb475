"""The options of a training run (:mod:`logdigit.train`), kept free of torch so that the
command line can show their defaults without importing it."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Shares of clean, scanned and hard pages of the from-scratch run (``make train``).
DEFAULT_TIER_MIX = (0.3, 0.4, 0.3)


@dataclass
class TrainOptions:
    """Everything a training run depends on (written into the model card)."""

    las_dir: str | None = None  # training curves; None = random-walk curves
    val_las_dir: str | None = None  # curves for the validation pages
    steps: int = 3200
    batch: int = 12
    crop: int = 256
    lr: float = 2e-3
    seed: int = 0
    alpha: float = 0.3
    beta: float = 0.7
    gamma: float = 2.0
    style_weight: float = 1.0  # solid-vs-dashed CE on curve pixels (losses.style_loss)
    ink_weight: float = 1.0  # Tversky of solid + dashed ink (losses.ink_tversky_loss)
    cldice_weight: float = 0.0  # soft clDice of any ink (losses.cldice_loss); 0 = off
    rule_weight: float = 1.0  # focal CE weight of background on the grid's rules
    init: str | None = None  # model folder whose weights start a fresh run (fine-tuning)
    warmup: int = 150
    extras: bool = True  # shading, text blocks, distractor curves, thick pens (render_page)
    checkpoint_minutes: float = 5.0
    val_every: int = 500
    val_pages: int = 6
    threads: int = 2
    bn_batches: int = 24  # batches used to recompute BatchNorm statistics before saving
    workers: int = 1
    encoder: str = ""  # timm/smp encoder name; "" = DEFAULT_CONFIG's
    decoder: str = ""  # decoder channels, e.g. "64,48,32,16"; "" = DEFAULT_CONFIG's
    head: str = ""  # "full" or "subpixel" (model.build_model); "" = DEFAULT_CONFIG's
    keep_snapshots: bool = True  # also keep every checkpoint as out/snapshots/stepNNNNNN/
    ema: float = 0.998  # decay of the weight average that is validated and saved; 0 = off
    pool: int = 12  # pages a batch's crops are drawn from (CropStream)
    tier_mix: str = ",".join(map(str, DEFAULT_TIER_MIX))  # clean, scanned, hard shares
    rough_weight: float = 1.0  # rough curves (render.roughness >= render.ROUGH) picked this
    # many times as often as the others for the training pages (not the validation pages)
    flat_share: float = 0.0  # curves of the training pages given stretches held at one
    # value (render.CurveBank.with_flat_stretches; not the validation pages); 0 = off
    seen_labels: bool = False  # train on the label pixels the scan shows (train.seen_labels)
    scale_share: float = 0.0  # training pages drawn at twice the scale, as a scan at twice
    # the resolution (train.twice_the_scale); 0 = off


def parse_tier_mix(text: str) -> tuple[float, float, float]:
    """``"clean,scanned,hard"`` shares -> three probabilities that sum to 1.

    Raises ValueError unless there are three non-negative numbers with a positive sum.
    """
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or not all(math.isfinite(p) for p in parts) or min(parts) < 0 or (
            sum(parts) <= 0):
        raise ValueError(f"tier mix {text!r}: expected three non-negative shares of clean, "
                         "scanned and hard pages, e.g. 0.3,0.4,0.3")
    total = sum(parts)
    return (parts[0] / total, parts[1] / total, parts[2] / total)
