"""Not implemented yet."""
import sys

if __name__ == "__main__":
    print("q2_fourier.py: not implemented yet", file=sys.stderr)
    sys.exit(1)
