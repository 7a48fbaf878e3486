"""Typed command arguments and editor settings: the server's input edge.

Every value a client sends is structured once, here, into frozen attrs classes (cattrs, which pygls
already uses). The JSON names are the camelCase forms of the field names. Types are checked exactly
(JSON has no "3" that means 3), and a bad value is reported with the path of the field that holds it:
`position.line: expected an integer, got a string`. The setting keys are the fields of `Settings`;
the VS Code and Neovim clients and the docs are checked against `SETTING_KEYS` in a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

GENERATE = "vigor.generate"
CANCEL = "vigor.cancel"
OPEN_TRACE = "vigor.openTrace"
CANCEL_NOTIFICATION = "vigor/cancel"
STEP_NOTIFICATION = "vigor/step"
END_NOTIFICATION = "vigor/end"


class InvalidArgument(ValueError):
    """A client value that does not fit its field; the message names the field."""


def camel(name: str) -> str:
    """`confirm_timeout_s` -> `confirmTimeoutS` (the JSON and settings spelling)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """`confirmTimeoutS` -> `confirm_timeout_s`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@attrs.frozen
class Position:
    """A cursor position in the client's position encoding (zero-based line, character)."""

    line: int = attrs.field(validator=attrs.validators.ge(0))
    character: int = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class DocumentRef:
    """The document a command is about, and the version the client saw (null: any)."""

    uri: str
    version: int | None = None


@attrs.frozen
class GenerateArgs:
    """`vigor.generate`: where to write, and what to write (else the comment or docstring above)."""

    text_document: DocumentRef
    position: Position
    instruction: str | None = None


@attrs.frozen
class SessionArgs:
    """`vigor.cancel`, `vigor.openTrace`, `vigor/cancel`: a session id (absent: the latest session)."""

    session_id: str | None = None


def _mapping(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"expected an object, got {_json_type(value)}")
    return value


@attrs.frozen
class Settings:
    """The `vigor` settings section the server reads (camelCase in the editors: `baseUrl` ...).

    None means "not set": the engine's default applies. The three nested sections are passed to the
    engine config as they are (it validates them and names the bad key).
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    candidates: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(1)))
    run_policy: Mapping[str, Any] | None = None
    commit_policy: Mapping[str, Any] | None = None
    sandbox: Mapping[str, Any] | None = None
    timeout_s: float | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(0)))
    max_retries: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(0)))
    backoff_s: float | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(0)))
    local_model: bool = True
    confirm_timeout_s: float = attrs.field(default=2.0, validator=attrs.validators.ge(0))


SETTING_KEYS: tuple[str, ...] = tuple(camel(f.name) for f in attrs.fields(Settings))
"""Every key of the `vigor` settings section, in the editors' spelling (the one list: see tests)."""

_TYPED = (Position, DocumentRef, GenerateArgs, SessionArgs, Settings)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return "an object"


def _exact(kind: type, name: str) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _type: Any) -> Any:
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise InvalidArgument(f"expected {name}, got {_json_type(value)}")
        return value

    return hook


def _object_hook(cls: type, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = make_dict_structure_fn(
        cls,
        converter,
        _cattrs_forbid_extra_keys=False,
        **{f.name: override(rename=camel(f.name)) for f in attrs.fields(cls)},
    )

    def hook(value: Any, _type: Any) -> Any:
        if value == [] and cls is SessionArgs:  # Lua encodes an empty table as an empty array
            value = {}
        if not isinstance(value, Mapping):
            raise InvalidArgument(f"expected an object, got {_json_type(value)}")
        return inner(value, cls)

    return hook


def _strict_converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True)
    for kind, name in ((str, "a string"), (int, "an integer"), (float, "a number"), (bool, "a boolean")):
        converter.register_structure_hook(kind, _exact(kind, name))
    converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], lambda v, _t: _mapping(v))
    for cls in _TYPED:
        converter.register_structure_hook(cls, _object_hook(cls, converter))
    return converter


_CONVERTER = _strict_converter()


def _message(exc: BaseException) -> str:
    """The first problem in a cattrs error, as `path.to.field: what is wrong` (camelCase path)."""
    if isinstance(exc, InvalidArgument | ValueError | TypeError) and not isinstance(exc, cattrs.BaseValidationError):
        return str(exc)
    path: list[str] = []
    while isinstance(exc, cattrs.BaseValidationError):
        with_notes = exc.group_exceptions()[0] if hasattr(exc, "group_exceptions") else []
        if with_notes:
            inner, note = with_notes[0]
            name = getattr(note, "name", None)
            if name is not None:
                path.append(camel(str(name)))
            exc = inner
        else:
            exc = exc.exceptions[0]
    if isinstance(exc, KeyError):
        return f"{'.'.join(path)}: is required"
    detail = str(exc)
    # an attrs validator (run by the class, so the path stops above the field): "'line' must be >= 0: -1"
    m = re.match(r"'(\w+)' must be (.+?): (.*)$", detail)
    if m and not isinstance(exc, InvalidArgument):
        path.append(camel(m.group(1)))
        detail = f"must be {m.group(2)}, got {m.group(3)}"
    return f"{'.'.join(path)}: {detail}" if path else detail


def structure(value: Any, cls: type, what: str) -> Any:
    """`value` as a `cls`, or InvalidArgument naming `what` and the field: `vigor.generate: position.line: ...`."""
    try:
        return _CONVERTER.structure(value, cls)
    except Exception as exc:
        message = _message(exc)
        raise InvalidArgument(f"{what}: {message}") from None


def read_settings(section: Any) -> Settings:
    """The `vigor` section as Settings; unknown keys are refused by name (a typo must not pass silently)."""
    if section is None:
        return Settings()
    if not isinstance(section, Mapping):
        raise InvalidArgument(f"vigor settings: expected an object, got {_json_type(section)}")
    unknown = sorted(k for k in section if k not in SETTING_KEYS)
    if unknown:
        raise InvalidArgument(
            f"vigor settings: unknown key {', '.join(map(repr, unknown))} (known: {', '.join(SETTING_KEYS)})"
        )
    present = {k: v for k, v in section.items() if v is not None}
    return structure(present, Settings, "vigor settings")


def merge(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later layers win, key by key (initializationOptions first, workspace/configuration over it)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value is not None:
                out[key] = value
    return out


def install_argument_hooks(converter: cattrs.Converter) -> cattrs.Converter:
    """Teach pygls's converter the command argument types, with the strict hooks and messages above.

    pygls structures a command handler's annotated parameters with its converter and answers
    InvalidParams with the error's message when that fails (a public extension point).
    """
    for cls, what in ((GenerateArgs, GENERATE), (SessionArgs, "session argument")):
        converter.register_structure_hook(cls, lambda value, _t, cls=cls, what=what: structure(value, cls, what))
    return converter
