"""Train an MLP with hand-written backprop (no autograd) on generated data or on your own CSV table.

Run:  python minimal_impls/mlp/train.py --dataset spirals
      python minimal_impls/mlp/train.py --dataset parity --bits 16        # made to break the network
      python minimal_impls/mlp/train.py --csv my_table.csv --target price   # your own data
"""
import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

from data import (DataError, Dataset, make_checkerboard, make_circles, make_extrapolation, make_lines, make_parity,
                  make_spirals, standardise, standardise_target, train_test_split)
from metrics import confusion_matrix, format_confusion, format_report, predict, score, test_report
from model import (MLP, SGD, softmax_cross_entropy, softmax_cross_entropy_backward, squared_error,
                   squared_error_backward)

# generated datasets: default number of examples and noise (--n and --noise change them)
DATASETS = {
    "spirals": (1200, 0.1),        # noise: angle jitter
    "xor": (1000, 0.0),            # a 2 x 2 checkerboard; noise: position jitter
    "checkerboard": (2000, 0.0),   # --squares per side; noise: position jitter
    "circles": (1000, 0.05),       # --rings; noise: radius jitter
    "lines": (3000, 0.0),          # --max-lines; noise: share of pixels switched on at random
    "parity": (3000, 0.0),         # --bits; noise: share of labels flipped
    "extrapolation": (1000, 0.1),  # --gap; noise: std of the noise added to y
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=list(DATASETS), default="spirals", help="generated dataset")
    data.add_argument("--csv", default=None, help="train on this CSV file instead (header row required)")
    data.add_argument("--target", default=None, help="with --csv: the column to predict")
    data.add_argument("--task", choices=["classification", "regression"], default=None,
                      help="default: worked out from the target, and the reason printed")
    data.add_argument("--samples", "--n", dest="samples", type=int, default=None,
                      help="generated examples (default: the dataset's own)")
    data.add_argument("--noise", type=float, default=None, help="generated data's noise (None: the dataset's own)")
    data.add_argument("--squares", type=int, default=4, help="checkerboard: squares per side")
    data.add_argument("--rings", type=int, default=2, help="circles: number of rings, one class each")
    data.add_argument("--bits", type=int, default=8, help="parity: bits per example")
    data.add_argument("--max-lines", type=int, default=3, help="lines: at most this many lines in a training image")
    data.add_argument("--test-max-lines", type=int, default=None,
                      help="lines: at most this many in a test image; above --max-lines the test has counts "
                           "never seen in training (default: --max-lines)")
    data.add_argument("--gap", type=float, default=1.0,
                      help="extrapolation: test inputs lie up to this far outside the training range [-1, 1]")
    data.add_argument("--test-fraction", type=float, default=0.2, help="share of examples held out for testing")
    data.add_argument("--valid-fraction", type=float, default=0.1,
                      help="share of the training examples held out to choose the best epoch (0: keep the last)")
    p.add_argument("--hidden", type=int, nargs="*", default=[64, 64],
                   help="widths of the hidden layers; give none (--hidden) for a linear model")
    p.add_argument("--epochs", type=int, default=200, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=64, help="examples per gradient step")
    p.add_argument("--lr", type=float, default=0.1, help="SGD step size")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on the parameters")
    p.add_argument("--seed", type=int, default=0, help="seed of data generation, split, init and shuffling")
    p.add_argument("--log-every", type=int, default=20, help="print a progress line every N epochs")
    p.add_argument("--out-dir", default="runs/mlp", help="where model.pt, metrics.csv and summary.json are written")
    args = p.parse_args(argv)
    if args.target and not args.csv:
        p.error("--target goes with --csv")
    if args.csv and not args.target:
        p.error("--csv needs --target COLUMN: the column to predict")
    for name in ("epochs", "batch_size", "log_every", "squares", "rings", "bits", "max_lines", "samples"):
        value = getattr(args, name)
        smallest = {"squares": 2, "rings": 2, "samples": 10}.get(name, 1)
        if value is not None and value < smallest:
            p.error(f"--{name.replace('_', '-')} must be at least {smallest}, got {value}")
    if any(width < 1 for width in args.hidden):
        p.error("--hidden widths must be at least 1")
    if not 0 < args.test_fraction < 1:
        p.error(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
    if not 0 <= args.valid_fraction < 1:
        p.error(f"--valid-fraction must be at least 0 and below 1, got {args.valid_fraction}")
    if args.test_max_lines is not None and args.test_max_lines < args.max_lines:
        p.error("--test-max-lines must be at least --max-lines")
    if args.lr <= 0 or (args.noise is not None and args.noise < 0) or args.gap <= 0:
        p.error("--lr and --gap must be positive, --noise zero or more")
    if not args.csv and args.task and args.task != default_task(args.dataset) and args.dataset not in ("lines", "parity"):
        p.error(f"--task {args.task}: the {args.dataset} dataset is {default_task(args.dataset)} "
                "(lines and parity, whose labels are numbers, can also be regression)")
    return args


def default_task(dataset):
    return "regression" if dataset == "extrapolation" else "classification"


def load_dataset(args):
    """Return a Dataset: train and test tensors ready for the MLP, from your CSV or from a generator."""
    if args.csv:
        from tabular import load_table   # pandas is only needed for CSV files
        return load_table(args.csv, args.target, args.task, args.test_fraction, args.seed)
    return generate(args)


def generate(args):
    """Make the generated dataset the arguments name, split it and standardise it."""
    n_samples, noise = DATASETS[args.dataset]
    n_samples, noise = args.samples or n_samples, noise if args.noise is None else args.noise
    n_test = max(1, int(n_samples * args.test_fraction))
    task = args.task or default_task(args.dataset)
    x_test = None                     # set below where the test set is made apart from the training set
    if args.dataset == "spirals":
        x, y = make_spirals(n_per_class=n_samples // 3, noise=noise, seed=args.seed)
    elif args.dataset in ("xor", "checkerboard"):
        squares = 2 if args.dataset == "xor" else args.squares
        x, y = make_checkerboard(n_samples, squares=squares, noise=noise, seed=args.seed)
    elif args.dataset == "circles":
        x, y = make_circles(n_samples, rings=args.rings, noise=noise, seed=args.seed)
    elif args.dataset == "parity":
        x, y = make_parity(n_samples, bits=args.bits, noise=noise, seed=args.seed)
    elif args.dataset == "lines" and (args.test_max_lines or args.max_lines) > args.max_lines:
        # counts the network never saw: train on 0..max_lines lines, test on 0..test_max_lines
        x_train, y_train = make_lines(n_samples - n_test, max_lines=args.max_lines, noise=noise, seed=args.seed)
        x_test, y_test = make_lines(n_test, max_lines=args.test_max_lines, noise=noise, seed=args.seed + 1)
    elif args.dataset == "lines":
        x, y = make_lines(n_samples, max_lines=args.max_lines, noise=noise, seed=args.seed)
    else:   # extrapolation: the test inputs lie outside the training range
        x_train, y_train, x_test, y_test = make_extrapolation(n_samples - n_test, n_test, gap=args.gap, noise=noise,
                                                              seed=args.seed)
    if x_test is None:
        x_train, y_train, x_test, y_test = train_test_split(x, y, args.test_fraction, args.seed,
                                                            stratify=task == "classification")

    x_train, x_test, _, _ = standardise(x_train, x_test)
    feature_names = {"lines": "pixel", "parity": "bit", "extrapolation": "x"}.get(args.dataset, "xy")
    feature_names = ["x", "y"] if feature_names == "xy" else [f"{feature_names}{i}" for i in range(x_train.shape[1])]
    if task == "classification":
        n_classes = int(max(y_train.max(), y_test.max())) + 1
        return Dataset(x_train, y_train, x_test, y_test, feature_names, task, [str(k) for k in range(n_classes)])
    y_train, y_test, target_mean, target_std = standardise_target(y_train.float(), y_test.float())
    return Dataset(x_train, y_train, x_test, y_test, feature_names, task, target_name="y",
                   target_mean=target_mean, target_std=target_std)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)

    # data: from here on all data is the same, whether generated or read from your CSV
    try:
        data = load_dataset(args)
    except DataError as exc:
        sys.exit(f"error: {exc}")
    for note in data.notes:
        print(note)
    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    classification = data.task == "classification"

    # validation: a part of the training examples the network does not train on; after each epoch its
    # loss says whether the network still generalises better. The test set stays out of every decision.
    x_valid, y_valid = x_train[:0], y_train[:0]     # empty with --valid-fraction 0
    if args.valid_fraction > 0:
        x_train, y_train, x_valid, y_valid = train_test_split(x_train, y_train, args.valid_fraction, args.seed,
                                                              stratify=classification)

    # the network: one output per class (logits), or a single output, the predicted number
    sizes = [x_train.shape[1], *args.hidden, len(data.class_names) if classification else 1]
    model = MLP(sizes, seed=args.seed)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metric = "accuracy" if classification else "r2"
    metrics_file = open(out_dir / "metrics.csv", "w", newline="")
    metrics = csv.writer(metrics_file)
    metrics.writerow(["epoch", "train_loss", "valid_loss", f"train_{metric}", f"test_{metric}", "seconds"])
    print(f"{data.task}: {len(x_train)} training / {len(x_valid)} validation / {len(x_test)} test examples, "
          f"layers {sizes}")

    start_time = time.time()
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_train), generator=generator)
        epoch_loss = 0.0
        for start in range(0, len(x_train), args.batch_size):
            batch = order[start:start + args.batch_size]
            xb, yb = x_train[batch], y_train[batch]

            # forward pass: the outputs (class logits, or the predicted number) and the cache backward needs
            outputs, cache = model.forward(xb)

            # the loss, and the start of the backward pass dL/doutputs: for both losses, prediction minus target
            if classification:
                loss, probs = softmax_cross_entropy(outputs, yb)
                doutputs = softmax_cross_entropy_backward(probs, yb)
            else:
                loss = squared_error(outputs, yb)
                doutputs = squared_error_backward(outputs, yb)

            # backward pass: the chain rule through every layer
            dWs, dbs, _ = model.backward(doutputs, cache)

            # update: one SGD step on every weight and bias
            optimizer.step(dWs + dbs)
            epoch_loss += loss.item() * len(batch)

        train_loss = epoch_loss / len(x_train)
        if not math.isfinite(train_loss):   # the steps grew until the numbers overflowed
            metrics_file.close()
            sys.exit(f"error: training diverged: the loss became {train_loss} in epoch {epoch}; "
                     f"lower the learning rate (now --lr {args.lr}), e.g. --lr {args.lr / 10:g}")

        # evaluation on the training and held-out sets
        train_score, test_score = score(model, x_train, y_train, data.task), score(model, x_test, y_test, data.task)
        valid_loss = loss_on(model, x_valid, y_valid, data.task) if len(x_valid) else train_loss
        if epoch == 1 or valid_loss < best_valid_loss:   # early stopping: remember the best epoch's weights
            best_valid_loss, best_epoch = valid_loss, epoch
            best_weights = [W.clone() for W in model.weights], [b.clone() for b in model.biases]
        seconds = time.time() - start_time
        metrics.writerow([epoch, f"{train_loss:.5f}", f"{valid_loss:.5f}", f"{train_score:.4f}", f"{test_score:.4f}",
                          f"{seconds:.2f}"])
        if epoch % args.log_every == 0 or epoch == args.epochs:
            print(f"epoch {epoch}/{args.epochs}  loss {train_loss:.4f}  valid loss {valid_loss:.4f}  "
                  f"train {metric} {train_score:.3f}  test {metric} {test_score:.3f}  {seconds:.1f}s", flush=True)
    metrics_file.close()
    if len(x_valid):
        model.weights, model.biases = best_weights
        print(f"kept the weights of epoch {best_epoch}, the lowest validation loss ({best_valid_loss:.4f})")

    # the test score beside a trivial baseline, and summary.json for scripts to read
    report = test_report(model, data)
    print("\n".join(format_report(report, repr(data.target_name))))
    if classification:   # which classes are mistaken for which
        counts = confusion_matrix(y_test, predict(model, x_test, data.task), len(data.class_names))
        report.update(class_names=data.class_names, confusion_matrix=counts.tolist())
        print("\n".join(format_confusion(counts.tolist(), data.class_names)))
    summary = {**report, "best_epoch": best_epoch, "final_train_loss": train_loss,
               "beats_baseline": report["test_metric"] > report["baseline_metric"],
               "data": args.csv or args.dataset, "target": args.target, "n_train": len(x_train),
               "n_valid": len(x_valid), "n_test": len(x_test), "n_inputs": x_train.shape[1], "epochs": args.epochs, "seconds": seconds}
    write_atomically(out_dir / "summary.json", lambda path: path.write_text(json.dumps(summary, indent=2) + "\n"))

    # checkpoint: the parameters and everything eval.py needs to rebuild the test set and read the outputs
    checkpoint = {"weights": model.weights, "biases": model.biases, "task": data.task,
                  "class_names": data.class_names, "feature_names": data.feature_names,
                  "target_mean": data.target_mean, "target_std": data.target_std, "args": vars(args)}
    write_atomically(out_dir / "model.pt", lambda path: torch.save(checkpoint, path))
    print(f"saved {out_dir / 'model.pt'} and {out_dir / 'summary.json'}")
    return report["test_metric"]


def loss_on(model, x, y, task):
    """The training loss on a whole set, without a gradient step."""
    outputs = model.forward(x)[0]
    return (softmax_cross_entropy(outputs, y)[0] if task == "classification" else squared_error(outputs, y)).item()


def write_atomically(path, write):
    """Write to a temporary file, then rename it: a crash never leaves half a file behind."""
    tmp_path = path.with_name(path.name + ".tmp")
    write(tmp_path)
    os.replace(tmp_path, path)


if __name__ == "__main__":
    main()
