"""Configuration files (clients, personas) read with their line numbers and validated against the JSON
Schemas published in `mockserver/schemas/`, so a mistake is reported as `file:line: what is wrong`."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .identifiers import InvalidIdentifier, is_synthetic_orgnr, is_synthetic_person_number, parse_person_number
from .resources import SAFE_LOADER

if TYPE_CHECKING:
    import jsonschema

SCHEMAS = Path(__file__).resolve().parent / "schemas"
Location = tuple[Any, ...]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file, the line and the fix."""


def _orgnr(value: object) -> bool:
    return not isinstance(value, str | int) or is_synthetic_orgnr(str(value))


def _fnr(value: object) -> bool:
    return not isinstance(value, str) or is_synthetic_person_number(value)


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    """The named schema's validator; jsonschema is imported only when a file or a persona is checked, so a
    plain start does not pay for it."""
    import jsonschema

    formats = jsonschema.FormatChecker()
    formats.checks("synthetic-orgnr", raises=())(_orgnr)
    formats.checks("synthetic-fnr", raises=())(_fnr)
    return jsonschema.Draft202012Validator(schema(name), format_checker=formats)


@functools.cache
def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def read_yaml(path: Path, what: str) -> tuple[Any, dict[Location, int]]:
    """The document and the line (1-based) of every mapping key and list item in it."""
    try:
        text = path.read_text()
        node = yaml.compose(text, Loader=SAFE_LOADER)
        doc = yaml.load(text, Loader=SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from exc
    lines: dict[Location, int] = {}

    def walk(n: yaml.Node | None, at: Location) -> None:
        if n is None:
            return
        lines.setdefault(at, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                here = (*at, key.value)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*at, i))

    walk(node, ())
    return doc if doc is not None else {}, lines


def where(path: Path, lines: dict[Location, int], at: Location) -> str:
    """`file:line: key.path` for a location in the document."""
    loc = tuple(at)
    while loc and loc not in lines:
        loc = loc[:-1]
    dotted = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(at))
    return f"{path}:{lines.get(loc, 1)}" + (f": {dotted}" if dotted else "")


def _explain(error: jsonschema.ValidationError) -> str:
    # the schema and the failed keyword's value are plain JSON here (typed as possibly unset by the stubs)
    schema: Any = error.schema
    value: Any = error.validator_value
    instance: Any = error.instance
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {allowed})"
    if error.validator == "format" and value == "synthetic-fnr" and isinstance(instance, str):
        try:
            parse_person_number(instance)
            reason = "the birth month must carry + 80, as Test-Norge's numbers do"
        except InvalidIdentifier as exc:
            reason = str(exc)
        return f"{instance!r} is not a synthetic fødselsnummer: {reason}"
    if error.validator == "anyOf" and any(s.get("const") == "last" for s in value):
        return f"{instance!r} is not a year: a number 2000–2100, or 'last'"
    if error.validator in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        return f"{instance!r} is not between {low} and {high}"
    if error.validator == "format":
        what = {"synthetic-orgnr": "a synthetic organisation number: 9 digits starting with 2 or 3, valid mod 11",
                "synthetic-fnr": "a synthetic fødselsnummer: birth month + 80, valid check digits"}
        return f"{instance!r} is not {what.get(value, value)}"
    if error.validator == "enum":
        return f"{instance!r} is not one of {', '.join(map(str, value))}"
    if error.validator == "type":
        numeric = isinstance(instance, int) and not isinstance(instance, bool)
        hint = " (quote numbers that are identifiers, e.g. '310000001')" if numeric else ""
        expected = value
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        article = "an" if str(wanted)[0] in "aeiou" else "a"
        return f"{instance!r} is not {article} {wanted}{hint}"
    return error.message


def validate(path: Path, doc: Any, lines: dict[Location, int], name: str) -> None:
    """Raise ConfigError listing every problem of the document against the named schema."""
    errors = sorted(_validator(name).iter_errors(doc), key=lambda e: lines.get(tuple(e.absolute_path), 0))
    if errors:
        shown = [f"{where(path, lines, tuple(e.absolute_path))}: {_explain(e)}" for e in errors[:20]]
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ConfigError("\n".join(shown) + more)


def load(path: Path, name: str, what: str) -> tuple[Any, dict[Location, int]]:
    doc, lines = read_yaml(path, what)
    validate(path, doc, lines, name)
    return doc, lines


def check_item(name: str, list_key: str, item: Any, label: str) -> None:
    """One item of a document's list (a persona posted to the control API) against the same schema."""
    errors = sorted(_validator(name).iter_errors({list_key: [item]}), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        def at(e: jsonschema.ValidationError) -> str:
            rest = list(e.absolute_path)[2:]
            return label + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
        raise ConfigError("; ".join(f"{at(e)}: {_explain(e)}" for e in errors[:10]))
