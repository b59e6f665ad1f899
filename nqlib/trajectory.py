r"""Burn in, then sample: the one Markov-chain loop of the NEAS samplers, and its burn-in rule.

Every stationary-state sampler of the book runs one trajectory of a Markov chain: it starts
from a state with the right mean profile, discards a burn-in, then records a measurement
every few steps. :func:`states` and :func:`sample` are that loop; the samplers of
:mod:`nqlib.circuit`, :mod:`nqlib.freecircuit`, :mod:`nqlib.quditcircuit`, :mod:`nqlib.qssep`,
:mod:`nqlib.haarcircuit` and :mod:`nqlib.ssep` call them with their own step and measurement
(for SSEP, whose steps are cheap, the Python call per sample doubles the sampling time at
L = 50 against the compiled loop it replaced: 0.3 s instead of 0.15 s for 1e5 samples).

**The burn-in rule.** All charge-conserving models of the book share one slow mode: the mean
occupation obeys a discrete diffusion equation between two reservoirs, whose slowest mode
decays with the relaxation time

.. math::

    \tau = \frac{\ell^2}{\pi^2 D},

where :math:`\ell` is the distance between the reservoirs in lattice units (L + 1 for a chain of
L sites coupled by two reservoir bonds) and D the diffusion constant per time unit. A random
circuit gate exchanges its two spins with probability :math:`\mathbb E|U_{lr}|^2 = 1/2` on
average (:mod:`nqlib.quench`, for every gate ensemble), an SSEP exchange with probability 1/2;
each bond is hit once per time unit on average, so :math:`D = 1/2` for :mod:`nqlib.circuit`,
:mod:`nqlib.freecircuit`, :mod:`nqlib.quditcircuit` (each rung of the ladder) and
:mod:`nqlib.ssep`, and :math:`\tau = 2(L+1)^2/\pi^2`. In QSSEP the mean obeys
:math:`\partial_t \mathbb E G_{ii} = J\,\Delta\,\mathbb E G_{ii}`, so D = J, with
:math:`\ell = N - 1 + J/\gamma_a + J/\gamma_b` (:func:`nqlib.qssep.coordinate`).

The default burn-in is :data:`BURN_IN_TAUS` :math:`= 2\pi^2 \approx 19.7` relaxation times,
:math:`2\ell^2/D` time units (:func:`burn_in`; 4 (L+1)**2 for the circuits and SSEP, the value
:mod:`nqlib.circuit` always used). Why so many: the initial state differs from the stationary one
by O(1) per site in the slow mode (a chain started from a product state has its correlations and,
in phase I of the circuit, every initial spin still to replace), so the bias left after a burn-in
of c relaxation times is up to :math:`L e^{-c}` in an extensive quantity. At c = 2 pi**2 that is
:math:`2.7\times10^{-9} L`, below 3e-6 up to L = 1000 and far under the statistical error of any
run in the book; the shorter (L + 1)**2 (c = pi**2/2 = 4.9) that :mod:`nqlib.freecircuit`,
:mod:`nqlib.ssep` and ``qssep.circuit_loop_moments`` used left :math:`7\times10^{-3}` of the slow
mode, resolvable with ~1e4 samples (tests/test_trajectory.py: the exact mean equation of SSEP
started empty, and Monte Carlo chains that reach the stationary profile within errors after the
default but not after one relaxation time). The cost: the dense circuits keep their default;
free-fermion, SSEP and QSSEP chains burn in 4 (2) times longer than before, which matters only
where a chain takes few samples. A chapter may pass a shorter ``burn_in`` where its statistics
cannot resolve the difference (circuit_phases, probe and qssep keep their earlier (L + 1)**2 and
N**2 / J, so that their quick-scale numbers stay the same). :mod:`nqlib.haarcircuit` has no
conserved charge and no diffusive mode; it keeps its own rule (20 L time units).

References
----------
GH Sec. II (the circuit and its reservoirs); BJ, HJ Sec. 2 (QSSEP); chapters {doc}`circuit_phases`,
{doc}`ssep`, {doc}`qssep`.
"""

import numpy as np

from nqlib import _checks

__all__ = ["BURN_IN_TAUS", "relaxation_time", "burn_in", "chain_schedule", "states", "sample"]

BURN_IN_TAUS = 2 * np.pi**2
"""Default burn-in in units of the slowest relaxation time :func:`relaxation_time` (module doc)."""


def relaxation_time(length, D=0.5):
    r"""Slowest relaxation time :math:`\tau = \ell^2/(\pi^2 D)` of diffusion between two reservoirs.

    Parameters
    ----------
    length : float
        Distance :math:`\ell` between the reservoirs in lattice units (> 0): L + 1 for a chain
        of L sites with a reservoir bond at each end.
    D : float, optional
        Diffusion constant per time unit (> 0); 1/2 for the random circuits and SSEP, J for QSSEP.

    Returns
    -------
    float
        :math:`\tau` in time units.

    References
    ----------
    Module doc; chapter {doc}`ssep` (the mean profile relaxes with this time).
    """
    length = _checks.real("length", length, 0, open_low=True)
    D = _checks.real("D", D, 0, open_low=True)
    return length**2 / (np.pi**2 * D)


def burn_in(length, D=0.5):
    r"""Default burn-in, :data:`BURN_IN_TAUS` relaxation times: :math:`2\ell^2/D` time units.

    Parameters
    ----------
    length, D : float
        As in :func:`relaxation_time`.

    Returns
    -------
    float
        The burn-in in time units (4 (L + 1)**2 for a chain of L sites with D = 1/2).

    References
    ----------
    Module doc (why 2 pi**2 relaxation times).
    """
    length = _checks.real("length", length, 0, open_low=True)
    D = _checks.real("D", D, 0, open_low=True)
    return 2 * length**2 / D  # = BURN_IN_TAUS * relaxation_time(length, D), exact in floats


_default_burn_in = burn_in  # the rule, under a name that the argument burn_in cannot shadow


def chain_schedule(L, sweeps_between, burn_in=None):
    """The checked sampling schedule of a chain of L sites between two reservoirs.

    Parameters
    ----------
    L : int
        Number of sites, >= 1.
    sweeps_between : float
        Time units between samples, > 0.
    burn_in : float or None
        Time units discarded first, >= 0; None for the default rule, :func:`burn_in` of
        length L + 1 (4 (L + 1)**2 with D = 1/2).

    Returns
    -------
    (float, float)
        ``sweeps_between`` and ``burn_in``.

    References
    ----------
    Module doc (the one default rule of every "burn in, then sample" in the book).
    """
    L = _checks.integer("L", L, low=1)
    sweeps_between = _checks.real("sweeps_between", sweeps_between, 0, open_low=True)
    burn_in = _default_burn_in(L + 1) if burn_in is None else _checks.real("burn_in", burn_in, 0)
    return sweeps_between, burn_in


def states(state, step, burn_in, between, n_samples):
    """The sampled states of one trajectory: ``burn_in`` discarded, then every ``between``.

    Parameters
    ----------
    state : object
        The initial state; the caller's own copy (``step`` may modify it in place).
    step : callable
        ``step(state, n)`` returns the state advanced by ``n`` (in the caller's units: gates,
        integration time, time units). It is called once with ``burn_in`` and once with
        ``between`` per sample, in that order, so that a chain draws its random numbers exactly
        as a hand-written loop would.
    burn_in : int or float
        Passed to ``step`` first (>= 0, finite).
    between : int or float
        Passed to ``step`` before each sample (> 0, finite).
    n_samples : int
        Number of states yielded (>= 1).

    Yields
    ------
    object
        The state after the burn-in and ``k + 1`` further steps of ``between``, k = 0, 1, ...
        (what ``step`` returned; copy it to keep it past the next step).

    References
    ----------
    Module doc.
    """
    _check(step, burn_in, between, n_samples)
    return _states(state, step, burn_in, between, n_samples)


def _states(state, step, burn_in, between, n_samples):
    state = step(state, burn_in)
    for _ in range(n_samples):
        state = step(state, between)
        yield state


def sample(state, step, burn_in, between, n_samples, measure, mean=()):
    """Burn in, then measure ``n_samples`` states of one trajectory and stack the measurements.

    Parameters
    ----------
    state, step, burn_in, between, n_samples
        As in :func:`states`.
    measure : callable
        ``measure(state)`` returns a dict of numbers or arrays (the same keys and shapes for
        every state), or one number or array.
    mean : sequence of str, optional
        Keys whose measurements are averaged over the samples instead of stacked (a running
        sum, memory of one measurement).

    Returns
    -------
    dict or numpy.ndarray
        For a dict ``measure``: each key stacked, shape (n_samples, ...), or averaged for the
        keys in ``mean``; otherwise the stacked array (n_samples, ...).

    References
    ----------
    Module doc.
    """
    _check(step, burn_in, between, n_samples)
    if not callable(measure):
        raise ValueError(f"measure must be callable, got measure={measure!r}")
    mean = tuple(mean)
    out, single = None, False
    for k, current in enumerate(_states(state, step, burn_in, between, n_samples)):
        record = measure(current)
        if out is None:
            single = not isinstance(record, dict)
            record = {None: record} if single else record
            unknown = set(mean) - set(record)
            if unknown:
                raise ValueError(
                    f"mean must name keys of the measurement {sorted(record)}, got "
                    f"{sorted(unknown)}"
                )
            out = {
                key: np.zeros(np.shape(value), np.result_type(value, float))
                if key in mean
                else np.empty((n_samples, *np.shape(value)), np.result_type(value))
                for key, value in record.items()
            }
        elif single:
            record = {None: record}
        for key, value in record.items():
            if key in mean:
                out[key] += value
            else:
                out[key][k] = value
    for key in mean:
        out[key] /= n_samples
    return out[None] if single else out


def _check(step, burn_in, between, n_samples):
    if not callable(step):
        raise ValueError(f"step must be callable, got step={step!r}")
    _checks.real("burn_in", burn_in, 0)
    _checks.real("between", between, 0, open_low=True)
    _checks.sample_count(n_samples)
