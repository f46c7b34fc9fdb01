"""What a claim is expected to show, and when that was declared (expectations are declared
before the runs that decide them; a declaration made after its data says so).

A claim test passes when the verdict it measures equals the one declared here, and fails when
the verdict changes, either way: so CI notices any change in the evidence, and the report
always shows the measured verdict. The measured verdict is the interval rule's alone
(``scaling_claims.verdicts.checks``): no expectation changes it.

- :func:`confirmed` (the default): the paper's claim should hold here.
- :func:`refuted`: a cited source predicts that the claim fails here; quote it. The evidence must
  refute the claim (every interval wholly outside what the claim needs).
- :func:`inconclusive`: this design cannot resolve the claim (the effect is smaller than its
  noise); say why. The evidence must straddle: a decided verdict, either way, fails the test.
- :func:`out_of_regime`: our scale or method lies outside the paper's regime; say which way it
  differs, and which verdict the evidence is expected to give there (``expect="refuted"``,
  ``"inconclusive"`` or ``"confirmed"``). The verdict is reported as measured, annotated
  "outside the paper's regime" with the reason: a refutation outside the regime is still a
  refutation, counted apart in the report, not relabelled.

Every expectation says whether it was declared before the runs that decide it (``declared=
"before data"``, the default) or after them (``declared="after data"``, with a ``note`` of when
and why, e.g. the commit that made it): the report marks the second kind and counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from scaling_claims.verdicts.records import CONFIRMED, INCONCLUSIVE, NO_VERDICT, REFUTED, VERDICTS

KINDS = ("confirmed", "refuted", "inconclusive", "out_of_regime", "comparison")
BEFORE_DATA, AFTER_DATA = "before data", "after data"
DECLARED = (BEFORE_DATA, AFTER_DATA)


@dataclass(frozen=True)
class Expectation:
    """``kind`` (one of ``KINDS``) and its reason; ``expect`` the verdict an out-of-regime claim
    is expected to measure; ``declared`` whether this was declared before or after the data that
    decide it, ``note`` when and why (required after data). ``verdict`` is the verdict the test
    expects to measure."""

    kind: str
    reason: str = ""
    expect: str = ""
    declared: str = BEFORE_DATA
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"an expectation is one of {KINDS}, got {self.kind!r}")
        if self.kind == "comparison" and (self.expect or self.declared != BEFORE_DATA):
            raise ValueError("a comparison has no verdict to expect and nothing to declare after its data")
        if self.kind != "confirmed" and len(self.reason.strip()) < 20:
            raise ValueError(f"expect.{self.kind} needs its reason written out (a cited source for refuted, "
                             f"why this design cannot decide for inconclusive, how the regime differs for "
                             f"out_of_regime), got {self.reason!r}")
        if self.kind == "out_of_regime":
            if self.expect not in VERDICTS:
                raise ValueError(f"expect.out_of_regime needs the verdict its evidence is expected to give, "
                                 f"expect= one of {VERDICTS}, got {self.expect!r}")
        elif self.expect:
            raise ValueError(f"expect= is for out_of_regime; expect.{self.kind} expects {self.kind}")
        if self.declared not in DECLARED:
            raise ValueError(f"declared must be one of {DECLARED}, got {self.declared!r}")
        if self.declared == AFTER_DATA and len(self.note.strip()) < 20:
            raise ValueError("a declaration made after its data needs a note of when and why (e.g. the commit that "
                             f"made it), got {self.note!r}")

    @property
    def verdict(self) -> str:
        """The verdict this expectation expects the interval rule to measure."""
        if self.kind == "out_of_regime":
            return self.expect
        if self.kind == "comparison":
            return NO_VERDICT
        return {"confirmed": CONFIRMED, "refuted": REFUTED}.get(self.kind, INCONCLUSIVE)

    @property
    def regime(self) -> str:
        """Why our scale or method lies outside the paper's regime ("" when it does not)."""
        return self.reason if self.kind == "out_of_regime" else ""

    @property
    def after_data(self) -> bool:
        return self.declared == AFTER_DATA

    def decide(self, evidence: str) -> str:
        """The verdict to report for what the checks found (``evidence``): the evidence itself.
        An expectation never changes a verdict; a regime is an annotation beside it. A comparison
        has no verdict, whatever it measured."""
        if self.kind == "comparison":
            return NO_VERDICT
        if evidence not in VERDICTS:
            raise ValueError(f"evidence must be one of {VERDICTS}, got {evidence!r}")
        return evidence

    def text(self) -> str:
        if self.kind == "confirmed":
            label = "expected confirmed"
        elif self.kind == "comparison":
            return f"a comparison with the paper's number, no verdict: {self.reason}"
        else:
            label = {"refuted": "expected refuted (cited source)",
                     "inconclusive": "expected inconclusive (underpowered)",
                     "out_of_regime": f"expected {self.expect} (outside the paper's regime)"}[self.kind]
            label = f"{label}: {self.reason}"
        return label + (f"; declared after its data: {self.note}" if self.after_data else "")


def confirmed(*, declared: str = BEFORE_DATA, note: str = "") -> Expectation:
    """The claim should hold here (the default)."""
    return Expectation("confirmed", declared=declared, note=note)


def refuted(source: str, *, declared: str = BEFORE_DATA, note: str = "") -> Expectation:
    """A cited source predicts the claim fails here: ``source`` names it and quotes or states
    what it found."""
    return Expectation("refuted", source, declared=declared, note=note)


def inconclusive(why: str, *, declared: str = BEFORE_DATA, note: str = "") -> Expectation:
    """This design cannot resolve the claim: ``why`` (the effect against the design's noise)."""
    return Expectation("inconclusive", why, declared=declared, note=note)


def out_of_regime(why: str, expect: str, *, declared: str = BEFORE_DATA, note: str = "") -> Expectation:
    """Our scale or method lies outside the paper's regime; ``why`` says how, ``expect`` which
    verdict the evidence should give here ("refuted", "inconclusive" or "confirmed"). The verdict
    is reported as measured, annotated with this reason; any other verdict fails the test."""
    return Expectation("out_of_regime", why, expect=expect, declared=declared, note=note)


def comparison(why: str) -> Expectation:
    """A constant row the paper ties to its own data: our number beside the paper's, no verdict;
    ``why`` says why no verdict (declared by ``@pytest.mark.comparison``, not by hand)."""
    return Expectation("comparison", why)


def after_data(expectation: Expectation, note: str) -> Expectation:
    """``expectation`` marked as declared after the data that decide it; ``note`` says when (the
    commit) and why."""
    return Expectation(expectation.kind, expectation.reason, expectation.expect, AFTER_DATA, note)
