"""Train an MLP classifier with hand-written backprop (no autograd) on spirals, line-counting images or a CSV.

Run:  python minimal_impls/mlp/train.py --dataset spirals
      python minimal_impls/mlp/train.py --csv my_table.csv --target label
"""
import argparse
import csv
import os
import sys
import time
from pathlib import Path

import torch

from data import DataError, load_csv, make_lines, make_spirals, train_test_split
from model import MLP, SGD, softmax_cross_entropy, softmax_cross_entropy_backward


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=["spirals", "lines"], default="spirals", help="generated dataset")
    p.add_argument("--csv", default=None, help="train on this CSV file instead (numeric feature columns)")
    p.add_argument("--target", default=None, help="with --csv: the column holding the class label")
    p.add_argument("--samples", type=int, default=None, help="generated examples (default: the dataset's own)")
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64], help="widths of the hidden layers")
    p.add_argument("--epochs", type=int, default=200, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=64, help="examples per gradient step")
    p.add_argument("--lr", type=float, default=0.1, help="SGD step size")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on the parameters")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of examples held out for testing")
    p.add_argument("--seed", type=int, default=0, help="seed of data generation, split, init and shuffling")
    p.add_argument("--log-every", type=int, default=20, help="print a progress line every N epochs")
    p.add_argument("--out-dir", default="runs/mlp", help="where model.pt and metrics.csv are written")
    args = p.parse_args(argv)
    if args.target and not args.csv:
        p.error("--target goes with --csv")
    if args.csv and not args.target:
        p.error("--csv needs --target COLUMN: the column that holds the class label")
    return args


def load_dataset(args):
    """Return (x, y, feature_names, class_names) for the dataset the arguments name."""
    if args.csv:
        return load_csv(args.csv, args.target)
    if args.dataset == "spirals":
        x, y = make_spirals(n_per_class=(args.samples or 1200) // 3, seed=args.seed)
        return x, y, ["x", "y"], ["0", "1", "2"]
    x, y = make_lines(n_samples=args.samples or 3000, seed=args.seed)
    return x, y, [f"pixel{i}" for i in range(x.shape[1])], [str(k) for k in range(int(y.max()) + 1)]


def accuracy(model, x, y):
    return (model.predict(x) == y).float().mean().item()


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    try:
        x, y, feature_names, class_names = load_dataset(args)
    except DataError as exc:
        sys.exit(f"error: {exc}")

    # data: hold out a test set, then standardise features with the training set's statistics
    x_train, y_train, x_test, y_test = train_test_split(x, y, args.test_fraction, args.seed)
    mean, std = x_train.mean(dim=0), x_train.std(dim=0).clamp(min=1e-6)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    sizes = [x.shape[1], *args.hidden, len(class_names)]
    model = MLP(sizes, seed=args.seed)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_file = open(out_dir / "metrics.csv", "w", newline="")
    metrics = csv.writer(metrics_file)
    metrics.writerow(["epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds"])
    print(f"{len(x_train)} training / {len(x_test)} test examples, layers {sizes}")

    start_time = time.time()
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_train), generator=generator)
        epoch_loss = 0.0
        for start in range(0, len(x_train), args.batch_size):
            batch = order[start:start + args.batch_size]
            xb, yb = x_train[batch], y_train[batch]

            # forward pass: logits and the cache the backward pass needs
            logits, cache = model.forward(xb)
            loss, probs = softmax_cross_entropy(logits, yb)

            # backward pass: dL/dlogits, then the chain rule through every layer
            dlogits = softmax_cross_entropy_backward(probs, yb)
            dWs, dbs, _ = model.backward(dlogits, cache)

            # update: one SGD step on every weight and bias
            optimizer.step(dWs + dbs)
            epoch_loss += loss.item() * len(batch)

        # evaluation on the training and held-out sets
        train_loss = epoch_loss / len(x_train)
        train_acc, test_acc = accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)
        seconds = time.time() - start_time
        metrics.writerow([epoch, f"{train_loss:.5f}", f"{train_acc:.4f}", f"{test_acc:.4f}", f"{seconds:.2f}"])
        if epoch % args.log_every == 0 or epoch == args.epochs:
            print(f"epoch {epoch}/{args.epochs}  loss {train_loss:.4f}  train acc {train_acc:.3f}  "
                  f"test acc {test_acc:.3f}  {seconds:.1f}s", flush=True)
    metrics_file.close()

    # checkpoint: parameters, the standardisation and everything eval.py needs to rebuild the data
    checkpoint = {"weights": model.weights, "biases": model.biases, "mean": mean, "std": std,
                  "class_names": class_names, "feature_names": feature_names, "args": vars(args)}
    tmp_path = out_dir / "model.pt.tmp"
    torch.save(checkpoint, tmp_path)
    os.replace(tmp_path, out_dir / "model.pt")
    print(f"test accuracy {test_acc:.4f}; saved {out_dir / 'model.pt'}")
    return test_acc


if __name__ == "__main__":
    main()
