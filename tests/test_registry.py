"""One framework registry (``lrviz.frameworks.FRAMEWORKS``): every framework, hf included, is one module with the
same interface, every scheduler it declares has its math and its settings, and the CLI lists the registry."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from lrviz.cli import cli
from lrviz.frameworks import DEFAULT_SCHEDULERS, FRAMEWORKS, framework_module
from lrviz.schedules import SCHEDULES
from lrviz.signatures import SIGNATURES


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_every_framework_module_has_the_interface(name: str) -> None:
    module = framework_module(name)
    for function in ("schedule_defs", "check_spec"):
        assert callable(getattr(module, function)), (name, function)
    assert name in SIGNATURES and DEFAULT_SCHEDULERS[name] in SIGNATURES[name]


def test_schedules_and_signatures_are_the_same_set() -> None:
    declared = {(framework, scheduler) for framework, table in SIGNATURES.items() for scheduler in table}
    assert declared == set(SCHEDULES)
    assert {framework for framework, _ in SCHEDULES} == set(FRAMEWORKS)


def test_the_cli_lists_the_registry() -> None:
    text = " ".join(CliRunner().invoke(cli, ["plot", "--help"], terminal_width=200).output.split())
    assert f"Whose semantics: {', '.join(FRAMEWORKS)}." in text


def test_verify_knows_how_to_compress_every_framework() -> None:
    """Each framework names the lengths in its kwargs that a compressed verify run scales (an empty tuple: none)."""
    from lrviz.verify.compress import SCALED_KWARGS

    assert set(SCALED_KWARGS) == set(FRAMEWORKS)
    for name, keys in SCALED_KWARGS.items():
        accepted = {key for signature in SIGNATURES[name].values() for key in signature.kwarg_names}
        assert set(keys) <= accepted, (name, set(keys) - accepted)
