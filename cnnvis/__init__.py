"""What the question scripts share, one module per idea.

Bottom layer (needs nothing else of the project): errors, interrupts, files, quiet_tensorflow, efficientnet_lite.
alexnet.py (the network) stands on it; everything else here stands on alexnet.py: cli, imaging,
optimize, fooling, occlusion, pdf, names. The scripts stand on all of it, and nothing imports a script.
"""

__version__ = "1.0.0"  # the project's version, printed by every script's --version
