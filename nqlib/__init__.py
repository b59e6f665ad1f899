"""nqlib — the library behind nqbook.

One module per physical object (see the book's introduction for the conventions):

* :mod:`nqlib.ssep` — the symmetric simple exclusion process: closed forms, exact master
  equation, moment hierarchy, Monte Carlo;
* :mod:`nqlib.gates` — the gate ensembles of the random circuit, Gaussian (free-fermion) gates;
* :mod:`nqlib.circuit` — dense density-matrix simulation of the open circuit (small L);
* :mod:`nqlib.freecircuit` — the p2 = 0 circuit on the fermionic correlation matrix (large L);
* :mod:`nqlib.quantum` / :mod:`nqlib.gaussian` — entropies, mutual information, correlation
  matrices of dense and of Gaussian states;
* :mod:`nqlib.abcmodel` — exact averages of the two-copy gate channel (the replicated density
  matrix); :mod:`nqlib.abc` is its deprecated alias (it shadowed the standard library's abc);
* :mod:`nqlib.anderson` — the 3D Anderson bar between leads: lead modes, scattering states by a
  stable slice recursion, S matrix, mode sums (``mode_sum``; ``correlation_matrix`` in the book's
  convention C[i, j] = <c_i^dag c_j>), a dense reference route, per-slice statistics and the
  Hruza-Jin / Gullans-Huse estimators (``density_profile``, ``f_ab``, ``i_ab``);
* :mod:`nqlib.circuitscattering` — the p2 = 0 circuit as scattering: injected reservoir modes,
  their mode sums and pair correlations, exact averages of single-mode weights;
* :mod:`nqlib.haarcircuit` — the open Haar circuit without conservation law: operator-weight
  chain, exact average purity, dense simulation;
* :mod:`nqlib.quditcircuit` — the circuit's extensions (GH Sec. IV): a qudit on every site and a
  two-leg ladder, dense simulation and exact two-copy (2-design) averages;
* :mod:`nqlib.cumulants` — set and non-crossing partitions, free and cyclic cumulants, loop
  moments and loop cumulants of random correlation matrices with jackknife errors, the loops and
  cumulants of HJ's cuts (model-free);
* :mod:`nqlib.qssep` — QSSEP: exact second moments, a simulator, loop moments of its trajectories,
  and the fits of measured cumulants to QSSEP's shapes (amplitudes, imbalances);
* :mod:`nqlib.probe` — the interferometric probe: beam-splitter currents and a free-fermion
  simulation of the device;
* :mod:`nqlib.spreading` — operator spreading on the closed circuit: exact gate-averaged two-copy
  maps, OTOCs, the weight chain, butterfly velocity and the linear front equations;
* :mod:`nqlib.quench` — the circuit in time: exact averaged densities, phase I exactly, entropy
  production from a pure state and the deviation from local equilibrium after a density step;
* :mod:`nqlib.ensemble` — reproducible ensembles of random realizations (local pool or Dask,
  cache), the ``NQLIB_SCALE`` knob;
* :mod:`nqlib.stats` — realizations stacked, jackknife error bars (no multiprocessing: physics
  modules import this, never :mod:`nqlib.ensemble`);
* :mod:`nqlib.trajectory` — the one "burn in, then sample" loop of the stationary-state samplers
  and its burn-in rule (2 pi^2 slowest diffusive relaxation times);
* :mod:`nqlib.fits` — weighted least-squares fits with error bars (lines, amplitudes, finite-size
  extrapolations, power laws): every fit a chapter shows;
* :mod:`nqlib.plotting` — the book's figure style and plotting helpers of the chapters;
* :mod:`nqlib.paper` — paper-scale result archives with provenance (``python -m nqlib.paper``).

Submodules are imported on first use (``nqlib.anderson`` or ``from nqlib import anderson``).
"""

__version__ = "0.1.0"

import importlib  # noqa: E402

PHYSICS = (
    "abcmodel",
    "anderson",
    "circuit",
    "circuitscattering",
    "cumulants",
    "fits",
    "freecircuit",
    "gates",
    "gaussian",
    "haarcircuit",
    "probe",
    "qssep",
    "quantum",
    "quditcircuit",
    "quench",
    "spreading",
    "ssep",
    "stats",
    "trajectory",
)
"""The modules that compute (what the ensemble's worker processes preload)."""

__all__ = sorted([*PHYSICS, "ensemble", "paper", "plotting"]) + ["__version__"]


def __getattr__(name):
    """Import a submodule on first use: ``import nqlib.anderson`` loads anderson and what it
    needs, not the whole package (no multiprocessing, no matplotlib)."""
    if name in __all__ and name != "__version__":
        return importlib.import_module(f"nqlib.{name}")
    raise AttributeError(f"module 'nqlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
