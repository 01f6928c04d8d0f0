"""API keys: where they come from and how they are kept out of everything we write.

A key is read from an environment variable or from Colab secrets (``google.colab.userdata``), wrapped in
:class:`Secret` (whose repr hides it) and registered so that :func:`redact` scrubs it from any text we log,
export, raise or cache.

>>> s = Secret("sk-test-1234567890")
>>> repr(s), redact("key=sk-test-1234567890")
("Secret('***')", 'key=***')
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["Secret", "redact", "resolve_key", "reveal_headers"]

_KNOWN: set[str] = set()
_MIN_SECRET_LEN = 8


class Secret:
    """A string that never shows itself in a repr or str; ``reveal()`` gives the value to send."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= _MIN_SECRET_LEN:
            _KNOWN.add(value)

    def reveal(self) -> str:
        return self._value

    def prefixed(self, prefix: str) -> Secret:
        """``prefix`` + the key, still a Secret (e.g. ``"Bearer "`` for an Authorization header).

        >>> Secret("sk-test-1234567890").prefixed("Bearer ")
        Secret('***')
        """
        return Secret(prefix + self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret cannot be pickled")


def reveal_headers(headers: Mapping[str, str | Secret]) -> dict[str, str]:
    """The headers to send: every :class:`Secret` value revealed (call it where the request is built, never keep it).

    >>> reveal_headers({"x-api-key": Secret("sk-test-1234567890"), "accept": "application/json"})["x-api-key"]
    'sk-test-1234567890'
    """
    return {name: value.reveal() if isinstance(value, Secret) else value for name, value in headers.items()}


def redact(text: str) -> str:
    """Replace every registered key in ``text`` with ``***``."""
    if not _KNOWN or not text:
        return text
    for value in _KNOWN:
        if value in text:
            text = text.replace(value, "***")
    return text


def resolve_key(env_var: str | None) -> Secret | None:
    """Read a key from the environment, else from Colab secrets; ``None`` when neither has it."""
    if not env_var:
        return None
    value = os.environ.get(env_var) or _colab_secret(env_var)
    return Secret(value) if value else None


def _colab_secret(name: str) -> str | None:
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return userdata.get(name)
    except Exception:  # SecretNotFoundError, NotebookAccessError: the user has not granted it
        return None
