"""YAML loading with the C loader, and locating keys by line for error messages.

Loading is the hot path (one call per article), so positions are only computed when an
error needs one: the text is composed again into nodes, which keep their marks.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

import yaml

from . import chars

_MAX_FLOW_DEPTH = 200
"""Deeper `[[[...` nesting goes to the pure-Python loader: libyaml's composer recurses
on the C stack and can crash the process, Python's raises a RecursionError we report."""


def _located(tag: str, construct: Any) -> Any:
    """A constructor whose bad values (`2024-02-30`, `!!int x`) are located YAML errors.

    A timestamp that is not a real date stays the text written, so `date: 2024-02-30`
    is reported by whoever reads the date, and `title: 2024-02-30` is just a title.
    """

    def construct_or_explain(loader: Any, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
            if tag.endswith(":timestamp") and isinstance(node.value, str):
                return node.value
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"cannot read {_short(node.value)} as {tag.rsplit(':', 1)[-1]}",
                node.start_mark,
            ) from None

    return construct_or_explain


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Constructors that cannot fail on a scalar's value: text is text (most of front matter)
_CANNOT_FAIL = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:null"})


def _fit_text(loader: Any, node: yaml.Node) -> str:
    """Text as a page can show it: an escape (`"\\0"`) can write what a file cannot."""
    return chars.fit(loader.construct_scalar(node))


def _safe_loader(base: type) -> type:
    loader = type(f"Marginalia{base.__name__}", (base,), {})
    for tag, construct in list(base.yaml_constructors.items()):
        if tag is None or tag in _CANNOT_FAIL or inspect.isgeneratorfunction(construct):
            continue
        loader.add_constructor(tag, _located(tag, construct))
    loader.add_constructor("tag:yaml.org,2002:str", _fit_text)
    return loader


_PyLoader: type = _safe_loader(yaml.SafeLoader)
try:
    _CLoader: type = _safe_loader(yaml.CSafeLoader)
except AttributeError:  # PyYAML built without libyaml
    _CLoader = _PyLoader


def _loader_for(text: str) -> type:
    if text.count("[") + text.count("{") < _MAX_FLOW_DEPTH:
        return _CLoader
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return _CLoader if deepest < _MAX_FLOW_DEPTH else _PyLoader


class YamlSyntaxError(Exception):
    """A YAML syntax error with the 1-based line inside the parsed text."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(message)


def load(text: str) -> Any:
    """Parse YAML text, turning PyYAML's exceptions into a YamlSyntaxError with a line."""
    try:
        return yaml.load(text, Loader=_loader_for(text))  # a safe loader (see _safe_loader)
    except RecursionError:
        raise YamlSyntaxError(1, "nested too deeply") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        raise YamlSyntaxError(line, f"the character U+{char:04X} is not allowed in YAML") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        opened = ("while parsing a flow", "while scanning a quoted")
        unclosed = (exc.context or "").startswith(opened)
        if exc.context_mark is not None and (unclosed or mark.index >= len(text.rstrip())):
            mark = exc.context_mark  # `[a, b` or `"...` never closed: where it was opened
        line = mark.line + 1 if mark is not None else None
        tab = _tab_near(text, exc.problem_mark)
        if tab is not None:
            line, column = tab
            message = f"a tab at column {column}: YAML allows no tabs in indentation; use spaces"
        else:
            message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise YamlSyntaxError(line, message or "invalid YAML") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, str(exc)) from None


def _tab_near(text: str, mark: yaml.Mark | None) -> tuple[int, int] | None:
    """(line, column), 1-based, of the tab the parser stopped at or just before, when a tab
    is what it could not read (libyaml and PyYAML word this differently, both vaguely)."""
    if mark is None:
        return None
    start = text.rfind("\n", 0, mark.index) + 1
    tab = text.find("\t", start, mark.index + 1)
    if tab == -1 or text[start:tab].strip(" -?:"):
        return None  # no tab, or only one inside a value (`title: a<TAB>b` is allowed)
    return mark.line + 1, tab - start + 1


def _node_at(
    text: str, key_path: Sequence[str | int]
) -> tuple[yaml.Node | None, yaml.Node | None, bool]:
    """(key node, value node, found) at key_path; the deepest existing ones if absent."""
    node = yaml.compose(text, Loader=_loader_for(text))
    key_node: yaml.Node | None = None
    for step in key_path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                return key_node, node, False
            key_node, node = match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            key_node, node = None, node.value[step]
        else:
            return key_node, node, False
    return key_node, node, True


def line_of(text: str, key_path: Sequence[str | int]) -> int | None:
    """1-based line of the key (or item) at key_path, or of its nearest existing parent."""
    try:
        key_node, value_node, _ = _node_at(text, key_path)
    except (yaml.YAMLError, RecursionError):
        return None
    node = key_node if key_node is not None else value_node
    return node.start_mark.line + 1 if node is not None else None


_SIMPLE_SCALAR = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+:-]*")


def _top_level_word(text: str, key: str) -> str | None:
    """The value of `key: value` on a line of its own at the top level, when the value is
    one plain word (`Yes`, `2024`, a digest of digits): what composing the text again
    would find, without composing it. None when it is anything else. (Lines at column 0
    are top-level keys: block and plain scalars continue on indented lines only.)"""
    start = f"{key}:"
    lines = text.split("\n")
    found = None
    for number, line in enumerate(lines):
        if line.startswith(start):
            following = next((later for later in lines[number + 1 :] if later.strip()), "")
            value = line[len(start) :].strip()
            continued = following[:1].isspace()  # even past blank lines
            found = value if _SIMPLE_SCALAR.fullmatch(value) and not continued else None
    return found


def scalar_text(text: str, key_path: Sequence[str | int]) -> str | None:
    """The text an author wrote for a scalar (`Yes`, `2024`), before YAML typed it."""
    if len(key_path) == 1 and isinstance(key_path[0], str):
        word = _top_level_word(text, key_path[0])
        if word is not None:
            return word
    try:
        _, node, found = _node_at(text, key_path)
    except (yaml.YAMLError, RecursionError):
        return None
    return node.value if found and isinstance(node, yaml.ScalarNode) else None
