"""What every ``scaling-claims`` subcommand shares: argument types, the help formatter, number
formatting, warnings, and the ``--json`` document (its schema and version: docs/cli-json.md).

Kept free of NumPy, SciPy and torch so that ``scaling-claims --help`` answers at once: a
subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from scaling_claims import __version__
from scaling_claims.common.jsonio import jsonable, refuse
from scaling_claims.plugin.options import checked

EXIT_USAGE = 2  # the user's input is wrong: one line says what
EXIT_FAILURE = 1  # something else failed (a run, or a bug: one line, --debug for the traceback)
JSON_SCHEMA_VERSION = 1  # bump on any incompatible change to a --json document (docs/cli-json.md)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, when it has one worth showing (not None, not a flag's False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "%(default)" in text or unset or not action.option_strings:
            return text
        default = ",".join(map(str, action.default)) if isinstance(action.default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {default})"


def positive(text: str) -> float:
    return checked(text, float, lambda v: v > 0 and math.isfinite(v), "must be a positive number")


def non_negative(text: str) -> float:
    return checked(text, float, lambda v: v >= 0 and math.isfinite(v), "must be a number >= 0")


def fraction(text: str) -> float:
    return checked(text, float, lambda v: 0 < v <= 1, "must be in (0, 1]")


def count(text: str) -> int:
    """A whole number >= 1."""
    return checked(text, int, lambda v: v >= 1, "must be a whole number >= 1")


def ratios(text: str) -> list[float]:
    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        vals = []
    if not vals or min(vals) <= 0 or not all(math.isfinite(v) for v in vals):
        raise argparse.ArgumentTypeError(f"must be comma-separated positive numbers, got {text!r}")
    return vals


def add_json_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--json", metavar="PATH", help=f"also write {what} as JSON to PATH ('-': to standard output, "
                                                  "instead of the text report); docs/cli-json.md")


# ----------------------------------------------------------------------------- text
def g(v: float, digits: int = 4) -> str:
    return f"{v:.{digits}g}"


def interval(v: float, ci: Sequence[float] | None) -> str:
    if ci is None or not all(isinstance(c, (int, float)) and math.isfinite(c) for c in ci):
        return g(v)
    return f"{g(v)} [{g(ci[0])}, {g(ci[1])}]"


def hours(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        return f"{seconds / 60:.3g} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds < 2 * 365.25 * 86400:
        return f"{seconds / 86400:.3g} days"
    return f"{seconds / (365.25 * 86400):.3g} years"


def warn(args: argparse.Namespace, message: str) -> None:
    """A warning line on standard error, kept for the ``--json`` document's ``warnings``."""
    print(f"warning: {message}", file=sys.stderr)
    args.warnings.append(message)


# ----------------------------------------------------------------------------- JSON
def clean(v: Any) -> Any:
    """``v`` made JSON-safe: NumPy values as Python ones, non-finite floats as None, a path as
    its text; anything else JSON cannot hold is a TypeError (``scaling_claims.common.jsonio``)."""
    return jsonable(v, other=_path_text)


def _path_text(v: Any) -> str:
    if isinstance(v, Path):
        return str(v)
    return refuse(v)


def document(command: str, payload: dict[str, Any], warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The ``--json`` document of ``command``: a versioned envelope around its payload."""
    return clean({"schema": f"scaling-claims/{command}", "schema_version": JSON_SCHEMA_VERSION,
                  "scaling_claims_version": __version__, **payload, "warnings": list(warnings)})


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, allow_nan=False)


def write_json(target: str, doc: dict[str, Any], stdout: TextIO) -> None:
    """``doc`` to ``target`` ('-' is ``stdout``, the real one even while text goes to stderr)."""
    text = dump(doc) + "\n"
    if target == "-":
        stdout.write(text)
        stdout.flush()
        return
    Path(target).write_text(text)
    print(f"wrote {target}")
