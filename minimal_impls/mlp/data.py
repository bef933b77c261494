"""Datasets made in code (no downloads), small on purpose, several of them made to break networks;
the train/test split; and the Dataset every source ends as.

"Don't start on real data": on a dataset you generate you know the right answer, so when the
network fails you know it is the network (or your code), not the data.
"""
import math
from dataclasses import dataclass, field

import torch


class DataError(ValueError):
    """Bad input data; the message names the file, line or column and says what to do."""


@dataclass
class Dataset:
    """What training needs, whatever the data came from: after preparation all data is the same.

    x_*: [N, D] float32, features already scaled. y_*: class indices [N] (long) for classification,
    target values [N] (float32, standardised) for regression.
    """
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    feature_names: list
    task: str                       # "classification" or "regression"
    class_names: list = field(default_factory=list)    # classification: the name of class index k
    target_name: str = "y"
    target_mean: float = 0.0        # regression: y was standardised, y_real = y * target_std + target_mean
    target_std: float = 1.0
    notes: list = field(default_factory=list)          # what preparation did, to print


# ----- generated datasets: each returns inputs x [N, D] and labels y [N] ---------------------------
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


def make_checkerboard(n_samples=2000, squares=4, noise=0.0, seed=0):
    """Points in the square [-1, 1]^2 coloured like a squares x squares checkerboard (2 x 2 is XOR).

    The label flips at every edge between squares, so no straight line separates them, and each
    extra row of squares needs more hidden units and more examples per square.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_samples, 2, generator=g) * 2 - 1
    cell = ((x + 1) / 2 * squares).floor().clamp(max=squares - 1).long()   # which square, per axis
    y = (cell[:, 0] + cell[:, 1]) % 2
    x = x + noise * torch.randn(n_samples, 2, generator=g)              # blur the edges
    return x, y


def make_circles(n_samples=2000, rings=2, noise=0.05, seed=0):
    """Concentric rings in 2-D, one class per ring: the radius decides the class, no straight line does."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, rings, (n_samples,), generator=g)
    radius = (y + 1).float() / rings + noise * torch.randn(n_samples, generator=g)
    angle = 2 * math.pi * torch.rand(n_samples, generator=g)
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1), y


def make_parity(n_samples=3000, bits=8, noise=0.0, seed=0):
    """Random bit strings; the label is 1 when the number of ones is odd.

    Flipping ANY single bit flips the label, so inputs that look alike have opposite labels: a
    smooth function of the input (what a small MLP finds first) is useless. With few bits every
    pattern appears in the training set and the network can memorise them; with many bits most
    test patterns are new and it must find the rule, which SGD on a small MLP does not
    (Shalev-Shwartz et al. 2017, "Failures of gradient-based deep learning").
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 2, (n_samples, bits), generator=g)
    y = x.sum(dim=1) % 2
    flip = torch.rand(n_samples, generator=g) < noise                    # label noise
    return x.float(), torch.where(flip, 1 - y, y)


def make_lines(n_samples=3000, size=12, max_lines=3, noise=0.0, seed=0):
    """size x size images with 0..max_lines random straight lines; the label is the number of lines.

    Counting is easy for us and hard for an MLP on raw pixels: lines cross, overlap and
    have any angle, and the network sees a flat vector with no notion of neighbourhood.
    `noise` is the share of pixels switched on at random.
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
    speckles = torch.rand(n_samples, size, size, generator=g) < noise
    images[speckles] = 1.0
    return images.reshape(n_samples, -1), labels


def make_wave(n_samples=1000, low=-1.0, high=1.0, noise=0.1, seed=0):
    """A 1-D regression: y = sin(3x) + noise, with x drawn uniformly from [low, high]."""
    g = torch.Generator().manual_seed(seed)
    x = low + (high - low) * torch.rand(n_samples, 1, generator=g)
    y = torch.sin(3 * x[:, 0]) + noise * torch.randn(n_samples, generator=g)
    return x, y


def make_extrapolation(n_train=800, n_test=200, gap=1.0, noise=0.1, seed=0):
    """Train on x in [-1, 1]; test on x up to `gap` beyond each end, where the network never saw data.

    A ReLU network is piecewise linear, and outside the training data it goes on along its last
    straight piece (Xu et al. 2021, "How neural networks extrapolate"): it fits the wave it saw
    and misses the one it did not.
    """
    x_train, y_train = make_wave(n_train, -1.0, 1.0, noise, seed)
    x_right, y_right = make_wave(n_test - n_test // 2, 1.0, 1.0 + gap, noise, seed + 1)
    x_left, y_left = make_wave(n_test // 2, -1.0 - gap, -1.0, noise, seed + 2)
    return x_train, y_train, torch.cat([x_left, x_right]), torch.cat([y_left, y_right])


# ----- splitting and scaling ---------------------------------------------------------------------
def train_test_split(x, y, test_fraction, seed, stratify=False):
    """Hold out a random test_fraction of the examples.

    stratify=True splits each class separately, so every class has the same share in both sets
    (a rare class could otherwise miss the test set by chance). Each class keeps at least one
    training example.
    """
    g = torch.Generator().manual_seed(seed)
    if not stratify:
        order = torch.randperm(len(x), generator=g)
        n_test = max(1, int(len(x) * test_fraction))
        test, train = order[:n_test], order[n_test:]
        return x[train], y[train], x[test], y[test]
    train_parts, test_parts = [], []
    for label in y.unique():
        members = (y == label).nonzero()[:, 0]
        members = members[torch.randperm(len(members), generator=g)]
        n_test = min(round(len(members) * test_fraction), len(members) - 1)
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    train, test = torch.cat(train_parts).sort().values, torch.cat(test_parts).sort().values
    return x[train], y[train], x[test], y[test]


def standardise(x_train, x_test):
    """Shift and scale every column to mean 0 and std 1, with the TRAINING set's statistics only.

    The test set stands for data we have not seen yet: computing the mean or std on it would
    leak it into training. x' = (x - mean_train) / std_train.
    """
    mean, std = x_train.mean(dim=0), x_train.std(dim=0).clamp(min=1e-6)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return x_train, x_test, mean, std


def standardise_target(y_train, y_test):
    """Regression: scale the target like a feature, so the loss starts near 1 whatever its units.

    The network then predicts y' = (y - mean) / std; a prediction in the target's own units is
    y' * std + mean.
    """
    mean, std = y_train.mean().item(), max(y_train.std().item(), 1e-6)
    return (y_train - mean) / std, (y_test - mean) / std, mean, std
