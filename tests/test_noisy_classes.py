"""The ``noisy_classes`` task (Gaussian mixture, fixed training set with label noise) and the
``classification.error`` evaluator: determinism, the exact noise fraction, clean held-out
labels, epoch batching, bad options, and the evaluator's counts against hand-made models."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from scaling_claims.engine.data import make_task
from scaling_claims.engine.data.noisy_classes import NoisyClassesTask
from scaling_claims.engine.evals import classification
from scaling_claims.engine.specs import Budget, DataSpec, EvalSpec, ModelSpec, OptimSpec, RunSpec
from scaling_claims.engine.training import train

SMALL = dict(n_train=40, n_classes=3, d_in=5, label_noise=0.25)


def task(seed=0, **kw):
    return make_task(DataSpec.make("noisy_classes", seed=seed, **{**SMALL, **kw}))


def test_registered_and_deterministic_from_the_data_seed():
    a, b, c = task(0), task(0), task(1)
    assert isinstance(a, NoisyClassesTask) and a.kind == "classify" and (a.d_in, a.n_classes) == (5, 3)
    assert torch.equal(a.train_set().x, b.train_set().x) and torch.equal(a.train_set().y, b.train_set().y)
    assert not torch.equal(a.train_set().x, c.train_set().x)
    assert torch.equal(a.means, c.means)  # the mixture is the data seed's distribution, fixed by mixture_seed
    assert not torch.equal(a.means, task(0, mixture_seed=1).means)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), k=st.integers(2, 6), noise=st.floats(0, 1), seed=st.integers(0, 10**6))
def test_exact_noise_fraction_and_flipped_labels_are_wrong(n, k, noise, seed):
    t = NoisyClassesTask(seed, n_train=n, n_classes=k, d_in=3, label_noise=noise)
    s = t.train_set()
    flipped = s.info["noisy"].bool()
    assert int(flipped.sum()) == round(noise * n) == t.info["n_noisy"]
    assert torch.all(s.y[flipped] != s.info["clean_label"][flipped])  # a replaced label is another class
    assert torch.equal(s.y[~flipped], s.info["clean_label"][~flipped])
    assert int(s.y.min()) >= 0 and int(s.y.max()) < k


def test_held_out_labels_are_clean_and_shared_by_every_data_seed():
    # Far-apart classes: the clean label is the nearest mean, so label noise would show.
    t = task(0, separation=50.0, label_noise=1.0)
    (b,) = t.eval_batches(1, 500)
    nearest = torch.cdist(b.x, t.means).argmin(1)
    assert torch.equal(nearest, b.y)
    assert torch.equal(task(3).eval_batches(1, 50)[0].x, task(0).eval_batches(1, 50)[0].x)
    s = t.train_set()
    assert torch.equal(torch.cdist(s.x, t.means).argmin(1), s.info["clean_label"])


def test_train_batches_are_epochs_over_the_fixed_set():
    t = task(0)
    full = t.train_set()
    assert t.train_batch(7, 40) is full and t.train_batch(0, 100) is full  # full batch
    epoch = torch.cat([t.train_batch(s, 10).x for s in range(4)])  # 4 batches of 10 = one epoch
    assert torch.equal(epoch[torch.argsort(epoch[:, 0])], full.x[torch.argsort(full.x[:, 0])])
    assert torch.equal(t.train_batch(5, 10).x, task(0).train_batch(5, 10).x)
    assert not torch.equal(t.train_batch(0, 10).x, t.train_batch(4, 10).x)  # reshuffled next epoch


@pytest.mark.parametrize("options, message", [
    ({"label_noise": 1.5}, "label_noise"), ({"label_noise": -0.1}, "label_noise"), ({"n_train": 0}, "n_train"),
    ({"n_classes": 1}, "n_classes"), ({"separation": -1.0}, "separation"), ({"d_in": 2.5}, "d_in"),
    ({"colour": "red"}, "colour"),
])
def test_bad_options_raise_value_error(options, message):
    with pytest.raises(ValueError, match=message):
        task(**options)


class Fixed(nn.Module):
    """Predicts a given class for every example (or the nearest class mean)."""

    def __init__(self, cls=None, means=None):
        super().__init__()
        self.cls, self.means = cls, means

    def forward(self, x):
        if self.means is not None:
            return -torch.cdist(x, self.means)
        return nn.functional.one_hot(torch.full((x.shape[0],), self.cls), 3).float() * 5


def _spec():
    return RunSpec(model=ModelSpec(arch="mlp", d_in=5, hidden=(8,), d_out=3),
                   data=DataSpec.make("noisy_classes", **SMALL))


def test_evaluator_counts_against_hand_made_models():
    t = task(0, separation=50.0)
    dev = torch.device("cpu")
    out = classification.error(Fixed(means=t.means), t, _spec(), dev, n_test=1000, batch_size=300)
    s = t.train_set()
    n_noisy = int(s.info["noisy"].sum())
    assert out["n_test"] == 1000 and out["test_error"] == 0.0  # the Bayes classifier on separated classes
    assert out["train_error"] == pytest.approx(n_noisy / 40) and out["train_error_clean"] == 0.0
    assert out["noisy_fit"] == 0.0 and out["n_noisy"] == n_noisy == 10
    const = classification.error(Fixed(cls=1), t, _spec(), dev, n_test=999, batch_size=1000)
    (b,) = t.eval_batches(1, 1000)
    assert const["test_error"] == pytest.approx(float((b.y[:999] != 1).double().mean()))
    assert const["train_error"] == pytest.approx(float((s.y != 1).double().mean()))


def test_evaluator_bad_input():
    dev = torch.device("cpu")
    with pytest.raises(ValueError, match="n_test"):
        classification.error(Fixed(cls=0), task(0), _spec(), dev, n_test=0)
    with pytest.raises(ValueError, match="classification task"):
        classification.error(Fixed(cls=0), make_task(DataSpec.make("addition")), _spec(), dev)


@pytest.fixture
def one_thread():
    """One torch thread for a training run (as the executors use), restored afterwards: a
    two-thread run of a tiny MLP on a busy 2-core machine is many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_tiny_mlp_memorises_the_noisy_labels_through_train(one_thread):
    spec = RunSpec(model=ModelSpec(arch="mlp", d_in=5, hidden=(64,), d_out=3),
                   data=DataSpec.make("noisy_classes", **SMALL),
                   optim=OptimSpec(lr=1e-2, weight_decay=0.0, batch_size=40, grad_clip=0.0, schedule="constant"),
                   budget=Budget(steps=300), evals=(EvalSpec.make("classification.error", n_test=500),))
    m = train(spec).metrics
    # 64 hidden units for 40 points: enough to interpolate, so the flipped labels are fitted too.
    assert m["classification.error/train_error"] == 0.0 and m["classification.error/noisy_fit"] == 1.0
    assert m["classification.error/train_error_clean"] == pytest.approx(0.25)
    assert 0.0 <= m["classification.error/test_error"] <= 0.75
