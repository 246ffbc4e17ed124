"""The documentation tells the truth: every command has help with examples; every `lrviz …` command written in
README.md and docs/*.md runs, and each console block shows that command's real output; the generated sections
(option references, rule table) equal what docs/generate.py writes; every link leads to a page; the README stays a
short front page with the set-up a fresh machine needs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from doc_examples import Example, examples, real_lines, run, write_fixtures, write_model_folder

from lrviz.cli import cli
from lrviz.signatures import HF_SIGNATURES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_with_examples(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"lrviz {name}" in result.output


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_readme_documents_every_command(name):
    assert f"lrviz {name}" in README


def test_docs_list_every_scheduler():
    plot = (DOCS / "plot.md").read_text()
    for name in HF_SIGNATURES:
        assert f"`{name}`" in plot, name


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    test_command = next(block for block in blocks if "pytest" in block)
    assert test_command.strip() in (ROOT / ".ci" / "run").read_text()


def test_readme_main_command_is_the_issue_one():
    assert "pip install -e . && lrviz plot --lr 2e-4 --min-lr 2e-6" in README


# ------------------------------------------------------------------------------------------ the README


def test_readme_is_a_front_page_of_at_most_10_kb():
    assert len(README.encode("utf-8")) <= 10_240


def test_readme_sets_up_cpu_torch_first_with_the_index_url():
    cpu = README.index("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
    assert cpu < README.index("pip install -e . && lrviz plot") < README.index('pip install -e ".[test]" && python -m pytest')
    assert "dependency resolver" in README and "deepspeed 0.19.8 requires ninja" in README  # explained, not a surprise


def test_readme_gives_the_four_commands_exit_codes_and_links():
    for name in ("plot", "advise", "verify", "check-run"):
        assert re.search(rf"^lrviz {name} ", README, flags=re.M), name
    table = README.split("## Exit codes", 1)[1].split("##", 1)[0]
    assert [int(code) for code in re.findall(r"^\| (\d) \|", table, flags=re.M)] == [0, 1, 2, 3, 4]  # 4: verify only
    for page in ("index", "plot", "advise", "verify", "check-run", "frameworks", "configs", "exactness", "api", "benchmarks"):
        assert f"(docs/{page}.md)" in README, page
    assert re.search(r"!\[[^]]*\]\(gallery/\w+\.png\)", README)  # a picture


# ------------------------------------------------------------------------------------------ links and generated parts


def _links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    return [target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_leads_to_a_page(page):
    for target in _links(page):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.relative_to(ROOT)} links {target}, which does not exist"


def test_docs_index_links_every_page():
    linked = {Path(target).name for target in _links(DOCS / "index.md")}
    written = {path.name for path in DOCS.glob("*.md")} - {"index.md"}
    assert written <= linked, written - linked


def test_generated_sections_are_up_to_date():
    """The option references and the rule table are what docs/generate.py writes from --help and the rules."""
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for page, text in generate.generated_pages().items():
        assert (DOCS / page).read_text(encoding="utf-8") == text, f"docs/{page} is out of date: run python docs/generate.py"
    assert "| T08 | info |" in (DOCS / "advise.md").read_text()  # the table is there, one row per rule


# ------------------------------------------------------------------------------------------ every example runs

EXAMPLES = examples()


# documented on purpose as bad input (docs/limits.md): the exit code the page states
DOCUMENTED_ERRORS = {"lrviz plot --config /dev/zero": 2}


def _expected_code(example: Example) -> int:
    if example.command in DOCUMENTED_ERRORS:
        return DOCUMENTED_ERRORS[example.command]
    if example.args[:1] == ["check-run"] and any(arg.endswith("trainer_state.json") for arg in example.args):
        return 1  # the real log of tests/data has a skipped scheduler step: the docs show that finding
    if example.args[:1] == ["verify"] and "--framework" in example.args:
        framework = example.args[example.args.index("--framework") + 1]
        module = {"megatron": "megatron.core.optimizer_param_scheduler",
                  "nemo": "nemo.core.optim.lr_scheduler"}.get(framework)
        if module is not None:
            from lrviz.verify.megatron_nemo import importable

            return 0 if importable(module) else 4  # without the package: a labelled stand-in (docs/verify.md)
    if "--device" in example.args and example.args[example.args.index("--device") + 1] == "cuda":
        import torch

        return 0 if torch.cuda.is_available() else 3
    return 0


def test_every_page_has_examples_and_they_are_found():
    found = {example.page for example in EXAMPLES}
    for page in ("README.md", "docs/plot.md", "docs/advise.md", "docs/verify.md", "docs/check-run.md", "docs/frameworks.md"):
        assert page in found, page
    assert len(EXAMPLES) >= 40


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.args[:1] != ["verify"]], ids=lambda e: e.name)
def test_documented_command_runs(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_fixtures(tmp_path)
    result = run(example)
    assert result.exception is None or isinstance(result.exception, SystemExit), (example.name, result.exception)
    assert result.exit_code == _expected_code(example), (example.name, result.stdout[-3000:], result.stderr)
    if example.shown is not None:
        _assert_shows_real_output(example, result)


@pytest.mark.slow
@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.args[:1] == ["verify"]], ids=lambda e: e.name)
def test_documented_verify_command_runs(example, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    write_fixtures(tmp_path)
    if "./my-small-model" in example.args:
        write_model_folder(tmp_path)
    result = run(example)
    assert result.exception is None or isinstance(result.exception, SystemExit), (example.name, result.exception)
    assert result.exit_code == _expected_code(example), (example.name, result.stdout[-3000:], result.stderr)


def _assert_shows_real_output(example: Example, result) -> None:
    """Every line a console block shows (but `...`) is a line of the command's real output at 100 columns."""
    real = set(real_lines(result))
    missing = [line for line in example.shown if line.strip() and line.strip() != "..." and line.rstrip() not in real]
    assert not missing, f"{example.name} shows lines the command does not print:\n" + "\n".join(missing)


def test_python_api_example_runs_and_its_comments_are_true(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_fixtures(tmp_path)
    code = re.search(r"```python\n(.*?)```", (DOCS / "api.md").read_text(), flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own documentation
    from lrviz import key_points

    comments = dict(re.findall(r"^(\S.*?)\s+# (.*)$", code, flags=re.M))
    assert str(key_points(namespace["ScheduleSpec"](scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=1000,
               warmup_steps=30, scheduler_kwargs={"min_lr": 2e-6})).peak_step) == comments["key_points(spec).peak_step"]
    assert str(namespace["spec"].provenance["warmup_steps"]) == comments['spec.provenance["warmup_steps"]']


def test_console_blocks_that_elide_nothing_are_the_whole_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_fixtures(tmp_path)
    for example in EXAMPLES:
        if example.shown is None or "..." in example.shown or example.args[:1] == ["verify"]:
            continue
        assert list(example.shown) == real_lines(run(example)), example.name


def test_bare_lrviz_shows_help_and_exits_0():
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0, result.output + result.stderr
    assert "Usage: lrviz" in result.stdout and "plot" in result.stdout
    assert result.stderr == ""


def test_documented_api_names_are_the_functions_whatever_was_imported_before():
    """`from lrviz import trajectory, resolve` gave the submodules once anything had imported them (docs/api.md
    failed with "'module' object is not callable")."""
    import subprocess
    import sys

    code = ("import lrviz.trajectory, lrviz.resolve\n"
            "from lrviz import trajectory, resolve\n"
            "import lrviz\n"
            "assert callable(trajectory) and callable(resolve) and callable(lrviz.trajectory), (trajectory, resolve)\n"
            "from lrviz.trajectory import envelope\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
