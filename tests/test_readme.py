"""The README stays true: its Python blocks run offline, and its two commands are the ones CI uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_blocks_run(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # run directories land here, not in the checkout
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip()  # every block shows the reader something


def test_readme_opens_with_the_demo_and_test_commands_ci_runs():
    text = README.read_text(encoding="utf-8")
    demo = text.index("orchestra-lab demo")
    tests = text.index("# 2. run the tests")
    assert demo < tests < text.index("## ")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "'# 2. run the tests'" in ci  # .ci/run reads the command from the README itself
