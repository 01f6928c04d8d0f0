"""Reading signatures: constructor parameters (for scikit-learn-style reprs) and a callable's parameter names.

>>> param_names(lambda output, expected: 1.0), param_names(len)
(['output', 'expected'], ['obj'])
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


@functools.cache
def init_params(cls: type) -> tuple[str, ...]:
    """Names of ``cls.__init__``'s named parameters (read once per class)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return tuple(p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def config_of(obj: Any) -> dict[str, Any]:
    """Constructor arguments as currently set: those stored under an attribute of the same name."""
    return {name: getattr(obj, name) for name in init_params(type(obj)) if hasattr(obj, name)}


def param_names(fn: Callable[..., Any]) -> list[str]:
    """The parameter names of ``fn`` (empty for builtins without a signature)."""
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []
