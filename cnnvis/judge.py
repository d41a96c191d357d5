"""A second opinion: does an independent network recognize a class visualization?

The judge is the bundled EfficientNet-Lite1 (weights/efficientnet_lite1.npz), a different network from the
one the images were optimized on (AlexNet or EfficientNet-Lite0), trained separately and never used to
optimize. An image made for class c is *recognized* when the judge's top-1 class is c. This guards against
the usual trap of feature visualization: an image that drives one network's logit is not necessarily a
picture of the class.
"""
import numpy as np

import alexnet

JUDGE = "efficientnet-lite1"


class Judge:
    def __init__(self):
        self.net = alexnet.bundled(JUDGE, "the independent judge of class visualizations")

    def __call__(self, rgb_uint8, intended):
        """rgb_uint8 [N,H,W,3] (any square size, resized to the judge's input), intended [N] class indices
        -> one dict per image: the judge's top-1 class (index, name, p) and its p of the intended class."""
        images = np.stack([self.net.resize_to_input(np.asarray(img, np.uint8)) for img in rgb_uint8])
        prob = self.net.activations(self.net.rgb_to_x(images.astype(np.float32)), ["prob"])["prob"].numpy()
        return [{"judge": JUDGE, "judge_top1_index": int(p.argmax()), "judge_top1": self.net.classes[int(p.argmax())],
                 "judge_top1_prob": float(p.max()), "judge_prob_of_class": float(p[c]),
                 "judge_rank_of_class": int((p > p[c]).sum()) + 1, "recognized": bool(p.argmax() == c)}
                for p, c in zip(prob, intended)]


def recognition_rate(rows):
    """Fraction of rows whose image the judge recognized (its top-1 is the intended class); None if no rows."""
    rows = list(rows)
    return sum(r["recognized"] for r in rows) / len(rows) if rows else None
