"""What a claim is expected to show, declared before its runs (CLAIMS.md: expectations are
pre-registered).

A claim test passes when the verdict it measures equals the one declared here, and fails when
the verdict changes, either way: so CI notices any change in the evidence, and the report
always shows the measured verdict.

- :func:`confirmed` (the default): the paper's claim should hold here.
- :func:`refuted`: a cited source predicts that the claim fails here; quote it. The evidence must
  refute the claim (every interval wholly outside what the claim needs).
- :func:`inconclusive`: this design cannot resolve the claim (the effect is smaller than its
  noise); say why. The evidence must straddle: a decided verdict, either way, fails the test.
- :func:`out_of_regime`: our scale or method lies outside the paper's regime, so a failure here
  is explained by it, not a refutation (CLAIMS.md: "a failure that our scale or method
  explains is inconclusive, not refuted"); say which way the regime differs. Evidence that
  refutes or straddles is reported inconclusive with that reason; evidence that confirms is a
  change (the claim holds even here) and fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass

from scaling_claims.claims.records import CONFIRMED, INCONCLUSIVE, REFUTED

KINDS = ("confirmed", "refuted", "inconclusive", "out_of_regime")


@dataclass(frozen=True)
class Expectation:
    """``kind`` (one of ``KINDS``) and its reason; ``verdict`` is the verdict the report should show."""

    kind: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"an expectation is one of {KINDS}, got {self.kind!r}")
        if self.kind != "confirmed" and len(self.reason.strip()) < 20:
            raise ValueError(f"expect.{self.kind} needs its reason written out (a cited source for refuted, "
                             f"why this design cannot decide for inconclusive/out_of_regime), got {self.reason!r}")

    @property
    def verdict(self) -> str:
        return {"confirmed": CONFIRMED, "refuted": REFUTED}.get(self.kind, INCONCLUSIVE)

    def decide(self, evidence: str) -> str:
        """The verdict to report for what the checks found (``evidence``)."""
        if self.kind == "out_of_regime" and evidence == REFUTED:
            return INCONCLUSIVE
        return evidence

    def text(self) -> str:
        if self.kind == "confirmed":
            return "expected confirmed"
        label = {"refuted": "expected refuted (cited source)", "inconclusive": "expected inconclusive (underpowered)",
                 "out_of_regime": "expected inconclusive (outside the paper's regime)"}[self.kind]
        return f"{label}: {self.reason}"


def confirmed() -> Expectation:
    """The claim should hold here (the default)."""
    return Expectation("confirmed")


def refuted(source: str) -> Expectation:
    """A cited source predicts the claim fails here: ``source`` names it and quotes or states
    what it found."""
    return Expectation("refuted", source)


def inconclusive(why: str) -> Expectation:
    """This design cannot resolve the claim: ``why`` (the effect against the design's noise)."""
    return Expectation("inconclusive", why)


def out_of_regime(why: str) -> Expectation:
    """Our scale or method lies outside the paper's regime; ``why`` says how. A refutation here is
    reported inconclusive with this reason; a confirmation is a change that fails the test."""
    return Expectation("out_of_regime", why)
