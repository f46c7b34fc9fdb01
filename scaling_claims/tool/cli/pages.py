"""``scaling-claims pages``: write the results page (docs/results.md) and the README's results
summary from the records of a claims run (``scaling_claims.verdicts.pages``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scaling_claims.tool.cli._common import HelpFormatter


def cmd_pages(args: argparse.Namespace) -> tuple[int, None]:
    from scaling_claims.verdicts.pages import Source, load_records, load_session, write_pages

    quick = Source("quick", load_records(args.quick), Path(args.quick), load_session(args.quick))
    slow = Source("slow", load_records(args.slow), Path(args.slow), load_session(args.slow)) if args.slow else None
    readme = Path(args.readme) if args.readme else None
    if readme is not None and not readme.is_file():
        raise ValueError(f"--readme {readme}: no such file")
    changed = write_pages(quick, Path(args.out), readme, slow, check=args.check)
    names = ", ".join(str(p) for p in changed) or "nothing"
    if args.check:
        print(f"out of date: {names}" if changed else "the pages match the records")
        return (1 if changed else 0), None
    print(f"rewrote {names}" if changed else "the pages already match the records: nothing to write")
    return 0, None


def add_parsers(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pages", parents=parents, formatter_class=HelpFormatter,
                       help="write the results page and the README's results summary from claim records",
                       description="Write the results page (every claim with its number, interval and verdict; "
                                   "the headline claims' law and constant rows) from the records of a claims run, "
                                   "and rewrite the summary between <!-- results:start --> and "
                                   "<!-- results:end --> in the README. Nothing outside the markers changes.")
    p.add_argument("--quick", required=True, metavar="CLAIMS",
                   help="the quick run's claims.json (or its records/ folder)")
    p.add_argument("--slow", metavar="CLAIMS",
                   help="a slow run's claims.json (or records/ folder), shown beside the quick numbers")
    p.add_argument("--out", default="docs/results.md", help="the results page to write")
    p.add_argument("--readme", metavar="README",
                   help="the README whose marked block receives the summary (left alone when not given)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when a page differs from what the records give")
    p.set_defaults(func=cmd_pages)
