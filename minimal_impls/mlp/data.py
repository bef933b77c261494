"""Datasets made in code (no downloads), and the learner's own CSV file."""
import csv
import math
from pathlib import Path

import torch


class DataError(ValueError):
    """Bad input data; the message names the file, row or column and says what to do."""


def make_spirals(n_per_class=400, n_classes=3, noise=0.1, seed=0):
    """Interleaved spiral arms in 2-D, one per class: no straight line separates them."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for k in range(n_classes):
        t = torch.rand(n_per_class, generator=g)          # position along the arm, 0 = centre
        radius = t
        angle = 4.0 * t + 2 * math.pi * k / n_classes + noise * torch.randn(n_per_class, generator=g)
        xs.append(torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1))
        ys.append(torch.full((n_per_class,), k))
    return torch.cat(xs), torch.cat(ys)


def make_lines(n_samples=3000, size=12, max_lines=3, seed=0):
    """size x size images with 0..max_lines random straight lines; the label is the number of lines.

    Counting is easy for us and hard for an MLP on raw pixels: lines cross, overlap and
    have any angle, and the network sees a flat vector with no notion of neighbourhood.
    """
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n_samples, size, size)
    labels = torch.randint(0, max_lines + 1, (n_samples,), generator=g)
    steps = torch.linspace(0, 1, 2 * size)
    for i in range(n_samples):
        for _ in range(int(labels[i])):
            (r0, c0), (r1, c1) = torch.randint(0, size, (2, 2), generator=g).tolist()
            rows = (r0 + (r1 - r0) * steps).round().long()
            cols = (c0 + (c1 - c0) * steps).round().long()
            images[i, rows, cols] = 1.0
    return images.reshape(n_samples, -1), labels


def load_csv(path, target):
    """Read numeric feature columns and a label column `target` (any values: each distinct one is a class).

    Returns (features [N, D] float32, labels [N] long, feature_names, class_names).
    """
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise DataError(f"{path}: cannot read it as a text CSV file ({exc.__class__.__name__})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the file is empty; it needs a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise DataError(f"{path}: no column named {target!r}; the columns are {', '.join(header)}")
    if len(rows) < 2:
        raise DataError(f"{path}: only a header row; add data rows below it")
    target_index = header.index(target)
    feature_names = [name for i, name in enumerate(header) if i != target_index]
    if not feature_names:
        raise DataError(f"{path}: {target!r} is the only column; add at least one feature column")

    features, raw_labels = [], []
    for line_number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}, line {line_number}: {len(row)} values but the header has {len(header)} columns")
        values = []
        for i, cell in enumerate(row):
            if i == target_index:
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise DataError(f"{path}, line {line_number}, column {header[i]!r}: {cell!r} is not a number; "
                                "features must be numeric (encode categories as numbers)") from None
            if not math.isfinite(values[-1]):
                raise DataError(f"{path}, line {line_number}, column {header[i]!r}: {cell!r} is not a finite number")
        features.append(values)
        raw_labels.append(row[target_index].strip())

    class_names = sorted(set(raw_labels), key=_natural_key)
    if len(class_names) < 2:
        raise DataError(f"{path}: column {target!r} has a single value {class_names[0]!r}; a classifier needs two or more")
    index = {name: k for k, name in enumerate(class_names)}
    labels = torch.tensor([index[name] for name in raw_labels])
    return torch.tensor(features, dtype=torch.float32), labels, feature_names, class_names


def _natural_key(label):
    """Sort numeric labels by value ("2" before "10"), others alphabetically."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def train_test_split(x, y, test_fraction, seed):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    n_test = max(1, int(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
