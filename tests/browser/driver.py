"""Drive Debian's Chromium with Playwright: open a notebook in JupyterLab, Run All Cells, wait for widget text.

The browser is the system one (``apt-get install chromium``), launched headless without a sandbox; Playwright's
own browser download (``playwright install``) is never used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .lab import Deadline, Lab

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDGET = ".jp-OutputArea-output .jupyter-widgets"  # a rendered ipywidgets view (not the cell source)


def run_all_cells(lab: Lab, notebook: str, expected_texts: Sequence[str], screenshot: Path, deadline: Deadline) -> str:
    """Open ``notebook``, run all its cells from the Run menu, wait until rendered widgets show every one of
    ``expected_texts``, scroll the first such widget into view and save a screenshot; returns the text of the
    widgets found. On failure the screenshot shows the page as it was."""
    from playwright.sync_api import expect, sync_playwright

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            try:
                page.goto(lab.url(notebook), timeout=deadline.remaining_ms())
                page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=deadline.remaining_ms())
                # Run All before the kernel is up would race the kernel's start: wait for the status bar's "Idle"
                idle = page.get_by_role("button", name=re.compile(r"\| Idle$"))
                idle.first.wait_for(timeout=deadline.remaining_ms())
                page.get_by_role("menuitem", name="Run", exact=True).click(timeout=deadline.remaining_ms())
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=deadline.remaining_ms())
                found = [page.locator(WIDGET).filter(has_text=text).first for text in expected_texts]
                for widget in found:
                    expect(widget).to_be_visible(timeout=deadline.remaining_ms())
                found[0].scroll_into_view_if_needed(timeout=deadline.remaining_ms())  # the screenshot shows it
                return "\n".join(widget.inner_text() for widget in found)
            finally:
                page.screenshot(path=str(screenshot))
        finally:
            browser.close()
