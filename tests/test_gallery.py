"""The gallery: every `lrviz plot` command in gallery/make_gallery.sh runs and writes a valid PNG, and
gallery/README.md shows the same commands and only images that exist, so the three cannot drift apart.

The commands are run in-process through click's CliRunner from the repository root (their --config paths
are relative to it), with ``-o`` rewritten into ``tmp_path`` so the committed images are never touched.
"""

from __future__ import annotations

import re
import shlex
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrviz.cli import cli

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "gallery"
SCRIPT = GALLERY / "make_gallery.sh"
README = GALLERY / "README.md"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def script_commands() -> list[str]:
    """The `lrviz plot ...` lines of make_gallery.sh, one command per line."""
    lines = [line.strip() for line in SCRIPT.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line.startswith("lrviz plot ")]


def readme_commands() -> list[str]:
    """The `lrviz plot ...` lines inside README.md's code blocks."""
    commands, in_block = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block and line.strip().startswith("lrviz plot "):
            commands.append(line.strip())
    return commands


def readme_images() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", README.read_text(encoding="utf-8"))


def output_of(argv: list[str]) -> str:
    """The -o/--output value of a command's arguments."""
    for flag in ("-o", "--output"):
        if flag in argv:
            return argv[argv.index(flag) + 1]
    raise AssertionError(f"no -o in {shlex.join(argv)}")


def redirected(argv: list[str], folder: Path) -> tuple[list[str], Path]:
    """The arguments with -o pointing at the same file name inside ``folder``."""
    argv = list(argv)
    for flag in ("-o", "--output"):
        if flag in argv:
            index = argv.index(flag) + 1
            target = folder / Path(argv[index]).name
            argv[index] = str(target)
            return argv, target
    raise AssertionError(f"no -o in {shlex.join(argv)}")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path} has no IHDR chunk first"
    width, height = struct.unpack(">II", data[16:24])
    assert data[-8:-4] == b"IEND", f"{path} is truncated (no IEND chunk)"
    return width, height


COMMANDS = script_commands()


def test_script_has_the_gallery_commands() -> None:
    assert len(COMMANDS) >= 5, f"expected about 5 `lrviz plot` lines in {SCRIPT}, found {len(COMMANDS)}"
    outputs = [output_of(shlex.split(command)[2:]) for command in COMMANDS]
    assert len(set(outputs)) == len(outputs), f"two commands write the same file: {outputs}"
    for output in outputs:
        assert output.startswith("gallery/") and output.endswith(".png"), f"-o {output} is not a PNG in gallery/"


def test_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=[output_of(shlex.split(c)[2:]).split("/")[-1] for c in COMMANDS])
def test_gallery_command_writes_png(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    words = shlex.split(command)
    assert words[:2] == ["lrviz", "plot"]
    argv, target = redirected(words[1:], tmp_path)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, argv, prog_name="lrviz")
    assert result.exit_code == 0, f"{command}\nexit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert target.is_file(), f"{command} wrote no {target.name}"
    width, height = png_size(target)
    assert width >= 600 and height >= 300, f"{target.name} is {width}x{height}"


def test_readme_commands_match_script() -> None:
    shown = readme_commands()
    assert shown, f"{README} shows no `lrviz plot` commands"
    missing_from_script = [command for command in shown if command not in COMMANDS]
    assert not missing_from_script, f"README commands that make_gallery.sh does not run: {missing_from_script}"
    missing_from_readme = [command for command in COMMANDS if command not in shown]
    assert not missing_from_readme, f"make_gallery.sh commands that README does not show: {missing_from_readme}"


def test_readme_images_exist_and_are_made_by_the_script() -> None:
    images = readme_images()
    assert images, f"{README} shows no images"
    made = {Path(output_of(shlex.split(command)[2:])).name for command in COMMANDS}
    for image in images:
        path = GALLERY / image
        assert path.is_file(), f"README shows {image}, which is not in gallery/; run bash gallery/make_gallery.sh"
        png_size(path)
        assert Path(image).name in made, f"README shows {image}, which no command in make_gallery.sh makes"
    assert made <= {Path(image).name for image in images}, f"images made but not shown: {made - set(images)}"


def test_config_files_referenced_exist() -> None:
    for command in COMMANDS:
        words = shlex.split(command)
        for index, word in enumerate(words):
            if word == "--config":
                assert (ROOT / words[index + 1]).is_file(), f"{command}: {words[index + 1]} does not exist"
