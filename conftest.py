"""Import every ``orchestra_lab`` module before collection.

With ``--import-mode=importlib``, a module collected for its doctests before its package imported it is executed a
second time under the same name, and a test that patches it (say ``_rundir.COMPACT_ROWS``) patches a copy the code
never reads: a test then passes or fails by collection order. Imported here first, every module is found in
``sys.modules`` and collected as it is.
"""

import importlib
import pkgutil

import orchestra_lab

for _module in pkgutil.walk_packages(orchestra_lab.__path__, "orchestra_lab."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)
