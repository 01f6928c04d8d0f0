"""One fingerprint of a model's configuration, the same in every process: what the response cache keys answers of
models that are not live by, and what a resumed experiment compares its strategies with.

>>> from orchestra_lab import SimulatedModel
>>> model_config(SimulatedModel.profile("sim/tiny", seed=1)).startswith("SimulatedModel(")
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import types
import weakref
from collections.abc import Mapping
from typing import Any

from .models.base import Model

__all__ = ["model_config"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_CONFIGS: dict[bool, weakref.WeakKeyDictionary[Model, str]] = {
    True: weakref.WeakKeyDictionary(),
    False: weakref.WeakKeyDictionary(),
}


def model_config(model: Model, *, code: bool = True) -> str:
    """``model``'s configuration, its sub-models' included, as text that is the same in every process.

    A rendering of ``get_config()`` where sub-models (config values, or else ``children()``) are rendered the same
    way, functions by module, qualified name, code and defaults (with ``code=False``: by name only, so the same
    function defined elsewhere -- another session's notebook cell -- matches), sets sorted, and memory addresses
    dropped. Secrets show as ``'***'``. Computed once per model instance (models are treated as immutable once built).

    >>> from orchestra_lab import FunctionModel, SimulatedModel
    >>> from orchestra_lab.strategies import Fallback
    >>> "seed=1" in model_config(Fallback([SimulatedModel.profile("sim/tiny", seed=1)]))
    True
    >>> model_config(FunctionModel(str.upper, name="up"), code=False)
    "FunctionModel(fn=<method 'upper' of 'str' objects>, name='up', cost_per_call=0.0)"
    """
    known = _CONFIGS[code]
    try:
        config = known.get(model)
    except TypeError:  # an unhashable model (a dataclass with eq=True): rendered at every call
        return _render_model(model, code)
    if config is None:
        config = known[model] = _render_model(model, code)
    return config


def _render_model(model: Model, code: bool) -> str:
    rendered: set[int] = set()  # ids of the sub-models met in the config
    args = [f"{name}={_render(value, rendered, code)}" for name, value in model.get_config().items()]
    others = [model_config(child, code=code) for child in model.children() if id(child) not in rendered]
    if others:
        args.append(f"children=[{', '.join(others)}]")
    return f"{type(model).__name__}({', '.join(args)})"


def _render(value: Any, models: set[int], code: bool = True) -> str:
    """Deterministic text for a config value; adds the id of every model met to ``models``."""
    if isinstance(value, Model):
        models.add(id(value))
        return model_config(value, code=code)
    if isinstance(value, Mapping):
        items = sorted(f"{_render(k, models, code)}: {_render(v, models, code)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v, models, code) for v in value) + "]"
    if isinstance(value, (set, frozenset)):  # iteration order changes between processes
        return "{" + ", ".join(sorted(_render(v, models, code) for v in value)) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (
            f"{f.name}={_render(getattr(value, f.name), models, code)}" for f in dataclasses.fields(value) if f.init
        )
        return f"{type(value).__name__}({', '.join(fields)})"
    if isinstance(value, types.FunctionType):
        if not code:
            return f"<function {value.__name__}>"
        defaults = _render([value.__defaults__, value.__kwdefaults__], models)
        return f"{value.__module__}.{value.__qualname__}#{_code_digest(value.__code__)}{defaults}"
    return _ADDRESS.sub("", repr(value))


def _code_digest(code: types.CodeType) -> str:
    """A hash of what a function does: its bytecode, constants (nested functions included) and names."""
    hasher = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        text = _code_digest(const) if isinstance(const, types.CodeType) else _render(const, set())
        hasher.update(text.encode() + b"\x1f")
    hasher.update(" ".join(code.co_names).encode())
    return hasher.hexdigest()[:16]
