"""A second opinion from a sibling network: does another classifier recognize a class visualization?

The judge is the bundled EfficientNet-Lite1 (weights/efficientnet_lite1.npz), never used to optimize. An image
made for class c is *recognized* when the judge's top-1 class is c. It is of the same family and training
recipe as the bundled EfficientNet-Lite0, so it shares that network's features: its recognition shows that the
class is encoded in what the family shares, not that a person sees it (viewers named none of ten images it
recognized eight of). What a person sees is measured by blind naming (tools/blind_naming.py); this judge is the
cheap, automatic check that runs in every experiment, on AlexNet's images the same way.
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
