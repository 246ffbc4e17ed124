"""Issue 12, "Evidence": every advise rule cites a primary source a user can open (a paper with its arXiv id and
section, a framework's file and function at a release, a recipe's repository file, a public issue), never the
team's own notes, which users do not have.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lrviz.advise.profiles import PROFILES
from lrviz.advise.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
TEAM_NOTES = re.compile(r"practice\.md|schedulers\.md|users\.md|aesthetics\.md|shared/research")

ARXIV = re.compile(r"arXiv:\d{4}\.\d{4,5}")
# where in the paper: a section, appendix, table, footnote, or the abstract
LOCATOR = re.compile(r"^[ ,]*(§|App\.|Table|fn\.|abstract)")
REPO_FILE = re.compile(r"\b[\w.-]+/[\w.-]+ [\w*./-]+\.(py|ya?ml|sh|md)\b")
ISSUE = re.compile(r"\b[\w.-]+/[\w.-]+#\d+")
RELEASE_FILE = re.compile(r"\b(transformers|DeepSpeed|megatron-core|torch) \d+\.\d+(\.\d+)? [\w/]+\.py\b")
URL = re.compile(r"https://\S+")


def test_no_file_users_can_see_cites_the_team_notes():
    """`grep -r "practice.md\\|schedulers.md" lrviz README.md docs` finds nothing."""
    files = [*ROOT.joinpath("lrviz").rglob("*.py"), ROOT / "README.md", *ROOT.joinpath("docs").rglob("*.md"),
             *ROOT.joinpath("gallery").rglob("*.md")]
    hits = [f"{path.relative_to(ROOT)}:{number}" for path in files if path.exists()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if TEAM_NOTES.search(line)]
    assert not hits, hits


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_rule_cites_a_source_a_user_can_open(rule):
    source = rule.source
    assert not TEAM_NOTES.search(source)
    kinds = [name for name, pattern in (("paper", ARXIV), ("repository file", REPO_FILE), ("issue", ISSUE),
                                        ("framework file at a release", RELEASE_FILE), ("page", URL))
             if pattern.search(source)]
    assert kinds, f"{rule.id} cites nothing a user can open: {source}"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_paper_is_cited_with_where_in_it(rule):
    for match in ARXIV.finditer(rule.source):
        after = rule.source[match.end():match.end() + 12]
        assert LOCATOR.search(after), f"{rule.id}: {match.group()} without a section, table or 'abstract': {rule.source}"


def test_framework_rules_name_the_file_and_function_at_a_release():
    for rule in RULES:
        if rule.strength == "framework":
            assert RELEASE_FILE.search(rule.source) or URL.search(rule.source), rule.id


def test_profile_recipes_cite_no_team_notes():
    for profile in PROFILES.values():
        assert not TEAM_NOTES.search(profile.evidence), profile.name
