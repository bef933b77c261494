"""What a learner sees of a value: tensors by shape and statistics, containers cut short, never a crash."""
import types

import pytest

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


def test_scalar_tensors_inside_a_tuple_show_their_values():
    """`p returns.mean(), values.mean()` compares two numbers: a tuple must show them, not just `tensor()`."""
    text = values.describe((torch.tensor(3.774612), torch.tensor(2), torch.zeros(3, 2), torch.tensor([0.38264, 0.3799])))
    assert "3.77461" in text and "tensor(2) int64" in text and "tensor(3, 2) float32" in text
    assert "tensor([0.3826, 0.3799]) float32" in text                      # p x.std(0) beside x.mean(0)


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


def test_a_deque_shows_its_items_and_maxlen():
    import collections
    text = values.describe(collections.deque([np.float64(i) for i in range(20)], maxlen=20))
    assert text.startswith("deque of 20: deque([0.0, 1.0, 2.0") and "maxlen=20" in text


def test_the_keys_a_line_uses_are_shown_not_the_first_sorted_ones():
    optimizer = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.0025)  # noqa: F841 (read from the frame)
    import sys
    rows = dict(values.frame_values(sys._getframe(), values.line_expressions(
        'optimizer.param_groups[0]["lr"] = frac * args.learning_rate')))
    assert rows["optimizer.param_groups[0]['lr']"] == "0.0025"
    assert "'lr': 0.0025" in values.describe(optimizer.param_groups[0])      # insertion order: params, lr, ...


def test_objects_are_cut_between_fields_never_mid_word():
    import argparse
    text = values.describe(argparse.Namespace(**{f"option_{i}": i * 1.5 for i in range(40)}))
    assert text.startswith("Namespace(option_0=0.0, option_1=1.5") and text.endswith("more)")
    assert all(part.split("=")[0].startswith("option_") for part in text[10:].split(", ")[:-1])
    long_words = values.describe("alpha beta gamma " * 20)
    assert long_words.endswith("… (340 characters)") and "gamma alpha" in long_words


def test_boolean_arrays_and_tensors_count_their_true_values():
    assert "2 True of 3" in values.describe(np.array([True, False, True]))
    assert "1 True of 2" in values.describe(torch.tensor([True, False]))


@pytest.mark.parametrize("make", [lambda: torch.zeros(3, 3).to_sparse(), lambda: torch.zeros(3, 3, device="meta"),
                                  lambda: torch.zeros(4, 4).to_sparse_csr()])
def test_sparse_and_meta_tensors_are_described_not_crashed_on(make):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = values.describe(make())
    assert text.startswith("tensor shape (") and "could not" not in text


def test_summaries_are_bounded_in_time_and_size():
    import time

    from tracer.quiz import answers
    big = torch.zeros(10_000, 10_000).T                       # 10^8 elements, not contiguous
    started = time.monotonic()
    assert "(sampled)" in values.describe(big)
    assert answers.check_value("0", big) is False             # a prediction on it is judged at once
    assert time.monotonic() - started < 3

    deep = cur = []
    for _ in range(100_000):
        cur.append([])
        cur = cur[0]
    assert values.describe(deep).startswith("[[[")
    assert answers.check_value("[[1]]", deep) is False

    class Slow:
        def __repr__(self):
            time.sleep(30)
            return "never"
    started = time.monotonic()
    assert "took longer than" in values.describe(Slow())
    assert time.monotonic() - started < 3
