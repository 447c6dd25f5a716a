"""The NUL character: PostgreSQL can store it in no text or jsonb column, so a value holding it
would fail its write with a 500. Each way in refuses it, naming where it was: JSON bodies (the
API's parser), query parameters (NulCharacterMiddleware), and forms, next to the input (Django's
form fields do it themselves; the views that read their inputs directly use nul_errors). Text
read from files is cleaned where it is read (review.documents). A value that still gets through
fails its write, which the middleware answers as a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import QueryDict

NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


def nul_paths(data: Any) -> list[str]:
    """The paths (as the API's errors name them: `items[3].fields[0].value`) of every string
    and key in decoded JSON that holds the NUL character."""
    return paths_holding(data, _holds_nul)


def paths_holding(data: Any, test: Callable[[str], bool], path: str = "") -> list[str]:
    """The paths of every string and key in decoded JSON for which test is true."""
    found: list[str] = []
    if isinstance(data, str):
        if test(data):
            found.append(path or "body")
    elif isinstance(data, dict):
        for key, value in data.items():
            inner = f"{path}.{_shown(str(key))}" if path else _shown(str(key))
            if test(str(key)):
                found.append(inner)
            found += paths_holding(value, test, inner)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_holding(value, test, f"{path}[{index}]")
    return found


def _holds_nul(text: str) -> bool:
    return "\x00" in text


def holding_nul(parameters: Iterable[tuple[str, list[str]]]) -> list[str]:
    """The names of the parameters (name, values) whose name or any value holds it."""
    return [
        _shown(name)
        for name, values in parameters
        if "\x00" in name or any("\x00" in value for value in values)
    ]


def nul_errors(form: QueryDict) -> dict[str, list[str]]:
    """A form error for each input holding the NUL character, keyed by the input's name."""
    return {name: [NUL_MESSAGE] for name in holding_nul(form.lists())}


def _shown(name: str) -> str:
    """The name as an error can show it: the NUL character and lone surrogates as escapes."""
    return name.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()
