"""Load ``camera_config.yaml``: expand ``${ENV}``, merge defaults, validate, report key path and line."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.config import AppConfig
from core.errors import ConfigError

_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_MERGED_SECTIONS = ("detect", "record", "stream", "health")

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def load_config(path: str | Path) -> AppConfig:
    """Read, expand, merge and validate a camera configuration file.

    Raises:
        ConfigError: with one line per problem, each naming the key path and YAML line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(path), [f"cannot read the file: {err.strerror}"]) from err
    return parse_config(text, source=str(path))


def parse_config(text: str, *, source: str = "<config>") -> AppConfig:
    """Validate configuration ``text``; ``source`` names it in error messages."""
    data, lines = _read_mapping(text, source, "the file must be a mapping with a 'cameras' list")

    issues: list[str] = []
    data = _expand_env(data, (), lines, issues)
    if issues:
        raise ConfigError(source, issues)
    merged = _merge_defaults(data)
    try:
        return AppConfig.model_validate(merged)
    except ValidationError as err:
        described = (_describe(error, merged, lines) for error in err.errors())
        issues = list(dict.fromkeys(described))  # a bad default fails once per camera: say it once
        raise ConfigError(source, issues) from err


def parse_yaml_model(text: str, model: type[M], *, source: str) -> M:
    """Validate YAML ``text`` as ``model`` (a plan request, say), each problem named by key path and line.

    Raises:
        ConfigError: with one line per problem.
    """
    data, lines = _read_mapping(text, source, "the file must be a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(source, list(dict.fromkeys(_describe(e, data, lines) for e in err.errors()))) from err


def _read_mapping(text: str, source: str, not_a_mapping: str) -> tuple[dict[str, Any], _LineIndex]:
    """Parse YAML ``text`` that must be a mapping, with the line of every key.

    Raises:
        ConfigError: a YAML syntax error (with its line), or ``not_a_mapping``.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        raise ConfigError(source, [f"line {line}: YAML syntax error: {err.problem}"]) from err
    if not isinstance(data, dict):
        raise ConfigError(source, [f"line 1: {not_a_mapping}"])
    return data, _LineIndex(root)


def _expand_env(value: Any, path: Path_, lines: _LineIndex, issues: list[str]) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string; a missing variable is an issue."""
    if isinstance(value, dict):
        return {k: _expand_env(v, (*path, k), lines, issues) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, (*path, i), lines, issues) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        issues.append(f"line {lines.line(path)}: {_dotted(path)}: environment variable {name} is not set")
        return match.group(0)

    return _ENV.sub(substitute, value)


def _merge_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Give each camera the global defaults for every key it does not set itself."""
    merged = copy.deepcopy(data)
    defaults = merged.get("defaults") or {}
    cameras = merged.get("cameras")
    if not isinstance(defaults, dict) or not isinstance(cameras, list):
        return merged
    for camera in cameras:
        if not isinstance(camera, dict):
            continue
        for section in _MERGED_SECTIONS:
            base = defaults.get(section)
            own = camera.get(section)
            if isinstance(base, dict) and (own is None or isinstance(own, dict)):
                camera[section] = {**base, **(own or {})}
    return merged


def _describe(error: Any, merged: dict[str, Any], lines: _LineIndex) -> str:
    """One readable line for a pydantic error: ``line N: cameras[0].detect.fps: message``."""
    path = _data_path(tuple(error["loc"]), merged)
    if error["type"] == "union_tag_invalid":  # e.g. a rule whose ``type`` names no known rule
        discriminator = str(error.get("ctx", {}).get("discriminator", "type")).strip("'")
        path = (*path, discriminator)
    line = lines.line(path)
    if len(path) >= 3 and path[0] == "cameras" and path[2] in _MERGED_SECTIONS and not lines.has(path):
        # The value came from the global defaults: point there.
        default_path: Path_ = ("defaults", *path[2:])
        if lines.has(default_path):
            path, line = default_path, lines.line(default_path)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
        shown = error["input"]
        if not isinstance(shown, dict | list):
            message = f"{message} (got {shown!r})"
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    if error["type"] == "union_tag_invalid":
        ctx = error.get("ctx", {})
        message = f"unknown {path[-1]} {ctx.get('tag')!r} (expected one of: {ctx.get('expected_tags')})"
    return f"line {line}: {_dotted(path) or '<top level>'}: {message}"


def _data_path(loc: Path_, data: Any) -> Path_:
    """Drop pydantic's union tags from ``loc``, keeping only keys that walk the data."""
    path: list[str | int] = []
    node = data
    for i, key in enumerate(loc):
        found, child = _child(node, key)
        if found:
            node = child
            path.append(key)
        elif i == len(loc) - 1:
            path.append(key)  # a missing or unknown key: name it anyway
    return tuple(path)


def _child(node: Any, key: str | int) -> tuple[bool, Any]:
    if isinstance(node, dict) and key in node:
        return True, node[key]
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return True, node[key]
    return False, None


def _dotted(path: Path_) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


class _LineIndex:
    """Finds the YAML line of a key path by walking the composed node tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def _walk(self, path: Path_) -> tuple[yaml.Node | None, bool]:
        """The node that marks ``path`` (a mapping's key node) and whether the whole path exists."""
        node, mark = self.root, self.root
        for key in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(key):
                        child, mark_next = v, k
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = mark_next = node.value[key]
            if child is None:
                return mark, False
            node, mark = child, mark_next
        return mark, True

    def has(self, path: Path_) -> bool:
        return self._walk(path)[1]

    def line(self, path: Path_) -> int:
        node, _ = self._walk(path)
        return node.start_mark.line + 1 if node is not None else 1
