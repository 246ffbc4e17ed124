"""Reading and parsing the files users name, with guards and one-line errors that say what to give instead.

Every config and log lrviz opens goes through here, so the limits hold whatever reader asks:

* **size**: at most ``CONFIG_LIMIT_BYTES`` for a config, ``LOG_LIMIT_BYTES`` for a log; a file that never ends
  (``yes |``, a device) stops at the limit, a binary one (``/dev/zero``) at its first NUL byte;
* **depth**: JSON and YAML nested at most ``MAX_DEPTH`` levels (a config is a few levels deep);
* **aliases**: a YAML alias that refers to itself, or aliases that expand to more than ``MAX_ALIAS_EXPANSION``
  nodes (an "alias bomb"), are refused before the document is built;
* **integers** past float64's range (over 10**308: every setting becomes a float somewhere) are refused with their
  line, and so, first, are those of more digits than Python converts (``sys.get_int_max_str_digits()``, 4,300).

YAML is parsed with libyaml (PyYAML's ``CSafeLoader``) where PyYAML was built with it and with the pure-Python
``SafeLoader`` otherwise: both build the same node graph and the same objects (``yaml.safe_load``). Each text is
parsed once per process (the parse is kept by text); a pipe such as ``/dev/stdin`` is read once and its text kept, so
every reader sees it.
Callers must not mutate what ``parse_yaml``/``parse_json`` return.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .errors import LrvizError

MIB = 1 << 20
CONFIG_LIMIT_BYTES = 16 * MIB  # configs are kilobytes; the largest real ones are under 100 KB
LOG_LIMIT_BYTES = 256 * MIB  # a trainer_state.json of a very long run is tens of MB
MAX_DEPTH = 100
MAX_ALIAS_EXPANSION = 100_000
INT_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 0)() or 4300
FLOAT_MAX = sys.float_info.max

_CHUNK = MIB
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


def size_text(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit:,} bytes"


# ----------------------------------------------------------------------------------------------- reading

# Pipes, FIFOs and devices by their identity: their text cannot be read a second time. (Regular files are re-read:
# a file rewritten within one clock tick at the same size would otherwise look unchanged.)
_streams: OrderedDict[tuple[int, int], str] = OrderedDict()


def read_text_file(path: str, *, label: str, expected: str, error: type[LrvizError], limit: int = CONFIG_LIMIT_BYTES) -> str:
    """The UTF-8 text of ``path``; a directory, missing, unreadable, binary, non-UTF-8 or too large file raises ``error``.

    ``label`` names where the path came from (``"--config run.yaml"``); ``expected`` says what to give
    (``"the YAML or JSON file you launch with"``). Pipes and FIFOs are read to their end (or to ``limit``).
    """
    if os.path.isdir(path):
        raise error(f"{label} is a directory; give {expected}")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{label}: no such file; give {expected}") from None
    except OSError as problem:
        raise error(f"{label}: cannot read it ({problem.strerror or problem}); check the path and its permissions") from None
    regular = stat.S_ISREG(info.st_mode)
    key = (info.st_dev, info.st_ino)
    if not regular and key in _streams:
        _streams.move_to_end(key)
        return _streams[key]
    too_large = f"{label} is larger than {size_text(limit)}, lrviz's limit for this file; give {expected}"
    if regular and info.st_size > limit:
        raise error(too_large)
    try:
        raw = _read_bytes(path, limit, binary=lambda: error(f"{label} is a binary file; give {expected}"))
    except FileNotFoundError:
        raise error(f"{label}: no such file; give {expected}") from None
    except OSError as problem:
        raise error(f"{label}: cannot read it ({problem.strerror or problem}); check the path and its permissions") from None
    if raw is None:
        raise error(too_large)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise error(f"{label} is not UTF-8 text (byte {problem.start}); save it as UTF-8 and give {expected}") from None
    if not regular:
        _streams[key] = text
        while len(_streams) > 8:
            _streams.popitem(last=False)
    return text


def _read_bytes(path: str, limit: int, binary: Any) -> bytes | None:
    """The file's bytes, stopping at the first chunk with a NUL byte (raises ``binary()``); None past ``limit``."""
    pieces, total = [], 0
    with open(path, "rb", buffering=0) as handle:
        while True:
            piece = handle.read(_CHUNK)
            if not piece:
                return b"".join(pieces)
            if b"\x00" in piece:
                raise binary()
            total += len(piece)
            if total > limit:
                return None
            pieces.append(piece)


# ----------------------------------------------------------------------------------------------- parsing

_parsed: OrderedDict[tuple[str, str], Any] = OrderedDict()


def _remember(kind: str, text: str, value: Any) -> Any:
    _parsed[(kind, text)] = value
    while len(_parsed) > 4:
        _parsed.popitem(last=False)
    return value


def _recall(kind: str, text: str) -> Any:
    found = _parsed.get((kind, text))
    if found is not None:
        _parsed.move_to_end((kind, text))
    return found


def parse_json(text: str, *, label: str, error: type[LrvizError], fix: str = "fix the file",
               invalid: str = ": invalid JSON") -> Any:
    """``json.loads(text)`` within the limits; invalid JSON raises ``error`` naming the line and column."""
    import json

    remembered = _recall("json", text)
    if remembered is not None:
        return remembered[0]
    try:
        data = json.loads(text, parse_int=_json_int)
    except _TooLarge as problem:
        raise error(_too_large(label, None, problem.digits)) from None
    except json.JSONDecodeError as problem:
        raise error(f"{label}{invalid} at line {problem.lineno}, column {problem.colno}: {problem.msg}; {fix}") from None
    except RecursionError:
        raise error(_too_deep(label)) from None
    except ValueError as problem:  # Python's int-string limit
        if "digits" in str(problem):
            raise error(_too_many_digits(label, None)) from None
        raise error(f"{label}{invalid}: {problem}; {fix}") from None
    if depth_exceeds(data):
        raise error(_too_deep(label))
    return _remember("json", text, (data,))[0]


class _TooLarge(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _json_int(text: str) -> int:
    if len(text) > 300 and len(text) <= INT_DIGITS and abs(int(text)) > FLOAT_MAX:
        raise _TooLarge(len(text.lstrip("-")))
    return int(text)


def _int_too_large(text: str) -> bool:
    """A YAML integer beyond float64's range (decimal, 0x, 0o or 0b; other spellings are left to the constructor)."""
    digits = text.strip().lstrip("+-").replace("_", "")
    if len(digits) <= 300:
        return False
    try:
        return abs(int(digits, 0) if digits[:2].lower() in ("0x", "0o", "0b") else int(digits)) > FLOAT_MAX
    except ValueError:
        return False


def _too_large(label: str, line: int | None, digits: int) -> str:
    where = f" at line {line}" if line else ""
    return (f"{label}: an integer of {digits:,} digits{where}, past what a float64 holds (about 1.8e308); no training "
            "setting needs one: fix the value")


def depth_exceeds(data: Any) -> bool:
    if not isinstance(data, (dict, list)):
        return False
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def _too_deep(label: str, line: int | None = None) -> str:
    where = f" at line {line}" if line else ""
    return f"{label}: nested more than {MAX_DEPTH} levels deep{where} (lrviz's limit; a config or log is a few levels deep)"


def _too_many_digits(label: str, line: int | None) -> str:
    where = f" at line {line}" if line else ""
    return (f"{label}: an integer of more than {INT_DIGITS:,} digits{where}, past Python's limit for reading integers "
            "(sys.get_int_max_str_digits); no training setting needs one: fix the value")


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: the objects ``yaml.safe_load`` returns, its node graph, and its first duplicate key."""

    data: Any
    node: Any  # yaml.Node or None for an empty document
    duplicate_key: tuple[str, int] | None  # (key path, line): PyYAML keeps the last; OmegaConf refuses it


def yaml_loader() -> type:
    """libyaml's safe loader where PyYAML was built with it, the pure-Python one otherwise."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader) if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


def parse_yaml(text: str, *, label: str, error: type[LrvizError], loader: type | None = None) -> YamlDocument:
    """Parse ``text`` as ``yaml.safe_load`` does, once, within the limits; invalid YAML raises ``error``."""
    import yaml

    remembered = _recall("yaml", text) if loader is None else None
    if remembered is not None:
        return remembered
    parser = (loader or yaml_loader())(text)
    try:
        try:
            node = parser.get_single_node()
        except RecursionError:
            raise error(_too_deep(label)) from None
        except yaml.YAMLError as problem:
            if "maximum nesting depth" in str(problem):  # libyaml's own cap (1000)
                raise error(_too_deep(label, _line(problem))) from None
            raise error(_yaml_message(label, problem)) from None
        duplicate = None
        if node is not None:
            duplicate = _check_graph(node, label, error)
            try:
                data = parser.construct_document(node)
            except yaml.YAMLError as problem:
                raise error(_yaml_message(label, problem)) from None
            except (ValueError, OverflowError, TypeError) as problem:  # a date like 2024-13-45, ...
                raise error(f"{label}: a value cannot be read ({problem}); fix it") from None
        else:
            data = None
    finally:
        parser.dispose()
    document = YamlDocument(data, node, duplicate)
    return _remember("yaml", text, document) if loader is None else document


def _line(problem: Any) -> int | None:
    mark = getattr(problem, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def _yaml_message(label: str, problem: Any) -> str:
    mark = getattr(problem, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    detail = getattr(problem, "problem", None) or str(problem).splitlines()[0]
    return f"{label}: invalid YAML{where}: {detail}"


def _check_graph(root: Any, label: str, error: type[LrvizError]) -> tuple[str, int] | None:
    """Walk the node graph once (iteratively): depth, recursive aliases, alias expansion, huge integers, duplicates.

    Returns the first duplicate string key of a mapping as (dotted key path, line), or None.
    """
    import yaml

    scalar = yaml.ScalarNode
    visiting: set[int] = set()
    expanded_size: dict[int, int] = {}
    kids: dict[int, list[tuple[Any, str | None]]] = {}
    distinct = 0
    duplicate: tuple[str, int] | None = None
    if isinstance(root, scalar):
        _check_scalar(root, label, error)
        return None
    # (node, depth, path, children-pushed?)
    stack: list[tuple[Any, int, str, bool]] = [(root, 1, "", False)]
    while stack:
        node, depth, path, done = stack.pop()
        ident = id(node)
        if done:
            visiting.discard(ident)
            size = expanded_size[ident] = 1 + sum(expanded_size[id(child)] for child, _ in kids.pop(ident))
            if size > distinct + MAX_ALIAS_EXPANSION:
                raise error(f"{label}: YAML aliases expand to more than {MAX_ALIAS_EXPANSION:,} extra values at line "
                            f"{node.start_mark.line + 1} (an alias bomb); write the values out")
            continue
        if ident in visiting:
            raise error(f"{label}: a YAML alias refers to the value that contains it (line {node.start_mark.line + 1}): "
                        "a recursive structure no training config has; remove the alias")
        if depth > MAX_DEPTH:
            raise error(_too_deep(label, node.start_mark.line + 1))
        if ident in expanded_size:
            continue  # an alias of a node already checked
        distinct += 1
        visiting.add(ident)
        children = kids[ident] = _children(node)
        stack.append((node, depth, path, True))
        if isinstance(node, yaml.MappingNode) and duplicate is None:
            seen = set()
            for key_node, _ in node.value:
                if getattr(key_node, "tag", None) == _STR_TAG:
                    if key_node.value in seen:
                        duplicate = (f"{path}{key_node.value}", key_node.start_mark.line + 1)
                        break
                    seen.add(key_node.value)
        for child, name in children:
            if type(child) is scalar:  # most nodes: checked here, never stacked
                if id(child) not in expanded_size:
                    distinct += 1
                    _check_scalar(child, label, error, f"{path}{name}" if name is not None else None)
                    expanded_size[id(child)] = 1
            else:
                stack.append((child, depth + 1, f"{path}{name}." if name is not None else path, False))
    return duplicate


def _check_scalar(node: Any, label: str, error: type[LrvizError], key: str | None = None) -> None:
    if node.tag == _INT_TAG and len(node.value) > 300:
        where = f"{label}: {key}" if key else label
        if len(node.value) > INT_DIGITS:
            raise error(_too_many_digits(where, node.start_mark.line + 1))
        if _int_too_large(node.value):
            raise error(_too_large(where, node.start_mark.line + 1, len(node.value.strip().lstrip("+-"))))


def _children(node: Any) -> list[tuple[Any, str | None]]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        found: list[tuple[Any, str | None]] = []
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            found.append((key_node, None))
            found.append((value_node, name))
        return found
    if isinstance(node, yaml.SequenceNode):
        return [(child, None) for child in node.value]
    return []
