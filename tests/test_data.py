"""Tests of the data sources: determinism, held-out sets, the stdlib corpus, and that every
synthetic task's targets are what its docstring says."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_claims.engine.data import TASKS, make_task
from scaling_claims.engine.data.stdlib import is_validation_file, load_stdlib_corpus, stdlib_files
from scaling_claims.engine.specs import DataSpec

SMALL = {
    "stdlib": {"seq_len": 16},
    "addition": {"k": 3, "reverse": True},
    "copy": {"min_len": 2, "max_len": 6},
    "reverse": {"min_len": 2, "max_len": 6},
    "modular": {"p": 11},
    "sparse_parity": {"n_tasks": 5, "n_bits": 10, "k": 3},
    "zipf_features": {"n_features": 30},
    "noisy_classes": {"n_train": 40, "n_classes": 3, "d_in": 5},
    "modular_classes": {"p": 11},
    "domain": {"domain": "table", "seq_len": 16},
    "mixture": {"weights": {"code": 1, "table": 1}, "seq_len": 16},
}


def task(name, seed=0, **extra):
    return make_task(DataSpec.make(name, seed=seed, **{**SMALL[name], **extra}))


def same(a, b) -> bool:
    return torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and (
        (a.mask is None and b.mask is None) or torch.equal(a.mask, b.mask)
    )


@pytest.mark.parametrize("name", sorted(SMALL))
def test_batches_are_deterministic_per_step_and_seed(name):
    a, b = task(name), task(name)
    assert same(a.train_batch(5, 8), b.train_batch(5, 8))
    assert not same(a.train_batch(5, 8), a.train_batch(6, 8))
    assert not same(a.train_batch(5, 8), task(name, seed=1).train_batch(5, 8))


# modular tasks: the held-out set is the complement of the seed's training split
@pytest.mark.parametrize("name", sorted(set(SMALL) - {"modular", "modular_classes"}))
def test_held_out_batches_are_fixed_and_independent_of_data_seed(name):
    a = task(name).eval_batches(2, 8)
    b = task(name, seed=7).eval_batches(2, 8)
    assert all(same(x, y) for x, y in zip(a, b))
    assert not same(a[0], a[1])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_shapes_and_vocab(name):
    t = task(name)
    b = t.train_batch(0, 4)
    if t.kind == "lm":
        assert b.x.shape == b.y.shape == (4, t.seq_len) and b.x.dtype == torch.int64
        assert int(b.x.max()) < t.vocab_size and int(b.y.max()) < t.vocab_size
        assert b.mask is None or b.mask.shape == b.y.shape
    else:
        assert b.x.shape == (4, t.d_in) and b.y.shape == (4,) and int(b.y.max()) < t.n_classes


def test_stdlib_corpus_files_and_split():
    files = stdlib_files()
    assert files == sorted(files) and len(files) > 100
    assert not any("/test/" in f or "/tests/" in f or f.split("/")[-1].startswith("test_") for f in files)
    assert not any(f.startswith("site-packages/") for f in files)
    train, valid, info = load_stdlib_corpus()
    assert info["bytes"] == train.numel() + valid.numel()
    assert info["n_files"] == len(files)
    assert info["n_validation_files"] == sum(map(is_validation_file, files))
    # ~5% of files held out (a hash split: allow 2-10% for the file-size/sampling spread)
    assert 0.02 < info["n_validation_files"] / info["n_files"] < 0.10
    assert len(info["files_sha256"]) == 64
    assert load_stdlib_corpus()[0] is train  # read once per process


def test_stdlib_windows_are_shifted_corpus_bytes():
    t = task("stdlib")
    b = t.train_batch(3, 4)
    assert torch.equal(b.x[:, 1:], b.y[:, :-1])
    assert t.vocab_size == 256 and t.info["corpus"] == "python-stdlib"


def test_stdlib_train_bytes_limits_the_data():
    t = task("stdlib", train_bytes=1000)
    assert t.train_data.numel() == 1000 and t.info["train_bytes_used"] == 1000
    with pytest.raises(ValueError, match="exceeds"):
        task("stdlib", train_bytes=10**12)


def test_corpus_eval_at_other_lengths():
    b = task("stdlib").eval_batches(1, 2, seq_len=64)[0]
    assert b.x.shape == (2, 64)


def test_textfile(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(bytes(range(256)) * 20)
    t = make_task(DataSpec.make("textfile", path=str(path), seq_len=8))
    assert t.info["bytes"] == 5120 and t.train_data.numel() == 4608
    assert torch.equal(t.train_batch(0, 2).x, t.train_batch(0, 2).x)
    with pytest.raises(ValueError, match="no such file"):
        make_task(DataSpec.make("textfile", path=str(tmp_path / "missing"), seq_len=8))
    with pytest.raises(ValueError, match="path"):
        make_task(DataSpec.make("textfile", seq_len=8))


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 6), reverse=st.booleans(), seed=st.integers(0, 10**6), step=st.integers(0, 10**6))
def test_addition_answers_are_the_sum(k, reverse, seed, step):
    t = make_task(DataSpec.make("addition", seed=seed, k=k, reverse=reverse))
    b = t.train_batch(step, 16)
    p = t.problems(16)
    assert torch.equal(t.answer_values(p.answer), p.info["a"] + p.info["b"])
    # In the training sequence the masked targets are exactly the answer digits.
    answers = b.y[b.mask.bool()].view(16, k + 1)
    a, bb = b.info["a"], b.info["b"]
    assert torch.equal(t.answer_values(answers), a + bb)
    assert (b.mask.sum(1) == k + 1).all()


def test_addition_format():
    t = task("addition", reverse=False, k=2)
    p = t.problems(1)
    text = t.decode(torch.cat([p.prompt[0], p.answer[0]]))
    a, b = int(p.info["a"]), int(p.info["b"])
    assert text == f"{a:02d}+{b:02d}={a + b:03d}"
    assert t.answer_values(torch.tensor([[0, 1, 12]])).tolist() == [-1]  # invalid digit


@pytest.mark.parametrize("mode", ["copy", "reverse"])
def test_copy_and_reverse_targets(mode):
    t = task(mode)
    b = t.train_batch(0, 64)
    lengths = b.info["length"]
    assert int(lengths.min()) >= 2 and int(lengths.max()) <= 6
    for x, y, m, L in zip(b.x, b.y, b.mask, lengths.tolist()):
        s = x[:L]
        assert int(x[L]) == t.SEP
        target = y[m.bool()]
        assert torch.equal(target, s if mode == "copy" else s.flip(0))
        assert (x[2 * L + 1 :] == t.PAD).all()
    p = t.problems(5, length=20)
    assert p.prompt.shape == (5, 21) and p.answer.shape == (5, 20)
    assert torch.equal(p.answer, p.prompt[:, :20] if mode == "copy" else p.prompt[:, :20].flip(1))
    assert t.eval_batches(1, 3, length=20)[0].x.shape == (3, 40)
    fixed = task(mode, length=4)
    assert (fixed.train_batch(0, 16).info["length"] == 4).all() and fixed.seq_len == 8


def test_n_train_fixes_the_training_set_and_is_excluded_from_eval():
    t = task("addition", k=2, n_train=50)
    seen = {tuple(r) for r in t.problems(50, "train").prompt.tolist()}
    for step in range(5):
        b = t.train_batch(step, 16)
        assert {tuple(r) for r in b.x[:, : t.prompt_len].tolist()} <= seen
    held = {tuple(r) for r in t.problems(500).prompt.tolist()}
    assert not held & seen
    c = task("copy", n_train=20, min_len=2, max_len=2)  # 100 strings of length 2: exclusion bites
    held = {tuple(r) for r in c.problems(50).prompt.tolist()}
    assert not held & c._train_prompt_set


def test_modular_split_and_answers():
    t = task("modular", p=11, train_frac=0.3)
    tr, ev = t.problems(None, "train"), t.problems(None, "eval")
    assert len(tr) + len(ev) == 121 and len(tr) == round(0.3 * 121)
    pairs = lambda p: {(int(a), int(b)) for a, b in zip(p.info["a"], p.info["b"])}  # noqa: E731
    assert not pairs(tr) & pairs(ev)
    assert torch.equal(ev.answer[:, 0], (ev.info["a"] + ev.info["b"]) % 11)
    assert task("modular", seed=1).problems(None, "eval").info["a"].tolist() != ev.info["a"].tolist()


def test_sparse_parity_labels_and_zipf_frequencies():
    t = task("sparse_parity")
    b = t.train_batch(0, 20000)
    task_id = b.info["task_id"]
    assert torch.equal(b.x[:, :5].argmax(1), task_id)
    bits = b.x[:, 5:].long()
    assert torch.equal(b.y, bits.gather(1, t.subsets[task_id]).sum(1) % 2)
    freq = torch.bincount(task_id, minlength=5).double() / 20000
    # Binomial sampling error: within 5 standard deviations of the Zipf probabilities.
    sd = (t.task_probs * (1 - t.task_probs) / 20000).sqrt()
    assert ((freq - t.task_probs).abs() < 5 * sd).all()
    one = t.eval_batches(1, 10, task_id=3)[0]
    assert (one.info["task_id"] == 3).all()


def test_zipf_features_labels_are_fixed_per_feature():
    t = task("zipf_features")
    b = t.train_batch(0, 5000)
    f = b.x.argmax(1)
    assert torch.equal(f, b.info["feature"]) and torch.equal(b.y, t.labels[f])
    assert torch.bincount(f, minlength=30)[0] > torch.bincount(f, minlength=30)[10]


@pytest.mark.parametrize(
    "data, message",
    [
        (DataSpec.make("nope"), "unknown task"),
        (DataSpec.make("addition", digits=3), "no option"),
        (DataSpec.make("addition", k=0), "'k'"),
        (DataSpec.make("copy", min_len=5, max_len=3), "min_len"),
        (DataSpec.make("modular", train_frac=1.5), "train_frac"),
        (DataSpec.make("sparse_parity", n_bits=2, k=3), "k=3"),
        (DataSpec.make("stdlib"), "seq_len"),
    ],
)
def test_bad_options_raise_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        make_task(data)


def test_every_registered_task_is_tested():
    assert set(TASKS) == set(SMALL) | {"textfile"}


def test_sparse_parity_distinct_subsets():
    same = make_task(DataSpec.make("sparse_parity", n_tasks=48, n_bits=30, k=2))
    keys = [tuple(sorted(s.tolist())) for s in same.subsets]
    assert len(set(keys)) < 48  # this draw repeats subsets (3 pairs): the reason for the option
    distinct = make_task(DataSpec.make("sparse_parity", n_tasks=48, n_bits=30, k=2, distinct_subsets=True))
    dkeys = [tuple(sorted(s.tolist())) for s in distinct.subsets]
    assert len(set(dkeys)) == 48
    first_repeat = next(i for i, k in enumerate(keys) if k in keys[:i])
    assert dkeys[:first_repeat] == keys[:first_repeat]  # same stream until the first redraw
    full = make_task(DataSpec.make("sparse_parity", n_tasks=6, n_bits=4, k=2, distinct_subsets=True))
    assert len({tuple(sorted(s.tolist())) for s in full.subsets}) == 6  # every 2-subset of 4 bits
    with pytest.raises(ValueError, match="distinct"):
        make_task(DataSpec.make("sparse_parity", n_tasks=7, n_bits=4, k=2, distinct_subsets=True))
