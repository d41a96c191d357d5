"""What every question script shares on the command line: the common flags, loading the network,
the run's result set, and turning a user mistake into one clear sentence instead of a traceback."""
import argparse
import functools
import math
import os
import shlex
import sys
import tempfile
from pathlib import Path

import alexnet
from cnnvis import __version__, interrupts
from cnnvis.errors import UserError
from cnnvis.results import ResultSet, enclosing_set, set_name


# ---------------------------------------------------------------------------------------------
# Validation: every value is checked as it is parsed, before anything is computed
# ---------------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line, "error: argument --flag: what is wrong", without the usage block, and
    a value that starts with "-" (--position -1,-1) is read as the value, so its own check can name it; every
    script answers --version."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        options = {o for action in self._actions for o in action.option_strings}
        takes_one = {o for action in self._actions if action.nargs is None and action.option_strings
                     for o in action.option_strings}
        joined = []
        for arg in args:
            if joined and joined[-1] in takes_one and arg.startswith("-") and arg not in options:
                arg = f"{joined.pop()}={arg}"
            joined.append(arg)
        return super().parse_known_args(joined, namespace)


def number(kind, low, high, low_open=False):
    """An argparse type: an int or a finite float in [low, high] ((low, high] with low_open)."""
    what = "an integer" if kind is int else "a number"
    bound = str if kind is int else "{:g}".format  # integers exactly: 2147483647, not 2.14748e+09
    valid = f"{'above' if low_open else 'from'} {bound(low)} to {bound(high)}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {what}; give {what} {valid}.") from None
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {what} {valid}.")
        return value

    return parse


def usable_path(text, what="a file or folder"):
    """`text` as a Path the file system can take: not empty, no NUL byte, no name longer than the file system
    allows (counted in bytes), so a path flag's mistake is one sentence here, not an OSError later."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"an empty path was given; give the path of {what}.")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"the path {text!r} contains a NUL character; give the path of {what}.")
    path = Path(text)
    limit = 255  # bytes in one name on every common file system (NAME_MAX)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise argparse.ArgumentTypeError(f"the name '{part[:40]}...' in the path is {size} bytes long; a file "
                                             f"system takes names of at most {limit} bytes, so give a shorter path.")
    if len(os.fsencode(os.path.abspath(text))) >= 4096:  # PATH_MAX
        raise argparse.ArgumentTypeError("the path is longer than the 4096 bytes a file system takes; give a "
                                         "shorter path.")
    return path


def _kind(path):
    """'file', 'folder', 'other' (a named pipe, a device: reading it could wait forever) or None (absent);
    a path that cannot be looked at is one sentence."""
    try:
        return "folder" if path.is_dir() else "file" if path.is_file() else "other" if path.exists() else None
    except OSError as e:
        raise argparse.ArgumentTypeError(f"{path} cannot be read ({e.strerror or e}).") from None


def existing_file(text):
    """An argparse type: the path of an existing regular file."""
    path = usable_path(text, "a file")
    kind = _kind(path)
    if kind == "folder":
        raise argparse.ArgumentTypeError(f"{text} is a folder; give the path of a file.")
    if kind == "other":
        raise argparse.ArgumentTypeError(f"{text} is not a regular file (a named pipe or a device); give the path "
                                         f"of a file.")
    if kind is None:
        raise argparse.ArgumentTypeError(f"{text} does not exist; give the path of a file.")
    return path


def existing_path(text):
    """An argparse type: an existing regular file or folder."""
    path = usable_path(text)
    kind = _kind(path)
    if kind is None:
        raise argparse.ArgumentTypeError(f"'{text}' does not exist; give an existing file or folder.")
    if kind == "other":
        raise argparse.ArgumentTypeError(f"{text} is not a regular file or folder (a named pipe or a device); give "
                                         f"an existing file or folder.")
    return path


@functools.lru_cache(maxsize=1)
def _classes():
    return alexnet.ClassNames()


def class_name(text):
    """An argparse type: an ImageNet class by index or (partial) name, checked before the network loads; the
    text is kept as given."""
    try:
        _classes().find(text)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def nonempty_path(text):
    """An argparse type: a path to write to or read from later, checked now as far as the file system allows."""
    return usable_path(text)


def check_writable(out, flag="--out"):
    """Fail now, not after minutes of computing, when `out` cannot take what a run writes, or lies inside a
    result set (whose next run would delete it)."""
    try:
        if out.exists() and not out.is_dir():
            raise UserError(f"{flag} {out} is a file; give a folder to write into.")
        inside = enclosing_set(out)
        if inside is not None:
            raise UserError(f"{flag} {out} lies inside the result set {inside}, which its next run replaces whole; "
                            f"give a folder outside every result set.")
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:
        raise UserError(f"{flag} {out} cannot be written to ({e.strerror or e}); give a folder you may write "
                        f"into.") from None
    return out


def parser(description):
    """An ArgumentParser with the flags that mean the same in every script: --net, --weights, --seed, --out."""
    p = Parser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--net", choices=alexnet.NETWORKS, default="auto",
                   help="auto: AlexNet if its weights are in weights/, else the bundled EfficientNet-Lite0")
    p.add_argument("--weights", metavar="PATH", type=nonempty_path,
                   help="AlexNet weights to use: bvlc_alexnet.npy or a folder of per-layer .npy files")
    p.add_argument("--seed", type=number(int, 0, 2 ** 31 - 1), default=0,
                   help="random seed; the same seed gives the same results")
    p.add_argument("--out", type=nonempty_path, default=alexnet.ROOT / "report",
                   help="where figures, images and results go")
    return p


def check_network_flags(args):
    if args.weights and args.net == "efficientnet-lite0":
        raise UserError("--weights gives AlexNet weights, so it cannot be combined with --net efficientnet-lite0.")


def load_network(args):
    """Check --out and the network flags, then load the network they ask for (a --weights path is always a
    path, even if it is called "alexnet")."""
    check_writable(args.out)
    check_network_flags(args)
    return alexnet.load(Path(os.path.abspath(args.weights)) if args.weights else args.net)


def result_set(parser, args, question, net):
    """The run's ResultSet (cnnvis.results): named after the question when every experiment flag and the seed
    have their defaults (the report's run), else after what changed."""
    changed = {k: v for k, v in vars(args).items()
               if k not in ("net", "weights", "out") and v != parser.get_default(k)}
    return ResultSet(args.out, net.name, set_name(question, changed))


def header(args, net, name):
    """What every results.json starts with: which network made the numbers, and how to make them again."""
    return {"network": net.name, "network_reason": net.reason, "network_weights": net.weights, "seed": args.seed,
            "run": name,
            "command": shlex.join(["python", sys.argv[0].rsplit("/", 1)[-1], *sys.argv[1:]])}


def run(main):
    """Call main(); a UserError ends the program with its sentence on stderr and exit status 2, an interrupt
    with 130 (Ctrl-C) or 143 (SIGTERM)."""
    try:
        interrupts.check()  # a signal that arrived during the imports and was swallowed there
        sys.exit(main())
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        print("interrupted; this run's results were not kept, earlier results are unchanged.", file=sys.stderr)
        sys.exit(interrupts.exit_status(e))
