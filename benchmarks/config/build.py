"""The config's generic machinery, below every config module: the error type, YAML that refuses a key given twice,
building a dataclass from a mapping with key-path errors, and merging profiles and `--set` overrides. schema.py,
candidates.py and profiles.py all build on it, so none of them imports another to get it."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import yaml


class ConfigError(ValueError):
    user_error = True


class DuplicateKeyError(yaml.YAMLError):
    """A mapping with one key twice: PyYAML would keep the last value without a word."""

    def __init__(self, key, line: int, first_line: int) -> None:
        self.key, self.line, self.first_line = key, line, first_line
        super().__init__(
            f"line {line}: key {key!r} is given twice (first on line {first_line}); YAML would silently keep the "
            "last value: remove one of them"
        )


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (merge keys `<<` may still be overridden)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeLoader's own error says so
                    continue
                if first is not None:
                    raise DuplicateKeyError(key, key_node.start_mark.line + 1, first)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def load_yaml(text: str | bytes):
    """yaml.safe_load, but a key given twice is an error (DuplicateKeyError, a yaml.YAMLError, with its line)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no arbitrary objects


# --- generic validation ------------------------------------------------------------------------------------------
def type_ok(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, t) for t in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(type_ok(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def build(cls, data: Any, key: str, file: str):
    """Build dataclass `cls` from a mapping, failing on unknown keys and wrong types with the key path."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: `{key}` must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    allowed = set(fields)
    open_keys = getattr(cls, "OPEN_KEYS", None)
    if open_keys:  # keys named by a registry (one per pipeline) are gathered into one mapping field
        holder, names = open_keys[0], list(open_keys[1]())
        gathered = {k: v for k, v in data.items() if k in names}
        data = {k: v for k, v in data.items() if k not in names}
        if holder in data and not isinstance(data[holder], dict):
            raise ConfigError(f"{file}: `{key + '.' if key else ''}{holder}` must be a mapping, got {data[holder]!r}")
        data[holder] = {**data.get(holder, {}), **gathered}
        allowed = (allowed - {holder}) | set(names)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{file}: unknown key(s) {', '.join(f'{key}.{u}' if key else u for u in unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    kwargs = {}
    for name, value in data.items():
        tp = hints[name]
        sub = f"{key}.{name}" if key else name
        if dataclasses.is_dataclass(tp):
            kwargs[name] = build(tp, value, sub, file)
        elif typing.get_origin(tp) is dict and dataclasses.is_dataclass(
            typing.get_args(tp)[-1] if typing.get_args(tp) else None
        ):
            vt = typing.get_args(tp)[-1]
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: `{sub}` must be a mapping of name -> {vt.__name__}, got {value!r}")
            kwargs[name] = {k: build(vt, v, f"{sub}.{k}", file) for k, v in value.items()}
        else:
            if isinstance(value, int) and not isinstance(value, bool) and tp is float:
                value = float(value)
            if not type_ok(value, tp):
                raise ConfigError(f"{file}: `{sub}` = {value!r} is not a valid {type_name(tp)}")
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError:  # a required key is missing: name the keys, not the dataclass's __init__
        missing = [
            n for n, f in fields.items()
            if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]  # fmt: skip
        if not missing:
            raise
        where = f"`{key}` is" if key else "the config is"
        raise ConfigError(f"{file}: {where} missing the required key(s) {', '.join(missing)}") from None
    except ValueError as exc:
        if getattr(exc, "user_error", False):
            raise ConfigError(f"{file}: `{key}`: {exc}") from None
        raise


def flatten_open_keys(obj, d: dict) -> dict:
    """`dataclasses.asdict(obj)` with its OPEN_KEYS mapping spread back to the keys a YAML file uses."""
    open_keys = getattr(type(obj), "OPEN_KEYS", None)
    if not open_keys or not isinstance(d.get(open_keys[0]), dict):
        return d
    out: dict = {}
    for k, v in d.items():  # the gathered keys go where the mapping field stands
        out.update(v if k == open_keys[0] else {k: v})
    return out


def type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


# --- merging: file < profile < overrides -------------------------------------------------------------------------
def deep_merge(base: dict, over: dict) -> dict:
    """`over` wins; mappings merge key by key; a mapping over a list of candidate mappings applies to each candidate
    (so a profile's `classifier: {epochs: 5}` or `--set classifier.epochs=5` holds for every classifier candidate)."""
    out = dict(base)
    for k, v in over.items():
        old = out.get(k)
        if isinstance(v, dict) and isinstance(old, dict):
            out[k] = deep_merge(old, v)
        elif isinstance(v, dict) and isinstance(old, list) and old and all(isinstance(c, dict) for c in old):
            out[k] = [deep_merge(c, v) for c in old]
        else:
            out[k] = v
    return out


def parse_override(text: str) -> dict:
    """`classifier.epochs=5` -> {'classifier': {'epochs': 5}}; the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value (e.g. classifier.epochs=5)")
    key, raw = text.split("=", 1)
    try:
        value: Any = load_yaml(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: the value is not valid YAML: {exc}") from None
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value
