"""Q3's smallest L∞ change on a network whose answer is known by hand: the search returns exactly the smallest
integer budget that fools, and the budget one grey level below was searched in full and failed."""
import numpy as np
import pytest

from cnnvis import fooling
from cnnvis.quiet_tensorflow import tf

MARGIN = np.log(0.98 / 0.02)  # two classes: p(target) > 0.98 exactly when its logit leads by more than this


class LinearNet:
    """Two classes, the target's logit lead linear in the pixel values (0..255): lead = bias + Σ w·rgb."""
    classes = ("source", "target")

    def __init__(self, w, bias):
        self.w, self.bias = tf.constant(w, tf.float32), float(bias)

    @staticmethod
    def rgb_to_x(rgb):
        return tf.convert_to_tensor(rgb, tf.float32)

    def logits(self, x):
        lead = self.bias + tf.reduce_sum(x * self.w, axis=[1, 2, 3])
        return tf.stack([tf.zeros_like(lead), lead], axis=1)

    def activations(self, x, names):
        return {"prob": tf.nn.softmax(self.logits(x))}


def linear_case(lead_at_photo, gain_per_grey_level, photo, seed=0):
    """Weights of mixed signs whose L1 norm is the gain of the lead per grey level of L∞ budget, and the bias that
    puts the photo's lead at `lead_at_photo`."""
    w = np.random.default_rng(seed).normal(size=photo.shape)
    w *= gain_per_grey_level / np.abs(w).sum()
    return LinearNet(w, lead_at_photo - float((w * photo).sum()))


def smallest_by_hand(lead_at_photo, gain):
    """Best lead inside budget ε (no pixel clipped): lead_at_photo + ε·gain, by moving every pixel ε along the
    sign of its weight; the smallest integer ε whose lead passes the margin."""
    return int(np.floor((MARGIN - lead_at_photo) / gain)) + 1


@pytest.mark.parametrize("lead, gain", [(-3.0, 1.5), (-10.0, 0.7), (2.0, 3.0)])
def test_smallest_linf_is_the_known_answer_and_the_budget_below_fails_a_full_search(lead, gain):
    photo = np.full((4, 4, 3), 128, np.uint8)
    net = linear_case(lead, gain, photo)
    answer = smallest_by_hand(lead, gain)
    image, search = fooling.smallest_linf(net, photo, 1)
    assert np.abs(image.astype(int) - photo).max() == answer
    assert fooling.fooled(fooling.probabilities(net, image), 1, 0.98)
    fooling_budgets = {r["budget"] for r in search if r["fooled"]}
    assert min(fooling_budgets) == answer
    if answer > 1:
        below = [r for r in search if r["budget"] == answer - 1 and r["phase"] == "confirm"]
        assert below, "the budget below the answer was not searched hard"
        assert below[-1] == {"phase": "confirm", "budget": answer - 1, "restarts": fooling.RESTARTS,
                             "steps": fooling.CONFIRM_STEPS, "fooled": False,
                             "best_p_target": pytest.approx(1 / (1 + np.exp(-(lead + (answer - 1) * gain))), rel=1e-4)}


def test_pixels_at_the_end_of_the_range_cannot_move_past_it():
    """Half the pixels at 255 with positive weights gain nothing: the answer is the one of the other half."""
    photo = np.full((4, 4, 3), 100, np.uint8)
    photo[:2] = 255
    w = np.ones(photo.shape)
    w[2:] = -1.0
    w *= 1.6 / np.abs(w[2:]).sum()  # the movable half gains 1.6 a grey level
    net = LinearNet(w, -4.0 - float((w * photo).sum()))
    image, search = fooling.smallest_linf(net, photo, 1)
    assert np.abs(image.astype(int) - photo).max() == smallest_by_hand(-4.0, 1.6)  # 6, not 3 as with all pixels

