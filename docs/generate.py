"""Regenerate the parts of docs/ that come from the code: each command's option reference (its ``--help``) and
advise's rule table (``lrviz.advise.rules.RULES``). Run from the repository root after changing an option or a
rule; ``tests/test_docs.py`` fails while the committed pages differ from what this writes.

    python docs/generate.py           # rewrite the generated sections
    python docs/generate.py --check   # exit 1 and name the pages that are out of date

A generated section sits between ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``; the text
around it is written by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

DOCS = Path(__file__).resolve().parent
COMMANDS = ("plot", "advise", "verify", "check-run")
HELP_WIDTH = 100


def command_help(name: str) -> str:
    """``lrviz NAME --help`` as a user sees it at 100 columns."""
    from click.testing import CliRunner

    from lrviz.cli import cli

    result = CliRunner().invoke(cli, [name, "--help"], prog_name="lrviz", terminal_width=HELP_WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"lrviz {name} --help exited {result.exit_code}: {result.output}")
    text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
    return f"```text\n$ lrviz {name} --help\n{text}\n```"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rule_table() -> str:
    """Every rule: id, severity, what it checks, the condition, the strength of its evidence; then the sources."""
    from lrviz.advise.rules import RULES

    lines = ["| id | severity | rule | when | evidence |", "|---|---|---|---|---|"]
    for rule in RULES:
        lines.append(f"| {rule.id} | {rule.severity} | {_cell(rule.title)} | {_cell(rule.condition)} | {rule.strength} |")
    lines += ["", "The sources behind each rule, as `lrviz advise` prints them:", ""]
    for rule in RULES:
        lines.append(f"* **{rule.id}** ({rule.strength}): {rule.source}")
    return "\n".join(lines)


SECTIONS: dict[tuple[str, str], Callable[[], str]] = {
    **{(f"{name}.md", "options"): (lambda name=name: command_help(name)) for name in COMMANDS},
    ("advise.md", "rules"): rule_table,
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {re.escape(name)} -->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)", re.S)


def generated_pages() -> dict[str, str]:
    """Each page with a generated section, as it should read now."""
    pages: dict[str, str] = {}
    for (page, name), make in SECTIONS.items():
        text = pages.get(page) or (DOCS / page).read_text(encoding="utf-8")
        pattern = _pattern(name)
        if not pattern.search(text):
            raise RuntimeError(f"docs/{page} has no '<!-- generated: {name} -->' section")
        body = make()
        pages[page] = pattern.sub(lambda match: match.group(1) + body + "\n" + match.group(3), text)
    return pages


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for page, text in generated_pages().items():
        path = DOCS / page
        if path.read_text(encoding="utf-8") != text:
            stale.append(page)
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join('docs/' + page for page in stale)}; run python docs/generate.py", file=sys.stderr)
        return 1
    for page in stale:
        print(f"rewrote docs/{page}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(DOCS.parent))
    sys.exit(main(sys.argv[1:]))
