"""A read-only mapping that pickles and deep-copies (``types.MappingProxyType`` does neither).

>>> import pickle
>>> table = ReadOnlyMap({"a": 1})
>>> table["a"], dict(pickle.loads(pickle.dumps(table))), table
(1, {'a': 1}, {'a': 1})
>>> table["b"] = 2
Traceback (most recent call last):
TypeError: 'ReadOnlyMap' object does not support item assignment
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ReadOnlyMap(Mapping[K, V]):
    """A copy of ``data`` that cannot be changed; its repr is the dict's."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __reduce__(self) -> tuple[type, tuple[dict[K, V]]]:
        return type(self), (self._data,)

    def __repr__(self) -> str:
        return repr(self._data)


__all__ = ["ReadOnlyMap"]
