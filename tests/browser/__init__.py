"""Helpers of the real-browser test (tests/test_browser.py): a throwaway JupyterLab server and a notebook driver.

Playwright is imported only inside the driver functions, so these modules import (and their doctests run)
without it.
"""
