"""Deprecated alias of :mod:`nqlib.abcmodel` for one release (issue 17).

``from nqlib import abc`` shadowed the standard library's :mod:`abc` in a notebook's namespace,
so the module is now :mod:`nqlib.abcmodel`; importing this one warns and gives the same names.
"""

import warnings

from nqlib.abcmodel import *  # noqa: F403
from nqlib.abcmodel import __all__  # noqa: F401

warnings.warn(
    "nqlib.abc is renamed nqlib.abcmodel (it shadowed the standard library's abc); "
    "import nqlib.abcmodel instead",
    DeprecationWarning,
    stacklevel=2,
)
