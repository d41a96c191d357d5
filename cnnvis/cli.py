"""What every question script shares on the command line: the common flags, loading the network,
writing the results JSON, and turning a user mistake into one clear sentence instead of a traceback."""
import argparse
import sys
from pathlib import Path

import alexnet
from cnnvis.errors import UserError
from cnnvis.files import write_json


def parser(description):
    """An ArgumentParser with the flags that mean the same in every script: --net, --weights, --seed, --out."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--net", choices=alexnet.NETWORKS, default="auto",
                   help="auto: AlexNet if its weights are in weights/, else the bundled EfficientNet-Lite0")
    p.add_argument("--weights", metavar="PATH",
                   help="AlexNet weights to use: bvlc_alexnet.npy or a folder of per-layer .npy files")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same results")
    p.add_argument("--out", type=Path, default=alexnet.ROOT / "report", help="where figures, images and results go")
    return p


def load_network(args):
    if args.weights and args.net == "efficientnet-lite0":
        raise UserError("--weights gives AlexNet weights, so it cannot be combined with --net efficientnet-lite0.")
    return alexnet.load(args.weights or args.net)


def write_results(args, question, net, payload):
    """<out>/results/<question>.json, naming the network that produced the numbers."""
    path = args.out / "results" / f"{question}.json"
    write_json(path, {"network": net.name, "network_reason": net.reason, "seed": args.seed, **payload})
    return path


def run(main):
    """Call main(); a UserError ends the program with its sentence on stderr and exit status 2."""
    try:
        sys.exit(main())
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; files already written are complete, nothing half-written was kept.", file=sys.stderr)
        sys.exit(130)
