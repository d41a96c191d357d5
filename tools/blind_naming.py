"""Blind naming: does a viewer who is not told the class name a class visualization? The viewer is a
vision-language model (VLM), not a person: a fresh VLM instance per set, shown only that set's images. (Run by
hand; the record, bench/blind_naming.json, is committed and the report quotes it for exactly the image files it
names.)

1. prepare: the class images of a report's run (Q2's methods and Q1's class units, plus any extra
   "METHOD|CLASS=path" images, e.g. a peer library's) are contrast-stretched as the report shows them, resized to
   448 pixels, and dealt into sets so that no set holds two images of one class (a viewer that saw one ostrich
   would know the next); each set's images are shuffled and named img_00.png, img_01.png, … The key (set, name ->
   image) goes to KEY, outside the sets.
       python tools/blind_naming.py prepare report/efficientnet-lite0 ../blind ../blind-key.json
2. Show each set to a new VLM instance with tools/blind_naming_brief.md as its only instructions (each image
   depicts one of the 1000 ImageNet classes; three guesses, a confidence and what it saw, for each image; no
   class or method names, no other file), and save its answers as SET.tsv: file <TAB> guess 1 <TAB> guess 2
   <TAB> guess 3.
3. score: a guess counts when it contains the class name or the class name contains it (case-insensitive);
   top1: the first guess counts, top3: any of the three does. The answers are added to the record under each
   image file's SHA-256.
       python tools/blind_naming.py score ../blind-key.json ../answers/*.tsv
"""
import argparse
import hashlib
import json
import random
import sys
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cnnvis import __version__  # noqa: E402  (after the project root is on the path)
from cnnvis.imaging import for_display  # noqa: E402  (after the project root is on the path)

RECORD = ROOT / "bench" / "blind_naming.json"
BRIEF = ROOT / "tools" / "blind_naming_brief.md"
# The record's first key: who viewed, what it was told and how a guess was scored.
DESCRIPTION = ("Blind naming of class visualizations. The viewer of every set was a vision-language model (VLM), "
               "not a person: a fresh VLM instance per set, shown only the images of that set (contrast-stretched "
               "as the report shows them, resized to 448 pixels, shuffled, renamed img_00.png, ...; no set held "
               "two images of one class), with tools/blind_naming_brief.md as its only instructions: each image "
               "was synthesized to depict one of the 1000 ImageNet-1k classes; give a best guess and a 2nd and 3rd "
               "guess, a confidence and what was seen. Scoring: a guess counts when it contains the class name or "
               "the class name contains it (case-insensitive); top1: the first guess counts; top3: any of the "
               "three does. Each entry is keyed by the SHA-256 of the image file as the run saved it, so the "
               "report credits only those very files. 'protocol' is the procedure of tools/blind_naming.py.")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def class_images(run):
    """(question, method, class name, path) of every class image of a run's default Q1 and Q2 sets, and the
    network that made them."""
    items = []
    q2 = json.loads((run / "q2" / "results.json").read_text())
    items += [("q2", r["method"], r["class_name"], run / "q2" / r["image_file"]) for r in q2["classes"]]
    q1 = json.loads((run / "q1" / "results.json").read_text())
    items += [("q1", u["shown_as"], u["label"].split("(", 1)[1].rstrip(")"), run / "q1" / u["image_file"])
              for u in q1["units"] if u["variant"] == "robust" and "(" in u["label"]]
    return items, q2["network"]


def prepare(run, out, key_path, extra, seed):
    items, network = class_images(Path(run))
    items += [("extra", *label.split("|", 1), Path(path)) for label, path in (e.split("=", 1) for e in extra)]
    by_class = {}
    for item in items:
        by_class.setdefault(item[2], []).append(item)
    sets = max(len(v) for v in by_class.values())
    rng = random.Random(seed)
    dealt = [[] for _ in range(sets)]
    for c, (_, same) in enumerate(sorted(by_class.items())):  # a class's images go to different sets
        for k, item in enumerate(same):
            dealt[(c + k) % sets].append(item)
    key = {}
    for s, members in enumerate(dealt):
        rng.shuffle(members)
        folder = Path(out) / f"set{s + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, (question, method, name, path) in enumerate(members):
            shown = (for_display(np.asarray(Image.open(path).convert("RGB"))) * 255).astype(np.uint8)
            Image.fromarray(shown).resize((448, 448), Image.Resampling.LANCZOS).save(folder / f"img_{i:02d}.png")
            key[f"set{s + 1}/img_{i:02d}.png"] = {"question": question, "method": method, "class": name,
                                                  "network": network, "file": str(path), "sha256": sha256(path)}
    Path(key_path).write_text(json.dumps(key, indent=1))
    print(f"{len(key)} images in {sets} sets under {out}; key: {key_path}; show each set to a new VLM instance "
          f"with {BRIEF.relative_to(ROOT)} as its only instructions")


def score(key_path, answers):
    key = json.loads(Path(key_path).read_text())
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {"images": {}}
    record = {"description": DESCRIPTION, **{k: v for k, v in record.items() if k != "description"}}
    record["protocol"] = __doc__.split("\n\n")[1].strip()
    record["when"] = date.today().isoformat()
    for tsv in answers:
        for line in Path(tsv).read_text().splitlines():
            file, *guesses = [g.strip() for g in line.split("\t")]
            entry = key.get(f"{Path(tsv).stem}/{file}")
            if entry is None:
                continue
            truth = entry["class"].lower()
            hits = [bool(g) and (truth in g.lower() or g.lower() in truth) for g in guesses[:3]]
            record["images"][entry["sha256"]] = {**{k: entry[k] for k in ("question", "method", "class", "network")},
                                                 "guesses": guesses[:3], "top1": bool(hits and hits[0]),
                                                 "top3": any(hits)}
            print(f"{entry['method']:<32} {entry['class']:<16} {guesses[:3]} {'TOP1' if hits and hits[0] else 'top3' if any(hits) else '-'}")
    RECORD.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"record: {RECORD}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("run", help="a report folder of one network, e.g. report/efficientnet-lite0")
    a.add_argument("out")
    a.add_argument("key")
    a.add_argument("extra", nargs="*", help='more images: "METHOD|CLASS=path"')
    a.add_argument("--seed", type=int, default=0)
    b = sub.add_parser("score")
    b.add_argument("key")
    b.add_argument("answers", nargs="+", help="SET.tsv files, named after their set (set1.tsv, …)")
    args = p.parse_args()
    if args.command == "prepare":
        prepare(args.run, args.out, args.key, args.extra, args.seed)
    else:
        score(args.key, args.answers)


if __name__ == "__main__":
    main()
