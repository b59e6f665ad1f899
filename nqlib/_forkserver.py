"""Imported by the forkserver of the default ensemble pool only (its preload list), never elsewhere:
the forkserver dies with the process that started it. See :mod:`nqlib._lifeline`."""

from nqlib._lifeline import become_forkserver

become_forkserver()
