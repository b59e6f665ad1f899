r"""Dense density-matrix simulation of the open, current-driven random circuit (small L).

The chain has sites 0..L-1 (physical sites 1..L) and two reservoirs. Each step applies one
gate of :mod:`nqlib.gates` to a bond chosen uniformly among the L + 1 bonds (GH Sec. II, III).
A gate on a boundary bond acts on the end site and a *fresh* reservoir spin in the state
:math:`\rho_m = \mathrm{diag}(1/2 + m, 1/2 - m)`, :math:`m_L = \delta/2`, :math:`m_R = -\delta/2`,
which is traced out right after the gate (GH Eq. 5):

.. math::

    \rho \to \mathrm{tr}_{\rm res}\big[U (\rho_{m_L} \otimes \rho) U^\dagger\big]
    = \sum_{r, r'} K_{r'r}\,\rho\,K_{r'r}^\dagger, \qquad
    K_{r'r} = \sqrt{(\rho_{m})_{rr}}\;\langle r'|U|r\rangle .

Gates are applied by reshaping the state into a tensor, never by building :math:`4^L` matrices;
memory is one density matrix, :math:`4^L` complex numbers (16 MiB at L = 10, 256 MiB at L = 12).
Basis conventions are those of :mod:`nqlib.quantum` (site 0 most significant, 0 = up = occupied).
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

from nqlib import _checks, gaussian, quantum, ssep, stats, trajectory
from nqlib import gates as _gates

__all__ = [
    "local_equilibrium",
    "product_state",
    "apply_gates",
    "evolve",
    "trace_distance",
    "occupations",
    "neas_samples",
    "time_traces",
    "phase_one_entropy_deficit",
    "local_equilibrium_entropy",
    "deficit_estimate",
    "Occupations",
    "occupation_estimate",
]

MAX_L = 12


def product_state(occupations):
    """Product density matrix with site i occupied (spin up) with probability occupations[i]."""
    occ = _checks.array("occupations", occupations)
    if occ.ndim != 1 or not 1 <= occ.size <= MAX_L or not np.all((occ >= 0) & (occ <= 1)):
        raise ValueError(
            f"occupations must be 1..{MAX_L} probabilities in [0, 1], got {occupations!r}"
        )
    diag = np.ones(1)
    for n in occ:
        diag = np.kron(diag, [n, 1 - n])
    return np.diag(diag).astype(complex)


def local_equilibrium(L, delta):
    """The local-equilibrium product state with the exact SSEP densities (1+delta)/2 - delta x."""
    _check_L(L)
    return product_state(ssep.density(L, delta))


def evolve(rho, steps, rng, p1, p2, delta):
    """State after ``steps`` random gates drawn from dμ(p1, p2) (GH Eq. 12) with drive delta.

    Refuses (ValueError) ``steps`` beyond the time budget :func:`nqlib._checks.work_budget`.
    """
    L = _check_state(rho)
    _check_rng_and_gates(rng, p1, p2, delta)
    steps = _checks.integer("steps", steps)
    _checks.work(f"evolve with steps={steps} at L={L}", _gate_work(L, steps))
    return _evolve(rho, L, steps, rng, p1, p2, delta)


def apply_gates(rho, bonds, gates, delta):
    """Apply a given gate sequence (see :func:`nqlib.gates.sample_sequence`) to rho.

    ``gates`` (n, 4, 4) must be unitary and conserve S^z (the block form of GH Eq. 11), ``bonds``
    (n,) lie in [0, L]; rho must be finite, Hermitian and of unit trace (positivity is not checked
    here: it would cost as much as tens of gates). rho itself is not modified.
    """
    L = _check_state(rho, positive=False)
    _checks.drive(delta)
    bonds = _checks.indices("bonds", bonds, 0, L, distinct=False, empty=True)
    gates = _checks.array("gates", gates, dtype=complex)
    if gates.shape != (len(bonds), 4, 4):
        raise ValueError(
            f"gates must have shape ({len(bonds)}, 4, 4) to match bonds, got {gates.shape}"
        )
    gates = _checks.conserving_unitaries("gates", gates, _gates._SZ_CHARGE, *_gates._SZ_LAW)
    return _apply(rho, L, bonds, gates, delta)


def _evolve(rho, L, steps, rng, p1, p2, delta):
    """:func:`evolve` without the checks, for callers that checked their arguments once."""
    bonds, us = _gates.sample_sequence(rng, steps, L, p1, p2)
    return _apply(rho, L, bonds, us, delta)


def _apply(rho, L, bonds, gates, delta):
    """:func:`apply_gates` without the checks: a new array, rho itself is not modified."""
    reservoirs = {0: (1 + delta) / 2, L: (1 - delta) / 2}  # occupation of the fresh spin
    rho = np.array(rho, dtype=complex)
    for bond, U in zip(bonds, gates):
        if bond in reservoirs:
            rho = _boundary_gate(rho, L, U, bond == 0, reservoirs[bond])
        else:
            rho = _bulk_gate(rho, L, U, bond - 1)
    return rho


def occupations(rho):
    """<n_i> (L,) and <n_i n_j> (L, L) of a dense state, from its diagonal."""
    return _occupations(rho, _check_state(rho))


def _occupations(rho, L):
    """:func:`occupations` without the checks."""
    P = np.real(np.diagonal(rho))[::-1]  # in SSEP order: basis state 0 = up = occupied
    tau = ssep.configurations(L).astype(float)
    return tau.T @ P, (tau.T * P) @ tau


def neas_samples(rng, L, p1, p2, delta, n_samples, sweeps_between=1.0, burn_in=None):
    """Late-time states of one random circuit, sampled every ``sweeps_between`` time units.

    Starts from :func:`local_equilibrium`, discards ``burn_in`` time units (default
    :func:`nqlib.trajectory.burn_in`, 4 (L+1)**2: 2 pi**2 relaxation times 2 (L+1)**2 / pi**2,
    long enough that, in phase I, every initial spin has been replaced by a reservoir spin
    except with probability ~ L exp(-20)), then records for each sample: the entropy ``S`` (nats), the
    mutual information ``I`` between the halves [0, L//2) | [L//2, L), the occupations ``n``
    (n_samples, L) and ``nn`` = <n_i n_j> (n_samples, L, L). One time unit is L + 1 gates.
    A realization function for :func:`nqlib.ensemble.run_ensemble`.
    """
    _check_L(L)
    _check_rng_and_gates(rng, p1, p2, delta)
    _checks.sample_count(n_samples)
    sweeps_between, burn_in = trajectory.chain_schedule(L, sweeps_between, burn_in)
    steps = max(1, round(sweeps_between * (L + 1)))
    _checks.memory(
        f"neas_samples with n_samples={n_samples} at L={L}", 8 * n_samples * (L * L + L + 3)
    )
    _checks.work(
        f"neas_samples with burn_in={burn_in}, n_samples={n_samples} at L={L}",
        _gate_work(L, burn_in * (L + 1) + n_samples * steps),
    )

    def measure(rho):
        n, nn = _occupations(rho, L)
        return {
            "S": quantum.entropy(rho),
            "P": quantum.purity(rho),
            "I": quantum.mutual_information(rho, range(L // 2)),
            "n": n,
            "nn": nn,
        }

    return trajectory.sample(
        local_equilibrium(L, delta),
        lambda rho, gates: _evolve(rho, L, gates, rng, p1, p2, delta),
        round(burn_in * (L + 1)),
        steps,
        n_samples,
        measure,
    )


def time_traces(rng, L, p1, p2, delta, duration, initial=None, other=None):
    """Entropy, half-chain mutual information and memory of one circuit, once per time unit.

    Evolves ``initial`` (default :func:`local_equilibrium`) for ``duration`` time units of L + 1
    gates. If ``other`` (a second initial state) is given, it is evolved by the *same* gates and
    the trace distance between the two is recorded: the loss of memory of the initial state.
    Returns a dict with ``t`` (duration + 1,), ``S``, ``I`` and, with ``other``, ``distance``.
    """
    _check_L(L)
    _check_rng_and_gates(rng, p1, p2, delta)
    if isinstance(duration, bool) or not isinstance(duration, (int, np.integer)) or duration < 1:
        raise ValueError(
            f"duration must be a positive integer (time units), got duration={duration!r}"
        )
    _checks.memory(f"time_traces with duration={duration}", 32 * (duration + 1))
    _checks.work(
        f"time_traces with duration={duration} at L={L}", _gate_work(L, duration * (L + 1))
    )
    if initial is not None and _check_state(initial, "initial") != L:
        raise ValueError(f"initial must be a state on L={L} sites, got shape {np.shape(initial)}")
    if other is not None and _check_state(other, "other") != L:
        raise ValueError(f"other must be a state on L={L} sites, got shape {np.shape(other)}")
    rho = local_equilibrium(L, delta) if initial is None else np.array(initial, dtype=complex)
    sigma = None if other is None else np.array(other, dtype=complex)
    out = {"t": np.arange(duration + 1.0), "S": [], "I": [], "distance": []}
    for step in range(duration + 1):
        if step:
            bonds, us = _gates.sample_sequence(rng, L + 1, L, p1, p2)
            rho = _apply(rho, L, bonds, us, delta)
            if sigma is not None:
                sigma = _apply(sigma, L, bonds, us, delta)
        out["S"].append(quantum.entropy(rho))
        out["I"].append(quantum.mutual_information(rho, range(L // 2)))
        if sigma is not None:
            out["distance"].append(_trace_distance(rho, sigma))
    if sigma is None:
        del out["distance"]
    return {key: np.asarray(value) for key, value in out.items()}


def phase_one_entropy_deficit(L, delta):
    """Exact Delta S = S(rho_LE) - S(rho_NEAS) in phase I (p1 = 0) at any L.

    Every late-time state is a product of reservoir states (GH Eq. 27), each with entropy
    h((1+delta)/2), so S(rho_NEAS) = L h((1+delta)/2) exactly; S(rho_LE) is the sum of the binary
    entropies of the SSEP densities. GH Eq. 29 is the large-L form of this difference.
    """
    return local_equilibrium_entropy(L, delta) - L * float(gaussian.binary_entropy((1 + delta) / 2))


def local_equilibrium_entropy(L, delta):
    """S(rho_LE) = sum_i h(rho_i) in nats, with rho_i the exact SSEP densities."""
    _checks.drive(delta)
    return float(np.sum(gaussian.binary_entropy(ssep.density(L, delta))))


def deficit_estimate(samples, L, delta):
    r"""Entropy deficit per site and mutual information of sampled NEAS states, with errors.

    Parameters
    ----------
    samples : dict
        Stacked outputs (:func:`nqlib.stats.stack`) of :func:`neas_samples` or
        :func:`nqlib.freecircuit.neas_samples`, one row per independent circuit (>= 2): ``S``
        of shape (runs, n_samples) and ``I`` of shape (runs, n_samples) or (runs, n_samples,
        n_cuts).
    L : int
        Number of sites.
    delta : float
        Drive in [-1, 1].

    Returns
    -------
    value, error : ndarray
        ``value[0]`` is :math:`\Delta S/L = (S_{\rm LE} - \overline{S})/L` with
        :func:`local_equilibrium_entropy`, ``value[1:]`` the mean mutual information (one entry
        per cut); ``error`` the jackknife errors over circuits (:func:`nqlib.stats.jackknife`).

    References
    ----------
    GH Eqs. 27-29 and Fig. 3; chapter {doc}`circuit_phases`.
    """
    L = _checks.integer("L", L, low=1)
    S_LE = local_equilibrium_entropy(L, delta)
    if not isinstance(samples, dict) or not {"S", "I"} <= set(samples):
        raise ValueError("samples must be a dict of stacked neas_samples with entries 'S' and 'I'")
    S = _checks.array("samples['S']", samples["S"], ndim=2)
    I = _checks.array("samples['I']", samples["I"])
    if I.ndim not in (2, 3) or I.shape[:2] != S.shape or len(S) < 2:
        raise ValueError(
            f"samples['S'] must have shape (runs >= 2, n_samples) and samples['I'] (runs, "
            f"n_samples[, n_cuts]) with the same runs and samples, got {S.shape} and {I.shape}"
        )

    def estimate(d):
        return np.concatenate([[(S_LE - d["S"].mean()) / L], np.ravel(d["I"].mean(axis=(0, 1)))])

    return stats.jackknife(estimate, {"S": S, "I": I})


@dataclass(frozen=True)
class Occupations:
    r"""Averaged occupations of sampled NEAS states and their jackknife errors.

    Attributes
    ----------
    n, n_err : ndarray (L,)
        :math:`\overline{\langle n_i\rangle}`, averaged over the samples of every circuit.
    connected, connected_err : ndarray (L, L)
        :math:`\overline{\langle n_i n_j\rangle} - \overline{\langle n_i\rangle}\,
        \overline{\langle n_j\rangle}`, symmetric; the diagonal holds
        :math:`\bar n_i(1 - \bar n_i)`.
    """

    n: np.ndarray
    n_err: np.ndarray
    connected: np.ndarray
    connected_err: np.ndarray


def occupation_estimate(samples):
    r"""Average density and connected pair correlations of sampled NEAS states, with errors.

    Both averages run over the samples of all circuits (time averages of single runs sample the
    NEAS distribution); the errors are the jackknife over circuits (:func:`nqlib.stats.jackknife`),
    so they include the circuit-to-circuit fluctuations of the time averages.

    Parameters
    ----------
    samples : dict
        Stacked outputs (:func:`nqlib.stats.stack`) of :func:`neas_samples`, one row per
        independent circuit (>= 2): ``n`` of shape (runs, n_samples, L) and ``nn`` of shape
        (runs, n_samples, L, L).

    Returns
    -------
    Occupations

    References
    ----------
    GH Sec. III and Eqs. C9-C10 (the SSEP values they approach,
    :func:`nqlib.ssep.density`, :func:`nqlib.ssep.connected_two_point`); chapter
    {doc}`circuit_phases`.
    """
    if not isinstance(samples, dict) or not {"n", "nn"} <= set(samples):
        raise ValueError("samples must be a dict of stacked neas_samples with entries 'n' and 'nn'")
    # occupations of density matrices: in [0, 1] up to rounding
    n = _checks.array("samples['n']", samples["n"], -1e-9, 1 + 1e-9, ndim=3)
    nn = _checks.array("samples['nn']", samples["nn"], -1e-9, 1 + 1e-9, ndim=4)
    if nn.shape != n.shape + n.shape[-1:] or len(n) < 2:
        raise ValueError(
            f"samples['n'] must have shape (runs >= 2, n_samples, L) and samples['nn'] (runs, "
            f"n_samples, L, L), got {n.shape} and {nn.shape}"
        )

    def estimate(d):
        mean = d["n"].mean(axis=(0, 1))
        return np.vstack([mean, d["nn"].mean(axis=(0, 1)) - np.outer(mean, mean)])

    value, error = stats.jackknife(estimate, {"n": n, "nn": nn})
    return Occupations(value[0], error[0], value[1:], error[1:])


def trace_distance(rho, sigma):
    """(1/2) ||rho - sigma||_1 of two density matrices of the same shape (both are checked)."""
    quantum._check_density_matrix(rho)
    quantum._check_density_matrix(sigma, name="sigma")
    if np.shape(rho) != np.shape(sigma):
        raise ValueError(f"sigma must have the shape of rho {np.shape(rho)}, got {np.shape(sigma)}")
    return _trace_distance(rho, sigma)


def _trace_distance(rho, sigma):
    return float(0.5 * np.abs(np.linalg.eigvalsh(np.asarray(rho) - np.asarray(sigma))).sum())


def _bulk_gate(rho, L, U, site):
    """rho -> U rho U^dagger with U on sites (site, site + 1), in place."""
    _bulk_kernel(rho, U, 2**site, 2 ** (L - site - 2))
    return rho


@njit(cache=True)
def _bulk_kernel(rho, U, left, right):
    """In-place U rho U^dagger for an S^z-conserving U = diag(U00, B, U33) on a site pair.

    Row index = (x, a, r) with x < left, a < 4 (the pair), r < right; same for columns.
    """
    dim = rho.shape[0]
    u00, u33 = U[0, 0], U[3, 3]
    b11, b12, b21, b22 = U[1, 1], U[1, 2], U[2, 1], U[2, 2]
    for x in range(left):
        for r in range(right):
            i0 = x * 4 * right + r
            i1, i2, i3 = i0 + right, i0 + 2 * right, i0 + 3 * right
            for c in range(dim):  # rows: rho <- U rho
                v1, v2 = rho[i1, c], rho[i2, c]
                rho[i0, c] *= u00
                rho[i1, c] = b11 * v1 + b12 * v2
                rho[i2, c] = b21 * v1 + b22 * v2
                rho[i3, c] *= u33
    c00, c33 = np.conj(u00), np.conj(u33)
    d11, d12, d21, d22 = np.conj(b11), np.conj(b12), np.conj(b21), np.conj(b22)
    for row in range(dim):  # columns: rho <- rho U^dagger
        for x in range(left):
            for r in range(right):
                j0 = x * 4 * right + r
                j1, j2, j3 = j0 + right, j0 + 2 * right, j0 + 3 * right
                w1, w2 = rho[row, j1], rho[row, j2]
                rho[row, j0] *= c00
                rho[row, j1] = w1 * d11 + w2 * d12
                rho[row, j2] = w1 * d21 + w2 * d22
                rho[row, j3] *= c33


def _boundary_gate(rho, L, U, left_end, occupation):
    """Gate between an end site and a fresh reservoir spin, reservoir traced out, in place.

    The channel on the end site is sum_k K_k rho K_k^dagger with the Kraus operators of the module
    docstring; it is applied as the 4 x 4 superoperator S = sum_k K_k (x) conj(K_k) on every
    2 x 2 block of the end site.
    """
    weights = (occupation, 1 - occupation)  # reservoir basis: 0 = up = occupied, 1 = down
    U4 = U.reshape(2, 2, 2, 2)  # (out first, out second, in first, in second)
    S = np.zeros((4, 4), dtype=complex)
    for r in range(2):
        for r_out in range(2):
            # the reservoir is the first qubit at the left end, the second at the right end
            K = U4[r_out, :, r, :] if left_end else U4[:, r_out, :, r]
            S += weights[r] * np.kron(K, K.conj())
    left, right = (1, 2 ** (L - 1)) if left_end else (2 ** (L - 1), 1)
    _site_channel_kernel(rho, S, left, right)
    return rho


@njit(cache=True)
def _site_channel_kernel(rho, S, left, right):
    """In place: every 2 x 2 block M of one site (row (x, a, r), column (y, b, s)) -> S vec(M)."""
    for x in range(left):
        for r in range(right):
            i0 = x * 2 * right + r
            i1 = i0 + right
            for y in range(left):
                for s in range(right):
                    j0 = y * 2 * right + s
                    j1 = j0 + right
                    m = (rho[i0, j0], rho[i0, j1], rho[i1, j0], rho[i1, j1])
                    out = [0j, 0j, 0j, 0j]
                    for p in range(4):
                        acc = 0j
                        for q in range(4):
                            acc += S[p, q] * m[q]
                        out[p] = acc
                    rho[i0, j0], rho[i0, j1], rho[i1, j0], rho[i1, j1] = (
                        out[0],
                        out[1],
                        out[2],
                        out[3],
                    )


def _check_L(L):
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or not 2 <= L <= MAX_L:
        raise ValueError(
            f"L must be an integer in [2, {MAX_L}] for the dense simulator, got L={L!r}"
        )


def _check_state(rho, name="rho", positive=True):
    """L of a (2**L, 2**L) density matrix (finite, Hermitian, unit trace, positive), L in [2, MAX_L];
    without ``positive``, positivity (a factorisation of rho) is not checked."""
    rho = np.asarray(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1] or rho.shape[0] & (rho.shape[0] - 1):
        raise ValueError(f"{name} must be a (2**L, 2**L) density matrix, got shape {rho.shape}")
    L = rho.shape[0].bit_length() - 1
    _check_L(L)
    if positive:
        quantum._check_density_matrix(rho, name=name)
    else:
        quantum._check_hermitian_unit_trace(rho, name)
    return L


def _gate_work(L, n_gates):
    """Elementary steps of n_gates dense gates: each touches the 4**L entries of rho."""
    return float(n_gates) * 4.0**L


def _check_rng_and_gates(rng, p1, p2, delta):
    """Arguments that the first gate would check, checked before any state is built."""
    _checks.generator(rng)
    _gates._check_probabilities(p1, p2)
    _checks.drive(delta)
