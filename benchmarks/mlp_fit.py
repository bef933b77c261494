"""Test accuracy of the hand-written-backprop MLP on spirals, and the wall time to train it.

Seconds are wall time of the whole `python train.py` process, imports included.
Last line: accuracy=A seconds=S
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = Path(__file__).resolve().parent.parent / "minimal_impls" / "mlp" / "train.py"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=200)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        subprocess.run([sys.executable, str(TRAIN), "--dataset", "spirals", "--seed", str(args.seed),
                        "--epochs", str(args.epochs), "--out-dir", out_dir], check=True)
        seconds = time.perf_counter() - start
        accuracy = json.loads((Path(out_dir) / "summary.json").read_text())["test_metric"]   # the weights kept
    print(f"accuracy={accuracy:.4f} seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
