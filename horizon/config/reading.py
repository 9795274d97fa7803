"""Reading a config file: YAML without anchors or aliases, size-capped, and pydantic's
errors turned into one plain line per bad field (file, entry, field, what to do)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(Exception):
    """A configuration file or setting is wrong; `problems` holds one plain line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_CONFIG_BYTES = 10_000_000
SHOWN_VALUE_CHARS = 80


def shown(value: Any, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A rejected value as an error message quotes it: on one line, cut to `limit` characters,
    so a huge or hostile value cannot flood the terminal or the log."""
    text = value if isinstance(value, str) else repr(value)[: limit + 1]
    text = " ".join(text[: limit * 4].split())
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


# libyaml's loader when PyYAML was built with it (its wheels are): the pure-Python one took
# most of a second of every run to read the configuration files.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


ANCHORS_REFUSED = (
    "anchors and aliases (&name, *name) are not allowed in Horizon's config files; "
    "write each value out in full"
)


def _first_anchor_line(text: str) -> int | None:
    """The line of the first anchor or alias (`&a`, `*a`), found before anything is built
    from them: a config file never needs them, and nested aliases expand exponentially (the
    "billion laughs" memory bomb). The parser's events name them without expanding anything."""
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            return int(mark.line) + 1 if mark is not None else 0
    return None


def read_yaml(path: Path) -> Any:
    """Read a YAML file, turning a missing file, an oversized file, a syntax error or an
    anchor/alias into a plain ConfigError."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                [
                    f"{path}: is larger than {MAX_CONFIG_BYTES // 1_000_000} MB; "
                    "is it the right file?"
                ]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path}: is not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot be read ({error.strerror})"]) from None
    try:
        anchor_line = _first_anchor_line(text)
        if anchor_line is None:
            return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{path}:{where} is not valid YAML ({problem})"]) from None
    where = f" line {anchor_line}" if anchor_line else ""
    raise ConfigError([f"{path}:{where} is not valid YAML ({ANCHORS_REFUSED})"])


def describe_validation_error(path: Path, data: Any, error: ValidationError) -> list[str]:
    """One plain line per bad field: file, the entry (by its id when it has one), field, fix."""
    lines = []
    for problem in error.errors():
        location = list(problem["loc"])
        where = _entry_label(data, location)
        field = ".".join(str(part) for part in location if not isinstance(part, int))
        message = _plain_message(problem)
        target = f"{where}: {shown(field)}" if field else where
        lines.append(f"{path}: {target}: {message}" if target else f"{path}: {message}")
    return lines


def _entry_label(data: Any, location: list[Any]) -> str:
    parts = []
    node = data
    while location and isinstance(location[0], (str, int)):
        key = location[0]
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            entry = node[key]
            label = entry.get("id") if isinstance(entry, dict) else None
            parts.append(f"entry {key + 1}" + (f" ({shown(label)})" if label else ""))
            node = entry
        elif isinstance(key, str) and isinstance(node, dict) and isinstance(node.get(key), list):
            node = node[key]
            parts.append(key)
        else:
            break
        location.pop(0)
    return " ".join(parts)


_TYPE_WORDS = {
    "model_type": "a mapping of keys and values (key: value lines)",
    "model_attributes_type": "a mapping of keys and values (key: value lines)",
    "dict_type": "a mapping of keys and values (key: value lines)",
    "list_type": "a list (lines starting with '- ')",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
}
_YAML_TYPE_NAMES = {
    "str": "text",
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "list": "a list",
    "dict": "a mapping",
    "NoneType": "empty",
}


def _plain_message(problem: Mapping[str, Any]) -> str:
    kind = problem["type"]
    if kind == "missing":
        return "missing; this field is required"
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if kind == "literal_error":
        expected = problem.get("ctx", {}).get("expected", "")
        return f"{shown(problem.get('input'))} is not allowed; use one of {expected}"
    if kind in _TYPE_WORDS:
        value = problem.get("input")
        found = _YAML_TYPE_NAMES.get(type(value).__name__, type(value).__name__)
        return f"must be {_TYPE_WORDS[kind]}, not {found} ({shown(value)})"
    message = str(problem["msg"])
    return message.removeprefix("Value error, ")


def duplicate_ids(
    path: Path, entries: Any, section: str = "sources", key: str = "id", noun: str = "source id"
) -> list[str]:
    """One line per `key` used by several entries of `section`, read from the file as written,
    so it is reported together with every other problem (pydantic checks the whole file only
    once each entry is valid)."""
    if not isinstance(entries, list):
        return []
    positions: dict[str, list[int]] = {}
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            positions.setdefault(entry[key], []).append(number)
    return [
        f"{path}: {section}: {noun} {shown(value)} is used twice (entries "
        f"{', '.join(map(str, numbers))}); {noun}s must be unique"
        for value, numbers in positions.items()
        if len(numbers) > 1
    ]


_Model = TypeVar("_Model", bound=BaseModel)


def load_model_file(path: Path, model: type[_Model], expected: str) -> _Model:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with {expected} at the top"])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(path, data, error)) from None
