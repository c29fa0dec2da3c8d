"""Property tests (hypothesis) of the CelebA attribute-file reader: generated files read back to
their names and 0/1 labels; any other bytes give an I2IError, nothing else."""
import string
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from i2i.data.layouts import _read_attr_file
from i2i.errors import I2IError

FAST = settings(max_examples=60, deadline=None, database=None)
word = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=10)


@st.composite
def attr_files(draw):
    header = draw(st.lists(word, min_size=1, max_size=8, unique=True))
    rows = draw(st.lists(st.tuples(word, st.lists(st.sampled_from(["1", "-1", "0"]), min_size=len(header),
                                                  max_size=len(header))), max_size=12))
    picked = draw(st.lists(st.sampled_from(header), min_size=1, max_size=4))
    sep = draw(st.sampled_from([" ", "  ", "\t"]))
    return header, rows, picked, sep


def read(text: bytes, attributes):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "list_attr_celeba.txt").write_bytes(text)
        return _read_attr_file(Path(d) / "list_attr_celeba.txt", attributes)


@FAST
@given(attr_files())
def test_generated_files_read_back(case):
    header, rows, picked, sep = case
    body = "".join(sep.join([name, *vals]) + "\n" for name, vals in rows)
    names, labels = read(f"{len(rows)}\n{sep.join(header)}\n{body}".encode(), picked)
    assert names == [name for name, _ in rows]
    assert labels == [[1.0 if vals[header.index(a)] == "1" else 0.0 for a in picked] for _, vals in rows]


@FAST
@given(attr_files(), st.integers(0, 3), st.sampled_from(["drop", "add", "count", "value", "unknown"]))
def test_damaged_files_give_an_i2ierror(case, k, damage):
    header, rows, picked, sep = case
    lines = [sep.join([name, *vals]) for name, vals in rows] or [sep.join(["x.jpg", *("1" for _ in header)])]
    k %= len(lines)
    count = len(lines)
    if damage == "drop":
        lines[k] = lines[k].rsplit(sep, 1)[0]
    elif damage == "add":
        lines[k] += " 1"
    elif damage == "count":
        count += 1
    elif damage == "value":
        parts = lines[k].split(sep)  # a value of a column that is read
        parts[1 + header.index(picked[0])] = "2"
        lines[k] = sep.join(parts)
    else:
        picked = [*picked, "NotAnAttribute!"]
    try:
        read(f"{count}\n{sep.join(header)}\n".encode() + "\n".join(lines).encode() + b"\n", picked)
    except I2IError as e:
        assert "\n" not in str(e)
        return
    raise AssertionError(f"{damage} was not noticed")


@FAST
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode), st.lists(word, min_size=1, max_size=3))
def test_any_bytes_give_labels_or_an_i2ierror(data, attributes):
    try:
        names, labels = read(data, attributes)
    except I2IError:
        return
    assert len(names) == len(labels) and all(len(row) == len(attributes) for row in labels)
