"""nqlib — the library behind nqbook.

One module per physical object (see the book's introduction for the conventions):

* :mod:`nqlib.ssep` — the symmetric simple exclusion process: closed forms, exact master
  equation, moment hierarchy, Monte Carlo;
* :mod:`nqlib.ensemble` — reproducible ensembles of random realizations, the ``NQLIB_SCALE``
  knob, jackknife error bars;
* :mod:`nqlib.plotting` — the book's figure style.
"""

__version__ = "0.1.0"

from nqlib import ensemble, plotting, ssep  # noqa: E402  (modules import __version__)

__all__ = ["ensemble", "plotting", "ssep", "__version__"]
