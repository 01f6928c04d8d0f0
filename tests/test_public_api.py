"""The public surface is explicit and true to the docs.

Every public module (no ``_``-prefixed part in its dotted name) declares ``__all__``; every name listed there is
importable from that module and documented (a docstring of its own for classes and functions); and every API name
the README, ARCHITECTURE.md and the notebooks mention (``ol.X``, ``orchestra_lab.a.b.X``, ``from orchestra_lab.a
import X``) is importable from where they say.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import orchestra_lab

ROOT = Path(__file__).resolve().parents[1]


def _public_modules() -> list[str]:
    names = ["orchestra_lab"]
    for info in pkgutil.walk_packages(orchestra_lab.__path__, prefix="orchestra_lab."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


PUBLIC_MODULES = _public_modules()


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_declares_all_and_documents_each_name(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} declares no __all__"
    assert len(set(exported)) == len(exported), f"{module_name}.__all__ lists a name twice"
    undocumented = []
    for name in exported:
        value = getattr(module, name)  # AttributeError: listed but not importable
        if (inspect.isclass(value) or inspect.isfunction(value)) and not inspect.getdoc(value):
            undocumented.append(name)
    assert not undocumented, f"{module_name}: no docstring on {undocumented}"


def test_the_package_exports_what_the_first_wave_documented() -> None:
    for name in ("replay_models", "models_by_cost", "answer_key", "describe_schema"):
        assert name in orchestra_lab.__all__
        assert getattr(orchestra_lab, name) is not None


def test_the_export_function_does_not_hide_its_module() -> None:
    import orchestra_lab.experiments as experiments

    module = importlib.import_module("orchestra_lab.experiments.exports")
    assert inspect.ismodule(module) and experiments.exports is module
    assert experiments.export is module.export is orchestra_lab.export
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("orchestra_lab.experiments.export")


_OL_NAME = re.compile(r"\bol\.([A-Za-z_][A-Za-z0-9_]*)")
_DOTTED = re.compile(r"\borchestra_lab((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_FROM_IMPORT = re.compile(
    r"^\s*from (orchestra_lab(?:\.[A-Za-z_][A-Za-z0-9_]*)*) import (?:\(([^)]*)\)|([A-Za-z0-9_, ]+))", re.MULTILINE
)


def _documents() -> dict[str, str]:
    texts = {}
    for path in [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "notebooks").glob("*.ipynb"))]:
        if not path.exists():
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            texts[path.name] = "\n".join("".join(cell["source"]) for cell in cells)
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def _resolve(dotted: str) -> object:
    """Import ``a.b.c`` as a module if it is one, else as an attribute path from the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("document", sorted(_documents()))
def test_every_api_name_the_docs_mention_is_importable_from_there(document: str) -> None:
    text = _documents()[document]
    missing = []
    for name in sorted(set(_OL_NAME.findall(text))):
        if not hasattr(orchestra_lab, name):
            missing.append(f"ol.{name}")
    for tail in sorted(set(_DOTTED.findall(text))):
        dotted = "orchestra_lab" + tail
        try:
            _resolve(dotted)
        except (ImportError, AttributeError):
            # a trailing attribute of an object (e.g. a method) is fine when the object itself resolves
            try:
                _resolve(dotted.rsplit(".", 1)[0])
            except (ImportError, AttributeError):
                missing.append(dotted)
    for module, in_parens, on_line in _FROM_IMPORT.findall(text):
        for name in (n.strip() for n in (in_parens or on_line).replace("\n", ",").split(",")):
            name = re.sub(r"#.*", "", name).split(" as ")[0].strip()
            if name and not hasattr(importlib.import_module(module), name):
                missing.append(f"from {module} import {name}")
    assert not missing, f"{document} mentions names that do not import: {missing}"
