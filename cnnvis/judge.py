"""A second opinion from a sibling network: does another classifier recognize a class visualization?

The judge is the bundled EfficientNet-Lite1 (weights/efficientnet_lite1.npz), never used to optimize. An image
made for class c is *recognized* when the judge's top-1 class is c. It is of the same family and training
recipe as the bundled EfficientNet-Lite0, so it shares that network's features: its recognition shows that the
class is encoded in what the family shares, not that the class can be seen (a vision-language model shown the
images blind named none of ten images it recognized eight of). Blind naming by that model (tools/blind_naming.py)
is the measure of what can be seen; this judge is the cheap, automatic check that runs in every experiment, on
AlexNet's images the same way.

The judge only evaluates: the submission ZIP leaves its weights out to stay small. Without them the questions
run as they are, say so once, and record every verdict as absent (no verdict keys; `recognition_rate` None).
"""
import numpy as np

import alexnet
from cnnvis.efficientnet_lite import weights_file

JUDGE = "efficientnet-lite1"


class Judge:
    def __init__(self):
        self.available = weights_file(JUDGE).is_file()
        if self.available:
            self.net = alexnet.bundled(JUDGE, "the independent judge of class visualizations")
        else:
            print(f"the sibling judge ({JUDGE}) is absent: {alexnet.shown(weights_file(JUDGE))} is not here (the "
                  f"submission ZIP leaves it out), so class images are not judged and its verdicts are recorded as "
                  f"absent; copy weights/ from the project's repository to judge them.", flush=True)

    @property
    def name(self):
        """The judge's name for results files, or None when it is absent."""
        return JUDGE if self.available else None

    def __call__(self, rgb_uint8, intended):
        """rgb_uint8 [N,H,W,3] (any square size, resized to the judge's input), intended [N] class indices
        -> one dict per image: the judge's top-1 class (index, name, p) and its p of the intended class;
        empty dicts when the judge is absent."""
        if not self.available:
            return [{} for _ in intended]
        images = np.stack([self.net.resize_to_input(np.asarray(img, np.uint8)) for img in rgb_uint8])
        prob = self.net.activations(self.net.rgb_to_x(images.astype(np.float32)), ["prob"])["prob"].numpy()
        return [{"judge": JUDGE, "judge_top1_index": int(p.argmax()), "judge_top1": self.net.classes[int(p.argmax())],
                 "judge_top1_prob": float(p.max()), "judge_prob_of_class": float(p[c]),
                 "judge_rank_of_class": int((p > p[c]).sum()) + 1, "recognized": bool(p.argmax() == c)}
                for p, c in zip(prob, intended)]


def recognition_rate(rows):
    """Fraction of the judged rows whose image the judge recognized (its top-1 is the intended class); None if
    no row was judged."""
    judged = [r["recognized"] for r in rows if r.get("recognized") is not None]
    return sum(judged) / len(judged) if judged else None
