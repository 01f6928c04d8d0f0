"""Write the Colab parts of every notebook from one place: the install cell and the "Open In Colab" badge.

- The install cell (the code cell after the parameters cell) installs orchestra_lab from a source the user gives
  in ONE variable, ``ORCHESTRA_LAB_SOURCE`` -- a wheel they built and uploaded, a Drive path, or a git URL -- and
  does nothing where ``orchestra_lab`` is importable already. It never installs a bare package name: nothing named
  orchestra-lab on a package index is ours, so whoever registered it would run code in the user's notebook.
- The badge links to the notebook on Colab only when ``[project.urls]`` in pyproject.toml names a GitHub repository
  (key ``Repository``); without one, notebooks carry no badge.

Run ``python scripts/sync_notebooks.py`` after changing either; ``--check`` exits 1 when a notebook is out of sync
(tests/test_notebooks_meta.py checks that). Only those two places of a notebook are written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
INSTALL_MARKER = "# orchestra_lab install cell"
BRANCH = "main"
_GITHUB = re.compile(r"https://github\.com/(?P<owner>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?")
_BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\(.*\)\]\(.*\)\n?$")

INSTALL_CELL = '''# NBVAL_IGNORE_OUTPUT
# orchestra_lab install cell (written by scripts/sync_notebooks.py; see the README, "Colab").
# Where orchestra_lab is importable (locally, in CI, on Colab after the first run) this cell does nothing.
# On Colab, set the source to one YOU control: the wheel you built (python -m build) and uploaded or put on Drive,
# or your repository's git URL. A bare package name is refused: no orchestra-lab on a package index is ours.
ORCHESTRA_LAB_SOURCE = ""  # "/content/orchestra_lab-0.1.0-py3-none-any.whl" or "git+https://github.com/you/orchestra_lab@v0.1.0"


def install_orchestra_lab(source):
    """Install orchestra_lab from a wheel, sdist, folder or https/git URL, unless it is importable already."""
    import importlib
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("orchestra_lab") is not None:
        return "orchestra_lab is installed"
    source = source.strip()
    if not (os.path.exists(source) or source.startswith(("https://", "git+https://"))):
        raise RuntimeError(
            f"orchestra_lab is not installed and ORCHESTRA_LAB_SOURCE={source!r} is not a wheel, folder or "
            "https/git URL that exists: set it to a source you control (README, 'Colab')"
        )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
    importlib.invalidate_caches()
    return f"installed orchestra_lab from {source}"


print(install_orchestra_lab(ORCHESTRA_LAB_SOURCE))'''


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str | None:
    """The GitHub repository named by ``[project.urls] Repository``, or None."""
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("urls", {})
    url = urls.get("Repository")
    return url if url and _GITHUB.fullmatch(url) else None


def badge(name: str, repository: str) -> str:
    """The Markdown badge that opens ``notebooks/<name>.ipynb`` of ``repository`` on Colab."""
    match = _GITHUB.fullmatch(repository)
    if match is None:
        raise ValueError(f"{repository!r} is not a https://github.com/<owner>/<repo> URL")
    notebook = f"{match['owner']}/{match['repo']}/blob/{BRANCH}/notebooks/{name}.ipynb"
    link = f"https://colab.research.google.com/github/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})"


def synced(notebook: dict[str, Any], name: str, repository: str | None) -> dict[str, Any]:
    """``notebook`` (nbformat JSON) with its install cell and badge as this script writes them."""
    cells = [dict(cell) for cell in notebook["cells"]]
    cells[0] = _with_badge(cells[0], name, repository)
    index = _install_cell_index(cells, name)
    cells[index] = cells[index] | {"source": _lines(INSTALL_CELL)}
    return notebook | {"cells": cells}


def notebooks() -> list[Path]:
    """The user-facing notebooks (``_``-prefixed ones are for tests)."""
    return sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if not p.name.startswith("_"))


def render(notebook: dict[str, Any]) -> str:
    """Notebook JSON as Jupyter writes it (so syncing changes nothing else)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def out_of_sync(repository: str | None) -> list[Path]:
    """The notebooks whose install cell or badge differs from what this script writes."""
    return [path for path in notebooks() if path.read_text(encoding="utf-8") != _synced_text(path, repository)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a notebook is out of sync; write nothing")
    args = parser.parse_args(argv)
    repository = repository_url()
    stale = out_of_sync(repository)
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of sync: run python scripts/sync_notebooks.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(_synced_text(path, repository), encoding="utf-8", newline="\n")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def _synced_text(path: Path, repository: str | None) -> str:
    return render(synced(json.loads(path.read_text(encoding="utf-8")), path.stem, repository))


def _with_badge(cell: dict[str, Any], name: str, repository: str | None) -> dict[str, Any]:
    """The title cell with the badge line after the title (``repository`` given) or without any badge."""
    if cell["cell_type"] != "markdown":
        raise ValueError(f"{name}: the first cell must be the markdown title cell")
    lines = [line for line in _lines("".join(cell["source"])) if not _BADGE_LINE.match(line)]
    while len(lines) > 2 and lines[1] == "\n" and lines[2] == "\n":  # the badge's blank line goes with it
        del lines[1]
    if repository is not None:
        lines[1:1] = ["\n", badge(name, repository) + "\n"]
    return cell | {"source": lines}


def _install_cell_index(cells: list[dict[str, Any]], name: str) -> int:
    """The code cell right after the parameters cell (tagged, or first line ``# parameters``)."""
    code = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"]
    if len(code) < 2:
        raise ValueError(f"{name}: expected a parameters cell and an install cell")
    return code[1]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


if __name__ == "__main__":
    sys.exit(main())
