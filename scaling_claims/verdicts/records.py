"""``ClaimRecord``: what one claim test measured, beside what the paper said, and the verdict.

One record per claim (a parametrized test gives one record per parameter set). The fields:
claim id, paper, the paper's value, measured value with CI, tolerance and its
written justification, verdict, parameter-count convention, device, dtype, torch version,
seeds, budget, wall time, plus free notes, the individual checks and the artifact paths.

Verdicts (``VERDICTS``), decided by where the whole interval of each check lies
(``scaling_claims.verdicts.checks``):

- ``"confirmed"``: every check's interval satisfies the claim;
- ``"refuted"``: some check's interval violates it entirely;
- ``"inconclusive"``: an interval straddles an edge or cannot be used, the data could not
  decide, or the test errored, was skipped or never ran (``outcome`` says which, ``reason`` why).

The verdict is the interval rule's alone: ``evidence`` (what the checks say) and ``verdict``
(what the report shows) are equal (both fields are kept for readers of older records, where an
out-of-regime refutation was shown as inconclusive). ``regime`` is why our scale or method lies
outside the paper's regime, an annotation beside the verdict ("" when it does not).
``expected`` is the declared verdict and ``expectation`` its reason; ``declared_after_data``
says the declaration was made after the data that decide it, ``declaration_note`` when and why.
``kind`` is ``"claim"`` (a paper's claim), ``"sanity"`` (an identity or a check of our own code,
reported apart) or ``"comparison"``: our measured number set beside a number the paper ties to
its own data (an exponent on WebText2 BPE tokens), reported with both numbers and no verdict
(``NO_VERDICT``), counted apart; ``justification`` says why it has no verdict.

``role`` places a headline claim's row: ``"law"`` (what the paper claims holds generally: a
form, a held-out prediction, an ordering, a sign) or ``"constant"`` (a number of the paper's: a
comparison, or a verdict where the number is treated as universal, such as "about 20 tokens
per parameter", in the paper's own counting convention); ``headline`` names the headline claim
it belongs to (``scaling_claims.verdicts.headlines``). Both are "" for other claims. The verdict is set by ``scaling_claims.plugin.claims_plugin``, never by the test.
Records round-trip through JSON (``to_json`` / ``from_json``, ``save`` / ``load``); non-finite
floats are written as ``null``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaling_claims.common.jsonio import atomic_write_text, jsonable

CONFIRMED = "confirmed"
REFUTED = "refuted"
INCONCLUSIVE = "inconclusive"
VERDICTS = (CONFIRMED, REFUTED, INCONCLUSIVE)
NO_VERDICT = "no verdict"  # a comparison's only verdict
KINDS = ("claim", "sanity", "comparison")
ROLES = ("", "law", "constant")

_SAFE_ID = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_id(claim_id: str) -> str:
    """A file-system-safe form of ``claim_id`` (used for ``artifacts/<id>/`` and record files)."""
    if not isinstance(claim_id, str) or not claim_id.strip():
        raise ValueError(f"a claim id must be a non-empty string, got {claim_id!r}")
    return _SAFE_ID.sub("_", claim_id.strip()).strip("_") or "claim"


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars/arrays to Python, non-finite floats to None, tuples to lists,
    anything else JSON cannot hold as its text (``scaling_claims.common.jsonio``)."""
    return jsonable(value, other=str)


@dataclass
class ClaimRecord:
    """One claim's record. Only ``claim_id`` is required; everything else has a neutral default.

    ``paper_value`` and ``measured`` are numbers (or, for orderings and qualitative claims, a
    short text such as "ALiBi < RoPE"); ``ci`` is the measured value's (lo, hi) interval,
    ``ci_level`` its level and ``ci_method`` how it was obtained. ``tolerance`` says what counts as agreement ("[0.03, 0.30]",
    "+-0.02", ">= 3x"), ``justification`` why that tolerance is honest. ``checks`` holds each
    check's ``Check.to_dict()``. ``outcome`` is how the test ended: "passed" (the verdict
    is the one expected), "failed" (the verdict changed), "xfailed" (it changed, a known failure
    marked strict xfail with its reason), "error", "skipped" or "not run".
    """

    claim_id: str
    kind: str = "claim"
    paper: str = ""
    claim: str = ""
    quantity: str = ""
    paper_value: Any = None
    measured: Any = None
    ci: tuple[float, float] | None = None
    ci_level: float | None = None
    ci_method: str = ""
    tolerance: str = ""
    justification: str = ""
    verdict: str = INCONCLUSIVE
    evidence: str = INCONCLUSIVE
    expected: str = CONFIRMED
    expectation: str = ""
    regime: str = ""
    declared_after_data: bool = False
    declaration_note: str = ""
    reason: str = ""
    param_convention: str = ""
    device: str = ""
    dtype: str = ""
    torch_version: str = ""
    seeds: list[int] = field(default_factory=list)
    budget: str = ""
    wall_time_s: float | None = None
    run_wall_time_s: float | None = None
    notes: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    outcome: str = ""
    nodeid: str = ""
    role: str = ""
    headline: str = ""

    def __post_init__(self) -> None:
        safe_id(self.claim_id)  # validates
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "comparison":
            # a comparison has no verdict (older readers may pass the neutral defaults)
            for name in ("verdict", "evidence", "expected"):
                if getattr(self, name) not in (NO_VERDICT, INCONCLUSIVE, CONFIRMED):
                    raise ValueError(f"a comparison has no verdict; {name} must be {NO_VERDICT!r}, "
                                     f"got {getattr(self, name)!r}")
                setattr(self, name, NO_VERDICT)
            if self.role not in ("", "constant"):
                raise ValueError(f"a comparison is a constant row, got role {self.role!r}")
            self.role = "constant"
        else:
            for name in ("verdict", "evidence", "expected"):
                if getattr(self, name) not in VERDICTS:
                    raise ValueError(f"{name} must be one of {VERDICTS}, got {getattr(self, name)!r}")
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.ci is not None:
            if len(self.ci) != 2:
                raise ValueError(f"ci must be a (lo, hi) pair, got {self.ci!r}")
            lo, hi = (None if v is None else float(v) for v in self.ci)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"ci must have lo <= hi, got {self.ci!r}")
            self.ci = (lo, hi)
        self.seeds = [int(s) for s in self.seeds]
        self.declared_after_data = bool(self.declared_after_data)

    def to_dict(self) -> dict[str, Any]:
        return _clean(dataclasses.asdict(self))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClaimRecord":
        if not isinstance(d, dict) or "claim_id" not in d:
            raise ValueError("a claim record needs a dict with at least 'claim_id'")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown claim record fields: {sorted(unknown)}")
        kw = dict(d)
        if kw.get("ci") is not None:
            kw["ci"] = tuple(kw["ci"])
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> "ClaimRecord":
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        """Write the record as JSON (atomically: a temp file renamed into place)."""
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "ClaimRecord":
        return cls.from_json(Path(path).read_text())
