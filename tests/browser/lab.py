"""A throwaway JupyterLab server: 127.0.0.1, a free port, a random token, a temporary root and clean settings.

>>> deadline = Deadline(120)
>>> 119 < deadline.remaining_s() <= 120
True
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# user settings: start the notebook's kernel without the "Select Kernel" dialog; render every cell (no windowing,
# which empties cells scrolled out of view); no news / update-check toast
_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


class Deadline:
    """One time budget shared by every wait of a test."""

    def __init__(self, total_s: float) -> None:
        self.end = time.monotonic() + total_s

    def remaining_s(self) -> float:
        """Seconds left (at least a small positive number, so a late wait fails fast instead of never)."""
        return max(self.end - time.monotonic(), 0.5)

    def remaining_ms(self) -> float:
        return 1000 * self.remaining_s()


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server."""

    base_url: str
    token: str
    root: Path
    log: Path

    def url(self, notebook: str) -> str:
        """The JupyterLab page of ``notebook`` (a path relative to the root), logged in with the token."""
        return f"{self.base_url}lab/tree/{notebook}?token={self.token}"


@contextmanager
def jupyterlab(root: Path, work: Path, deadline: Deadline) -> Iterator[Lab]:
    """Start JupyterLab on ``root`` (config, runtime and settings under ``work``); stopped on exit."""
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | _private_dirs(work)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = work / "jupyterlab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root)
    lab = Lab(f"http://127.0.0.1:{port}/", token, root, log)
    try:
        _wait_until_up(lab, process, deadline)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _private_dirs(work: Path) -> dict[str, str]:
    dirs = {
        "JUPYTER_CONFIG_DIR": work / "config",
        "JUPYTER_RUNTIME_DIR": work / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": work / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": work / "workspaces",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for name, settings in _SETTINGS.items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings))
    return {name: str(path) for name, path in dirs.items()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(lab: Lab, process: subprocess.Popen[bytes], deadline: Deadline) -> None:
    status_url = f"{lab.base_url}api/status?token={lab.token}"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}; see {lab.log}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if deadline.remaining_s() <= 0.5:
            raise TimeoutError(f"JupyterLab did not answer on {lab.base_url} in time; see {lab.log}")
        time.sleep(0.25)
