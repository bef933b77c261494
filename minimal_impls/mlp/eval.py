"""Load a trained MLP and report its accuracy and confusion matrix on the held-out test set.

Run:  python minimal_impls/mlp/eval.py runs/mlp/model.pt
"""
import argparse
import json
import sys
from types import SimpleNamespace

import torch

from data import DataError, train_test_split
from model import MLP
from train import load_dataset


def confusion_matrix(y_true, y_pred, n_classes):
    """counts[i, j] = examples of true class i predicted as class j."""
    counts = torch.zeros(n_classes, n_classes, dtype=torch.long)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", nargs="?", default="runs/mlp/model.pt", help="model.pt written by train.py")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = p.parse_args(argv)

    try:
        checkpoint = torch.load(args.checkpoint, weights_only=True)
    except FileNotFoundError:
        sys.exit(f"error: no checkpoint at {args.checkpoint}; train first: python minimal_impls/mlp/train.py")
    except Exception as exc:  # truncated or foreign file
        sys.exit(f"error: {args.checkpoint} is not an MLP checkpoint written by train.py ({exc.__class__.__name__})")

    # rebuild the exact test split train.py held out, from the arguments it saved
    train_args = SimpleNamespace(**checkpoint["args"])
    try:
        x, y, _, _ = load_dataset(train_args)
    except DataError as exc:
        sys.exit(f"error: {exc}")
    _, _, x_test, y_test = train_test_split(x, y, train_args.test_fraction, train_args.seed)
    x_test = (x_test - checkpoint["mean"]) / checkpoint["std"]

    model = MLP([1], seed=0)
    model.weights, model.biases = checkpoint["weights"], checkpoint["biases"]
    y_pred = model.predict(x_test)
    acc = (y_pred == y_test).float().mean().item()
    class_names = checkpoint["class_names"]
    counts = confusion_matrix(y_test, y_pred, len(class_names))

    if args.json:
        print(json.dumps({"accuracy": acc, "n_test": len(y_test), "class_names": class_names,
                          "confusion_matrix": counts.tolist()}))
        return acc
    print(f"test accuracy {acc:.4f} on {len(y_test)} examples")
    width = max(6, *(len(name) for name in class_names))
    print("true \\ predicted".ljust(width + 2) + "".join(name.rjust(width + 1) for name in class_names))
    for name, row in zip(class_names, counts.tolist()):
        print(name.ljust(width + 2) + "".join(str(c).rjust(width + 1) for c in row))
    return acc


if __name__ == "__main__":
    main()
