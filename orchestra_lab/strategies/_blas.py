"""One BLAS thread for the learned routers' numerical work (private; needs threadpoolctl, a scikit-learn dependency).

A router's matrices are small to medium (10^4 prompts x 10^2-10^3 features, minibatches of 200 rows): on an idle
2-core machine a second BLAS thread could at most halve the time, and on a shared or loaded one (notebooks, CI)
OpenBLAS's waiting threads multiplied the time of the same work by up to 13 (an MLP fit on 10,000 x 384: 0.7 s with one
thread, 9 s with two at load 6). Fitting a predictor and scanning the k nearest neighbours therefore run with one
BLAS thread; the previous setting is restored on exit. One thread also makes the results independent of the
machine's thread count (BLAS sums in a fixed order).

Only the main thread changes the setting. OpenBLAS (pthreads) has one process-wide setting that threadpoolctl lets
only one thread change at a time, so overlapping limits from several threads could leave the process at one BLAS
thread for good; from other threads the work simply runs with the current setting.

>>> import numpy as np
>>> with one_blas_thread():
...     float(np.ones((3, 4)) @ np.ones(4) @ np.ones(3))
12.0
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any


@functools.cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspects the loaded BLAS libraries once (a few ms)


def one_blas_thread() -> Any:
    """A context manager limiting every loaded BLAS library to one thread while active (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")


__all__ = ["one_blas_thread"]
