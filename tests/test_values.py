"""What a learner sees of a value: tensors by shape and statistics, containers cut short, never a crash."""
import types

import numpy as np
import torch

from tracer.engine import values


def test_tensor_shows_shape_dtype_device_grad_and_stats():
    w = torch.ones(3, 4, requires_grad=True)
    text = values.describe(w * 2)
    assert text.startswith("tensor shape (3, 4), float32, cpu, requires_grad, grad_fn=MulBackward0")
    assert "min 2 mean 2 max 2" in text


def test_huge_tensor_statistics_are_sampled():
    text = values.describe(torch.arange(10_000_000, dtype=torch.float32))
    assert "shape (10000000,)" in text and "(sampled)" in text


def test_scalars_small_tensors_and_arrays():
    assert values.describe(torch.tensor(True)).endswith("value True")
    assert values.describe(torch.tensor(0.5)).endswith("value 0.5")
    assert "values [1, 2, 3]" in values.describe(torch.tensor([1, 2, 3]))
    assert values.describe(np.zeros((2, 5))).startswith("ndarray shape (2, 5), float64")


def test_long_containers_are_cut_short_and_bad_repr_is_survived():
    assert values.describe(list(range(1000))).startswith("list of 1000: [0, 1, 2, 3, 4, 5, ...]")
    assert values.describe((8, 4)) == "(8, 4)"

    class Broken:
        def __repr__(self):
            raise RuntimeError("no")
    assert "Broken" in values.describe(Broken())          # reprlib's fallback, not an exception


def test_frame_values_follow_attribute_chains_and_skip_functions_and_modules():
    def paused():
        import sys
        args = types.SimpleNamespace(gamma=0.99)  # noqa: F841 (read from the frame)
        f = len                                   # noqa: F841
        return sys._getframe()

    frame = paused()
    rows = dict(values.frame_values(frame, ["args.gamma", "args.missing", "f", "np", "nowhere"]))
    assert rows["args.gamma"] == "0.99"
    assert "args.missing" not in rows and "f" not in rows and "np" not in rows and "nowhere" not in rows
