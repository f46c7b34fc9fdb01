"""The ``scaling-claims`` command: a thin layer over the library (``scaling_claims.tool.userruns``,
``scaling_claims.tool.plan``, ``scaling_claims.verdicts.report``).

    scaling-claims fit RUNS.csv [--out DIR] [--json -]  fit your own runs (Chinchilla law + checks)
    scaling-claims plan --preset epoch2024 --budget 1e21 --device h100-sxm --mfu 0.4
    scaling-claims plan --fit DIR/fit.json --target-loss 2.1
    scaling-claims time --params 150e6 --tokens 100e6 --device m2-max --dtype fp32 --mfu 0.3
    scaling-claims design --preset epoch2024 --min-params 1e5 --max-params 1e7 --hours 8 --device m2-max
    scaling-claims run SPECS.json --out runs.csv     train a designed ladder (through the run cache)
    scaling-claims report [--artifacts-dir artifacts] rebuild report.md and report.html from the last pytest run
    scaling-claims pages --quick CLAIMS.json --out docs/results.md --readme README.md
                                                     the results page and the README's results summary

Errors: input the user can fix (a missing column, a bad value, an unknown preset or device, a
file that cannot be read or written) prints one line naming the file, row, column or flag and
exits with status 2; anything else prints one line naming what failed and exits with status 1
(``--debug`` prints the traceback instead). ``--json PATH`` (``-``: standard output) writes a
versioned JSON document (docs/cli-json.md); with ``-``, standard output holds the JSON alone and
standard error only the warnings and errors. Heavy modules are imported by the subcommand that
needs them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import traceback
import warnings
from typing import Sequence

from scaling_claims import __version__
from scaling_claims.tool.cli import fit, pages, plan, run
from scaling_claims.tool.cli._common import EXIT_FAILURE, EXIT_USAGE, HelpFormatter, document, write_json

__all__ = ["main", "build_parser", "EXIT_USAGE", "EXIT_FAILURE"]

# "-1e21" after an option: argparse takes only "-5" and "-0.5" for numbers, so "--budget -1e21"
# would read as a missing argument; such a token is joined to its option ("--budget=-1e21") and
# then rejected by the option's own check with the real reason.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


def _join_negative_numbers(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    for tok in argv:
        if out and _NEGATIVE_NUMBER.match(tok) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the flag (not the whole usage block) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scaling-claims", formatter_class=HelpFormatter,
                                     description="Fit your own runs, plan a training run, design a ladder and "
                                                 "train it, rebuild the claims report and the results pages.",
                                     epilog="`scaling-claims COMMAND --help` lists a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the full traceback of an unexpected error")
    common = _Parser(add_help=False)
    # SUPPRESS: given after the command it sets the flag; absent there, it keeps the top level's value
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the full traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (fit, plan, run, pages):
        module.add_parsers(sub, [common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_negative_numbers(sys.argv[1:] if argv is None else argv))
    args.warnings = []
    stdout = sys.stdout
    to_stdout = getattr(args, "json", None) == "-"
    where = f"scaling-claims {args.command}"
    try:
        # with --json -, standard output carries the JSON alone and standard error only warnings and
        # errors: the text report (all of it is in the JSON) is not printed
        with contextlib.redirect_stdout(io.StringIO()) if to_stdout else contextlib.nullcontext():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                code, payload = args.func(args)
            if args.debug:
                for w in caught:
                    print(f"debug: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})", file=sys.stderr)
            if getattr(args, "json", None) and payload is not None:
                write_json(args.json, document(args.command, payload, args.warnings), stdout)
        return int(code)
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except ValueError as err:  # the library's way of saying the input is wrong
        if args.debug:
            traceback.print_exc()
        print(f"{where}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # a file that cannot be read or written
        if args.debug:
            traceback.print_exc()
        name = f" {err.filename}" if err.filename else ""
        print(f"{where}: error: cannot use{name}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - anything else: one line, not a traceback
        if args.debug:
            traceback.print_exc()
        print(f"{where}: failed: {type(err).__name__}: {err} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_FAILURE
