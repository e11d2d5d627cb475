"""Losses for thin-curve segmentation.

Curve ink is under 2 % of the pixels, so plain cross-entropy learns "all background".
The training loss is a Tversky term (beta > alpha: a missed curve pixel costs more than a
false one, because missing mask breaks the trace while a fat mask only costs IoU) plus a
cross-entropy term that keeps gradients alive on crops without any curve pixel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Training-target value of a background pixel on a printed grid rule
#: (:func:`segmentation_loss`); the network's classes are 0..2.
RULE = 3


def _tversky(p: torch.Tensor, t: torch.Tensor, alpha: float, beta: float,
             eps: float) -> torch.Tensor:
    """``1 - TP / (TP + alpha FP + beta FN)`` of probabilities ``p`` against 0/1 ``t``."""
    tp = (p * t).sum()
    fp = (p * (1 - t)).sum()
    fn = ((1 - p) * t).sum()
    return 1 - (tp + eps) / (tp + alpha * fp + beta * fn + eps)


def tversky_loss(logits: torch.Tensor, target: torch.Tensor, *, alpha: float = 0.3,
                 beta: float = 0.7, classes: tuple[int, ...] = (1, 2),
                 eps: float = 1.0) -> torch.Tensor:
    """Mean Tversky loss over ``classes``, computed over the whole batch.

    Parameters
    ----------
    logits : (N, C, H, W) float tensor
    target : (N, H, W) int64 tensor of class indices
    alpha, beta : float
        Weights of false positives and false negatives; ``alpha = beta = 0.5`` is Dice.
    """
    prob = logits.float().softmax(1)
    losses = [_tversky(prob[:, c], (target == c).float(), alpha, beta, eps) for c in classes]
    return torch.stack(losses).mean()


def focal_ce(logits: torch.Tensor, target: torch.Tensor, *, gamma: float = 2.0,
             weight: torch.Tensor | None = None,
             pixel_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Focal cross-entropy (``gamma = 0`` gives weighted cross-entropy).

    ``weight`` (C,) weighs the classes, ``pixel_weight`` (N, H, W) each pixel; the mean
    is taken over the pixels either way.
    """
    logp = F.log_softmax(logits.float(), 1)
    ce = F.nll_loss(logp, target, weight=weight, reduction="none")
    if gamma:
        pt = logp.gather(1, target[:, None]).squeeze(1).exp()
        ce = ce * (1 - pt) ** gamma
    if pixel_weight is not None:
        ce = ce * pixel_weight
    return ce.mean()


def ink_tversky_loss(logits: torch.Tensor, target: torch.Tensor, *, alpha: float = 0.3,
                     beta: float = 0.7, eps: float = 1.0) -> torch.Tensor:
    """Tversky loss of *any* curve ink (solid + dashed probability against ``target > 0``).

    The tracer follows the ink probability and decides the line style itself, so finding
    every curve pixel and nothing else (grid, text, stains) matters more than the class;
    this term rewards that without the style confusion diluting it.
    """
    prob = logits.float().softmax(1)
    return _tversky(prob[:, 1] + prob[:, 2], (target > 0).float(), alpha, beta, eps)


def style_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between the curve classes on curve pixels only (solid vs dashed).

    Over all pixels this signal is diluted 50:1 by background; restricted to ink it is
    balanced, which breaks the "half solid, half dashed" stalemate the other terms allow.
    """
    ink = target > 0
    if not ink.any():
        return logits.sum() * 0.0
    curve_logits = logits.float().permute(0, 2, 3, 1)[ink][:, 1:3]
    return F.cross_entropy(curve_logits, target[ink] - 1)


def _soft_erode(x: torch.Tensor) -> torch.Tensor:
    """Grey-level erosion by a 3 x 3 cross (min of a vertical and a horizontal min-pool)."""
    return torch.minimum(-F.max_pool2d(-x, (3, 1), 1, (1, 0)),
                         -F.max_pool2d(-x, (1, 3), 1, (0, 1)))


def _soft_dilate(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 3, 1, 1)


def soft_skeleton(x: torch.Tensor, *, iterations: int = 5) -> torch.Tensor:
    """Differentiable skeleton of a soft mask (Shit et al., clDice, CVPR 2021).

    Parameters
    ----------
    x : (N, 1, H, W) float tensor in [0, 1]
    iterations : int
        Erosions: enough for lines up to ``2 * iterations + 1`` px wide.

    Returns
    -------
    (N, 1, H, W) float tensor in [0, 1]
    """
    skel = F.relu(x - _soft_dilate(_soft_erode(x)))
    for _ in range(iterations):
        x = _soft_erode(x)
        delta = F.relu(x - _soft_dilate(_soft_erode(x)))
        skel = skel + F.relu(delta - skel * delta)
    return skel


def cldice_loss(logits: torch.Tensor, target: torch.Tensor, *, iterations: int = 5,
                eps: float = 1.0) -> torch.Tensor:
    """Soft clDice of *any* curve ink: topology rather than overlap.

    ``1 - 2 Tprec Tsens / (Tprec + Tsens)``, where Tprec is the share of the predicted
    ink's skeleton that lies on true ink and Tsens the share of the true ink's skeleton
    covered by the prediction. A prediction that breaks a line loses a piece of the true
    skeleton (Tsens), however few pixels the break is; a fat prediction keeps its
    skeleton on the true ink. The tracer needs exactly that: an unbroken line.

    Parameters
    ----------
    logits : (N, C, H, W) float tensor
    target : (N, H, W) int64 tensor of class indices (> 0: curve ink)
    """
    prob = logits.float().softmax(1)
    p = (prob[:, 1] + prob[:, 2])[:, None]
    t = (target > 0).float()[:, None]
    sp, st = soft_skeleton(p, iterations=iterations), soft_skeleton(t, iterations=iterations)
    tprec = ((sp * t).sum() + eps) / (sp.sum() + eps)
    tsens = ((st * p).sum() + eps) / (st.sum() + eps)
    return 1 - 2 * tprec * tsens / (tprec + tsens)


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, *, alpha: float = 0.3,
                      beta: float = 0.7, gamma: float = 2.0, ce_weight: float = 1.0,
                      style_weight: float = 0.0, ink_weight: float = 0.0,
                      cldice_weight: float = 0.0, rule_weight: float = 1.0):
    """Tversky + focal CE (+ the curve-style, any-ink and clDice terms): the training loss.

    ``target`` (N, H, W) holds the classes 0..2, and may hold :data:`RULE` on background
    pixels that lie on the printed grid's rules: they count as background everywhere, and
    their focal CE is multiplied by ``rule_weight`` (the segmenter must not take a rule
    for a curve: a trace then runs down it).
    """
    weight = None
    rule = target == RULE
    if bool(rule.any()):
        target = target.masked_fill(rule, 0)
        if rule_weight != 1.0:
            weight = 1.0 + (rule_weight - 1.0) * rule.float()
    loss = tversky_loss(logits, target, alpha=alpha, beta=beta) + ce_weight * focal_ce(
        logits, target, gamma=gamma, pixel_weight=weight
    )
    if ink_weight:
        loss = loss + ink_weight * ink_tversky_loss(logits, target, alpha=alpha, beta=beta)
    if style_weight:
        loss = loss + style_weight * style_loss(logits, target)
    if cldice_weight:
        loss = loss + cldice_weight * cldice_loss(logits, target)
    return loss
