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


def _logits_from_mask(mask: torch.Tensor, cls: int = 1, sharp: float = 8.0) -> torch.Tensor:
    """(N, 3, H, W) logits that put class ``cls`` where ``mask`` is set, background else."""
    logits = torch.zeros(mask.shape[0], 3, *mask.shape[1:])
    logits[:, 0] = sharp * (1 - mask.float())
    logits[:, cls] = sharp * mask.float()
    return logits


def test_soft_skeleton_of_a_thick_line_is_thin_and_inside_it():
    from logdigit.losses import soft_skeleton

    x = torch.zeros(1, 1, 40, 40)
    x[..., 5:35, 18:23] = 1.0  # a vertical bar 5 px wide
    sk = soft_skeleton(x)
    assert sk[..., x[0, 0] == 0].max() == 0  # nothing outside the bar
    assert float(sk[0, 0, 10:30, 20].min()) > 0.9  # the centre column of the bar
    assert float(sk[0, 0, 10:30].sum(dim=1).max()) < 2.5  # about one px wide


def test_cldice_punishes_a_broken_line_more_than_a_fat_one():
    """Both predictions get 15 pixels wrong; one breaks the line, the other widens it.
    clDice cares about the break (the tracer loses the curve there), not the width."""
    from logdigit.losses import cldice_loss, tversky_loss

    target = torch.zeros(1, 48, 48, dtype=torch.long)
    target[0, 4:44, 22:25] = 1  # a line 3 px wide
    perfect = _logits_from_mask(target > 0)
    broken = target.clone()
    broken[0, 20:25, 22:25] = 0  # a 5-row break: 15 px missing
    fat = target.clone()
    fat[0, 20:35, 25] = 1  # 15 px extra beside the line
    l_perfect = float(cldice_loss(perfect, target))
    l_broken = float(cldice_loss(_logits_from_mask(broken > 0), target))
    l_fat = float(cldice_loss(_logits_from_mask(fat > 0), target))
    assert l_perfect < 0.01
    assert l_broken > l_fat + 0.02
    # the overlap loss sees it the other way round (a miss costs beta > alpha per pixel)
    assert float(tversky_loss(_logits_from_mask(broken > 0), target, classes=(1,))) > float(
        tversky_loss(_logits_from_mask(fat > 0), target, classes=(1,)))


def test_segmentation_loss_adds_cldice_only_when_weighted():
    from logdigit.losses import cldice_loss, segmentation_loss

    torch.manual_seed(0)
    logits = torch.randn(2, 3, 32, 32, requires_grad=True)
    target = torch.zeros(2, 32, 32, dtype=torch.long)
    target[:, 5:28, 10:12] = 2
    base = segmentation_loss(logits, target)
    with_cl = segmentation_loss(logits, target, cldice_weight=0.5)
    torch.testing.assert_close(with_cl, base + 0.5 * cldice_loss(logits, target))
    with_cl.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_rule_pixels_are_background_with_their_own_weight():
    from logdigit.losses import RULE

    t = torch.zeros(1, 16, 16, dtype=torch.long)
    t[0, :, 4] = 1
    marked = t.clone()
    marked[0, :, 10] = RULE
    logits = perfect_logits(t)
    logits[:, 1, :, 10] += 42  # the network calls the rule a solid curve
    plain = segmentation_loss(logits, t)
    assert torch.isclose(segmentation_loss(logits, marked), plain)  # weight 1: background
    heavier = segmentation_loss(logits, marked, rule_weight=4.0)
    assert heavier > plain
    # weighting the rule changes nothing where the network is right about it
    good = perfect_logits(t)
    assert torch.isclose(segmentation_loss(good, marked, rule_weight=4.0),
                         segmentation_loss(good, t), atol=1e-6)
