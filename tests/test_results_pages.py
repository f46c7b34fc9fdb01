"""The results pages generated from claim records (``scaling_claims.verdicts.pages``, the
``scaling-claims pages`` command): the results page and the README's marked block, on
hand-made records and a README written by the test; then the committed README and
docs/results.md against what the generator makes of the committed snapshot (so a hand edit,
or a change to the generator without regenerating, fails here), and every relative link of the
front page and the pages it moved its text to."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scaling_claims.verdicts.pages import (
    END,
    START,
    Source,
    load_records,
    load_session,
    stamp_text,
    read_block,
    render_results_page,
    render_summary,
    replace_block,
    write_pages,
)
from scaling_claims.verdicts.records import ClaimRecord
from scaling_claims.verdicts.report import write_claims_json

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "docs" / "results" / "quick-claims.json"
SLOW_SNAPSHOT = REPO / "docs" / "results" / "slow-claims.json"  # optional: shown beside the quick numbers
REGENERATE = ("scaling-claims pages --quick docs/results/quick-claims.json --out docs/results.md --readme README.md"
              " (add --slow docs/results/slow-claims.json when it exists)")


def records(slow: bool = False) -> list[ClaimRecord]:
    """A law row and a constant row (a comparison) of Kaplan's headline, a law row of double
    descent (no constants), a refuted claim outside the paper's regime, an errored claim, a
    parametrized claim and a sanity check."""
    tag = "slow" if slow else "quick"
    env = dict(device="cpu", dtype="float32", torch_version="2.13.0+cpu")
    out = [
        ClaimRecord("k-law", paper="Kaplan et al. 2020", quantity="R^2 of the offset law", paper_value="fits",
                    measured=0.99, ci=(0.98, 0.995), tolerance=">= 0.95", verdict="confirmed",
                    evidence="confirmed", outcome="passed", headline="kaplan", role="law", **env),
        ClaimRecord("k-alpha", kind="comparison", paper="Kaplan et al. 2020", quantity="alpha_N",
                    paper_value=0.076, measured=0.098, ci=(0.097, 0.0996), outcome="passed",
                    justification="the paper's exponent is for WebText2 BPE tokens", headline="kaplan", **env),
        ClaimRecord("dd-peak", paper="Nakkiran et al. 2019", quantity="argmax p / n", paper_value=1, measured=1.0,
                    ci=(0.9, 1.1), verdict="confirmed", evidence="confirmed", outcome="passed",
                    headline="double-descent", role="law", **env),
        ClaimRecord("shape", paper="Kaplan et al. 2020", quantity="spread", paper_value=0.03, measured=0.068,
                    ci=(0.047, 0.088), tolerance="<= 3%", verdict="refuted", evidence="refuted",
                    expected="refuted", regime="models under 1e5 parameters", outcome="passed", **env),
        ClaimRecord("broken", paper="Someone 2024", quantity="x", verdict="inconclusive", outcome="error",
                    reason="training diverged", **env),
        ClaimRecord(f"crit[{tag}]", paper="the plan", quantity="bracket", measured=5e4 if not slow else 2.5e4,
                    ci=(4.8e4, 5.2e4) if not slow else (2.4e4, 2.6e4), verdict="inconclusive", outcome="passed",
                    **env),
        ClaimRecord("pass-at-k-unbiased", kind="sanity", paper="Chen et al. 2021", quantity="mean error",
                    paper_value="unbiased", measured=-0.0005, ci=(-0.003, 0.002), verdict="confirmed",
                    evidence="confirmed", outcome="passed", **env),
    ]
    if slow:
        out.append(ClaimRecord("only-slow", paper="Muennighoff et al. 2023", quantity="R_D*", paper_value=15.4,
                               measured=2.4, ci=(1.5, 3.8), verdict="inconclusive", outcome="passed", **env))
    return out


def source(tmp_path: Path, label: str = "quick", recs: list[ClaimRecord] | None = None) -> Source:
    path = write_claims_json(tmp_path / "docs" / "results" / f"{label}-claims.json",
                             records(label == "slow") if recs is None else recs)
    return Source(label, load_records(path), path, load_session(path))


README = f"""# A project

Some text above, with trailing spaces   
and a [link](docs/x.md).

{START}
stale text that the generator replaces
{END}

## Below

Text below the block.
"""


# --- the summary and the results page, on hand-made records -------------------------------------


def test_the_summary_counts_comparisons_and_sanity_checks_apart_and_lists_the_headlines(tmp_path):
    quick = source(tmp_path)
    text = render_summary(quick, tmp_path / "docs" / "results.md", tmp_path / "README.md")
    assert ("- 5 paper claims: 2 confirmed, 1 refuted (outside the paper's regime), 2 inconclusive; "
            "1 errored, skipped or not run") in text
    assert "- 1 comparison with a paper's own constants (no verdict)" in text
    assert "- 1 sanity check: 1 confirmed, 0 refuted, 0 inconclusive (not evidence for a paper)" in text
    # each headline: its law rows, then its constant rows; a comparison shows both numbers, no verdict
    kaplan = next(line for line in text.splitlines() if line.startswith("- **Kaplan"))
    assert "law `k-law` **confirmed**" in kaplan
    assert "constants `k-alpha` ours 0.098 [0.097, 0.0996], paper 0.076 (comparison, no verdict)" in kaplan
    dd = next(line for line in text.splitlines() if line.startswith("- **Deep double descent"))
    assert "law `dd-peak` **confirmed**" in dd and "constants none (the paper ties no number to its data)" in dd
    assert "Refuted at this scale: outside the paper's regime: `shape`." in text  # a sanity check is never listed
    assert "[docs/results/quick-claims.json](docs/results/quick-claims.json)" in text
    assert text.rstrip().endswith("[docs/results.md](docs/results.md).")
    assert "(cpu, float32, torch 2.13.0+cpu)" in text


def test_records_before_the_headline_split_say_so(tmp_path):
    recs = [r for r in records() if not r.headline]
    text = render_summary(source(tmp_path, recs=recs), tmp_path / "docs" / "results.md", tmp_path / "README.md")
    assert "predate the split of the headline claims" in text and "**Kaplan" not in text


def test_a_source_outside_the_readmes_folder_is_named_not_linked(tmp_path):
    quick = source(tmp_path / "elsewhere")
    text = render_summary(quick, tmp_path / "repo" / "docs" / "results.md", tmp_path / "repo" / "README.md")
    assert "`quick-claims.json`" in text and "](../" not in text and str(tmp_path) not in text


def test_the_results_page_has_the_headlines_then_every_claim_with_the_slow_run_beside_it(tmp_path):
    quick, slow = source(tmp_path), source(tmp_path, "slow")
    page = render_results_page(quick, tmp_path / "docs" / "results.md", slow)
    sections = [line for line in page.splitlines() if line.startswith("#")]
    assert sections == ["# Results", "## Counts", "## Headline claims: laws and constants",
                        "### Kaplan's laws: L(N), L(D), shape", "### Deep double descent", "## Paper claims",
                        "## Comparisons with the papers' own constants (no verdict)",
                        "## Sanity checks (identities and checks of our own code; not evidence for a paper)"]
    kaplan = page[page.index("### Kaplan"):page.index("### Deep")]
    assert kaplan.index("| law | `k-law`") < kaplan.index("| constant | `k-alpha`")
    assert "comparison (no verdict)" in kaplan
    assert "No constant rows: the claims are a form" in page
    assert "- quick: 5 paper claims" in page and "- slow: 6 paper claims" in page
    assert "[results/quick-claims.json](results/quick-claims.json)" in page
    # the quick [quick] row meets the slow [slow] row; a claim only in the slow run gets a row of its own
    crit = next(line for line in page.splitlines() if line.startswith("| `crit[quick]`"))
    assert "5e+04 [4.8e+04, 5.2e+04]" in crit and "2.5e+04 [2.4e+04, 2.6e+04]" in crit
    only = next(line for line in page.splitlines() if line.startswith("| `only-slow`"))
    assert "| — | slow only | 2.4 [1.5, 3.8] | **inconclusive** |" in only
    assert "`crit[slow]`" not in page
    refuted = next(line for line in page.splitlines() if line.startswith("| `shape`"))
    assert "**refuted**; outside the paper's regime" in refuted
    broken = next(line for line in page.splitlines() if line.startswith("| `broken`"))
    assert "**inconclusive (error)**" in broken
    comparison = next(line for line in page.splitlines() if line.startswith("| `k-alpha`") and "x1.29" in line)
    assert "WebText2" in comparison
    assert render_results_page(quick, tmp_path / "docs" / "results.md", slow) == page  # deterministic


# --- the README block ----------------------------------------------------------------------------------


def test_the_block_is_replaced_the_rest_untouched_and_a_second_run_changes_nothing(tmp_path):
    readme, out = tmp_path / "README.md", tmp_path / "docs" / "results.md"
    readme.write_text(README)
    quick = source(tmp_path)
    assert write_pages(quick, out, readme) == [out, readme]
    text = readme.read_text()
    head, tail = README.split(START)[0], README.split(END)[1]
    assert text.startswith(head + START + "\n") and text.endswith(END + tail)  # byte for byte outside
    assert "stale text" not in text
    assert read_block(text) == render_summary(quick, out, readme)
    page = out.read_text()
    assert write_pages(quick, out, readme) == [] and readme.read_text() == text and out.read_text() == page
    assert write_pages(quick, out, readme, check=True) == []


def test_check_mode_reports_out_of_date_pages_and_writes_nothing(tmp_path):
    readme, out = tmp_path / "README.md", tmp_path / "docs" / "results.md"
    readme.write_text(README)
    assert write_pages(source(tmp_path), out, readme, check=True) == [out, readme]
    assert readme.read_text() == README and not out.exists()


@pytest.mark.parametrize("text, message", [
    ("# no markers at all\n", f"must hold the marker {START} exactly once (found 0)"),
    (f"{START}\nno end marker\n", f"must hold the marker {END} exactly once (found 0)"),
    (f"{START}\n{END}\n{START}\n{END}\n", f"must hold the marker {START} exactly once (found 2)"),
    (f"{END}\n{START}\n", f"{END} comes before {START}"),
])
def test_a_missing_or_misplaced_marker_is_a_clear_error(tmp_path, text, message):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        write_pages(source(tmp_path), tmp_path / "results.md", readme)
    assert str(readme) in str(err.value)
    assert readme.read_text() == text
    with pytest.raises(ValueError):
        replace_block(text, "x")


def test_a_records_folder_reads_like_its_claims_json_and_bad_input_is_named(tmp_path):
    recs = records()
    for r in recs:
        r.save(tmp_path / "records" / f"{r.claim_id}.json")
    assert [r.to_dict() for r in load_records(tmp_path / "records")] == \
        [r.to_dict() for r in load_records(source(tmp_path).path)]
    (tmp_path / "bad.json").write_text('{"no": "claims"}')
    for path, message in ((tmp_path / "bad.json", "is not a claims file"), (tmp_path / "nope.json", "does not exist"),
                          (tmp_path / "empty", "holds no claim records")):
        if path.name == "empty":
            path.mkdir()
        with pytest.raises(ValueError, match=message):
            load_records(path)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scaling_claims.tool.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_command_writes_the_pages_checks_them_and_names_a_missing_marker(tmp_path):
    (tmp_path / "README.md").write_text(README)
    source(tmp_path)
    args = ["pages", "--quick", "docs/results/quick-claims.json", "--out", "docs/results.md", "--readme", "README.md"]
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 0 and "rewrote docs/results.md, README.md" in out.stdout, out.stderr
    assert "Regenerated by `scaling-claims pages --quick docs/results/quick-claims.json --out docs/results.md " \
           "--readme README.md`" in (tmp_path / "docs" / "results.md").read_text()
    out = cli(*args, "--check", cwd=tmp_path)
    assert out.returncode == 0 and "match" in out.stdout
    (tmp_path / "README.md").write_text(README.replace("Text below", "Edited below"))
    out = cli(*args, "--check", cwd=tmp_path)
    assert out.returncode == 1 and "out of date: README.md" in out.stdout
    (tmp_path / "README.md").write_text("# no markers\n")
    out = cli(*args, cwd=tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and START in lines[0], out.stderr


# --- the committed pages ------------------------------------------------------------------------------


def committed_sources() -> tuple[Source, Source | None]:
    quick = Source("quick", load_records(SNAPSHOT), SNAPSHOT, load_session(SNAPSHOT))
    slow = Source("slow", load_records(SLOW_SNAPSHOT), SLOW_SNAPSHOT, load_session(SLOW_SNAPSHOT)) if SLOW_SNAPSHOT.exists() else None
    return quick, slow


def test_the_committed_readme_block_is_what_the_generator_makes_of_the_snapshot():
    quick, _ = committed_sources()
    readme = REPO / "README.md"
    assert read_block(readme.read_text(), "README.md") == render_summary(quick, REPO / "docs" / "results.md", readme), \
        f"README.md's results block differs from the records in {SNAPSHOT.relative_to(REPO)}: do not edit it by " \
        f"hand; regenerate it with `{REGENERATE}`"


def test_the_committed_results_page_is_what_the_generator_makes_of_the_snapshot():
    quick, slow = committed_sources()
    stale = write_pages(quick, REPO / "docs" / "results.md", REPO / "README.md", slow, check=True)
    assert stale == [], f"{[str(p.relative_to(REPO)) for p in stale]} differ from the records: regenerate " \
                        f"with `{REGENERATE}`"


# --- links -----------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PAGES = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))]


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings (lower case, punctuation dropped, spaces to
    hyphens, a repeated heading numbered)."""
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip().lower().replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(page: Path, root: Path) -> list[str]:
    """Relative links of ``page`` whose file is missing, lies outside ``root``, or whose anchor
    is not a heading of the page it names; web addresses are not followed."""
    bad = []
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page.resolve()
        if not file.exists() or root.resolve() not in (file, *file.parents):
            bad.append(f"{page.name}: {target} (no such file in the repository)")
        elif anchor and file.suffix == ".md" and anchor not in slugs(file.read_text()):
            bad.append(f"{page.name}: {target} (no such heading)")
    return bad


@pytest.mark.parametrize("name", PAGES)
def test_every_link_of_the_front_page_and_the_docs_resolves(name):
    assert broken_links(REPO / name, REPO) == []


def test_the_readme_names_no_file_outside_the_repository():
    text = (REPO / "README.md").read_text()
    assert not re.search(r"(^|[\s(`])(~/|/home/|/tmp/|/work/|/usr/|\.\./)", text, re.M)
    assert [t for t in LINK.findall(text) if re.match(r"^[a-z]+:", t)] == []


def test_the_link_check_catches_a_missing_file_a_missing_heading_and_a_path_outside(tmp_path):
    """Negative control for the link check."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "outside.md").write_text("# Out\n")
    page = tmp_path / "repo" / "page.md"
    page.write_text("# A `code` heading, with punctuation\n\n## Twice\n\n## Twice\n\n"
                    "[ok](#a-code-heading-with-punctuation) [ok2](#twice-1) [gone](missing.md) "
                    "[heading](page.md#nope) [out](../outside.md) [web](https://example.org)\n"
                    "```\n[in code](ignored.md)\n```\n")
    assert broken_links(page, tmp_path / "repo") == [
        "page.md: missing.md (no such file in the repository)", "page.md: page.md#nope (no such heading)",
        "page.md: ../outside.md (no such file in the repository)"]


def test_the_snapshot_is_a_claims_file():
    data = json.loads(SNAPSHOT.read_text())
    assert data["claims"] and {"counts", "sanity_counts"} <= set(data)
    assert os.path.getsize(SNAPSHOT) < 2_000_000


def test_claims_json_carries_the_session_stamp_and_the_pages_show_it(tmp_path):
    from scaling_claims.verdicts.report import session_stamp

    stamp = session_stamp(REPO)
    assert stamp["date"].endswith("UTC") and stamp["cores"] >= 1 and stamp["torch"]
    assert stamp["commit"], "the repository is a git checkout: its commit is stamped"
    path = write_claims_json(tmp_path / "claims.json", [ClaimRecord(claim_id="x", paper="P", quantity="q")], stamp)
    assert load_session(path) == stamp and load_session(tmp_path) == {}
    text = stamp_text(stamp)
    assert stamp["date"] in text and f"commit {stamp['commit']}" in text
    page = render_results_page(Source("quick", load_records(path), path, load_session(path)), tmp_path / "results.md")
    assert f"made {text}." in page
