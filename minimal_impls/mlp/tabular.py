"""Your own table, made ready for the MLP: read the CSV, decide the task, prepare every column.

"All data is the same": once every column is a number in a matrix, the MLP cannot tell your
spreadsheet from the spirals. This file is where that becomes true, and it is most of the work
on real data. Each rule is decided on the TRAINING rows only and then applied, unchanged, to
the test rows, as it would be to new data: the test set must not leak into training, not even
through a mean.

The rules, in the order they apply (each one is printed with its reason):
  rows      a row with no target value is dropped (and counted);
  task      text / true-false targets, or a few distinct whole numbers: classification; other numbers: regression;
  split     classification: stratified, every class keeps its share in train and test;
  columns   ID-like columns (named like an ID, or all values distinct), constant columns and
            free text with too many distinct values are dropped;
            numbers are standardised; text with few distinct values is one-hot encoded (a category
            never seen in training becomes all zeros); a missing value is filled from the training
            rows and flagged in a "was missing" column.
Reading: the encoding (UTF-8, UTF-16 or UTF-8 with a byte-order mark, else Windows-1252) and the
delimiter (comma, semicolon, tab, |) are detected; quoted values may hold delimiters and line breaks;
NA, N/A, null, ?, an empty cell... mean missing; 3,5 (semicolon files), "1,234" and ISO dates are numbers.
The csv module reads the file, so that every row keeps its line number; pandas does the column arithmetic.
"""
import codecs
import csv
import difflib
import gzip
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from data import DataError, Dataset, standardise, standardise_target, train_test_split

DELIMITERS = [",", ";", "\t", "|"]
MISSING_MARKERS = {"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "-nan"}    # compared in lower case
MAX_CATEGORIES = 40            # text with more distinct values is free text (names, comments): dropped
MAX_INTEGER_CLASSES = 20       # whole-number targets with at most this many values are classes
MIN_ROWS = 5
ID_NAME = re.compile(r"^(id|index|rownames|row[ _.]?names?|row[ _.]?(number|no|num)|\(?unnamed.*)$|[ _.\-]id$",
                     re.IGNORECASE)    # id, rownames, Unnamed: 0, user_id, Sample ID ...
CAMEL_ID = re.compile(r"[a-z]I[dD]$")   # PassengerId, customerID (but not "paid")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ISO_DATE = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"      # 2012-01-31, 2012-01-31 08:15:00
DECIMAL_COMMA = r"[+-]?\d+(,\d+)?"                                   # 3,5 (semicolon-separated files)
THOUSANDS = r"[+-]?\d{1,3}(,\d{3})*(\.\d+)?|[+-]?\d+(\.\d+)?"          # 1,234.5 (quoted in comma-separated files)


# ----- reading: bytes -> text -> rows, each row with its line number ----------------------------
def read_text(path):
    """Return (text, encoding description). Detects compression, binary files and the encoding."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give the path of a .csv file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc.__class__.__name__})") from None
    encoding_note = ""
    if raw.startswith(b"\x1f\x8b"):                                    # gzip magic number
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: looks gzip-compressed but cannot be decompressed ({exc})") from None
        encoding_note = "gzip-compressed, "
    for magic, kind in [(b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
                        (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"), (b"PAR1", "a Parquet file"),
                        (b"%PDF", "a PDF document"), (b"SQLite format 3", "an SQLite database")]:
        if raw.startswith(magic):
            raise DataError(f"{path}: this is {kind}, not a CSV text table; open it and save or export it as CSV")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), encoding_note + "utf-16"
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: a NUL byte: this is a binary file, not a CSV text table "
                        "(if it is UTF-16 text without a byte-order mark, save it as UTF-8)")
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), encoding_note + "utf-8 with BOM"
    try:
        return raw.decode("utf-8"), encoding_note + "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), encoding_note + "cp1252 (Windows Western European; not valid UTF-8)"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), encoding_note + "latin-1 (not valid UTF-8)"


def find_delimiter(text, path):
    """The delimiter that splits the first lines into the same number of columns, most of them."""
    sample = "\n".join([line for line in text.splitlines() if line.strip()][:50])
    best, best_score = None, None
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        agreeing = sum(width == widths[0] for width in widths) / len(widths)
        score = (agreeing, widths[0])
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    if best is None:
        raise DataError(f"{path}, line 1: found no column delimiter (comma, semicolon, tab or |): "
                        "this does not look like a table; a CSV needs a header row naming the columns, "
                        "then one row per example, values separated by commas")
    return best


def looks_like_json(text):
    """A JSON document (a list of records), not a CSV whose first column name starts with a bracket."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def read_rows(path):
    """Return (header, rows, line_numbers, delimiter, notes): the CSV as strings, each data row with its line number."""
    text, encoding = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty; it needs a header row naming the columns and data rows below it")
    start = text.lstrip()[:1]
    if start == "{" or start == "[" and looks_like_json(text):     # a header may start with "[" too: "[m],y"
        raise DataError(f"{path}, line 1: this looks like JSON, not a CSV table; convert it first "
                        "(for example pandas.read_json(FILE).to_csv('table.csv', index=False))")
    if start == "<":
        raise DataError(f"{path}, line 1: this looks like HTML or XML, not a CSV table; "
                        "if it is a web page, download the data itself as CSV")
    delimiter = find_delimiter(text, path)
    header, rows, line_numbers = None, [], []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    last_line = 0
    try:
        for row in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue                                           # blank line
            if header is None:
                header, header_line = [cell.strip() for cell in row], first_line
                continue
            while len(row) > len(header) and not row[-1].strip():
                row = row[:-1]                                     # a trailing delimiter adds nothing
            if len(row) != len(header):
                hint = (f"a value that contains the delimiter ({DELIMITER_NAMES[delimiter]}) must be quoted"
                        if len(row) > len(header) else "add the missing values (leave a cell empty if unknown)")
                if any("\n" in cell for cell in row):
                    hint = 'a quoted value there runs over several lines: is its closing quote (") missing?'

                raise DataError(f"{path}, line {first_line}: {len(row)} values but the header (line {header_line}) "
                                f"has {len(header)} columns; {hint}")
            rows.append(row)
            line_numbers.append(first_line)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not readable as CSV ({exc}); check the quotes on that line") from None

    notes = [f"read {path}: {encoding}, {DELIMITER_NAMES[delimiter]}-separated, "
             f"{len(rows)} rows x {len(header)} columns (header on line {header_line})"]
    numeric_names = [name for name in header if _is_number(name)]
    if len(numeric_names) * 2 > len(header):
        raise DataError(f"{path}, line {header_line}: the first row looks like data, not a header "
                        f"({', '.join(header[:5])}{', ...' if len(header) > 5 else ''}); add a header row "
                        "naming each column as the first line of the file")
    if numeric_names:
        notes.append(f"  note: header cells that are numbers ({', '.join(numeric_names)}): is line {header_line} "
                     "really the header row?")
    header = _unique_names(header, notes)
    if not rows:
        raise DataError(f"{path}: only a header row (line {header_line}); add data rows below it, one per example")
    return header, rows, line_numbers, delimiter, notes


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _unique_names(header, notes):
    """Name unnamed columns by position, and make repeated names unique."""
    names, seen = [], {}
    for position, name in enumerate(header, start=1):
        name = name or f"(unnamed column {position})"
        if name in seen:
            seen[name] += 1
            new_name = f"{name}.{seen[name]}"
            notes.append(f"  note: column {position} repeats the name {name!r}; called it {new_name!r}")
            name = new_name
        seen.setdefault(name, 0)
        names.append(name)
    return names


# ----- columns: text cells -> numbers or text, missing values marked ------------------------------
def parse_column(cells, lines, delimiter):
    """Return (values, kind, note): kind "numeric" or "date" (float Series), or "text" (string Series),
    with missing cells as NA. `lines` gives each cell's line number for the note."""
    numbers = pd.to_numeric(cells, errors="coerce")     # the common case first: every cell a plain, finite number
    if numbers.notna().all() and not (numbers.abs() == float("inf")).any():
        return numbers.astype("float64"), "numeric", ""
    cells = cells.str.strip()
    cells = cells.mask(cells.str.lower().isin(MISSING_MARKERS))
    present = cells.notna()
    if not present.any():
        return cells, "text", ""
    note = ""
    # numbers written in other ways: ISO dates, 3,5 in a semicolon file, "1,234" (quoted) in a comma file
    if cells[present].str.fullmatch(ISO_DATE).all():
        days = (pd.to_datetime(cells, format="ISO8601") - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
        return days.astype("float64"), "date", "dates read as days since 1970-01-01"
    number_format = DECIMAL_COMMA if delimiter != "," else THOUSANDS
    if cells[present].str.fullmatch(number_format).all() and cells[present].str.contains(",").any():
        if delimiter != ",":
            cells, note = cells.str.replace(",", ".", regex=False), "decimal commas read as decimal points (3,5 -> 3.5)"
        else:
            cells, note = cells.str.replace(",", "", regex=False), "thousands separators removed (1,234 -> 1234)"
    numbers = pd.to_numeric(cells, errors="coerce")
    not_numbers = present & numbers.isna()
    if not_numbers.sum() > 0.05 * present.sum():
        return cells.astype("string"), "text", note
    if not_numbers.any():                       # a few stray words in a column of numbers: missing
        examples = ", ".join(f"{value!r} (line {line})" for value, line
                             in zip(cells[not_numbers][:3], lines[not_numbers.to_numpy()][:3]))
        note = f"{not_numbers.sum()} cell(s) that are not numbers treated as missing: {examples}"
    infinite = numbers.abs() == float("inf")
    if infinite.any():
        numbers = numbers.mask(infinite)
        note = (note + "; " if note else "") + f"{infinite.sum()} infinite value(s) treated as missing"
    return numbers.astype("float64"), "numeric", note


# ----- the task: what kind of thing is the target? ---------------------------------------------------
def choose_task(target, kind, name, forced=None):
    """Return (task, reason). `target` holds the target's values (no missing ones)."""
    distinct = target.nunique()
    if forced:
        return forced, "chosen with --task"
    if kind == "text":
        return "classification", f"{name!r} holds text, {distinct} distinct values"
    if kind == "date":
        return "regression", f"{name!r} holds dates: a quantity (days) to predict"
    if distinct <= 2:
        return "classification", f"{name!r} has only {distinct} distinct values"
    whole = bool((target == target.round()).all())
    if whole and distinct <= MAX_INTEGER_CLASSES and distinct * 5 <= len(target):
        return "classification", (f"{name!r} holds whole numbers with only {distinct} distinct values "
                                  f"(at most {MAX_INTEGER_CLASSES}); use --task regression if they are amounts")
    what = "whole numbers" if whole else "numbers with fractions"
    return "regression", f"{name!r} holds {what}, {distinct} distinct values: a quantity to predict"


def class_name(value):
    """1.0 -> '1'; text stays as it is."""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def natural_order(names):
    """Numeric class names by value ('2' before '10'), others alphabetically."""
    return sorted(names, key=lambda name: (0, float(name), "") if _is_number(name) else (1, 0.0, name))


# ----- the plan for each feature column, decided on the training rows ---------------------------------
@dataclass
class ColumnRule:
    name: str
    action: str                  # "numeric", "one-hot" or "drop"
    reason: str
    fill: object = None          # what a missing cell becomes (training mean, or most frequent category)
    flag_missing: bool = False   # add a "<name> was missing" column of 0/1
    categories: list = field(default_factory=list)    # one-hot: the categories seen in training


def plan_column(name, values, kind):
    """Decide what to do with one feature column, from its TRAINING values (in file order)."""
    present = values.dropna()
    distinct = present.nunique()
    if present.empty:
        return ColumnRule(name, "drop", "empty: no value in the training rows")
    if distinct == 1:
        return ColumnRule(name, "drop", f"constant: every training row has {class_name(present.iloc[0])!r}")
    all_distinct = distinct == len(present) and len(present) >= MIN_ROWS
    if (ID_NAME.search(name) or CAMEL_ID.search(name)) and distinct >= 0.9 * len(present):
        return ColumnRule(name, "drop", "ID-like: named like an identifier and nearly every value differs")
    missing = bool(values.isna().any())
    if kind == "date":
        return ColumnRule(name, "numeric", "date: days since 1970, standardised", fill=float(present.mean()),
                          flag_missing=missing)
    if kind == "numeric":
        whole = bool((present == present.round()).all())
        if whole and all_distinct and present.is_monotonic_increasing:
            return ColumnRule(name, "drop", "ID-like: counts the rows (1, 2, 3, ...), says nothing about them")
        return ColumnRule(name, "numeric", "number: standardised", fill=float(present.mean()), flag_missing=missing)
    if all_distinct:
        return ColumnRule(name, "drop", "ID-like: every value differs (a name or a code), nothing to learn from")
    if distinct > MAX_CATEGORIES:
        return ColumnRule(name, "drop", f"free text: {distinct} distinct values (one-hot encoding takes at "
                          f"most {MAX_CATEGORIES})")
    counts = present.value_counts()
    categories = sorted(counts.index, key=lambda c: (-counts[c], c))     # most frequent first
    return ColumnRule(name, "one-hot", f"text, {distinct} categories: one-hot", fill=categories[0],
                      flag_missing=missing, categories=categories)


def encode(rules, frame):
    """Apply the rules to a frame: (numeric block, other block, their column names). Nothing is learned here."""
    numeric, numeric_names, other, other_names = [], [], [], []
    unseen = {}
    for rule in rules:
        if rule.action == "drop":
            continue
        values = frame[rule.name]
        if rule.action == "numeric":
            numeric.append(torch.tensor(values.fillna(rule.fill).to_numpy(dtype="float64")))
            numeric_names.append(rule.name)
        else:
            filled = values.fillna(rule.fill)
            for category in rule.categories:                 # one column per training category
                other.append(torch.tensor((filled == category).to_numpy(dtype="float64")))
                other_names.append(f"{rule.name}={category}")
            new = ~filled.isin(rule.categories)              # never seen in training: all zeros
            if new.any():
                unseen[rule.name] = sorted(filled[new].unique())
        if rule.flag_missing:
            other.append(torch.tensor(values.isna().to_numpy(dtype="float64")))
            other_names.append(f"{rule.name} was missing")
    n = len(frame)
    as_matrix = lambda columns: torch.stack(columns, dim=1).float() if columns else torch.zeros(n, 0)  # noqa: E731
    return as_matrix(numeric), as_matrix(other), numeric_names + other_names, unseen


# ----- everything together -------------------------------------------------------------------------
def load_table(path, target, task=None, test_fraction=0.2, seed=0):
    """Read `path`, predict column `target`: return a Dataset with notes saying what was done."""
    header, rows, line_numbers, delimiter, notes = read_rows(path)
    if target not in header:
        raise DataError(_no_such_column(path, target, header))
    if len(header) < 2:
        raise DataError(f"{path}: {target!r} is the only column; add at least one feature column")
    raw = pd.DataFrame(rows, columns=header, dtype="string")
    lines = pd.Series(line_numbers)

    # rows: a row whose target is missing cannot be used, neither to train nor to test (counted before the other
    # columns are parsed: a table with too few rows says so at once, however many columns it has)
    has_target = parse_column(raw[target], lines, delimiter)[0].notna()
    if has_target.sum() < MIN_ROWS:
        raise DataError(f"{path}: only {has_target.sum()} row(s) have a value in {target!r}; "
                        f"at least {MIN_ROWS} are needed to train and to test")
    columns, kinds = {}, {}
    for name in header:
        columns[name], kinds[name], note = parse_column(raw[name], lines, delimiter)
        if note:
            notes.append(f"  note: column {name!r}: {note}")
    frame = pd.DataFrame(columns)
    if not has_target.all():
        dropped = lines[~has_target.to_numpy()].tolist()
        shown = ", ".join(map(str, dropped[:5])) + (", ..." if len(dropped) > 5 else "")
        notes.append(f"dropped {len(dropped)} row(s) with no value in {target!r} (line {shown})")
    frame, lines = frame[has_target].reset_index(drop=True), lines[has_target.to_numpy()].reset_index(drop=True)

    # the task, and the target as numbers
    y_values, target_kind = frame[target], kinds[target]
    if y_values.nunique() < 2:
        raise DataError(f"{path}, column {target!r}: every one of the {len(frame)} rows has the same value "
                        f"{class_name(y_values.iloc[0])!r} (lines {lines.iloc[0]}-{lines.iloc[-1]}): there is "
                        "nothing to predict; pick another --target")
    task, reason = choose_task(y_values, target_kind, target, task)
    notes.append(f"task: {task}, because {reason}")
    if task == "regression" and target_kind == "text":
        raise DataError(f"{path}, line {lines[0]}, column {target!r}: {y_values.iloc[0]!r} is not a number; "
                        "regression needs a numeric target (use --task classification, or pick another --target)")
    if task == "classification":
        names = y_values.map(class_name)
        class_names = natural_order(names.unique().tolist())
        if len(frame) < 2 * len(class_names):
            raise DataError(f"{path}, column {target!r}: {len(class_names)} classes but only {len(frame)} rows: "
                            "fewer than two rows per class, so a class cannot be both learned and tested; add "
                            f"rows, pick a target with fewer values{', or use --task regression' if target_kind == 'numeric' else ''}")
        index = {name: k for k, name in enumerate(class_names)}
        y = torch.tensor(names.map(index).to_numpy(dtype="int64"))
    else:
        class_names = []
        y = torch.tensor(y_values.to_numpy(dtype="float64")).float()

    # split the ROWS; everything below is fitted on the training rows only
    rows_train, y_train, rows_test, y_test = train_test_split(torch.arange(len(frame)), y, test_fraction, seed,
                                                              stratify=task == "classification")
    if len(rows_test) == 0:
        raise DataError(f"{path}: --test-fraction {test_fraction} leaves no test rows out of {len(frame)}; raise it")
    train, test = frame.iloc[rows_train.tolist()], frame.iloc[rows_test.tolist()]
    notes.append(f"split: {len(train)} training / {len(test)} test rows"
                 f"{', stratified by class' if task == 'classification' else ''} (seed {seed})")
    if task == "classification":
        notes += class_balance(y_train, class_names)

    # columns: a rule per feature column, from the training rows, then applied to both sets
    features = [name for name in header if name != target]
    rules = [plan_column(name, train[name], kinds[name]) for name in features]
    numeric_train, other_train, feature_names, _ = encode(rules, train)
    numeric_test, other_test, _, unseen = encode(rules, test)
    if numeric_train.shape[1] > 0:          # one-hot and "was missing" columns stay 0 / 1
        numeric_train, numeric_test, _, _ = standardise(numeric_train, numeric_test)
    x_train, x_test = torch.cat([numeric_train, other_train], dim=1), torch.cat([numeric_test, other_test], dim=1)
    notes.append(f"columns (rules from the {len(train)} training rows; {x_train.shape[1]} inputs for the MLP):")
    notes += describe_rules(rules, train, test, unseen)
    if x_train.shape[1] == 0:
        raise DataError(f"{path}: no usable feature column is left (see the reasons above); the table needs at "
                        f"least one column besides {target!r} that varies and is not an ID")

    target_mean, target_std = 0.0, 1.0
    if task == "regression":
        y_train, y_test, target_mean, target_std = standardise_target(y_train, y_test)
    return Dataset(x_train, y_train, x_test, y_test, feature_names, task, class_names, target, target_mean,
                   target_std, notes)


def describe_rules(rules, train, test, unseen, most=40):
    """One line per column (the first `most` of a wide table, then a count of what happened to the rest)."""
    width = min(max(len(rule.name) for rule in rules), 24)
    lines = []
    for rule in rules[:most]:
        text = f"  {rule.name[:width]:<{width}}  "
        if rule.action == "drop":
            text += f"dropped, {rule.reason}"
        else:
            text += rule.reason
            n_train, n_test = int(train[rule.name].isna().sum()), int(test[rule.name].isna().sum())
            if n_train or n_test:
                filled = f"{rule.fill:.4g} (training mean)" if rule.action == "numeric" else f"{rule.fill!r} (most frequent)"
                text += f"; {n_train} train / {n_test} test missing -> {filled}"
                if rule.flag_missing:
                    text += " + 'was missing' column"
            if rule.name in unseen:
                shown = ", ".join(repr(c[:30]) for c in unseen[rule.name][:3])
                text += f"; test categories not seen in training -> all zeros: {shown}"
        lines.append(text)
    if len(rules) > most:
        actions = [rule.action for rule in rules[most:]]
        lines.append(f"  ... and {len(actions)} more columns: " + ", ".join(
            f"{actions.count(action)} {word}" for action, word in [("numeric", "standardised"), ("one-hot", "one-hot"),
                                                                    ("drop", "dropped")] if action in actions))
    return lines


def class_balance(y_train, class_names):
    counts = torch.bincount(y_train, minlength=len(class_names)).tolist()
    total = sum(counts)
    order = sorted(range(len(counts)), key=lambda k: -counts[k])
    shown = ", ".join(f"{class_names[k]} {counts[k] / total:.0%} ({counts[k]})" for k in order[:10])
    lines = [f"class balance (training rows): {shown}{', ...' if len(order) > 10 else ''}"]
    if counts[order[-1]] < 0.1 * counts[order[0]]:
        lines.append(f"  warning: strong class imbalance: {class_names[order[0]]!r} has {counts[order[0]]} rows, "
                     f"{class_names[order[-1]]!r} {counts[order[-1]]}. Always answering {class_names[order[0]]!r} "
                     f"already scores {counts[order[0]] / total:.0%}: compare with the baseline and read the "
                     "confusion matrix, not only the accuracy")
    return lines


def _no_such_column(path, target, header):
    message = f"{path}: no column named {target!r} in the header row"
    same_but_case = [name for name in header if name.strip().lower() == target.strip().lower()]
    close = same_but_case or difflib.get_close_matches(target, header, n=3, cutoff=0.6)
    if close:
        message += f"; did you mean {' or '.join(repr(name) for name in close)}?"
    shown = ", ".join(header[:30]) + (", ..." if len(header) > 30 else "")
    return message + f" The columns are: {shown}. Pass one of them with --target"
