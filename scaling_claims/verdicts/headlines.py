"""The headline claims, each split into its law rows and its constant rows.

A paper's headline result usually mixes two things. The *law* is what the paper claims holds
generally: a functional form, a prediction of held-out larger models, an ordering, a sign, a
relation between two measured quantities. The *constants* are the numbers it measured on its
own data (an exponent on WebText2 BPE tokens, a fitted coefficient). A miniature run on other
data can test the law; it can only set its own constants beside the paper's.

So every row of a headline claim declares ``headline=<key>`` and ``role="law"`` or
``role="constant"``:

- a law row has a verdict by the interval rule;
- a constant row the paper ties to its data or tokenizer is a *comparison*
  (``@pytest.mark.comparison``): both numbers, no verdict, counted apart;
- a constant row the folklore treats as universal and the card names ("about 20 tokens per
  parameter") keeps a verdict, measured in the paper's own counting convention.

A headline whose paper states no data-tied constant (its claims are forms and orderings) has
law rows only, and says so here (``no_constants``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Headline:
    key: str
    title: str
    papers: str
    no_constants: str = ""  # why this headline has no constant row ("" when it has some)


HEADLINES: dict[str, Headline] = {h.key: h for h in (
    Headline("kaplan", "Kaplan's laws: L(N), L(D), shape", "Kaplan et al. 2020"),
    Headline("chinchilla", "Chinchilla's compute-optimal allocation", "Hoffmann et al. 2022"),
    Headline("double-descent", "Deep double descent", "Nakkiran et al. 2019; Belkin et al. 2019",
             no_constants="the claims are a form (a peak at the interpolation threshold) and orderings (noise "
                          "sharpens the peak, regularisation removes it); the paper's error values belong to its "
                          "CIFAR/ResNet runs and are not claimed to carry over"),
    Headline("emergence", "Emergence as a metric artifact", "Schaeffer et al. 2023",
             no_constants="the claims are relations between metrics computed on the same outputs (exact match "
                          "sharper than a per-token metric, sharper for longer answers); the paper reports no "
                          "universal number"),
    Headline("best-of-n", "Best-of-N and pass@k", "Brown et al. 2024; Gao et al. 2023",
             no_constants="the claims are forms (coverage as an exponentiated power law in k that predicts larger "
                          "k; Gao's gold reward d(alpha - beta d) in d = sqrt(KL)); Brown's exponents are fitted per "
                          "task and model, Gao's coefficients per reward-model size, and neither paper offers them as "
                          "universal numbers"),
    Headline("positional", "Positional encodings and length extrapolation",
             "Press et al. 2022; Kazemnejad et al. 2023",
             no_constants="the claims are orderings between encodings and whether loss stays flat past the "
                          "trained length; the papers' perplexities belong to their corpora"),
)}


def headline(key: str) -> Headline:
    """The headline named ``key`` (a ``ValueError`` naming the known ones otherwise)."""
    try:
        return HEADLINES[key]
    except KeyError:
        raise ValueError(f"unknown headline {key!r}; known: {sorted(HEADLINES)}") from None
