"""Three text domains every Python install carries, as byte corpora, and their mixtures (the
data claims: mixing laws, repeated data, data quality; docs/sources.md).

Domains (each a list of documents joined with NUL bytes, split into training and held-out
documents by a hash that does not move when other documents change):

- ``code``: the standard library's ``.py`` source, exactly the ``stdlib`` corpus (a document
  is a file; held out by file).
- ``prose``: English prose from the same install: every docstring of at least 40 characters
  of the standard-library modules, classes and functions (``ast.get_docstring``, files in the
  ``code`` corpus's order, held out by file), then the text of the help topics in
  ``pydoc_data.topics`` (the language reference as shipped, held out by topic name). A
  document is one docstring or one topic.
- ``table``: structured text: one line per named Unicode code point from ``unicodedata``
  (``U+0041;LATIN CAPITAL LETTER A;Lu;L;0;Na;0;`` : code point, name, category, bidirectional
  class, combining class, East Asian width, mirrored, decomposition). A document is a block of
  256 code points; held out by block.

A document is held out when the first 8 bytes of the SHA-256 of its key, as an integer, are 0
mod 20 (~5%). Sizes depend on the Python version (and ``table`` on its Unicode version), so
each task records them with SHA-256 digests of the content in ``info``. On CPython 3.11.7
(Unicode 14.0.0): code ~12.1 MB, prose ~2.2 MB (7,231 docstrings and 79 topics), table
~6.5 MB (138,552 code points). Built once per process (prose parses every file: a few seconds).

Tasks (``DataSpec.make(...)``):

- ``domain``: one domain (option ``domain``), with ``seq_len``, ``train_bytes`` (only the first
  this-many training bytes: a finite set, repeated when trained on longer) and data-quality
  options ``corrupt_frac`` (the fraction of training bytes in corrupted documents) and
  ``corruption`` ("random": every byte of the document replaced by a uniformly random non-NUL
  byte; "shuffle": the document's bytes permuted). Documents are corrupted in a random order
  from the data seed until their bytes reach ``corrupt_frac`` of the training bytes; held-out
  documents are never corrupted.
- ``mixture``: training windows drawn from several domains with probabilities ``weights`` (a
  mapping domain -> weight, normalised; each example's domain drawn from the data seed and
  step), ``seq_len``. Held-out batches are each domain's own held-out windows in proportion to
  the weights (largest remainder); ``eval_batches(..., domain=name)`` gives one domain's.

The evaluator ``lm.loss_by_domain`` scores any byte-level model on every domain's held-out
windows, whatever it was trained on.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import platform
import unicodedata
from typing import Any, Mapping

import numpy as np
import torch

from .base import EVAL_SEED, Batch, Task, check_positive, generator
from .corpus import VOCAB, ByteCorpusTask
from .stdlib import load_stdlib_corpus, stdlib_files, stdlib_root

DOMAINS = ("code", "prose", "table")
HELD_OUT_MODULUS = 20
MIN_DOCSTRING = 40
CORRUPTIONS = ("random", "shuffle")


def held_out(key: str) -> bool:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "little") % HELD_OUT_MODULUS == 0


def _as_tensor(b: bytes) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(b, dtype=np.uint8).copy())


def _split(documents: list[tuple[str, bytes]], name: str, extra: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor,
                                                                                           dict[str, Any]]:
    parts: dict[bool, list[bytes]] = {False: [], True: []}
    content = hashlib.sha256()
    for key, doc in documents:
        doc = doc.replace(b"\0", b" ")  # NUL separates documents
        content.update(doc + b"\0")
        parts[held_out(key)].append(doc)
    train, valid = (b"\0".join(parts[v]) for v in (False, True))
    info = {"corpus": name, "python": platform.python_version(), "n_documents": len(documents),
            "n_validation_documents": len(parts[True]), "bytes": len(train) + len(valid), "train_bytes": len(train),
            "validation_bytes": len(valid), "content_sha256": content.hexdigest(), **extra}
    return _as_tensor(train), _as_tensor(valid), info


def _prose_documents() -> list[tuple[str, bytes]]:
    root = stdlib_root()
    docs: list[tuple[str, bytes]] = []
    for rel in stdlib_files(root):
        try:
            tree = ast.parse((root / rel).read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= MIN_DOCSTRING:
                    docs.append((rel, doc.encode("utf-8", "replace")))
    try:
        from pydoc_data.topics import topics
    except ImportError:  # a stripped install: docstrings only
        topics = {}
    docs.extend((f"topic:{name}", topics[name].encode("utf-8", "replace")) for name in sorted(topics))
    return docs


def _table_documents() -> list[tuple[str, bytes]]:
    blocks: dict[int, list[str]] = {}
    for cp in range(0x110000):
        ch = chr(cp)
        name = unicodedata.name(ch, None)
        if name is None:
            continue
        blocks.setdefault(cp >> 8, []).append(
            f"U+{cp:04X};{name};{unicodedata.category(ch)};{unicodedata.bidirectional(ch)};"
            f"{unicodedata.combining(ch)};{unicodedata.east_asian_width(ch)};{unicodedata.mirrored(ch)};"
            f"{unicodedata.decomposition(ch)}\n")
    return [(f"block:{b}", "".join(lines).encode()) for b, lines in sorted(blocks.items())]


@functools.lru_cache(maxsize=None)
def load_domain(name: str) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """(train bytes, held-out bytes, info) of a domain, uint8 tensors; built once per process."""
    if name == "code":
        train, valid, info = load_stdlib_corpus()
        return train, valid, {**info, "domain": "code"}
    if name == "prose":
        docs = _prose_documents()
        n_topics = sum(1 for k, _ in docs if k.startswith("topic:"))
        return _split(docs, "python-docstrings-and-help-topics",
                      {"domain": "prose", "n_docstrings": len(docs) - n_topics, "n_topics": n_topics})
    if name == "table":
        return _split(_table_documents(), "unicodedata-table",
                      {"domain": "table", "unicode_version": unicodedata.unidata_version})
    raise ValueError(f"unknown domain {name!r}; domains: {DOMAINS}")


def corrupt(train: torch.Tensor, frac: float, how: str, seed: int) -> tuple[torch.Tensor, dict[str, Any]]:
    """``train`` with documents (NUL-separated) corrupted in a random order from ``seed`` until
    their bytes reach ``frac`` of the total; returns the bytes and what was done."""
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac <= 1:
        raise ValueError(f"corrupt_frac must be a number in [0, 1], got {frac!r}")
    if how not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {how!r}")
    data = train.clone()
    bounds = torch.cat([torch.tensor([-1]), (data == 0).nonzero().flatten(), torch.tensor([data.numel()])])
    starts, ends = (bounds[:-1] + 1).tolist(), bounds[1:].tolist()
    g = generator(seed, f"corrupt/{how}")
    target, done, n_docs = frac * data.numel(), 0, 0
    for i in torch.randperm(len(starts), generator=g).tolist():
        if done >= target:
            break
        a, b = starts[i], ends[i]
        if b <= a:
            continue
        if how == "random":
            data[a:b] = torch.randint(1, VOCAB, (b - a,), generator=g, dtype=torch.uint8)
        else:
            data[a:b] = data[a:b][torch.randperm(b - a, generator=g)]
        done, n_docs = done + (b - a), n_docs + 1
    return data, {"corrupt_frac": float(frac), "corruption": how, "corrupted_documents": n_docs,
                  "corrupted_byte_frac": done / max(1, data.numel())}


def make_domain_task(seed: int, seq_len: int, domain: str = "code", train_bytes: int | None = None,
                     corrupt_frac: float = 0.0, corruption: str = "random") -> ByteCorpusTask:
    train, valid, info = load_domain(domain)
    if train_bytes is not None:
        train_bytes = check_positive("train_bytes", train_bytes)
        if train_bytes > train.numel():
            raise ValueError(f"train_bytes={train_bytes} exceeds the {domain} domain's {train.numel()} training bytes")
        train = train[:train_bytes]
    info = dict(info)
    if corrupt_frac or corruption != "random":
        train, done = corrupt(train, corrupt_frac, corruption, seed)
        info.update(done)
    task = ByteCorpusTask("domain", train, valid, seed, seq_len, None, info)
    return task


def _weights(weights: Any) -> dict[str, float]:
    items = dict(weights.items() if isinstance(weights, Mapping) else weights)
    if not items:
        raise ValueError("mixture: weights must name at least one domain")
    for name, w in items.items():
        if name not in DOMAINS:
            raise ValueError(f"mixture: unknown domain {name!r}; domains: {DOMAINS}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
            raise ValueError(f"mixture: the weight of {name!r} must be a number >= 0, got {w!r}")
    total = sum(items.values())
    if not total > 0:
        raise ValueError("mixture: the weights must not all be 0")
    return {name: float(items[name]) / total for name in DOMAINS if name in items}


class MixtureTask(Task):
    """Training windows from several domains, each example's domain drawn with the weights."""

    kind = "lm"
    vocab_size = VOCAB

    def __init__(self, seed: int, weights: Any, seq_len: int) -> None:
        self.name, self.seed = "mixture", int(seed)
        self.seq_len = check_positive("seq_len", seq_len)
        self.weights = _weights(weights)
        self.domains = tuple(self.weights)
        self.data = {d: load_domain(d) for d in self.domains}
        for d, (train, valid, _) in self.data.items():
            if min(train.numel(), valid.numel()) < self.seq_len + 2:
                raise ValueError(f"mixture: the {d} domain is too short for seq_len={self.seq_len}")

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "weights": self.weights,
                "domains": {d: {k: v for k, v in info.items() if k != "corpus"} for d, (_, _, info) in self.data.items()}}

    def train_batch(self, step: int, batch_size: int) -> Batch:
        g = generator(self.seed, "mixture/train", step)
        p = torch.tensor([self.weights[d] for d in self.domains], dtype=torch.float64)
        which = torch.multinomial(p, batch_size, replacement=True, generator=g)
        x = torch.empty(batch_size, self.seq_len, dtype=torch.long)
        y = torch.empty_like(x)
        for i, d in enumerate(self.domains):
            rows = (which == i).nonzero().flatten()
            if rows.numel():
                b = ByteCorpusTask._windows(self.data[d][0], self.seq_len, rows.numel(), g)
                x[rows], y[rows] = b.x, b.y
        return Batch(x, y, None, {"domain": which})

    def eval_batches(self, n_batches: int, batch_size: int, seq_len: int | None = None, domain: str | None = None,
                     **options: Any) -> list[Batch]:
        """Held-out windows: of ``domain`` only, or of every domain in proportion to the weights."""
        if options:
            raise ValueError(f"mixture.eval_batches: unknown options {sorted(options)}")
        length = self.seq_len if seq_len is None else check_positive("seq_len", seq_len)
        n_batches, batch_size = check_positive("n_batches", n_batches), check_positive("batch_size", batch_size)
        if domain is not None:
            return held_out_windows(domain, n_batches, batch_size, length)
        counts = _largest_remainder([self.weights[d] for d in self.domains], batch_size)
        per_domain = {d: held_out_windows(d, n_batches, c, length) for d, c in zip(self.domains, counts) if c}
        return [Batch(torch.cat([per_domain[d][i].x for d in per_domain]), torch.cat([per_domain[d][i].y for d in per_domain]))
                for i in range(n_batches)]


def _largest_remainder(weights: list[float], n: int) -> list[int]:
    raw = [w * n for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    return counts


def held_out_windows(domain: str, n_batches: int, batch_size: int, seq_len: int) -> list[Batch]:
    """``n_batches`` batches of held-out windows of one domain (the same for every run)."""
    valid = load_domain(domain)[1]
    if valid.numel() < seq_len + 2:
        raise ValueError(f"the {domain} domain's held-out split is too short for seq_len={seq_len}")
    g = generator(EVAL_SEED, f"domain/{domain}/eval/{seq_len}")
    return [ByteCorpusTask._windows(valid, seq_len, batch_size, g) for _ in range(n_batches)]
