import torch

from logdigit.losses import focal_ce, segmentation_loss, tversky_loss


def perfect_logits(target):
    return torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float() * 40 - 20


def two_curves(size: int, solid_row: int, dashed_row: int):
    """A target with one solid and one dashed row, its perfect logits, and the same logits
    with the two curve classes exchanged (every curve pixel has the wrong style)."""
    t = torch.zeros(1, size, size, dtype=torch.long)
    t[0, solid_row, :] = 1
    t[0, dashed_row, :] = 2
    good = perfect_logits(t)
    swapped = good.clone()
    swapped[:, [1, 2]] = swapped[:, [2, 1]]
    return t, good, swapped


def test_tversky_zero_for_perfect_prediction():
    t = torch.zeros(2, 16, 16, dtype=torch.long)
    t[:, 5, :] = 1
    t[:, :, 9] = 2
    assert tversky_loss(perfect_logits(t), t) < 1e-4


def test_tversky_penalises_misses_more_than_false_alarms():
    t = torch.zeros(1, 32, 32, dtype=torch.long)
    t[0, 10:14, :] = 1
    miss = t.clone()
    miss[0, 12:14, :] = 0  # half the ink missed
    fat = t.clone()
    fat[0, 14:16, :] = 1  # as many false pixels added
    l_miss = tversky_loss(perfect_logits(miss), t, classes=(1,))
    l_fat = tversky_loss(perfect_logits(fat), t, classes=(1,))
    assert l_miss > l_fat  # beta > alpha: recall is worth more


def test_loss_is_finite_and_positive_without_curve_pixels():
    t = torch.zeros(2, 8, 8, dtype=torch.long)
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    loss = segmentation_loss(logits, t)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert logits.grad.abs().sum() > 0  # the CE term keeps gradients alive


def test_focal_reduces_easy_examples():
    t = torch.zeros(1, 4, 4, dtype=torch.long)
    logits = torch.zeros(1, 3, 4, 4)
    logits[:, 0] = 3.0
    assert focal_ce(logits, t, gamma=2.0) < focal_ce(logits, t, gamma=0.0)


def test_style_loss_only_looks_at_curve_pixels():
    from logdigit.losses import style_loss

    t, good, swapped = two_curves(8, 2, 5)
    assert style_loss(good, t) < 1e-3 < style_loss(swapped, t)
    bg_wrong = good.clone()
    bg_wrong[:, 0, 0, 0] = -50  # background pixels do not matter to this term
    assert torch.isclose(style_loss(bg_wrong, t), style_loss(good, t))
    assert style_loss(good, torch.zeros_like(t)) == 0


def test_ink_tversky_ignores_the_style_but_not_the_ink():
    from logdigit.losses import ink_tversky_loss

    t, good, swapped = two_curves(16, 4, 9)
    assert ink_tversky_loss(good, t) < 1e-3
    assert ink_tversky_loss(swapped, t) < 1e-3  # still all ink: no penalty here
    assert tversky_loss(swapped, t) > 0.9  # the per-class term does penalise it
    missed = perfect_logits(torch.where(t == 2, 0, t))  # the dashed curve not found
    assert ink_tversky_loss(missed, t) > 0.3
    no_ink = torch.zeros_like(t)
    assert segmentation_loss(good, t, ink_weight=1.0) < segmentation_loss(
        perfect_logits(no_ink), t, ink_weight=1.0)
