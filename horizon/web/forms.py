"""Form posts parsed into the workspace's request models, with one plain message per field."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from horizon.web.context import FormInvalid

Model = TypeVar("Model", bound=BaseModel)


def parse_form(model: type[Model], form: FormData, lists: tuple[str, ...] = ()) -> Model:
    """The model's fields from the form (fields in `lists` may repeat); FormInvalid names each
    missing or wrong field. Values are passed on exactly as typed (passwords keep spaces)."""
    data: dict[str, object] = {}
    for name, info in model.model_fields.items():
        value = form.get(name)
        if name in lists:
            data[name] = [value for value in form.getlist(name) if isinstance(value, str)]
        elif isinstance(value, str) and (value or info.is_required()):
            # An optional field left empty takes its default (e.g. a token that never expires).
            data[name] = value
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FormInvalid(field_errors(error)) from None


def field_errors(error: ValidationError) -> dict[str, str]:
    """Field name -> a plain message, for the first problem of each field."""
    found: dict[str, str] = {}
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
        found.setdefault(name or "form", _plain(problem))
    return found


def _plain(problem: ErrorDetails) -> str:
    kind = problem["type"]
    if kind == "missing":
        return "required"
    if kind == "string_too_short":
        if problem.get("input") == "":
            return "required"
        return f"at least {(problem.get('ctx') or {}).get('min_length')} characters"
    if kind == "too_short":
        return "choose at least one"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return "a date like 2025-10-31"
    if kind == "literal_error":
        expected = (problem.get("ctx") or {}).get("expected", "")
        return f"'{problem.get('input')}' is not allowed; use one of {expected}"
    return str(problem["msg"]).removeprefix("Value error, ")
