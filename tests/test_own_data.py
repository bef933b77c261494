"""Your own table (tabular.py) and the generated datasets made to break networks (data.py).

Most tests call the MLP repo's functions in-process on small CSV files written here; a few run
train.py, eval.py and `walkthrough start mlp` as a learner does.
"""
import gzip
import importlib
import json
import sys

import pytest
import torch

from conftest import MLP_DIR, read_metrics, run_script, walkthrough

sys.path.insert(0, str(MLP_DIR))
import data  # noqa: E402
import metrics  # noqa: E402
import tabular  # noqa: E402
import train  # noqa: E402


def write(tmp_path, text, name="table.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def table(header, rows):
    return "\n".join([",".join(header)] + [",".join(map(str, row)) for row in rows]) + "\n"


def rules_by_name(path, target, **kwargs):
    """The rule line printed for each column, by column name."""
    dataset = tabular.load_table(path, target, **kwargs)
    lines = [note.strip() for note in dataset.notes if note.startswith("  ") and "note:" not in note]
    return dataset, {line.split()[0]: line for line in lines}


# ----- reading real-world CSV files ----------------------------------------------------------------
GOOD_ROWS = [(i, f"{(i * 7) % 10}.5", "red" if i % 3 else "blue", "yes" if i % 2 else "no") for i in range(40)]


@pytest.mark.parametrize("dialect, text, encoding", [
    ("comma", table(["n", "x", "colour", "label"], GOOD_ROWS), "utf-8"),
    ("semicolon with decimal commas",
     "\n".join(["n;x;colour;label"] + [f"{n};{x.replace('.', ',')};{c};{lab}" for n, x, c, lab in GOOD_ROWS]), "utf-8"),
    ("tab", "\n".join(["n\tx\tcolour\tlabel"] + ["\t".join(map(str, r)) for r in GOOD_ROWS]), "utf-8"),
    ("pipe, BOM", "\ufeff" + "\n".join(["n|x|colour|label"] + ["|".join(map(str, r)) for r in GOOD_ROWS]), "utf-8"),
    ("quoted, cp1252", "\n".join(['"n","x","colour","label"'] + [f'"{n}","{x}","{c}é","{lab}"' for n, x, c, lab
                                                                 in GOOD_ROWS]), "cp1252"),
    ("utf-16", table(["n", "x", "colour", "label"], GOOD_ROWS), "utf-16"),
])
def test_dialects_and_encodings_read_the_same_table(tmp_path, dialect, text, encoding):
    dataset = tabular.load_table(write(tmp_path, text, encoding=encoding), "label")
    assert dataset.task == "classification" and dataset.class_names == ["no", "yes"]
    assert len(dataset.x_train) + len(dataset.x_test) == 40
    assert "x" in dataset.feature_names                      # numbers, also written with decimal commas
    assert any(name.startswith("colour=") for name in dataset.feature_names)


def test_the_readme_example_table_is_prepared_as_the_readme_shows():
    dataset, rules = rules_by_name(MLP_DIR.parent.parent / "tests" / "data" / "penguins.csv", "species")
    assert dataset.task == "classification" and dataset.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert (len(dataset.x_train), len(dataset.x_test), dataset.x_train.shape[1]) == (275, 69, 15)
    assert rules["island"].endswith("text, 3 categories: one-hot")
    assert "1 train / 1 test missing -> 43.96 (training mean) + 'was missing' column" in rules["bill_length_mm"]
    assert "6 train / 5 test missing -> 'male' (most frequent)" in rules["sex"]


def test_gzip_and_quoted_fields_with_delimiters_and_newlines(tmp_path):
    rows = ['"a, with comma",1,x', '"two\nlines",2,y'] * 10 + ['plain,3,x', 'other,4,y'] * 5
    raw = gzip.compress(("name,v,label\n" + "\n".join(rows) + "\n").encode())
    header, body, lines, delimiter, notes = tabular.read_rows(write(tmp_path, raw, "t.csv.gz"))
    assert header == ["name", "v", "label"] and delimiter == "," and "gzip" in notes[0]
    assert body[0][0] == "a, with comma" and body[1][0] == "two\nlines"
    assert lines[:3] == [2, 3, 5]                           # the record after a two-line value starts on line 5


@pytest.mark.parametrize("marker", ["", "NA", "?", "n/a", "null", "NaN"])
def test_missing_markers(tmp_path, marker):
    rows = [(i, marker if i % 5 == 0 else i * 0.5, "a" if i % 2 else "b") for i in range(30)]
    dataset, rules = rules_by_name(write(tmp_path, table(["n", "x", "label"], rows)), "label")
    assert "missing" in rules["x"] and "x was missing" in dataset.feature_names


def test_stray_words_in_a_number_column_become_missing_and_are_named(tmp_path):
    rows = [(i * 1.5, "a" if i % 2 else "b") for i in range(40)]
    rows[7] = ("unknown", "b")
    dataset = tabular.load_table(write(tmp_path, table(["x", "label"], rows)), "label")
    assert any("'unknown' (line 9)" in note for note in dataset.notes)
    assert dataset.feature_names[0] == "x"


@pytest.mark.parametrize("cells, delimiter, kind, values, note", [
    (["1,5", "-2", "3,25"], ";", "numeric", [1.5, -2.0, 3.25], "decimal commas"),
    (["1,234", "12", "3,456.5"], ",", "numeric", [1234.0, 12.0, 3456.5], "thousands separators"),
    (["2012-01-01", "2012-01-03", "1970-01-02 12:00"], ",", "date", [15340.0, 15342.0, 1.5], "days since 1970"),
    (["1,5", "x,y", "3"], ";", "text", None, ""),
    (["NA", "?", ""], ",", "text", None, ""),
])
def test_numbers_written_in_other_ways(cells, delimiter, kind, values, note):
    series = tabular.pd.Series(cells, dtype="string")
    parsed, got_kind, got_note = tabular.parse_column(series, tabular.pd.Series([2, 3, 4]), delimiter)
    assert got_kind == kind and note in got_note
    if values:
        assert parsed.tolist() == values


def test_a_wide_table_is_summarised_and_many_classes_list_the_mistakes():
    rules = [tabular.ColumnRule(f"c{i}", "numeric" if i % 3 else "drop", "r") for i in range(50)]
    frame = tabular.pd.DataFrame({f"c{i}": [1.0, 2.0] for i in range(50)})
    lines = tabular.describe_rules(rules, frame, frame, {})
    assert len(lines) == 41 and lines[-1] == "  ... and 10 more columns: 7 standardised, 3 dropped"
    names = [f"state {k}" for k in range(20)]
    counts = torch.eye(20, dtype=torch.long) * 5
    counts[3, 7] = 4
    lines = metrics.format_confusion(counts.tolist(), names)
    assert lines[0].startswith("20 classes") and lines[1] == "  true 'state 3' predicted 'state 7': 4"


# ----- the task --------------------------------------------------------------------------------------
@pytest.mark.parametrize("values, task, reason", [
    (["cat", "dog"] * 20, "classification", "holds text"),
    (["True", "False"] * 20, "classification", "holds text"),
    ([0, 1] * 20, "classification", "only 2 distinct values"),
    ([1, 2, 3, 4, 5] * 20, "classification", "whole numbers with only 5 distinct values"),
    ([0.0, 1.0, 2.0] * 20, "classification", "whole numbers with only 3"),
    ([i * 0.37 for i in range(100)], "regression", "numbers with fractions"),
    ([i * 3 for i in range(100)], "regression", "whole numbers, 100 distinct values"),
    ([i % 12 for i in range(30)], "regression", "whole numbers, 12 distinct"),   # too few rows per value
])
def test_task_is_inferred_with_a_reason(tmp_path, values, task, reason):
    rows = [(i % 7, v) for i, v in enumerate(values)]
    dataset = tabular.load_table(write(tmp_path, table(["f", "y"], rows)), "y")
    note = next(n for n in dataset.notes if n.startswith("task:"))
    assert dataset.task == task and reason in note


def test_task_can_be_forced(tmp_path):
    rows = [(i % 7, i % 4) for i in range(80)]
    path = write(tmp_path, table(["f", "y"], rows))
    assert tabular.load_table(path, "y").task == "classification"
    dataset = tabular.load_table(path, "y", task="regression")
    assert dataset.task == "regression" and any("chosen with --task" in n for n in dataset.notes)
    assert dataset.y_train.dtype == torch.float32


# ----- preparation rules, each decided on the training rows ---------------------------------------
def test_id_like_constant_and_free_text_columns_are_dropped_with_a_reason(tmp_path):
    header = ["rownames", "PassengerId", "customer_id", "name", "row", "country", "comment", "StoreID", "paid", "label"]
    rows = [(i + 1, 1000 + i, f"C{i:04d}", f"person {i}", i + 1, "NL", f"text {i % 50}", i % 4, (i * 37) % 101,
             "a" if (i * 37) % 101 > 50 else "b") for i in range(200)]
    dataset, rules = rules_by_name(write(tmp_path, table(header, rows)), "label")
    for name in ("rownames", "PassengerId", "customer_id"):
        assert "dropped, ID-like: named like an identifier" in rules[name]
    assert "dropped, ID-like: every value differs" in rules["name"]
    assert "dropped, ID-like: counts the rows" in rules["row"]
    assert "dropped, constant" in rules["country"] and "'NL'" in rules["country"]
    assert "dropped, free text:" in rules["comment"] and "(one-hot encoding takes at most 40)" in rules["comment"]
    assert "number: standardised" in rules["StoreID"]             # 4 stores: named like an ID, but a feature
    assert "number: standardised" in rules["paid"]                # ends in "id", is no ID
    assert dataset.feature_names == ["StoreID", "paid"]


def test_unseen_category_at_test_time_becomes_all_zeros():
    train_values = tabular.pd.Series(["red", "blue", "red", None, "blue", "red"], dtype="string")
    rule = tabular.plan_column("colour", train_values, "text")
    assert rule.action == "one-hot" and rule.categories == ["red", "blue"] and rule.fill == "red"
    test_frame = tabular.pd.DataFrame({"colour": tabular.pd.Series(["green", "blue", None], dtype="string")})
    numeric, other, names, unseen = tabular.encode([rule], test_frame)
    assert names == ["colour=red", "colour=blue", "colour was missing"]
    assert other.tolist() == [[0, 0, 0], [0, 1, 0], [1, 0, 1]]   # green: no known category; missing: filled + flagged
    assert unseen == {"colour": ["green"]}


def test_unseen_category_is_reported_end_to_end(tmp_path):
    rows = [(i, ["a", "b", "c"][i % 3] if i != 5 else "zebra", i % 2) for i in range(60)]
    dataset = tabular.load_table(write(tmp_path, table(["n", "kind", "label"], rows)), "label", test_fraction=0.5,
                                 seed=1)
    in_test = not any(name == "kind=zebra" for name in dataset.feature_names)
    assert in_test == any("not seen in training" in note and "'zebra'" in note for note in dataset.notes)


def test_test_rows_never_change_what_is_learned_from_the_training_rows(tmp_path):
    """Missing values are filled, means and categories found, from the training rows only: rewriting the
    test rows (wild numbers, new categories, more missing values) leaves the training inputs unchanged."""
    n = 50
    labels = torch.tensor([i % 2 for i in range(n)])
    _, _, test_rows, _ = data.train_test_split(torch.arange(n), labels, 0.2, 0, stratify=True)
    test_rows = set(test_rows.tolist())
    honest = [(f"{i * 0.3:.1f}" if i % 6 else "", ["u", "v"][i % 2], i % 2) for i in range(n)]
    wild = [(1e6 if i % 2 else "", "new", label) if i in test_rows else (x, c, label)
            for i, (x, c, label) in enumerate(honest)]
    a = tabular.load_table(write(tmp_path, table(["x", "c", "label"], honest), "a.csv"), "label")
    b = tabular.load_table(write(tmp_path, table(["x", "c", "label"], wild), "b.csv"), "label")
    assert a.feature_names == b.feature_names == ["x", "x was missing", "c=u", "c=v"]
    assert torch.equal(a.x_train, b.x_train)
    # a missing test cell is filled with the TRAINING mean: 0 once standardised with the training statistics
    missing_in_test = b.x_test[:, 1] == 1
    assert missing_in_test.any() and torch.all(b.x_test[missing_in_test, 0].abs() < 1e-6)
    train_x = [float(x) for i, (x, _, _) in enumerate(honest) if i not in test_rows and x != ""]
    assert any(f"{sum(train_x) / len(train_x):.4g} (training mean)" in note for note in b.notes)


def test_rows_without_a_target_are_dropped_and_counted(tmp_path):
    rows = [(i % 7, "" if i in (3, 17) else i % 2) for i in range(40)]
    dataset = tabular.load_table(write(tmp_path, table(["f", "label"], rows)), "label")
    assert len(dataset.x_train) + len(dataset.x_test) == 38
    assert "dropped 2 row(s) with no value in 'label' (line 5, 19)" in dataset.notes


def test_stratified_split_keeps_every_class_share():
    y = torch.tensor([0] * 90 + [1] * 10)
    for seed in range(5):
        _, y_train, _, y_test = data.train_test_split(torch.arange(100), y, 0.2, seed, stratify=True)
        assert torch.bincount(y_test).tolist() == [18, 2] and torch.bincount(y_train).tolist() == [72, 8]
    _, _, _, y_test = data.train_test_split(torch.arange(100), y, 0.2, 0, stratify=True)
    _, _, _, y_test_again = data.train_test_split(torch.arange(100), y, 0.2, 0, stratify=True)
    assert torch.equal(y_test, y_test_again)


def test_class_imbalance_is_warned(tmp_path):
    rows = [(i % 7, "rare" if i % 20 == 0 else "common") for i in range(200)]
    dataset = tabular.load_table(write(tmp_path, table(["f", "label"], rows)), "label")
    assert any("strong class imbalance" in note and "'common'" in note for note in dataset.notes)


# ----- training on a table: regression learns, classification beats the baseline ------------------
def test_regression_learns_a_known_linear_function(tmp_path, capsys):
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(300, generator=g) * 10, torch.randn(300, generator=g)
    y = 3 * a - 2 * b + 1 + 0.05 * torch.randn(300, generator=g)
    rows = [(f"{u:.4f}", f"{v:.4f}", f"{t:.4f}") for u, v, t in zip(a.tolist(), b.tolist(), y.tolist())]
    path = write(tmp_path, table(["a", "b", "y"], rows))
    train.main(["--csv", str(path), "--target", "y", "--epochs", "40", "--out-dir", str(tmp_path / "run")])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["task"] == "regression" and summary["metric"] == "r2"
    assert summary["test_metric"] > 0.99 and summary["test_rmse"] < 0.5 and abs(summary["baseline_metric"]) < 0.1
    out = capsys.readouterr().out
    assert "test R^2" in out and "test RMSE" in out and "training mean" in out
    assert "test_r2" in read_metrics(tmp_path / "run" / "metrics.csv")[0]


def test_eval_rebuilds_the_test_set_and_agrees_with_training_for_both_tasks(tmp_path, capsys):
    evaluate = importlib.import_module("eval")          # minimal_impls/mlp/eval.py
    rows = [(i % 9, ["x", "y", "z"][i % 3], "" if i % 11 == 0 else (i * 7) % 10 * 0.1, "big" if i % 9 > 4 else "small",
             (i % 9) * 2.5 + (i % 3)) for i in range(150)]
    path = write(tmp_path, table(["f", "kind", "g", "size", "amount"], rows))
    for target, task, metric in [("size", "classification", "accuracy"), ("amount", "regression", "r2")]:
        out = tmp_path / target
        train.main(["--csv", str(path), "--target", target, "--epochs", "15", "--out-dir", str(out)])
        summary = json.loads((out / "summary.json").read_text())
        assert summary["task"] == task and summary["metric"] == metric and summary["beats_baseline"]
        capsys.readouterr()
        evaluate.main([str(out / "model.pt"), "--json"])
        result = json.loads(capsys.readouterr().out)
        assert result["test_metric"] == pytest.approx(summary["test_metric"], abs=1e-6)
        assert result[metric] == result["test_metric"] and result["n_test"] == summary["n_test"]
        if task == "classification":
            assert result["class_names"] == ["big", "small"] and sum(map(sum, result["confusion_matrix"])) == 30
        else:
            assert result["test_rmse"] == pytest.approx(summary["test_rmse"], rel=1e-5)


# ----- broken files: a clear error each, never a traceback -----------------------------------------
BROKEN = [
    ("empty", b"", "label", "the file is empty"),
    ("blank lines only", b"\n\n  \n", "label", "the file is empty"),
    ("header only", b"a,b,label\n", "label", "only a header row"),
    ("no such column", b"a,b,Species\n1,2,x\n", "species", "no column named 'species' in the header row; did you "
                                                          "mean 'Species'? The columns are: a, b, Species"),
    ("one target value", b"a,label\n" + b"1,x\n" * 8, "label", "every one of the 8 rows has the same value 'x'"),
    ("fewer rows than classes", b"a,label\n" + b"".join(b"%d,c%d\n" % (i, i) for i in range(9)), "label",
     "9 classes but only 9 rows"),
    ("not a table", b"just some words\nand more words\n", "label", "found no column delimiter"),
    ("json", b'[{"a": 1, "label": "x"}]', "label", "looks like JSON"),
    ("html", b"<!DOCTYPE html><html><body>table</body></html>", "label", "looks like HTML"),
    ("excel", b"PK\x03\x04" + b"\x00" * 40, "label", "Excel .xlsx"),
    ("binary", b"a,b\n\x00\x01\x02\x03", "label", "line 2: a NUL byte"),
    ("short row", b"a,b,label\n1,2,x\n3,4\n", "label", "line 3: 2 values but the header (line 1) has 3 columns"),
    ("unquoted delimiter", b"a,b,label\n1,2,x\n3,4,5,y\n", "label", "line 3: 4 values"),
    ("unclosed quote", b'a,b,label\n1,"2,x\n3,4,y\n', "label", "closing quote"),
    ("no header", b"5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n", "label", "line 1: the first row looks like data, not a header"),
    ("text target as regression", b"a,label\n" + b"1,x\n2,y\n" * 5, "label", "'x' is not a number; regression"),
    ("too few rows", b"a,label\n1,x\n2,y\n3,x\n", "label", "only 3 row(s) have a value in 'label'"),
    ("target all missing", b"a,label\n" + b"1,NA\n" * 9, "label", "only 0 row(s) have a value"),
    ("only an ID besides the target", b"id,label\n" + b"".join(b"%d,%s\n" % (i, b"xy"[i % 2:i % 2 + 1])
                                                               for i in range(30)), "label", "no usable feature column"),
    ("corrupt gzip", b"\x1f\x8b\x08\x00garbage", "label", "cannot be decompressed"),
]


@pytest.mark.parametrize("content, target, expected", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_files_get_a_clear_error(tmp_path, content, target, expected):
    path = write(tmp_path, content, "bad.csv")
    task = "regression" if expected.endswith("regression") else None
    with pytest.raises(data.DataError) as error:
        tabular.load_table(path, target, task=task)
    message = str(error.value)
    assert expected in message and message.startswith(str(path))


def test_broken_file_on_the_command_line_exits_with_the_message(tmp_path):
    _, content, target, expected = next(c for c in BROKEN if c[0] == "no such column")
    path = write(tmp_path, content, "bad.csv")
    proc = run_script(MLP_DIR / "train.py", "--csv", path, "--target", target, "--out-dir", tmp_path, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"error: {path}") and expected in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("path_kind, expected", [("missing", "no such file"), ("folder", "is a folder")])
def test_missing_file_or_folder_is_named(tmp_path, path_kind, expected):
    path = tmp_path / "absent.csv" if path_kind == "missing" else tmp_path
    with pytest.raises(data.DataError, match=expected):
        tabular.load_table(path, "y")


# ----- datasets made to break networks --------------------------------------------------------------
def test_generated_labels_follow_their_rule():
    x, y = data.make_checkerboard(500, squares=2, seed=1)
    assert torch.equal(y, ((x[:, 0] > 0) != (x[:, 1] > 0)).long())            # 2 x 2 squares: XOR of the signs
    x, y = data.make_parity(300, bits=7, seed=1)
    assert torch.equal(y, x.sum(dim=1).long() % 2)
    x, y = data.make_circles(400, rings=3, noise=0.0, seed=1)
    assert torch.allclose(x.norm(dim=1), (y + 1).float() / 3)
    x_train, _, x_test, _ = data.make_extrapolation(100, 40, gap=0.5)
    assert x_train.abs().max() <= 1 and torch.all((x_test.abs() >= 1) & (x_test.abs() <= 1.5))


def test_unseen_line_counts_are_only_in_the_test_set():
    d = train.load_dataset(train.parse_args(["--dataset", "lines", "--n", "200", "--max-lines", "2",
                                             "--test-max-lines", "4"]))
    assert d.y_train.max() == 2 and d.y_test.max() == 4 and d.class_names == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("flag, value", [("--bits", 12), ("--squares", 6), ("--max-lines", 5), ("--n", 500),
                                         ("--rings", 3), ("--noise", 0.25), ("--gap", 1.5)])
def test_difficulty_knobs_are_plain_typed_flags(flag, value, capsys):
    """The experiment command sweeps them: `--bits 12` parses to the number 12, `--bits twelve` is refused."""
    dest = {"--n": "samples"}.get(flag, flag[2:].replace("-", "_"))
    assert getattr(train.parse_args([flag, str(value)]), dest) == value
    with pytest.raises(SystemExit):
        train.parse_args([flag, "twelve"])
    assert "invalid" in capsys.readouterr().err


def test_a_linear_model_fails_on_xor_where_the_mlp_succeeds(tmp_path):
    scores = {}
    for name, hidden in [("linear", []), ("mlp", ["32"])]:
        scores[name] = train.main(["--dataset", "xor", "--epochs", "40", "--hidden", *hidden,
                                   "--out-dir", str(tmp_path / name)])
    assert scores["linear"] < 0.7 and scores["mlp"] > 0.95


def test_walkthrough_reaches_the_regression_steps_on_a_regression_table(tmp_path, state_dir):
    rows = [(i % 10, (i * 7) % 13, (i % 10) * 1.5 + ((i * 7) % 13) * 0.25) for i in range(120)]
    path = write(tmp_path, table(["a", "b", "price"], rows))
    proc = walkthrough("start", "mlp", "--auto", "--", "--csv", path, "--target", "price", "--epochs", "3",
                       state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Regression: the squared error" in proc.stdout and "The test score beside a trivial baseline" in proc.stdout
    assert "Step 6/16" not in proc.stdout and "never reached" not in proc.stdout
    assert "test R^2" in proc.stdout
