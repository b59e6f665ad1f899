"""Bad-input audit (issue 18): every public function of the audited modules, fed bad arguments.

:data:`REGISTRY` holds, for every public function, one small and fast valid call (keyword
arguments) and the kind of each argument (a size, a probability, a drive, an index set, a
density matrix, ...). :func:`calls` derives the bad calls mechanically: for each argument, every
bad value of its kind (:func:`bad_values`) replaces the valid one. Each call runs in a child
worker process (one long-lived worker, restarted after a kill) under an address-space limit and
a per-call timeout, and its outcome is classified:

* ``clear``: ValueError or TypeError whose message names the argument;
* ``deep``: any other exception, or a message that does not name the argument;
* ``silent``: the call returned normally;
* ``unguarded``: MemoryError, or more than :data:`SLOW_S` seconds before failing or returning;
* ``hang``: killed at the timeout :data:`TIMEOUT_S`;
* ``n/a``: the valid call of the function failed (e.g. on an older checkout), so its bad calls
  cannot be judged.

Run as a script, ``python tests/bad_input_audit.py [--repo PATH]`` prints the count table and
every non-clear call; ``--repo`` audits another checkout (its path goes first on the worker's
``sys.path``). Values are built with NumPy only, so the registry does not depend on the nqlib
version it audits; the few valid values that need nqlib itself are built in the worker.
``tests/test_bad_input_audit.py`` runs the same matrix under pytest.
"""

import argparse
import importlib
import inspect
import json
import os
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from nqlib import PHYSICS

MODULES = PHYSICS
"""The modules audited: ``nqlib.PHYSICS``, the physics modules and the analysis helpers that the
chapters call with their data (fits, stats, cumulants, trajectory); plotting and ensemble are
not audited."""

EXCLUDED = {
    "anderson.LeadModes": "a frozen record returned by lead_modes (no methods, built by nqlib)",
    "anderson.Scattering": "a frozen record returned by scatter (no methods, built only by nqlib)",
    "anderson.DenseGreen": "a frozen record built by dense_green; its public method is audited",
    "anderson.DensityProfile": "a frozen record returned by density_profile (a property, no methods)",
    "anderson.EnergyCorrelationFit": "a frozen record returned by i_ab (a property, no methods)",
    "probe.Fringe": "a namedtuple record returned by fringe (no methods, built only by nqlib)",
    "probe.DeviceRatio": "a frozen record returned by device_ratio (no methods, built by nqlib)",
    "probe.Counts": "a frozen record returned by sample_counts (no methods, built by nqlib)",
    "probe.CentredPair": "a frozen record returned by centred_pair (no methods, built by nqlib)",
    "circuitscattering.InjectedModes": "a frozen record built by propagate; its method is audited",
    "cumulants.CutCumulants": "a frozen record returned by cut_cumulants (no methods)",
    "qssep.Amplitude": "a namedtuple record returned by the amplitude fits (no methods)",
    "qssep.Coinciding": "a namedtuple record returned by coinciding (no methods)",
    "anderson.Imbalances": "a frozen record returned by imbalances; its method is audited",
    "circuitscattering.LagFunction": "a frozen record returned by lag_function (no methods)",
    "ssep.Moments": "a frozen record returned by distribution_moments (no methods, built by nqlib)",
    "abcmodel.SecondOrder": "a frozen record built by second_order; its public methods are audited",
    "abcmodel.ClosureCoefficients": "a frozen record returned by closure_coefficients (no methods)",
    "abcmodel.SizeExponents": "a frozen record returned by size_exponents (no methods)",
    "freecircuit.NegativityPerSite": "a frozen record returned by negativity_per_site (no methods)",
    "freecircuit.Negativities": "a frozen record returned by dense_negativities (no methods)",
    "circuit.Occupations": "a frozen record returned by occupation_estimate (no methods)",
    "spreading.SampledMap": "a frozen record returned by sampled_two_copy_map (no methods)",
    "spreading.ChainBatches": "a frozen record built by sample_chain_batches; its method is audited",
    "spreading.VelocityScan": "a frozen record returned by velocity_scan (no methods)",
    "stats.MeanError": "a record returned by mean_error (a named tuple, no methods)",
    "fits.Fit": "a frozen record returned by every fit (a property, no methods, built by nqlib)",
    "quditcircuit.TwoCopyAverage": "a frozen record returned by the two-copy averages (no methods)",
    "quditcircuit.NeasSummary": "a frozen record returned by neas_summary (no methods, built by nqlib)",
}
"""Public names of the audited modules that are not functions to call, and why."""

TIMEOUT_S = 20.0
"""A call still running after this many seconds is killed and counted as a hang."""
SLOW_S = 5.0
"""A call taking longer than this (before failing or returning) is counted as unguarded."""
MEMORY_LIMIT_GIB = 4
"""Address-space limit of the worker (resource.RLIMIT_AS)."""
BUDGET_GIB = "2"
"""$NQLIB_MAX_GIB in the worker: the memory budget that size guards compare their estimate with."""

OUTCOMES = ("clear", "silent", "deep", "unguarded", "hang", "n/a")
HUGE = 10**18
NAN, INF = float("nan"), float("inf")


# --------------------------------------------------------------------------- valid values
class Fresh:
    """A valid value built anew for every call, in the worker (a random generator, or an object
    that needs nqlib itself)."""

    def __init__(self, make):
        self.make = make


def _rng():
    return Fresh(lambda: np.random.default_rng(0))


def _rho(L):
    """A valid density matrix on L qubits: diagonal, with distinct weights."""
    p = np.linspace(1.0, 2.0, 2**L)
    return np.diag(p / p.sum()).astype(complex)


def _corr(L):
    """A Hermitian correlation matrix with eigenvalues in [0.2, 0.8] and complex off-diagonals."""
    nu = np.linspace(0.2, 0.8, L)
    X = np.arange(L * L).reshape(L, L) % 7 + 1j * (np.arange(L * L).reshape(L, L) % 5)
    U, _ = np.linalg.qr(X + X.conj().T + 10 * np.eye(L))
    return (U * nu) @ U.conj().T


ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=complex)
HALF = 2**-0.5


def _psi(Nx=3, Ny=2, Nz=2, n=2):
    k = np.arange(Nx * Ny * Nz * n).reshape(Nx, Ny, Nz, n)
    return np.cos(k) + 1j * np.sin(2 * k)


def _second_order():
    from nqlib import abcmodel

    return abcmodel.second_order(3, 0.5, 0.5)


def _chain_batches():
    from nqlib import spreading

    return spreading.sample_chain_batches(
        np.random.default_rng(0), 11, 0.5, 0.5, [0.0, 1.0, 2.0], 2
    )


def _anderson_data():
    from nqlib import anderson, ensemble

    runs = [
        anderson.loop_statistics(np.random.default_rng(s), 3, 2, 2, 1.0, pairs=[(1, 2)])
        for s in (1, 2, 3, 4)
    ]
    return ensemble.stack(runs)


def _dense_green():
    from nqlib import anderson

    return anderson.dense_green(np.full((3, 2, 2), 0.1), 0.3)


def _imbalances():
    from nqlib import anderson

    return anderson.imbalances(_anderson_data(), [(1, 2)])


def _cut_data():
    """Stacked loop moments of two realizations of 3 (4, 4) samples on _cut_loops()."""
    from nqlib import cumulants

    loops = _cut_loops()
    k = np.arange(2 * 3 * 16)
    G = (np.cos(k) + 0.5j * np.sin(2 * k)).reshape(2, 3, 4, 4)
    return {
        "pair": np.array([cumulants.loop_moments(g, loops["pair"]) for g in G]),
        "triple": np.array([cumulants.loop_moments(g, loops["triple"]) for g in G]),
        "density": np.full((2, 4), 0.5),
    }


def _cut():
    from nqlib import cumulants

    return cumulants.cut_cumulants(_cut_data(), 3.0)


def _cut_loops():
    from nqlib import cumulants

    return cumulants.cut_loops([0.2, 0.4, 0.6, 0.8], [(0.6, 0.8)])


def _qudit_rho(L, q):
    """A valid qudit-chain state on L sites of dimension 2q: diagonal (so it commutes with the
    number of up spins), with distinct weights."""
    p = np.linspace(1.0, 2.0, (2 * q) ** L)
    return np.diag(p / p.sum()).astype(complex)


def _qudit_gate(q, k=0):
    """A unitary (4q^2, 4q^2) gate that conserves the number of up spins: a discrete Fourier
    transform (times a phase) in each sector of the site basis (s1, n1, s2, n2)."""
    D = 4 * q * q
    s1, _, s2, _ = np.unravel_index(np.arange(D), (2, q, 2, q))
    U = np.zeros((D, D), dtype=complex)
    for charge in (0, 1, 2):
        idx = np.flatnonzero(2 - s1 - s2 == charge)
        n = len(idx)
        F = np.exp(2j * np.pi * np.outer(np.arange(n), np.arange(n)) / n) / np.sqrt(n)
        U[np.ix_(idx, idx)] = F * np.exp(1j * (k + charge))
    return U


def _us(n):
    """n unitary (2, 2) single-particle gates."""
    return np.stack([[[np.cos(k), 1j * np.sin(k)], [1j * np.sin(k), np.cos(k)]] for k in range(n)])


def _modes():
    from nqlib import circuitscattering

    return circuitscattering.propagate([0, 1, 2, 3, 0, 2], _us(6), 3)


X4, Y4, SIGMA4 = np.arange(4.0), np.array([0.1, 1.2, 1.9, 3.1]), np.full(4, 0.1)


def _line_fit():
    from nqlib import fits

    return fits.line(X4, Y4, SIGMA4)


# --------------------------------------------------------------------------- bad values
def bad_values(kind, valid):
    """Bad values ``[(label, value), ...]`` of an argument of ``kind`` with valid value ``valid``.

    ``kind`` is a name or a tuple (name, parameters...); every kind starts with a wrong type, a
    string.
    """
    name, *p = kind if isinstance(kind, tuple) else (kind,)
    out = [("str", "oops")]

    def entry(value, at=0):  # the valid array with one entry replaced
        arr = np.array(valid, dtype=complex if np.iscomplexobj(valid) else float)
        arr.flat[at % arr.size] = value
        return arr

    if name == "size":  # a positive integer that sets the memory or time a call needs
        out += [("nan", NAN), ("inf", INF), ("-1", -1), ("0", 0), ("2.5", 2.5), ("huge", HUGE)]
    elif name == "extent":  # a positive integer whose size costs nothing (a huge one is valid)
        out += [("nan", NAN), ("inf", INF), ("-1", -1), ("0", 0), ("2.5", 2.5)]
    elif name == "count":  # a non-negative integer
        out += [("nan", NAN), ("inf", INF), ("-1", -1), ("2.5", 2.5), ("huge", HUGE)]
    elif name == "time":  # a non-negative real that sets the amount of work
        out += [("nan", NAN), ("inf", INF), ("-1", -1.0), ("huge", 1e18)]
    elif name == "nonneg":  # a non-negative real
        out += [("nan", NAN), ("inf", INF), ("-1", -1.0)]
    elif name == "positive":  # a positive real
        out += [("nan", NAN), ("inf", INF), ("-1", -1.0), ("0", 0.0)]
    elif name == "prob":  # a probability (or occupation, position) in [0, 1]
        out += [("nan", NAN), ("inf", INF), ("-0.1", -0.1), ("1.1", 1.1)]
    elif name == "drive":  # delta in [-1, 1]
        out += [("nan", NAN), ("inf", INF), ("-1.5", -1.5), ("1.5", 1.5)]
    elif name == "real":
        out += [("nan", NAN), ("inf", INF)]
    elif name == "integer":  # any integer
        out += [("nan", NAN), ("inf", INF), ("1.5", 1.5)]
    elif name == "flag":
        out += [("2", 2)]
    elif name == "choice":
        out += [("5", 5)]
    elif name == "site":  # one integer in [low, high]
        low, high = p
        out += [("nan", NAN), ("1.5", 1.5), ("low-1", low - 1), ("high+5", high + 5)]
    elif name == "indices":  # an index set in [low, high]
        low, high, distinct = p
        out += [
            ("[1.5]", [1.5]),
            ("[nan]", [NAN]),
            ("[high+5]", [high + 5]),
            ("[low-1]", [low - 1]),
        ]
        if distinct:
            out.append(("repeat", [low, low]))
    elif name == "reals":  # an array of finite reals
        out += [("nan", entry(NAN)), ("inf", entry(INF))]
    elif name == "nonneg_reals":
        out += [("nan", entry(NAN)), ("inf", entry(INF)), ("-1", entry(-1.0, 1))]
    elif name == "occupations":  # an array of numbers in [0, 1]
        out += [
            ("nan", entry(NAN)),
            ("inf", entry(INF)),
            ("-0.5", entry(-0.5)),
            ("1.5", entry(1.5)),
        ]
    elif name in ("times", "sim_times"):  # increasing non-negative integers (time units)
        out += [
            ("nan", entry(NAN, -1)),
            ("inf", entry(INF, -1)),
            ("-1", entry(-1.0)),
            ("2.5", entry(2.5, -1)),
        ]
        if name == "sim_times":  # a simulation: the last time sets the work
            out.append(("huge", entry(1e18, -1)))
    elif name == "matrix":  # a finite array of a given shape
        out += [("nan", entry(NAN)), ("inf", entry(INF)), ("shape", np.ones(3))]
    elif name == "shape":  # only the shape matters
        out += [("shape", np.eye(3))]
    elif name == "rho":  # a density matrix
        d = len(valid)
        nonherm = np.array(valid, dtype=complex)
        nonherm[0, 1] += 0.1
        negative = np.diag(np.r_[1.5, -0.5, np.zeros(d - 2)]).astype(complex)
        out += [
            ("nan", entry(NAN)),
            ("non-hermitian", nonherm),
            ("unnormalised", 2 * np.asarray(valid)),
            ("non-positive", negative),
            ("shape", np.ones((4, 2)) / 4),
        ]
    elif name == "corr":  # a correlation matrix: Hermitian, 0 <= C <= 1
        nonherm = np.array(valid, dtype=complex)
        nonherm[0, 1] += 0.1
        eye = np.eye(len(valid))
        out += [
            ("nan", entry(NAN)),
            ("non-hermitian", nonherm),
            ("non-positive", valid - 0.5 * eye),
            ("above-one", valid + 0.5 * eye),
            ("shape", np.ones(3)),
        ]
    elif name == "trace_one":  # a Hermitian matrix of unit trace (positivity not required)
        nonherm = np.array(valid, dtype=complex)
        nonherm[0, 1] += 0.1
        out += [
            ("nan", entry(NAN)),
            ("non-hermitian", nonherm),
            ("unnormalised", 2 * np.asarray(valid)),
            ("shape", np.ones((4, 2)) / 4),
        ]
    elif name == "hermitian":  # a Hermitian matrix (not necessarily a state)
        nonherm = np.array(valid, dtype=complex)
        nonherm[0, 1] += 0.1
        out += [("nan", entry(NAN)), ("non-hermitian", nonherm), ("shape", np.ones(3))]
    elif name == "gate":  # a (4, 4) S^z-conserving unitary
        out += [("nan", entry(NAN)), ("non-unitary", 2 * np.asarray(valid)), ("shape", np.eye(3))]
    elif name == "unitaries":  # a stack of unitaries
        out += [("nan", entry(NAN)), ("non-unitary", 2 * np.asarray(valid)), ("shape", np.ones(3))]
    elif name == "rng":
        out += [("int", 0), ("RandomState", np.random.RandomState(0))]
    elif name == "hoppings":
        out += [
            ("nan", (NAN, 1.0, 1.0)),
            ("inf", (1.0, INF, 1.0)),
            ("-1", (-1.0, 1.0, 1.0)),
            ("short", (1.0, 1.0)),
        ]
    elif name == "potential":  # V (Nx, Ny, Nz)
        out += [("nan", entry(NAN)), ("inf", entry(INF)), ("shape", np.ones((2, 2)))]
    elif name == "states":  # psi (Nx, Ny, Nz, n)
        out += [("nan", entry(NAN)), ("shape", np.ones((2, 2)))]
    elif name == "splitter":  # r or t of a unitary beam splitter
        out += [("nan", NAN), ("inf", INF), ("norm", 2.0)]
    elif name == "gamma":  # tunnel coupling in (0, sqrt 2)
        out += [("nan", NAN), ("inf", INF), ("0", 0.0), ("2", 2.0)]
    elif name in ("lengths", "extents"):  # a pair of integers >= 1
        out += [("nan", (NAN, 4)), ("0", (0, 4)), ("2.5", (2.5, 4))]
        if name == "lengths":  # sites of a Hamiltonian: a huge one needs memory
            out.append(("huge", (HUGE, 4)))
    elif name == "loops":  # {name: (n_loops, n) site indices in [0, N - 1]}
        (N,) = p
        out += [
            ("[1.5]", {"a": [[0, 1.5]]}),
            ("[nan]", {"a": [[0, NAN]]}),
            ("[N+5]", {"a": [[0, N + 5]]}),
            ("[-1]", {"a": [[0, -1]]}),
            ("empty", {}),
        ]
    elif name == "loop_array":  # (n_loops, n) site indices in [0, N - 1]
        (N,) = p
        out += [
            ("[1.5]", [[0, 1.5]]),
            ("[nan]", [[0, NAN]]),
            ("[N+5]", [[0, N + 5]]),
            ("[-1]", [[0, -1]]),
        ]
    elif name == "pairs":  # (b, c) slice pairs in [0, N - 1]
        (N,) = p
        out += [("[1.5]", [(1.5, 2)]), ("[N+5]", [(0, N + 5)]), ("odd", [0, 1, 2])]
    elif name == "stochastic":  # a (4, 4) column-stochastic matrix
        out += [("nan", entry(NAN)), ("negative", np.eye(4) * 2 - 0.25), ("shape", np.ones(3))]
    elif name == "data":  # a dict of arrays
        out += [("empty", {})]
    elif name == "record":  # an object built by nqlib (InjectedModes, Fit)
        out += [("dict", {}), ("None", None)]
    elif name == "qudit_rho":  # a chain state that commutes with the number of up spins
        (positive,) = p
        d = len(valid)
        nonherm = np.array(valid, dtype=complex)
        nonherm[0, 1] += 0.1
        mixing = np.array(valid, dtype=complex)  # Hermitian, unit trace, mixes charge sectors
        mixing[0, d - 1] = mixing[d - 1, 0] = 0.01
        out += [
            ("nan", entry(NAN)),
            ("non-hermitian", nonherm),
            ("unnormalised", 2 * np.asarray(valid)),
            ("mixes-charges", mixing),
            ("shape", np.ones((4, 2)) / 4),
        ]
        if positive:
            out.append(("non-positive", np.diag(np.r_[1.5, -0.5, np.zeros(d - 2)]).astype(complex)))
    elif name == "qudit_gates":  # a stack of unitaries that conserve the number of up spins
        mixing = np.array(valid, dtype=complex)
        mixing[0, 0, -1] = 0.1
        out += [
            ("nan", entry(NAN)),
            ("non-unitary", 2 * np.asarray(valid)),
            ("mixes-charges", mixing),
            ("shape", np.eye(3)),
        ]
    elif name in ("points", "positive_points"):  # 1D data of a fit, one entry per point
        out += [
            ("nan", entry(NAN)),
            ("inf", entry(INF)),
            ("short", np.asarray(valid, dtype=float)[:-1]),
            ("2d", np.atleast_2d(np.asarray(valid, dtype=float))),
        ]
        if name == "positive_points":
            out += [("-1", entry(-1.0)), ("0", entry(0.0))]
    elif name == "results":  # a non-empty list of realizations of one structure
        out += [
            ("empty", []),
            ("mixed", [{"a": 1.0}, 1.0]),
            ("keys", [{"a": 1.0}, {"b": 1.0}]),
            ("ragged", [np.ones(2), np.ones(3)]),
            ("ragged-dict", [{"a": np.ones(2)}, {"a": np.ones(3)}]),
        ]
    elif name == "realizations":  # an array (or dict of arrays) with >= 2 rows
        out += [
            ("scalar", 1.0),
            ("one", np.asarray(valid)[:1]),
            ("empty", {}),
            ("ragged", {"a": np.ones(3), "b": np.ones(2)}),
        ]
    elif name == "pauli_pair":  # (i, j), each in [0, 3]
        out += [
            ("nan", (NAN, 0)),
            ("4", (4, 0)),
            ("-1", (0, -1)),
            ("1.5", (1.5, 0)),
            ("short", (3,)),
        ]
    elif name == "callable":
        out += [("int", 3)]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return out


def _advance(state, n):
    """A trajectory step for the trajectory entries: the state plus n."""
    return state + n


# --------------------------------------------------------------------------- the registry
@dataclass
class Entry:
    """One public function: a valid call (keyword arguments) and the kind of each argument."""

    kwargs: dict
    kinds: dict
    obj: object = None  # for a method: a callable returning the instance
    args: tuple = field(default=())  # positional arguments (none needed so far)


P = dict(p1="prob", p2="prob")
PD = dict(p1="prob", p2="prob", delta="drive")
T3 = (1.0, 1.0, 1.0)
ANDERSON = dict(Nx="size", Ny="size", Nz="size", W="nonneg", t="hoppings", edge_tol="nonneg")
_profiles = np.linspace(1.0, 0.0, 40)[:, None] * np.ones((1, 4))

REGISTRY = {
    # abcmodel
    "abcmodel.two_copy_superoperator": Entry(dict(U=ISWAP), dict(U="gate")),
    "abcmodel.averaged_two_copy_gate": Entry(dict(p1=0.3, p2=0.2), P),
    "abcmodel.two_copy_channel": Entry(dict(L=2, p1=0.3, p2=0.2, delta=0.5), dict(L="size", **PD)),
    "abcmodel.steady_state": Entry(
        dict(L=2, p1=0.3, p2=0.2, delta=0.5, full=False), dict(L="size", full="flag", **PD)
    ),
    "abcmodel.average_purity": Entry(
        dict(L=2, p1=0.3, p2=0.2, delta=0.5, A=[0], full=False),
        dict(L="size", A=("indices", 0, 1, True), full="flag", **PD),
    ),
    "abcmodel.fixed_point_purity_excess": Entry(
        dict(L=2, p1=0.3, p2=0.2, A=[0], h=0.01),
        dict(L="size", A=("indices", 0, 1, True), h="prob", **P),
    ),
    "abcmodel.reduced_gate": Entry(dict(p1=0.3, p2=0.2), P),
    "abcmodel.reduced_boundary": Entry(
        dict(p1=0.3, p2=0.2, delta=0.5, side="left"), dict(side="choice", **PD)
    ),
    "abcmodel.reduced_channel": Entry(dict(L=2, p1=0.3, p2=0.2, delta=0.5), dict(L="size", **PD)),
    "abcmodel.excitation_maps": Entry(
        dict(p1=0.3, p2=0.2, dephased=False), dict(dephased="flag", **P)
    ),
    "abcmodel.second_order": Entry(
        dict(L=3, p1=0.5, p2=0.5, max_excitations=2, dephased=False),
        dict(L="size", max_excitations="size", dephased="flag", **P),
    ),
    "abcmodel.SecondOrder.purity_excess": Entry(
        dict(A=[0, 1]), dict(A=("indices", 0, 2, True)), obj=_second_order
    ),
    "abcmodel.SecondOrder.entropy_deficit": Entry(
        dict(A=[1]), dict(A=("indices", 0, 2, True)), obj=_second_order
    ),
    "abcmodel.SecondOrder.mutual_information": Entry(
        dict(A=[0], B=[2]),
        dict(A=("indices", 0, 2, True), B=("indices", 0, 2, True)),
        obj=_second_order,
    ),
    "abcmodel.closure_coefficients": Entry(
        dict(p1=0.3, p2=0.2, sizes=[4, 8], max_excitations=2),
        dict(sizes=("indices", 2, 400, True), max_excitations="size", **P),
    ),
    "abcmodel.size_exponent_map": Entry(
        dict(sizes=[4, 8], p1=np.array([0.1, 0.3]), p2=np.array([0.2]), max_excitations=2),
        dict(
            sizes=("indices", 2, 400, True),
            p1="occupations",
            p2="occupations",
            max_excitations="size",
        ),
    ),
    "abcmodel.size_exponents": Entry(
        dict(sizes=[4, 8], p1=0.3, p2=0.2, max_excitations=2),
        dict(sizes=("indices", 2, 400, True), max_excitations="size", **P),
    ),
    # anderson
    "anderson.potential": Entry(
        dict(Nx=3, Ny=2, Nz=2, W=1.0, rng=_rng()),
        dict(Nx="size", Ny="size", Nz="size", W="nonneg", rng="rng"),
    ),
    "anderson.hamiltonian": Entry(
        dict(V=np.full((3, 2, 2), 0.1), t=T3), dict(V="potential", t="hoppings")
    ),
    "anderson.lead_modes": Entry(
        dict(E=0.3, Ny=2, Nz=2, t=T3, edge_tol=1e-9),
        dict(E="real", Ny="size", Nz="size", t="hoppings", edge_tol="nonneg"),
    ),
    **{
        f"anderson.{name}": Entry(
            dict(V=np.full((3, 2, 2), 0.1), E=0.3, t=T3, edge_tol=1e-9),
            dict(V="potential", E="real", t="hoppings", edge_tol="nonneg"),
        )
        for name in ("scatter", "smatrix", "transmission")
    },
    **{
        f"anderson.{name}": Entry(
            dict(V=np.full((3, 2, 2), 0.1), E=0.3, lead="L", t=T3, edge_tol=1e-9),
            dict(V="potential", E="real", lead="choice", t="hoppings", edge_tol="nonneg"),
        )
        for name in ("scattering_states", "mode_sum", "G")
    },
    "anderson.off_edge_energy": Entry(
        dict(E=0.0, Ny=4, Nz=4, t=T3, shift=1e-7, edge_tol=1e-9),
        dict(E="real", Ny="size", Nz="size", t="hoppings", shift="real", edge_tol="nonneg"),
    ),
    "anderson.bias_window": Entry(
        dict(mu_left=0.5, mu_right=-0.5, n_nodes=4),
        dict(mu_left="real", mu_right="real", n_nodes="size"),
    ),
    "anderson.correlation_matrix": Entry(
        dict(
            V=np.full((3, 2, 2), 0.1),
            t=T3,
            leads="RL",
            energies=(0.3, -0.3),
            weights=(1.0, -1.0),
            edge_tol=1e-9,
        ),
        dict(
            V="potential",
            t="hoppings",
            leads="choice",
            energies="reals",
            weights="reals",
            edge_tol="nonneg",
        ),
    ),
    "anderson.dense_green": Entry(
        dict(V=np.full((3, 2, 2), 0.1), E=0.3, t=T3, edge_tol=1e-9),
        dict(V="potential", E="real", t="hoppings", edge_tol="nonneg"),
    ),
    "anderson.DenseGreen.mode_sum": Entry(dict(lead="R"), dict(lead="choice"), obj=_dense_green),
    "anderson.bond_currents": Entry(
        dict(G=np.eye(12, dtype=complex), shape=(3, 2, 2), t=T3),
        dict(G="matrix", shape="shape", t="hoppings"),
    ),
    "anderson.density_profile": Entry(
        dict(
            trace=np.arange(12.0).reshape(3, 4),
            term_traces=np.arange(24.0).reshape(3, 2, 4),
            n_perp=4,
        ),
        dict(trace="matrix", term_traces="matrix", n_perp="extent"),
    ),
    "anderson.central_halves": Entry(dict(L=4), dict(L="size")),
    "anderson.f_ab": Entry(
        dict(frobenius=np.ones((6, 6)), L=4), dict(frobenius="matrix", L="size")
    ),
    "anderson.diagonal_fluctuation": Entry(
        dict(V=np.full((3, 2, 2), 0.1), E=0.3, lead="L", t=T3),
        dict(V="potential", E="real", lead="choice", t="hoppings"),
    ),
    "anderson.f_ab_at": Entry(
        dict(V=np.full((4, 2, 2), 0.1), E=0.3, t=T3), dict(V="potential", E="real", t="hoppings")
    ),
    "anderson.f_ab_clean": Entry(dict(E=0.3, L=2, t=T3), dict(E="real", L="size", t="hoppings")),
    "anderson.delta_phi": Entry(
        dict(psi=_psi(), A=[0], B=[2], psi_shifted=_psi()),
        dict(
            psi="states", A=("indices", 0, 2, True), B=("indices", 0, 2, True), psi_shifted="states"
        ),
    ),
    "anderson.i_ab": Entry(
        dict(
            cross_sums=np.exp(-(np.arange(3.0)[None, :] ** 2) / 8)
            * np.array([[1.0], [2.0], [1.5]]),
            eps=[0.0, 1.0, 2.0],
            fit_max=8.0,
        ),
        dict(cross_sums="matrix", eps="reals", fit_max="positive"),
    ),
    "anderson.slice_gram": Entry(dict(psi=_psi()), dict(psi="states")),
    "anderson.slice_moments": Entry(
        dict(psi=_psi(), weights=[1.0, -1.0]), dict(psi="states", weights="reals")
    ),
    "anderson.disorder_moments": Entry(
        dict(
            rng=_rng(),
            Nx=3,
            Ny=2,
            Nz=2,
            W=1.0,
            t=T3,
            leads="L",
            energies=(0.0,),
            weights=(1.0,),
            edge_tol=1e-9,
        ),
        dict(rng="rng", leads="choice", energies="reals", weights="reals", **ANDERSON),
    ),
    "anderson.energy_correlation": Entry(
        dict(
            rng=_rng(), Nx=3, Ny=2, Nz=2, W=1.0, energies=(0.1, 0.3), t=T3, lead="L", edge_tol=1e-9
        ),
        dict(rng="rng", energies="reals", lead="choice", **ANDERSON),
    ),
    "anderson.u1_maps": Entry(
        dict(
            rng=_rng(),
            Nx=3,
            Ny=2,
            Nz=2,
            W=1.0,
            j=1,
            t=T3,
            leads="RL",
            energies=(0.2, -0.2),
            weights=(1.0, -1.0),
            edge_tol=1e-9,
        ),
        dict(
            rng="rng",
            j=("site", 0, 2),
            leads="choice",
            energies="reals",
            weights="reals",
            **ANDERSON,
        ),
    ),
    "anderson.loop_statistics": Entry(
        dict(
            rng=_rng(),
            Nx=3,
            Ny=2,
            Nz=2,
            W=1.0,
            pairs=[(1, 2)],
            t=T3,
            leads="RL",
            energies=(0.2, -0.2),
            weights=(1.0, -1.0),
            edge_tol=1e-9,
            realizations=1,
        ),
        dict(
            rng="rng",
            pairs=("pairs", 3),
            realizations="size",
            leads="choice",
            energies="reals",
            weights="reals",
            **ANDERSON,
        ),
    ),
    "anderson.loop_cumulants": Entry(
        dict(data=Fresh(_anderson_data), pairs=[(1, 2)]), dict(data="data", pairs=("pairs", 3))
    ),
    "anderson.cut_pairs": Entry(dict(Nx=4, cuts=[(0.78, 0.23)]), dict(Nx="extent", cuts="matrix")),
    "anderson.imbalances": Entry(
        dict(data=Fresh(_anderson_data), pairs=[(1, 2)], length_power=1),
        dict(data="data", pairs=("pairs", 3), length_power="choice"),
    ),
    "anderson.Imbalances.summary": Entry(dict(chi2=True), dict(chi2="flag"), obj=_imbalances),
    # circuit
    "circuit.local_equilibrium": Entry(dict(L=2, delta=0.5), dict(L="size", delta="drive")),
    "circuit.product_state": Entry(dict(occupations=[0.2, 0.7]), dict(occupations="occupations")),
    "circuit.apply_gates": Entry(
        dict(rho=_rho(2), bonds=[0, 1, 2], gates=np.stack([ISWAP] * 3), delta=0.5),
        # apply_gates leaves out the positivity check (a factorisation of rho)
        dict(rho="trace_one", bonds=("indices", 0, 2, False), gates="unitaries", delta="drive"),
    ),
    "circuit.evolve": Entry(
        dict(rho=_rho(2), steps=3, rng=_rng(), p1=0.3, p2=0.2, delta=0.5),
        dict(rho="rho", steps="count", rng="rng", **PD),
    ),
    "circuit.trace_distance": Entry(
        dict(rho=_rho(2), sigma=np.eye(4) / 4), dict(rho="rho", sigma="rho")
    ),
    "circuit.occupations": Entry(dict(rho=_rho(2)), dict(rho="rho")),
    "circuit.neas_samples": Entry(
        dict(
            rng=_rng(), L=2, p1=0.3, p2=0.2, delta=0.5, n_samples=2, sweeps_between=1.0, burn_in=1.0
        ),
        dict(
            rng="rng", L="size", n_samples="size", sweeps_between="positive", burn_in="time", **PD
        ),
    ),
    "circuit.time_traces": Entry(
        dict(
            rng=_rng(),
            L=2,
            p1=0.3,
            p2=0.2,
            delta=0.5,
            duration=2,
            initial=_rho(2),
            other=np.eye(4) / 4,
        ),
        dict(rng="rng", L="size", duration="size", initial="rho", other="rho", **PD),
    ),
    "circuit.phase_one_entropy_deficit": Entry(dict(L=3, delta=0.5), dict(L="size", delta="drive")),
    "circuit.local_equilibrium_entropy": Entry(dict(L=3, delta=0.5), dict(L="size", delta="drive")),
    "circuit.deficit_estimate": Entry(
        dict(samples={"S": np.ones((2, 3)), "I": np.zeros((2, 3))}, L=3, delta=0.5),
        dict(samples="data", L="size", delta="drive"),
    ),
    "circuit.occupation_estimate": Entry(
        dict(samples={"n": np.full((2, 3, 2), 0.5), "nn": np.full((2, 3, 2, 2), 0.25)}),
        dict(samples="data"),
    ),
    # circuitscattering
    "circuitscattering.InjectedModes.times": Entry({}, {}, obj=_modes),
    "circuitscattering.propagate": Entry(
        dict(bonds=[0, 1, 2, 3, 0], us=_us(5), L=3, sides="LR", initial=True),
        dict(
            bonds=("indices", 0, 3, False),
            us="unitaries",
            L="size",
            sides="choice",
            initial="flag",
        ),
    ),
    "circuitscattering.mode_sums": Entry(dict(modes=Fresh(_modes)), dict(modes="record")),
    "circuitscattering.correlation": Entry(
        dict(modes=Fresh(_modes), delta=0.5, C0=_corr(3)),
        dict(modes="record", delta="drive", C0="corr"),
    ),
    "circuitscattering.pair_function": Entry(
        dict(modes=Fresh(_modes), A=[0], B=[2]),
        dict(modes="record", A=("indices", 0, 2, True), B=("indices", 0, 2, True)),
    ),
    "circuitscattering.pair_statistics": Entry(
        dict(rng=_rng(), L=4, p1=0.5, window=0.5, n_bins=5, A=[0, 1], B=[3]),
        dict(
            rng="rng",
            L="size",
            p1="prob",
            window="positive",
            n_bins="size",
            A=("indices", 0, 3, True),
            B=("indices", 0, 3, True),
        ),
    ),
    "circuitscattering.lag_function": Entry(
        dict(lag=np.array([[1.0, 0.5, -0.1], [1.2, 0.4, 0.0]]), L=4, window=2.0),
        dict(lag="realizations", L="extent", window="positive"),
    ),
    "circuitscattering.mean_profile": Entry(
        dict(L=4, ages=[0.0, 1.0]), dict(L="size", ages="nonneg_reals")
    ),
    "circuitscattering.naive_coherence": Entry(dict(L=4, p1=0.5), dict(L="size", p1="prob")),
    # cumulants
    "cumulants.noncrossing_partitions": Entry(dict(n=3), dict(n="count")),
    "cumulants.set_partitions": Entry(dict(n=3), dict(n="count")),
    "cumulants.free_cumulants": Entry(dict(moments=[0.5, 0.3, 0.2]), dict(moments="reals")),
    "cumulants.cyclic_cumulant": Entry(
        dict(xs=[0.2, 0.5], dn=1.0), dict(xs="occupations", dn="real")
    ),
    "cumulants.loop_moments": Entry(
        dict(G=_corr(4), loops=[[0, 1], [1, 2]]), dict(G="matrix", loops=("loop_array", 4))
    ),
    "cumulants.loop_cumulants": Entry(
        dict(moments=np.linspace(0.1, 0.8, 8).reshape(2, 4)), dict(moments="matrix")
    ),
    "cumulants.cumulant_estimate": Entry(
        dict(moments=np.linspace(0.1, 0.8, 24).reshape(3, 2, 4)), dict(moments="matrix")
    ),
    "cumulants.cut_loops": Entry(
        dict(x=[0.2, 0.5, 0.8], cuts=[(0.3, 0.7)]), dict(x="occupations", cuts="matrix")
    ),
    "cumulants.distinct_sites": Entry(dict(loops=[[0, 1], [1, 1]]), dict(loops="matrix")),
    "cumulants.cut_cumulants": Entry(
        dict(data=Fresh(_cut_data), scale=3.0), dict(data="data", scale="positive")
    ),
    # fits
    "fits.weighted_least_squares": Entry(
        dict(design=np.column_stack([np.ones(4), X4]), y=Y4, sigma=SIGMA4),
        dict(design="matrix", y="points", sigma="positive_points"),
    ),
    "fits.line": Entry(
        dict(x=X4, y=Y4, sigma=SIGMA4), dict(x="points", y="points", sigma="positive_points")
    ),
    "fits.zero_crossing": Entry(dict(fit=Fresh(_line_fit)), dict(fit="record")),
    "fits.amplitude": Entry(
        dict(y=Y4, sigma=SIGMA4, shape=X4 + 1),
        dict(y="points", sigma="positive_points", shape="points"),
    ),
    "fits.extrapolate": Entry(
        dict(sizes=[8.0, 16.0, 32.0, 64.0], y=Y4, sigma=SIGMA4, powers=(1.0,)),
        dict(
            sizes="positive_points", y="points", sigma="positive_points", powers="positive_points"
        ),
    ),
    "fits.crossing": Entry(dict(x=X4, y=Y4, level=1.5), dict(x="points", y="points", level="real")),
    "fits.extrapolate_twice": Entry(
        dict(
            sizes=[8.0, 16.0, 32.0, 64.0],
            drives=[0.2, 0.3],
            y=np.stack([Y4, Y4 + 1]),
            sigma=np.stack([SIGMA4, SIGMA4]),
        ),
        dict(sizes="positive_points", drives="points", y="matrix", sigma="matrix"),
    ),
    "fits.power_law": Entry(
        dict(x=X4 + 1, y=(X4 + 1) ** 2, sigma=SIGMA4),
        dict(x="positive_points", y="positive_points", sigma="positive_points"),
    ),
    # freecircuit
    "freecircuit.local_equilibrium": Entry(dict(L=4, delta=0.5), dict(L="size", delta="drive")),
    "freecircuit.evolve": Entry(
        dict(C=_corr(4), steps=5, rng=_rng(), p1=0.5, delta=0.5),
        dict(C="corr", steps="count", rng="rng", p1="prob", delta="drive"),
    ),
    "freecircuit.apply_gates": Entry(
        dict(
            C=_corr(4), bonds=[0, 2, 4], us=np.stack([[[0, 1j], [1j, 0]]] * 3), delta=0.5, copy=True
        ),
        # apply_gates leaves out the spectrum of C (a diagonalisation costs thousands of gates)
        dict(
            C="hermitian",
            bonds=("indices", 0, 4, False),
            us="unitaries",
            delta="drive",
            copy="flag",
        ),
    ),
    "freecircuit.single_particle_sequence": Entry(
        dict(us4=np.stack([ISWAP] * 2)), dict(us4="unitaries")
    ),
    "freecircuit.neas_samples": Entry(
        dict(
            rng=_rng(),
            L=4,
            p1=0.5,
            delta=0.5,
            n_samples=2,
            sweeps_between=1.0,
            burn_in=1.0,
            cuts=[2],
            negativity=False,
        ),
        dict(
            rng="rng",
            L="size",
            p1="prob",
            delta="drive",
            n_samples="size",
            sweeps_between="positive",
            burn_in="time",
            cuts=("indices", 1, 3, True),
            negativity="flag",
        ),
    ),
    "freecircuit.loop_moments": Entry(
        dict(
            rng=_rng(),
            L=4,
            p1=0.5,
            delta=0.5,
            loops={"a": [[0, 1]]},
            n_samples=2,
            sweeps_between=1.0,
            burn_in=1.0,
        ),
        dict(
            rng="rng",
            L="size",
            p1="prob",
            delta="drive",
            loops=("loops", 4),
            n_samples="size",
            sweeps_between="positive",
            burn_in="time",
        ),
    ),
    "freecircuit.block_average": Entry(
        dict(matrix=np.arange(36.0).reshape(6, 6), blocks=3), dict(matrix="matrix", blocks="size")
    ),
    "freecircuit.coherence_collapse": Entry(
        dict(abs2=np.ones((2, 6, 6)), delta=0.5, blocks=3),
        dict(abs2="nonneg_reals", delta="drive", blocks="size"),
    ),
    "freecircuit.gaussian_model": Entry(
        dict(
            rng=_rng(),
            L=4,
            delta=0.5,
            coherence=np.full((4, 4), 0.05),
            fluctuation=np.full(4, 0.05),
        ),
        dict(
            rng="rng", L="size", delta="drive", coherence="nonneg_reals", fluctuation="nonneg_reals"
        ),
    ),
    "freecircuit.weak_drive_negativity": Entry(
        dict(L=4, coherence=np.full((4, 4), 0.05)), dict(L="size", coherence="nonneg_reals")
    ),
    "freecircuit.negativity_per_site": Entry(
        dict(Ef=np.array([[0.1, 0.2], [0.3, 0.4]]), L=4), dict(Ef="realizations", L="extent")
    ),
    "freecircuit.dense_negativities": Entry(
        dict(rng=_rng(), L=4, p1=1.0, delta=0.5, n_samples=2),
        dict(rng="rng", L="size", p1="prob", delta="drive", n_samples="size"),
    ),
    "freecircuit.gaussian_model_negativity": Entry(
        dict(
            rng=_rng(),
            L=4,
            delta=0.5,
            n_samples=2,
            cuts=[2],
            coherence=np.full((4, 4), 0.05),
            fluctuation=np.full(4, 0.05),
        ),
        dict(
            rng="rng",
            L="size",
            delta="drive",
            n_samples="size",
            cuts=("indices", 1, 3, True),
            coherence="nonneg_reals",
            fluctuation="nonneg_reals",
        ),
    ),
    # gates
    "gates.sample_gate": Entry(dict(rng=_rng(), p1=0.3, p2=0.2), dict(rng="rng", **P)),
    "gates.sample_sequence": Entry(
        dict(rng=_rng(), steps=3, L=3, p1=0.3, p2=0.2),
        dict(rng="rng", steps="count", L="extent", **P),
    ),
    "gates.single_particle": Entry(dict(U=ISWAP), dict(U="gate")),
    "gates.is_gaussian": Entry(dict(U=ISWAP, atol=1e-12), dict(U="gate", atol="nonneg")),
    "gates.check_probabilities": Entry(dict(p1=0.3, p2=0.2), P),
    "gates.quadrature": Entry(
        dict(kind=1, n_phase=5, n_theta=3), dict(kind="choice", n_phase="size", n_theta="size")
    ),
    "gates.second_moment": Entry(dict(p1=0.3, p2=0.2), P),
    # gaussian
    "gaussian.entropy": Entry(
        dict(C=_corr(4), A=[0, 2]), dict(C="corr", A=("indices", 0, 3, True))
    ),
    "gaussian.mutual_information": Entry(
        dict(C=_corr(4), A=[0], B=[2]),
        dict(C="corr", A=("indices", 0, 3, True), B=("indices", 0, 3, True)),
    ),
    "gaussian.negativity": Entry(
        dict(C=_corr(4), A=[0], B=[2]),
        dict(C="corr", A=("indices", 0, 3, True), B=("indices", 0, 3, True)),
    ),
    "gaussian.negativity_lower_bound": Entry(
        dict(C=_corr(4), A=[0], B=[2]),
        dict(C="corr", A=("indices", 0, 3, True), B=("indices", 0, 3, True)),
    ),
    "gaussian.dense_state": Entry(dict(C=_corr(3)), dict(C="corr")),
    "gaussian.binary_entropy": Entry(dict(nu=[0.2, 0.5]), dict(nu="occupations")),
    "gaussian.check_correlation_matrix": Entry(dict(C=_corr(3)), dict(C="corr")),
    "gaussian.fermi_sea": Entry(dict(h=_corr(3), mu=0.5), dict(h="hermitian", mu="real")),
    # haarcircuit
    "haarcircuit.haar_unitary": Entry(dict(rng=_rng(), d=4), dict(rng="rng", d="size")),
    "haarcircuit.twirl": Entry(dict(X=np.eye(4)), dict(X="matrix")),
    "haarcircuit.pattern_map": Entry({}, {}),
    "haarcircuit.pauli_pairs": Entry({}, {}),
    "haarcircuit.sampled_weights": Entry(
        dict(rng=_rng(), pauli=(3, 0), n_gates=2),
        dict(rng="rng", pauli="pauli_pair", n_gates="size"),
    ),
    "haarcircuit.pattern_weights": Entry(
        dict(L=3, bulk=np.full((4, 4), 0.25)), dict(L="size", bulk="stochastic")
    ),
    "haarcircuit.boundary_rates": Entry({}, {}),
    "haarcircuit.averaged_map": Entry(
        dict(L=3, bulk=np.full((4, 4), 0.25)), dict(L="size", bulk="stochastic")
    ),
    "haarcircuit.average_purity": Entry(
        dict(L=3, bulk=np.full((4, 4), 0.25)), dict(L="size", bulk="stochastic")
    ),
    "haarcircuit.reduced_purity": Entry(
        dict(L=10, site_one_fraction=0.75), dict(L="size", site_one_fraction="prob")
    ),
    "haarcircuit.neas_purity": Entry(
        dict(rng=_rng(), L=2, n_samples=2, burn_in=2),
        dict(rng="rng", L="size", n_samples="size", burn_in="count"),
    ),
    # probe
    "probe.beam_splitter_currents": Entry(
        dict(C=_corr(3), i=0, j=1, r=HALF, t=HALF),
        dict(C="hermitian", i=("site", 0, 2), j=("site", 0, 2), r="splitter", t="splitter"),
    ),
    "probe.fringe": Entry(
        dict(C=_corr(3), i=0, j=1, phases=[0.0, 1.0]),
        dict(C="hermitian", i=("site", 0, 2), j=("site", 0, 2), phases="reals"),
    ),
    "probe.difference_variance": Entry(
        dict(C=_corr(3), i=0, j=1, r=HALF, t=HALF),
        dict(C="corr", i=("site", 0, 2), j=("site", 0, 2), r="splitter", t="splitter"),
    ),
    "probe.splitter_matrix": Entry(dict(r=HALF, t=HALF), dict(r="splitter", t="splitter")),
    "probe.device_hamiltonian": Entry(
        dict(gamma=0.5, r=HALF, t=HALF, arm_lengths=(4, 4), out_length=10),
        dict(gamma="gamma", r="splitter", t="splitter", arm_lengths="lengths", out_length="size"),
    ),
    "probe.emitted_charges": Entry(
        dict(
            C=_corr(3),
            i=0,
            j=1,
            gamma=0.5,
            r=HALF,
            t=HALF,
            times=[0.0, 1.0],
            arm_lengths=(4, 4),
            out_length=10,
        ),
        dict(
            C="hermitian",
            i=("site", 0, 2),
            j=("site", 0, 2),
            gamma="gamma",
            r="splitter",
            t="splitter",
            times="nonneg_reals",
            arm_lengths="lengths",
            out_length="size",
        ),
    ),
    "probe.coherence_factor": Entry(
        dict(gamma=0.5, path_difference=2), dict(gamma="gamma", path_difference="integer")
    ),
    "probe.detected_charges": Entry(
        dict(C=_corr(3), i=0, j=1, gamma=0.5, r=HALF, t=HALF, arm_lengths=(4, 4)),
        dict(
            C="hermitian",
            i=("site", 0, 2),
            j=("site", 0, 2),
            gamma="gamma",
            r="splitter",
            t="splitter",
            arm_lengths="extents",
        ),
    ),
    "probe.leading_coefficient": Entry(dict(path_difference=3), dict(path_difference="integer")),
    "probe.device_ratio": Entry(
        dict(C=_corr(3), i=0, j=1, gamma=0.5, r=HALF, t=HALF, arm_lengths=(3, 4)),
        dict(
            C="hermitian",
            i=("site", 0, 2),
            j=("site", 0, 2),
            gamma="gamma",
            r="splitter",
            t="splitter",
            arm_lengths="lengths",
        ),
    ),
    "probe.sample_counts": Entry(
        dict(rng=_rng(), C=_corr(3), i=0, j=2, r=HALF, t=HALF, repetitions=5),
        dict(
            rng="rng",
            C="corr",
            i=("site", 0, 2),
            j=("site", 0, 2),
            r="splitter",
            t="splitter",
            repetitions="size",
        ),
    ),
    "probe.estimate_coherence": Entry(
        dict(rng=_rng(), C=_corr(3), i=0, j=2, repetitions=5),
        dict(rng="rng", C="corr", i=("site", 0, 2), j=("site", 0, 2), repetitions="size"),
    ),
    "probe.repetitions": Entry(
        dict(C=_corr(3), i=0, j=2, abs2=0.01, confidence=3.0),
        dict(C="corr", i=("site", 0, 2), j=("site", 0, 2), abs2="nonneg", confidence="positive"),
    ),
    "probe.neas_repetitions": Entry(
        dict(L=4, delta=0.5, i=[0, 1], j=[3, 2], confidence=3.0),
        dict(
            L="size",
            delta="drive",
            i=("indices", 0, 3, False),
            j=("indices", 0, 3, False),
            confidence="positive",
        ),
    ),
    "probe.centred_pair": Entry(
        dict(C=_corr(4), delta=0.5, separation=2, phase=0.0, phases=[0.0, 1.0]),
        dict(
            C="hermitian",
            delta="drive",
            separation=("site", 1, 3),
            phase="real",
            phases="reals",
        ),
    ),
    # qssep
    "qssep.coordinate": Entry(
        dict(N=4, J=1.0, gamma_a=1.0, gamma_b=1.0),
        dict(N="size", J="positive", gamma_a="positive", gamma_b="positive"),
    ),
    "qssep.exact_second_moments": Entry(
        dict(N=3, J=1.0, gamma_a=1.0, gamma_b=1.0, n_a=0.0, n_b=1.0),
        dict(
            N="size", J="positive", gamma_a="positive", gamma_b="positive", n_a="prob", n_b="prob"
        ),
    ),
    "qssep.evolve": Entry(
        dict(
            G=_corr(4),
            time=0.1,
            dt=0.05,
            rng=_rng(),
            J=1.0,
            gamma_a=1.0,
            gamma_b=1.0,
            n_a=0.0,
            n_b=1.0,
        ),
        dict(
            G="corr",
            time="time",
            dt="positive",
            rng="rng",
            J="positive",
            gamma_a="positive",
            gamma_b="positive",
            n_a="prob",
            n_b="prob",
        ),
    ),
    "qssep.qssep_loop_moments": Entry(
        dict(
            rng=_rng(),
            N=4,
            loops={"a": [[0, 1]]},
            n_samples=2,
            time_between=0.1,
            burn_in=0.1,
            dt=0.05,
            J=1.0,
            gamma_a=1.0,
            gamma_b=1.0,
            n_a=0.0,
            n_b=1.0,
        ),
        dict(
            rng="rng",
            N="size",
            loops=("loops", 4),
            n_samples="size",
            time_between="positive",
            burn_in="time",
            dt="positive",
            J="positive",
            gamma_a="positive",
            gamma_b="positive",
            n_a="prob",
            n_b="prob",
        ),
    ),
    "qssep.amplitude": Entry(
        dict(y=Y4, sigma=SIGMA4, shape=X4 + 1),
        dict(y="points", sigma="positive_points", shape="points"),
    ),
    "qssep.g2_amplitude": Entry(
        dict(
            g2=np.full((4, 4), 0.1),
            g2_err=np.full((4, 4), 0.01),
            x=[0.2, 0.4, 0.6, 0.8],
            min_separation=1,
        ),
        dict(g2="matrix", g2_err="matrix", x="occupations", min_separation=("site", 1, 3)),
    ),
    "qssep.g3_amplitude": Entry(
        dict(cut=Fresh(_cut), loops=Fresh(_cut_loops), x=[0.2, 0.4, 0.6, 0.8]),
        dict(cut="record", loops="data", x="occupations"),
    ),
    "qssep.coinciding": Entry(
        dict(cut=Fresh(_cut), loops=Fresh(_cut_loops), x=[0.2, 0.4, 0.6, 0.8]),
        dict(cut="record", loops="data", x="occupations"),
    ),
    "qssep.extrapolate_amplitude": Entry(
        dict(
            sizes=[1.0, 2.0, 4.0],
            amplitudes=[(0.8, 0.04), (0.9, 0.03), (0.95, 0.02)],
            powers=(1.0,),
        ),
        dict(sizes="positive_points", amplitudes="matrix", powers="positive_points"),
    ),
    "qssep.imbalance": Entry(dict(A=(0.7, 0.01, 1.0), n=2), dict(A="reals", n="size")),
    # quantum
    "quantum.n_sites": Entry(dict(rho=_rho(2)), dict(rho="shape")),
    "quantum.entropy": Entry(dict(rho=_rho(2)), dict(rho="rho")),
    "quantum.number_conserving_entropy": Entry(
        dict(rho=_rho(2), atol=1e-10), dict(rho="rho", atol="nonneg")
    ),
    "quantum.purity": Entry(dict(rho=_rho(2)), dict(rho="rho")),
    "quantum.partial_trace": Entry(
        dict(rho=_rho(3), A=[0, 2]), dict(rho="matrix", A=("indices", 0, 2, True))
    ),
    "quantum.mutual_information": Entry(
        dict(rho=_rho(3), A=[0], B=[2]),
        dict(rho="rho", A=("indices", 0, 2, True), B=("indices", 0, 2, True)),
    ),
    "quantum.log_negativity": Entry(
        dict(rho=_rho(3), A=[0], B=[2]),
        dict(rho="rho", A=("indices", 0, 2, True), B=("indices", 0, 2, True)),
    ),
    "quantum.correlation_matrix": Entry(dict(rho=_rho(2)), dict(rho="rho")),
    # quditcircuit
    "quditcircuit.sample_gate": Entry(
        dict(rng=_rng(), q=2, p1=0.5), dict(rng="rng", q="size", p1="prob")
    ),
    "quditcircuit.sample_sequence": Entry(
        dict(rng=_rng(), steps=3, L=2, q=2, p1=0.5),
        dict(rng="rng", steps="count", L="extent", q="size", p1="prob"),
    ),
    **{
        f"quditcircuit.{name}": Entry(
            dict(L=2, q=2, delta=0.5), dict(L="size", q="size", delta="drive")
        )
        for name in ("local_equilibrium", "local_equilibrium_entropy")
    },
    "quditcircuit.apply_gates": Entry(
        dict(
            rho=_qudit_rho(2, 2),
            bonds=[0, 1, 2],
            gates=np.stack([_qudit_gate(2, k) for k in range(3)]),
            delta=0.5,
            q=2,
        ),
        # as circuit.apply_gates: no positivity check (a factorisation of rho)
        dict(
            rho=("qudit_rho", False),
            bonds=("indices", 0, 2, False),
            gates="qudit_gates",
            delta="drive",
            q="size",
        ),
    ),
    "quditcircuit.evolve": Entry(
        dict(rho=_qudit_rho(2, 2), steps=3, rng=_rng(), q=2, p1=0.5, delta=0.5),
        dict(rho=("qudit_rho", True), steps="count", rng="rng", q="size", p1="prob", delta="drive"),
    ),
    "quditcircuit.neas_samples": Entry(
        dict(rng=_rng(), L=2, q=2, p1=0.5, delta=0.5, n_samples=2, sweeps_between=1.0, burn_in=1.0),
        dict(
            rng="rng",
            L="size",
            q="size",
            p1="prob",
            delta="drive",
            n_samples="size",
            sweeps_between="positive",
            burn_in="time",
        ),
    ),
    "quditcircuit.ladder_bonds": Entry(dict(L=2), dict(L="size")),
    "quditcircuit.ladder_local_equilibrium": Entry(
        dict(L=2, delta=0.5), dict(L="size", delta="drive")
    ),
    "quditcircuit.ladder_apply_gates": Entry(
        dict(rho=_rho(4), bonds=[0, 2, 4, 7], gates=np.stack([ISWAP] * 4), delta=0.5),
        dict(
            rho=("qudit_rho", False),
            bonds=("indices", 0, 7, False),
            gates="qudit_gates",
            delta="drive",
        ),
    ),
    "quditcircuit.ladder_evolve": Entry(
        dict(rho=_rho(4), steps=3, rng=_rng(), p1=0.5, p2=0.2, delta=0.5),
        dict(rho=("qudit_rho", True), steps="count", rng="rng", **PD),
    ),
    "quditcircuit.ladder_neas_samples": Entry(
        dict(
            rng=_rng(),
            L=2,
            p1=0.5,
            p2=0.2,
            delta=0.5,
            n_samples=2,
            sweeps_between=1.0,
            burn_in=1.0,
        ),
        dict(
            rng="rng",
            L="size",
            n_samples="size",
            sweeps_between="positive",
            burn_in="time",
            **PD,
        ),
    ),
    "quditcircuit.gate_twirl": Entry(
        dict(X=np.eye(16), q=1, p1=0.5), dict(X="matrix", q="size", p1="prob")
    ),
    "quditcircuit.sampled_gate_twirl": Entry(
        dict(rng=_rng(), A=np.diag([1.0, 0.0, 0.0, 1.0]), B=np.eye(4), q=1, p1=0.5, n_gates=2),
        dict(rng="rng", A="matrix", B="matrix", q="size", p1="prob", n_gates="size"),
    ),
    "quditcircuit.reduced_gate": Entry(dict(q=2, p1=0.5), dict(q="size", p1="prob")),
    "quditcircuit.reduced_boundary": Entry(
        dict(q=2, p1=0.5, delta=0.5, side="left"),
        dict(q="size", p1="prob", delta="drive", side="choice"),
    ),
    **{
        f"quditcircuit.{name}": Entry(
            dict(L=2, q=2, p1=0.5, delta=0.5),
            dict(L="size", q="size", p1="prob", delta="drive"),
        )
        for name in ("reduced_channel", "two_copy_average")
    },
    "quditcircuit.ladder_two_copy_average": Entry(
        dict(L=2, p1=0.5, p2=0.2, delta=0.5), dict(L="size", **PD)
    ),
    "quditcircuit.chain_two_copy_average": Entry(
        dict(L=2, p1=0.5, p2=0.2, delta=0.5), dict(L="size", **PD)
    ),
    "quditcircuit.neas_summary": Entry(
        dict(
            samples={"S": np.ones((3, 2)), "I": np.zeros((3, 2)), "P": np.ones((3, 2))},
            entropy_le=1.0,
            n_sites=2,
        ),
        dict(samples="data", entropy_le="real", n_sites="extent"),
    ),
    "quditcircuit.renyi2_local_equilibrium": Entry(
        dict(L=2, q=2, delta=0.5, legs=1),
        # a closed form: a huge q is valid (L ln q)
        dict(L="size", q="extent", delta="drive", legs=("site", 1, 2)),
    ),
    # quench
    "quench.mean_occupations": Entry(
        dict(initial=[0.2, 0.8, 0.5], times=[0, 1, 2], left=0.7, right=0.3),
        dict(initial="occupations", times="times", left="prob", right="prob"),
    ),
    "quench.phase_one_entropy": Entry(
        dict(L=4, times=[0, 1], delta=0.5), dict(L="size", times="times", delta="drive")
    ),
    "quench.phase_one_asymptote": Entry(
        dict(times=[0, 1], delta=0.5), dict(times="times", delta="drive")
    ),
    "quench.phase_one_half_time": Entry(dict(L=4), dict(L="size")),
    "quench.half_saturation_time": Entry(
        dict(times=[0, 1, 2, 3], samples=np.outer([1.0, 1.2, 0.8], [0.0, 0.5, 1.0, 1.5]), L=2),
        dict(times="times", samples="reals", L="extent"),
    ),
    "quench.neel_occupations": Entry(dict(L=4), dict(L="size")),
    "quench.step_occupations": Entry(dict(L=4, delta=0.5), dict(L="size", delta="drive")),
    "quench.region": Entry(dict(L=6, x=2), dict(L="extent", x=("site", 1, 3))),
    "quench.dense_trace": Entry(
        dict(
            rng=_rng(),
            occupations=[0.7, 0.7, 0.3, 0.3],
            p1=0.3,
            p2=0.2,
            delta=0.5,
            times=[0, 1],
            half_widths=[1],
        ),
        dict(
            rng="rng",
            occupations="occupations",
            times="sim_times",
            half_widths=("indices", 1, 2, False),
            **PD,
        ),
    ),
    "quench.gaussian_trace": Entry(
        dict(
            rng=_rng(),
            occupations=[0.7, 0.7, 0.3, 0.3],
            p1=0.3,
            delta=0.5,
            times=[0, 1],
            half_widths=[1],
        ),
        dict(
            rng="rng",
            occupations="occupations",
            p1="prob",
            delta="drive",
            times="sim_times",
            half_widths=("indices", 1, 2, False),
        ),
    ),
    "quench.local_equilibrium_deficit": Entry(
        dict(n=[0.7, 0.7, 0.3, 0.3], S_region=[0.5], half_widths=[1]),
        dict(n="occupations", S_region="reals", half_widths=("indices", 1, 2, False)),
    ),
    "quench.at_diffusion_length": Entry(
        dict(times=[0, 1, 2, 3], half_widths=[1, 2], values=np.arange(8.0).reshape(4, 2), D=0.5),
        dict(times="times", half_widths="reals", values="reals", D="positive"),
    ),
    "quench.growth_exponent": Entry(
        dict(
            times=np.arange(10),
            samples=np.sqrt(np.arange(10.0)) * [[1.0], [1.1], [0.9]],
            t_min=1.0,
            t_max=9.0,
        ),
        dict(times="times", samples="reals", t_min="real", t_max="real"),
    ),
    "quench.crossing_time": Entry(
        dict(times=[0, 1, 2, 3], values=[0.0, 0.2, 0.6, 0.9], level=0.5),
        dict(times="times", values="reals", level="real"),
    ),
    # spreading
    "spreading.gate_quadrature": Entry(
        dict(kind=1, n_phase=5, n_theta=3), dict(kind="choice", n_phase="size", n_theta="size")
    ),
    "spreading.heisenberg_matrix": Entry(dict(U=ISWAP), dict(U="gate")),
    **{
        f"spreading.{name}": Entry(dict(p1=0.3, p2=0.2), P)
        for name in ("two_copy_map", "pair_map", "weight_chain", "chain_rates", "tau_in")
    },
    "spreading.tau_in_map": Entry(
        dict(p1=np.array([0.2, 0.6]), p2=np.array([0.3, 0.7])),
        dict(p1="occupations", p2="occupations"),
    ),
    "spreading.outcomes": Entry(
        dict(M=np.eye(16), source="+1", tol=1e-12),
        dict(M="matrix", source="choice", tol="nonneg"),
    ),
    "spreading.averaged_otoc": Entry(
        dict(L=3, p1=0.3, p2=0.2, n_gates=2, site=1, coherent=True),
        dict(L="size", n_gates="count", site=("site", 0, 2), coherent="flag", **P),
    ),
    "spreading.poisson_clock": Entry(
        dict(profiles=_profiles, L=4, times=[0.5]),
        dict(profiles="reals", L="size", times="nonneg_reals"),
    ),
    "spreading.dense_otoc": Entry(
        dict(rng=_rng(), L=3, p1=0.3, p2=0.2, n_records=2, gates_per_record=2, site=1),
        dict(
            rng="rng",
            L="size",
            n_records="count",
            gates_per_record="count",
            site=("site", 0, 2),
            **P,
        ),
    ),
    "spreading.sample_chain": Entry(
        dict(rng=_rng(), L=11, p1=0.3, p2=0.2, times=[0.0, 1.0, 2.0], n_samples=2, site=5),
        dict(
            rng="rng", L="size", times="nonneg_reals", n_samples="size", site=("site", 0, 10), **P
        ),
    ),
    "spreading.sampled_two_copy_map": Entry(
        dict(rng=_rng(), p1=0.3, p2=0.2, n_gates=2), dict(rng="rng", n_gates="size", **P)
    ),
    "spreading.sample_chain_batches": Entry(
        dict(rng=_rng(), L=11, p1=0.3, p2=0.2, times=[0.0, 1.0], n_samples=2, n_batches=2, site=5),
        dict(
            rng="rng",
            L="size",
            times="nonneg_reals",
            n_samples="size",
            n_batches="size",
            site=("site", 0, 10),
            **P,
        ),
    ),
    "spreading.ChainBatches.otoc_near": Entry(
        dict(t_min=1.0, half_width=2), dict(t_min="real", half_width="count"), obj=_chain_batches
    ),
    "spreading.front_velocity": Entry(
        dict(times=[0.0, 1.0, 2.0, 3.0], right=[[0.0, 1.0, 2.0, 3.0]] * 2, t_min=1.0),
        dict(times="reals", right="reals", t_min="real"),
    ),
    "spreading.butterfly_velocity": Entry(
        dict(rng=_rng(), p1=0.5, p2=0.5, n_samples=2, horizon=2.0, points=5),
        dict(rng="rng", n_samples="size", horizon="positive", points="size", **P),
    ),
    "spreading.velocity_scan": Entry(
        dict(
            p=[0.01, 0.03, 0.1],
            velocities=[
                dict(v=q, err=0.1 * q, v_half=q, err_half=0.1 * q, v_linear=q) for q in (1, 2, 3)
            ],
        ),
        dict(p="positive_points", velocities="results"),
    ),
    "spreading.linear_front_speed": Entry(
        dict(r1=0.3, r2=0.5, D=0.5, lattice=True),
        dict(r1="nonneg", r2="nonneg", D="positive", lattice="flag"),
    ),
    "spreading.solve_front_equations": Entry(
        dict(r1=0.3, r2=0.5, t_max=1.0, num=3, L=10, D=0.5, threshold=1.0),
        dict(
            r1="nonneg",
            r2="nonneg",
            t_max="positive",
            num="size",
            L="size",
            D="positive",
            threshold="positive",
        ),
    ),
    # ssep
    "ssep.density": Entry(dict(L=4, delta=0.5), dict(L="size", delta="drive")),
    "ssep.connected_two_point": Entry(dict(L=4, delta=0.5), dict(L="size", delta="drive")),
    "ssep.two_point_scaling": Entry(
        dict(x=0.3, y=0.6, delta=0.5), dict(x="prob", y="prob", delta="drive")
    ),
    "ssep.three_point_scaling": Entry(
        dict(x=0.3, y=0.6, z=0.8, delta=0.5), dict(x="prob", y="prob", z="prob", delta="drive")
    ),
    "ssep.configurations": Entry(dict(L=3), dict(L="size")),
    "ssep.steady_state": Entry(dict(L=3, delta=0.5), dict(L="size", delta="drive")),
    "ssep.distribution_moments": Entry(dict(P=np.full(8, 0.125)), dict(P="occupations")),
    "ssep.product_moments": Entry(
        dict(L=4, delta=0.5, order=2), dict(L="size", delta="drive", order=("site", 1, 3))
    ),
    "ssep.connected_three_point": Entry(dict(L=4, delta=0.5), dict(L="size", delta="drive")),
    "ssep.sample": Entry(
        dict(L=4, delta=0.5, n_samples=2, rng=_rng(), sweeps_between=1.0, burn_in=1.0),
        dict(
            L="size",
            delta="drive",
            n_samples="size",
            rng="rng",
            sweeps_between="positive",
            burn_in="time",
        ),
    ),
    "ssep.monte_carlo_moments": Entry(
        dict(rng=_rng(), L=4, delta=0.5, n_samples=2, blocks=2, sweeps_between=1.0, burn_in=1.0),
        dict(
            rng="rng",
            L="size",
            delta="drive",
            n_samples="size",
            blocks="size",
            sweeps_between="positive",
            burn_in="time",
        ),
    ),
    "ssep.cumulants_from_moments": Entry(
        dict(sums={"n": 2.0, "s1": np.ones(4), "s2": np.ones((4, 4)), "b3": np.ones((2, 2, 2))}),
        dict(sums="data"),
    ),
    # stats
    # trajectory
    "trajectory.relaxation_time": Entry(
        dict(length=7.0, D=0.5), dict(length="positive", D="positive")
    ),
    "trajectory.burn_in": Entry(dict(length=7.0, D=0.5), dict(length="positive", D="positive")),
    "trajectory.chain_schedule": Entry(
        dict(L=4, sweeps_between=1.0, burn_in=2.0),
        dict(L="extent", sweeps_between="positive", burn_in="nonneg"),
    ),
    "trajectory.states": Entry(
        dict(state=0.0, step=_advance, burn_in=2.0, between=1.0, n_samples=3),
        dict(step="callable", burn_in="nonneg", between="positive", n_samples="extent"),
    ),
    "trajectory.sample": Entry(
        dict(state=0.0, step=_advance, burn_in=2.0, between=1.0, n_samples=3, measure=np.square),
        dict(
            step="callable",
            burn_in="nonneg",
            between="positive",
            n_samples="extent",
            measure="callable",
        ),
    ),
    "stats.stack": Entry(dict(results=[np.ones(2), np.zeros(2)]), dict(results="results")),
    "stats.mean_error": Entry(
        dict(samples=np.arange(6.0).reshape(3, 2), ddof=1),
        dict(samples="realizations", ddof="choice"),
    ),
    "stats.z_scores": Entry(
        dict(a=[1.0, 2.0], a_err=[0.1, 0.2], b=[0.5, 0.5], b_err=[0.1, 0.1]),
        dict(a="reals", a_err="nonneg_reals", b="reals", b_err="nonneg_reals"),
    ),
    "stats.jackknife": Entry(
        dict(estimator=np.mean, data=np.arange(5.0)),
        dict(estimator="callable", data="realizations"),
    ),
}


@dataclass(frozen=True)
class Call:
    """One call of the matrix: ``arg`` is None for the valid call, else ``arg`` gets ``label``."""

    function: str
    arg: str = None
    label: str = None

    @property
    def id(self):
        return self.function if self.arg is None else f"{self.function}:{self.arg}={self.label}"


def calls():
    """Every call of the matrix, the valid call of each function first."""
    out = []
    for function, entry in REGISTRY.items():
        out.append(Call(function))
        for arg, kind in entry.kinds.items():
            out += [Call(function, arg, label) for label, _ in bad_values(kind, entry.kwargs[arg])]
    return out


def public_functions():
    """Names ``module.function`` (and ``module.Class.method``) of every public callable of the
    audited modules, from ``__all__``; imports nqlib."""
    out = []
    for module in MODULES:
        mod = importlib.import_module(f"nqlib.{module}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                out.append(f"{module}.{name}")
                out += [
                    f"{module}.{name}.{m}"
                    for m, f in vars(obj).items()
                    if not m.startswith("_") and inspect.isfunction(f)
                ]
            elif callable(obj):
                out.append(f"{module}.{name}")
    return out


# --------------------------------------------------------------------------- the worker
def _resolve(value):
    return value.make() if isinstance(value, Fresh) else value


def _target(function, entry, objects):
    module, *rest = function.split(".")
    mod = importlib.import_module(f"nqlib.{module}")
    if entry.obj is None:
        return getattr(mod, rest[0])
    if function not in objects:
        objects[function] = entry.obj()
    return getattr(objects[function], rest[-1])


def run_one(call, objects):
    """Run one call in this process and classify it (``clear``, ``deep``, ``silent``,
    ``unguarded``); returns (outcome, detail)."""
    entry = REGISTRY[call.function]
    kwargs = {name: _resolve(value) for name, value in entry.kwargs.items()}
    if call.arg is not None:
        kwargs[call.arg] = dict(bad_values(entry.kinds[call.arg], entry.kwargs[call.arg]))[
            call.label
        ]
    fn = _target(call.function, entry, objects)
    start = time.perf_counter()
    try:
        fn(*entry.args, **kwargs)
    except MemoryError as error:
        return "unguarded", f"MemoryError {error}"[:300]
    except Exception as error:  # noqa: BLE001 - classifying every failure is the point
        seconds = time.perf_counter() - start
        text = f"{type(error).__name__}: {error}"[:300]
        if seconds > SLOW_S:
            return "unguarded", f"{seconds:.1f} s, then {text}"
        if call.arg is None:
            return "deep", text
        named = re.search(rf"(?<![A-Za-z0-9_]){re.escape(call.arg)}(?![A-Za-z0-9_])", str(error))
        if isinstance(error, (ValueError, TypeError)) and named:
            return "clear", text
        return "deep", text
    seconds = time.perf_counter() - start
    if seconds > SLOW_S:
        return "unguarded", f"{seconds:.1f} s, then returned"
    return "silent", f"returned in {seconds:.2f} s"


def _worker(repo):
    """Serve calls read from stdin (one id per line), one JSON result per line on stdout."""
    import resource

    limit = MEMORY_LIMIT_GIB * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if repo:
        sys.path.insert(0, repo)
    import nqlib  # import once, before the first timed call

    by_id = {call.id: call for call in calls()}
    objects = {}
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    print(json.dumps({"ready": nqlib.__file__}), file=out, flush=True)
    for line in sys.stdin:
        call = by_id[line.rstrip("\n")]
        try:
            outcome, detail = run_one(call, objects)
        except Exception as error:  # noqa: BLE001 - building the call itself failed
            outcome, detail = "deep", f"harness: {type(error).__name__}: {error}"[:300]
        print(json.dumps({"outcome": outcome, "detail": detail}), file=out, flush=True)


class Runner:
    """A long-lived worker process; restarted after a call is killed at the timeout."""

    def __init__(self, repo=None, timeout=TIMEOUT_S):
        self.repo, self.timeout, self.proc = repo, timeout, None

    def _start(self):
        env = dict(
            os.environ,
            NQLIB_MAX_GIB=BUDGET_GIB,
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            NUMBA_NUM_THREADS="1",
            PYTHONHASHSEED="0",
        )
        code = (
            f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            f"import bad_input_audit as a; a._worker({self.repo!r})"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=self.repo or os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        if self._read(120.0) is None:
            raise RuntimeError("the audit worker did not start")

    def _read(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def run(self, call):
        """(outcome, detail) of one call."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(call.id + "\n")
        self.proc.stdin.flush()
        result = self._read(self.timeout)
        if result is None:
            dead = self.proc.poll() is not None
            self.close()
            return (
                ("unguarded", "worker died (out of memory?)")
                if dead
                else ("hang", f"killed after {self.timeout:g} s")
            )
        return result["outcome"], result["detail"]

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def audit(repo=None, progress=None, only=None):
    """Run the whole matrix (or the functions whose name starts with ``only``); returns
    {call id: (outcome, detail)} with valid calls as ``ok`` or ``n/a`` and the bad calls of a
    function whose valid call failed as ``n/a``."""
    runner, results, valid_ok = Runner(repo), {}, {}
    try:
        for call in calls():
            if only and not call.function.startswith(only):
                continue
            if call.arg is None:
                outcome, detail = runner.run(call)
                valid_ok[call.function] = outcome == "silent"
                results[call.id] = (
                    ("ok", detail) if outcome == "silent" else ("n/a", f"valid call: {detail}")
                )
            elif not valid_ok[call.function]:
                results[call.id] = ("n/a", "the valid call failed")
            else:
                results[call.id] = runner.run(call)
            if progress:
                progress(call, results[call.id])
    finally:
        runner.close()
    return results


def table(results):
    """Counts of each outcome over the bad calls, as text."""
    bad = [outcome for cid, (outcome, _) in results.items() if ":" in cid]
    counts = {o: bad.count(o) for o in OUTCOMES}
    head = " | ".join(f"{o:>9}" for o in (*OUTCOMES, "total"))
    row = " | ".join(f"{counts[o]:>9}" for o in OUTCOMES) + f" | {len(bad):>9}"
    return f"{head}\n{row}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", help="checkout to audit (default: the nqlib this script finds)")
    parser.add_argument(
        "--only", help="audit only the functions whose name starts with this, e.g. ssep."
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = audit(os.path.abspath(args.repo) if args.repo else None, only=args.only)
    n_valid = sum(":" not in cid for cid in results)
    failed = [cid for cid, (o, _) in results.items() if ":" not in cid and o != "ok"]
    print(
        f"{n_valid} functions, {n_valid - len(failed)} valid calls ok, {len(failed)} n/a: {failed}"
    )
    for cid, (outcome, detail) in results.items():
        if ":" in cid and outcome not in ("clear", "n/a"):
            print(f"{outcome:>9}  {cid}  {detail}")
    print(table(results))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
