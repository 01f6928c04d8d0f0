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
from collections.abc import Mapping, Sequence

__all__ = ["Secret", "missing_key_message", "redact", "resolve_key", "reveal_headers"]

_KNOWN: set[str] = set()
_MIN_SECRET_LEN = 8
# secret name -> why Colab did not give it, from the last lookup (names only, never a value)
_COLAB_MISSES: dict[str, str] = {}


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
    """Read a key from the environment, else from Colab secrets; ``None`` when neither has it (then
    :func:`missing_key_message` says why)."""
    if not env_var:
        return None
    _COLAB_MISSES.pop(env_var, None)  # this lookup's reason only
    value = os.environ.get(env_var) or _colab_secret(env_var)
    return Secret(value) if value else None


def missing_key_message(env_vars: Sequence[str]) -> str:
    """What to do when :func:`resolve_key` found none of ``env_vars``: on Colab, what the secrets store said for
    each (no such secret, notebook access not granted, timed out); elsewhere, set the environment variable.

    >>> missing_key_message(["OPENAI_API_KEY"])
    'set the environment variable OPENAI_API_KEY (or add it to Colab secrets)'
    """
    names = " or ".join(env_vars)
    colab = [_COLAB_ADVICE[_COLAB_MISSES[name]].format(name=name) for name in env_vars if name in _COLAB_MISSES]
    if not colab:
        return f"set the environment variable {names} (or add it to Colab secrets)"
    return "; ".join(colab) + f" (or set the environment variable {names})"


_COLAB_ADVICE = {
    "SecretNotFoundError": "Colab secrets have no secret named {name}: add it in the Secrets panel (the key icon in "
    "the left sidebar) and switch on its 'Notebook access'",
    "NotebookAccessError": "this notebook has no access to the Colab secret {name}: switch on its 'Notebook access' "
    "in the Secrets panel (the key icon in the left sidebar), then run the cell again",
    "TimeoutException": "reading the Colab secret {name} timed out: secrets can only be read from the Colab UI, "
    "not in a headless run",
    "other": "reading the Colab secret {name} failed",
}


def _colab_secret(name: str) -> str | None:
    """The Colab secret ``name``, or ``None`` (not on Colab, or Colab did not give it: the reason is kept)."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        value = userdata.get(name)
    except Exception as err:  # the exception names the secret, never its value
        _COLAB_MISSES[name] = _colab_reason(userdata, err)
        return None
    return value


def _colab_reason(userdata: object, err: Exception) -> str:
    """Which of google.colab.userdata's errors ``err`` is ("other" for anything else)."""
    for reason in ("SecretNotFoundError", "NotebookAccessError", "TimeoutException"):
        error_type = getattr(userdata, reason, None)
        if isinstance(error_type, type) and isinstance(err, error_type):
            return reason
    return "other"
