"""The text domains (code, prose, table), their mixtures, corrupted documents, and the
per-domain held-out loss (``scaling_claims.engine.data.domains``, ``lm.loss_by_domain``)."""

from __future__ import annotations

import pytest
import torch

from scaling_claims.engine import train
from scaling_claims.engine.data import make_task
from scaling_claims.engine.data.domains import DOMAINS, corrupt, held_out, load_domain
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec


@pytest.mark.parametrize("name", DOMAINS)
def test_each_domain_is_real_text_split_by_document(name):
    train, valid, info = load_domain(name)
    assert info["domain"] == name and info["train_bytes"] == train.numel() and info["validation_bytes"] == valid.numel()
    # a few percent held out, by document (prose: 82 kB on CPython 3.11.7)
    assert 0.02 < valid.numel() / (train.numel() + valid.numel()) < 0.1 and valid.numel() > 50_000
    text = bytes(train[:20000].tolist())
    assert text.count(b"\0") >= 1  # documents joined with NUL
    if name == "code":
        assert b"def " in text and b"import " in text
    elif name == "prose":
        words = text.split()
        assert sum(w.lower() in (b"the", b"a", b"of", b"is", b"to") for w in words) > 0.05 * len(words)
        assert info["n_docstrings"] > 1000
    else:
        assert text.startswith(b"U+0020;SPACE;Zs;WS;0;Na;0;\n") and info["unicode_version"]
    assert load_domain(name) is load_domain(name)  # once per process


def test_the_domains_differ_in_their_byte_statistics():
    """Distinct enough that a model's held-out losses differ clearly: unigram distributions
    far apart (total variation distance)."""
    hist = {d: torch.bincount(load_domain(d)[0][:2_000_000].long(), minlength=256).double() for d in DOMAINS}
    hist = {d: h / h.sum() for d, h in hist.items()}
    for a in DOMAINS:
        for b in DOMAINS:
            if a < b:
                assert 0.5 * (hist[a] - hist[b]).abs().sum() > 0.2, (a, b)


def test_held_out_is_a_stable_hash_of_the_key():
    keys = [f"doc{i}" for i in range(2000)]
    share = sum(map(held_out, keys)) / len(keys)
    assert 0.03 < share < 0.07 and held_out("doc7") == held_out("doc7")


def mixture(**weights):
    return make_task(DataSpec.make("mixture", weights=weights, seq_len=32, seed=3))


def test_a_mixture_draws_each_domain_with_its_weight():
    m = mixture(code=1, table=3)
    assert m.weights == {"code": 0.25, "table": 0.75} and m.domains == ("code", "table")
    which = torch.cat([m.train_batch(s, 64).info["domain"] for s in range(50)])
    assert abs((which == 1).double().mean().item() - 0.75) < 0.03
    b = m.train_batch(5, 64)
    table_rows = b.x[b.info["domain"] == 1]
    # table lines are ;-separated ASCII (a window inside a very long name may miss the ;)
    assert bool((table_rows < 128).all()) and sum(b";" in bytes(r.tolist()) for r in table_rows) > 0.8 * len(table_rows)
    assert torch.equal(b.x, m.train_batch(5, 64).x) and not torch.equal(b.x, m.train_batch(6, 64).x)
    assert torch.equal(b.y[:, :-1], b.x[:, 1:])
    # held out: proportional to the weights, and one domain's own windows on request
    ev = m.eval_batches(2, 8)
    assert len(ev) == 2 and ev[0].x.shape == (8, 32)
    only = m.eval_batches(1, 8, domain="code")[0]
    assert torch.equal(only.x, mixture(code=1).eval_batches(1, 8, domain="code")[0].x)


@pytest.mark.parametrize("weights, message", [({}, "at least one"), ({"poetry": 1}, "unknown domain"),
                                              ({"code": -1}, ">= 0"), ({"code": 0}, "all be 0")])
def test_bad_mixtures_raise(weights, message):
    with pytest.raises(ValueError, match=message):
        make_task(DataSpec.make("mixture", weights=weights, seq_len=16))


@pytest.mark.parametrize("how", ["random", "shuffle"])
def test_corruption_hits_the_asked_share_of_bytes_in_whole_documents(how):
    train = load_domain("table")[0][:300_000]
    out, done = corrupt(train, 0.3, how, seed=1)
    changed = out != train
    longest = max(len(doc) for doc in bytes(train.tolist()).split(b"\0")) / train.numel()
    assert 0.3 <= done["corrupted_byte_frac"] < 0.3 + longest and done["corrupted_documents"] > 5  # whole documents
    assert torch.equal(out == 0, train == 0)  # document boundaries kept
    if how == "shuffle":  # same bytes per document
        assert torch.equal(torch.bincount(out.long(), minlength=256), torch.bincount(train.long(), minlength=256))
    assert changed.double().mean().item() > 0.25 * (0.9 if how == "shuffle" else 1)
    again, _ = corrupt(train, 0.3, how, seed=1)
    assert torch.equal(out, again) and not torch.equal(out, corrupt(train, 0.3, how, seed=2)[0])
    assert torch.equal(corrupt(train, 0.0, how, seed=1)[0], train)


def test_domain_task_options():
    t = make_task(DataSpec.make("domain", domain="table", seq_len=16, train_bytes=5000, corrupt_frac=0.5))
    assert t.train_data.numel() == 5000 and t.info["corrupted_byte_frac"] >= 0.5
    clean = make_task(DataSpec.make("domain", domain="table", seq_len=16))
    assert torch.equal(t.eval_batches(1, 4)[0].x, clean.eval_batches(1, 4)[0].x)  # held out never corrupted
    for bad, message in (({"domain": "poetry"}, "unknown domain"), ({"corrupt_frac": 2}, "corrupt_frac"),
                         ({"corruption": "rot13", "corrupt_frac": 0.1}, "corruption"), ({"train_bytes": 10**9}, "exceeds")):
        with pytest.raises(ValueError, match=message):
            make_task(DataSpec.make("domain", **{"domain": "table", "seq_len": 16, **bad}))


def test_loss_by_domain_scores_every_domain():
    spec = RunSpec(model=ModelSpec(n_layer=1, d_model=32, n_head=2, ctx=32, vocab_size=256),
                   data=DataSpec.make("mixture", weights={"code": 1, "table": 1}),
                   optim=OptimSpec(batch_size=8), budget=Budget(steps=40), eval_batches=2,
                   evals=(EvalSpec.make("lm.loss_by_domain"),))
    r = train(spec)
    assert r.ok, r.failure
    m = r.metrics
    both = [m["lm.loss_by_domain/loss/code"], m["lm.loss_by_domain/loss/table"]]
    assert all(1.0 < x < 5.6 for x in both) and m["lm.loss_by_domain/mean"] == pytest.approx(sum(both) / 2)
    assert m["lm.loss_by_domain/n_targets"] == 2 * 8 * 32
    assert "lm.loss_by_domain/loss/prose" not in m  # the mixture's domains by default
    one = train(spec.replace(budget=Budget(steps=5), evals=(EvalSpec.make("lm.loss_by_domain", domains=["table"]),)))
    assert sorted(one.metrics) == ["lm.loss_by_domain/loss/table", "lm.loss_by_domain/mean",
                                   "lm.loss_by_domain/n_targets"]
    with pytest.raises(ValueError, match="domains"):
        train(spec.replace(evals=(EvalSpec.make("lm.loss_by_domain", domains=["poetry"]),)))
