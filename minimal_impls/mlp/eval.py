"""Load a trained MLP and report its score on the held-out test set, beside a trivial baseline:
for classification the accuracy and the confusion matrix, for regression R^2 and RMSE.

Run:  python minimal_impls/mlp/eval.py runs/mlp/model.pt
"""
import argparse
import json
import sys
from types import SimpleNamespace

import torch

from data import DataError
from metrics import confusion_matrix, format_confusion, format_report, predict, test_report
from model import MLP
from train import load_dataset, parse_args


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", nargs="?", default="runs/mlp/model.pt", help="model.pt written by train.py")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = p.parse_args(argv)

    try:
        checkpoint = torch.load(args.checkpoint, weights_only=True)
        weights, biases, saved_args = checkpoint["weights"], checkpoint["biases"], checkpoint["args"]
    except FileNotFoundError:
        sys.exit(f"error: no checkpoint at {args.checkpoint}; train first: python minimal_impls/mlp/train.py")
    except Exception as exc:  # truncated or foreign file
        sys.exit(f"error: {args.checkpoint} is not an MLP checkpoint written by train.py ({exc.__class__.__name__})")

    # rebuild the exact test set train.py held out, from the arguments it saved
    # (today's defaults first, so that a checkpoint from an older train.py still loads)
    train_args = SimpleNamespace(**{**vars(parse_args([])), **saved_args})
    try:
        data = load_dataset(train_args)
    except DataError as exc:
        sys.exit(f"error: {exc}")

    model = MLP([1], seed=0)
    model.weights, model.biases = weights, biases
    report = test_report(model, data)
    lines = [f"{data.task} on {len(data.y_test)} test examples", *format_report(report, repr(data.target_name))]
    if data.task == "classification":
        y_test, y_pred, class_names = data.y_test, predict(model, data.x_test, data.task), data.class_names
        counts = confusion_matrix(y_test, y_pred, len(class_names))
        report.update(class_names=class_names, confusion_matrix=counts.tolist())
        lines += format_confusion(counts.tolist(), class_names)

    if args.json:
        print(json.dumps({**report, report["metric"]: report["test_metric"], "n_test": len(data.y_test)}))
    else:
        print("\n".join(lines))
    return report["test_metric"]


if __name__ == "__main__":
    main()
