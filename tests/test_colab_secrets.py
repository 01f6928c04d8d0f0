"""Colab secrets: a missing secret and a secret the notebook may not read give different advice, read off a fake
``google.colab.userdata`` (the real module raises SecretNotFoundError, NotebookAccessError, TimeoutException)."""

from __future__ import annotations

import secrets
import sys
import traceback
from types import ModuleType

import pytest

from orchestra_lab._secrets import missing_key_message, resolve_key
from orchestra_lab.errors import AuthError
from orchestra_lab.models.anthropic import Anthropic

ENV = "OL_TEST_COLAB_KEY"
VALUE = "-".join(("sk", "colab", secrets.token_hex(8)))  # built at run time: no key-shaped literal in the repo


class SecretNotFoundError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(f"Secret {key} does not exist.")


class NotebookAccessError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(f"Notebook does not have access to secret {key}")


class TimeoutException(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(f"Requesting secret {key} timed out.")


def install_fake_colab(monkeypatch: pytest.MonkeyPatch, secrets: dict[str, str], granted: set[str]) -> None:
    """A ``google.colab.userdata`` that knows ``secrets`` and lets the notebook read those in ``granted``."""

    def get(key: str) -> str:
        if key not in secrets:
            raise SecretNotFoundError(key)
        if key not in granted:
            raise NotebookAccessError(key)
        return secrets[key]

    userdata = ModuleType("google.colab.userdata")
    userdata.get = get  # type: ignore[attr-defined]
    for error in (SecretNotFoundError, NotebookAccessError, TimeoutException):
        setattr(userdata, error.__name__, error)
    colab = ModuleType("google.colab")
    colab.userdata = userdata  # type: ignore[attr-defined]
    google = ModuleType("google")
    google.colab = colab  # type: ignore[attr-defined]
    for name, module in (("google", google), ("google.colab", colab), ("google.colab.userdata", userdata)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv(ENV, raising=False)


def test_a_granted_colab_secret_is_the_key(monkeypatch):
    install_fake_colab(monkeypatch, {ENV: VALUE}, granted={ENV})
    key = resolve_key(ENV)
    assert key is not None and key.reveal() == VALUE


def test_a_missing_secret_says_to_add_it(monkeypatch):
    install_fake_colab(monkeypatch, {}, granted=set())
    assert resolve_key(ENV) is None
    message = missing_key_message([ENV])
    assert f"no secret named {ENV}" in message and "add it" in message
    assert "has no access" not in message


def test_a_secret_without_notebook_access_says_to_grant_it(monkeypatch):
    install_fake_colab(monkeypatch, {ENV: VALUE}, granted=set())
    assert resolve_key(ENV) is None
    message = missing_key_message([ENV])
    assert f"notebook has no access to the Colab secret {ENV}" in message and "Notebook access" in message
    assert "no secret named" not in message and VALUE not in message


def test_a_timed_out_read_says_secrets_need_the_colab_ui(monkeypatch):
    install_fake_colab(monkeypatch, {}, granted=set())

    def timing_out(key: str) -> str:
        raise TimeoutException(key)

    monkeypatch.setattr(sys.modules["google.colab.userdata"], "get", timing_out)
    assert resolve_key(ENV) is None
    assert "timed out" in missing_key_message([ENV])


def test_the_model_error_tells_the_two_cases_apart_and_never_shows_the_value(monkeypatch):
    model = Anthropic("claude-3-5-haiku", base_url="http://127.0.0.1:9", api_key_env=ENV)
    install_fake_colab(monkeypatch, {ENV: VALUE}, granted=set())
    with pytest.raises(AuthError) as denied:
        model.complete("hi")
    install_fake_colab(monkeypatch, {}, granted=set())
    with pytest.raises(AuthError) as missing:
        model.complete("hi")
    assert "Notebook access" in str(denied.value) and f"no secret named {ENV}" in str(missing.value)
    for error in (denied.value, missing.value):
        assert all(VALUE not in text for text in (str(error), repr(error), "".join(traceback.format_exception(error))))


def test_outside_colab_the_message_is_about_the_environment_variable(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", None)  # not importable, as on a laptop
    monkeypatch.delenv(ENV, raising=False)
    assert resolve_key(ENV) is None
    assert missing_key_message([ENV]) == f"set the environment variable {ENV} (or add it to Colab secrets)"
