r"""Extensions of the random circuit (Gullans & Huse, Sec. IV, Fig. 6): a qudit on every site, and
a two-leg ladder.

**Qudit chain.** Every site j = 1..L carries the qubit of the circuit (spin up = occupied) and a
qudit of dimension q with no conserved quantity: local dimension 2q, local basis
:math:`|s, n\rangle` with index :math:`s q + n` (qubit most significant, s = 0 = up). A two-site
gate conserves the number of up spins and, in the qubit-pair sectors
:math:`(\uparrow\uparrow, \uparrow\downarrow, \downarrow\uparrow, \downarrow\downarrow)` tensored
with the two qudits, has the block form of GH Eq. 11 with every entry promoted to a block
(GH Sec. IV, after Khemani, Vishwanath and Huse):

.. math::

    U = U_+ \oplus B \oplus U_-, \qquad
    U_\pm \in \mathrm{U}(q^2)\ \text{Haar}, \qquad
    B \text{ on the } 2q^2\text{-dimensional span of } |{\uparrow\downarrow}\rangle|nn'\rangle,
    |{\downarrow\uparrow}\rangle|nn'\rangle .

The measure :math:`d\mu_q(p_1)` (:func:`sample_gate`): with probability :math:`p_1` a *partial
swap*, :math:`B` Haar on :math:`\mathrm{U}(2q^2)`; otherwise the qubit is kept or swapped whole,
with probability 1/2 each, :math:`B = P\,(V_{\uparrow\downarrow}\oplus V_{\downarrow\uparrow})` with
two Haar :math:`V\in\mathrm{U}(q^2)` and P the identity or the exchange of the two qubits (the
qudits stay). Haar blocks absorb every phase, so the qubit chain's :math:`\mu_0` (iSWAP or
identity) and :math:`\mu_2` (phase gates, GH Eqs. 14-15) become one and the same ensemble here:
the qudit model has only :math:`p_1` (GH Fig. 6). Every gate exchanges the qubits with
probability 1/2, and the Haar blocks fully mix the qudits, so the averaged state is the SSEP
steady state (GH Sec. III A) times :math:`(1/q)^{\otimes L}`.

**Reservoirs.** Sites 0 and L + 1 are sites of the same kind held in local equilibrium,
:math:`\sigma_m = \rho_m\otimes 1_q/q` with :math:`\rho_m = \mathrm{diag}(1/2+m, 1/2-m)`,
:math:`m_{L,R} = \pm\delta/2` (the qudit has no charge, so its equilibrium is infinite
temperature): a boundary gate is a gate of :math:`d\mu_q` on the end site and a fresh reservoir
site, which is traced out (GH Eq. 5 with :math:`\sigma_m` for :math:`\rho_m`). GH do not spell
this out; it is our choice, the one that makes the reservoirs sites of the model. With q = 1
everything reduces to :mod:`nqlib.circuit` (a unit test feeds both the same gate stream).

**Entropies.** Local equilibrium is :math:`\rho_{\rm LE} = \bigotimes_j \mathrm{diag}(n_j,
1-n_j)\otimes 1_q/q` with the SSEP densities :math:`n_j`; the entropy deficit is
:math:`\Delta S = S(\rho_{\rm LE}) - S(\rho)` with :math:`S(\rho_{\rm LE}) = \sum_j h(n_j) +
L\ln q`, and :math:`I(L{:}R)` is the mutual information of the halves [0, L//2) | [L//2, L)
(qudits included), as for the qubit chain (:func:`nqlib.circuit.neas_samples`).

**Two-ladder.** Two legs of L qubits (qubit (j, l) has index 2j + l: rung-major, so a rung is
one 4-dimensional site of the same dense engine), gates of :mod:`nqlib.gates` on the 3L + 2
bonds: L rungs, 2(L - 1) leg bonds and, at each end of each leg, a bond to a fresh reservoir
qubit. One time unit is 3L + 2 gates.

**Exact two-copy averages (2-design twirl).** For block-diagonal Haar unitaries
:math:`U = \bigoplus_k U_k` (blocks of dimension :math:`d_k`), the second moment
:math:`\mathbb{E}(U\otimes U)X(U\otimes U)^\dagger` keeps only the parts of X whose two copies
sit in the blocks (k, l) on both sides, either in the same order or exchanged: for k = l the
2-design formula :func:`nqlib.haarcircuit.twirl` (:math:`\alpha 1 + \beta\,\mathrm{SWAP}`); for
:math:`k\ne l`, :math:`\mathrm{tr}(X_{kl,kl})\,1_k\otimes 1_l/(d_k d_l)` plus
:math:`\mathrm{tr}(X_{kl,lk}\,\mathrm{SW})\,\mathrm{SW}/(d_k d_l)` with SW the exchange of the
copies (:func:`gate_twirl`). After a twirl every site of :math:`\mathbb{E}\rho\otimes\rho` is a
combination of eight two-copy operators: the abc species of :mod:`nqlib.abcmodel` times the qudit
identity (b, c species) or the qudit swap (a, b species) (:data:`STATES`); the averaged dynamics
closes on these :math:`8^L` configurations (:func:`reduced_channel`, exact, checked on every
gate), and its fixed point gives the exact averaged purities :math:`\mathbb{E}\,\mathrm{tr}\rho_A^2`
(:func:`two_copy_average`). The ladder at any :math:`(p_1, p_2)` closes on the six abc species
per qubit, :math:`6^{2L}` configurations (:func:`ladder_two_copy_average`).
"""

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from nqlib import (
    _checks,
    abcmodel,
    circuit,
    haarcircuit,
    quantum,
    ssep,
    stats,
    trajectory,
)
from nqlib import gates as _gates

__all__ = [
    "MAX_DIM",
    "MAX_TWO_COPY_L",
    "MAX_LADDER_TWO_COPY_L",
    "STATES",
    "sample_gate",
    "sample_sequence",
    "local_equilibrium",
    "local_equilibrium_entropy",
    "apply_gates",
    "evolve",
    "neas_samples",
    "ladder_bonds",
    "ladder_local_equilibrium",
    "ladder_apply_gates",
    "ladder_evolve",
    "ladder_neas_samples",
    "gate_twirl",
    "sampled_gate_twirl",
    "reduced_gate",
    "reduced_boundary",
    "reduced_channel",
    "TwoCopyAverage",
    "two_copy_average",
    "ladder_two_copy_average",
    "chain_two_copy_average",
    "renyi2_local_equilibrium",
    "NeasSummary",
    "neas_summary",
]

MAX_DIM = 4096
"""Largest Hilbert-space dimension (2q)**L or 4**L of the dense simulators (256 MiB per state)."""
_MAX_SITES = MAX_DIM.bit_length() - 1
"""Most sites of a dense state: (2q)**L <= MAX_DIM needs L <= log2(MAX_DIM) = 12 (q = 1)."""
MAX_TWO_COPY_L = 6
MAX_LADDER_TWO_COPY_L = 4

#: the eight single-site two-copy states of the reduced qudit model: (abc species, qudit factor)
STATES = (
    ("a_up", "swap"),
    ("a_dn", "swap"),
    ("b_up", "one"),
    ("b_dn", "one"),
    ("c_up", "one"),
    ("c_dn", "one"),
    ("b_up", "swap"),
    ("b_dn", "swap"),
)


# ------------------------------------------------------------------------------- gates
def sample_gate(rng, q, p1):
    """One gate of dmu_q(p1) (module docstring): (4q^2, 4q^2), site basis (s1, n1, s2, n2)."""
    _checks.generator(rng)
    q, p1 = _check_q(q), _check_p1(p1)
    _checks.memory(f"sample_gate at q={q}", 4 * 16 * (4 * q * q) ** 2)
    return _to_site_basis(_sector_gate(rng, q, p1), q)


def sample_sequence(rng, steps, L, q, p1):
    """``(bonds, gates)`` for ``steps`` gates on uniformly chosen bonds 0..L of the qudit chain.

    Bond b joins site b - 1 and site b (0-based; -1 and L are the reservoirs), as in
    :func:`nqlib.gates.sample_sequence`; gates have shape (steps, 4q^2, 4q^2).
    """
    _checks.generator(rng)
    q, p1 = _check_q(q), _check_p1(p1)
    L = _checks.integer("L", L, low=2)
    steps = _checks.integer("steps", steps, low=0)
    _checks.memory(
        f"sample_sequence with steps={steps} at q={q}",
        16 * (steps + 3) * (4 * q * q) ** 2 + 8 * steps,
    )
    return _sample_sequence(rng, steps, L, q, p1)


def _sample_sequence(rng, steps, L, q, p1):
    """:func:`sample_sequence` without the checks."""
    bonds = rng.integers(0, L + 1, size=steps)
    gates = np.empty((steps, 4 * q * q, 4 * q * q), dtype=complex)
    for k in range(steps):
        gates[k] = _to_site_basis(_sector_gate(rng, q, p1), q)
    return bonds, gates


# ------------------------------------------------------------------------------- qudit chain
def local_equilibrium(L, q, delta):
    """rho_LE = prod_j diag(n_j, 1 - n_j) (x) 1_q / q with the exact SSEP densities n_j."""
    L, q = _check_chain(L, q)
    _checks.drive(delta)
    diag = np.ones(1)
    for n in ssep.density(L, delta):
        diag = np.kron(diag, np.repeat([n, 1 - n], q) / q)
    return np.diag(diag).astype(complex)


def local_equilibrium_entropy(L, q, delta):
    """S(rho_LE) = sum_j h(n_j) + L ln q in nats."""
    L, q = _check_chain(L, q)
    return circuit.local_equilibrium_entropy(L, delta) + L * np.log(q)


def apply_gates(rho, bonds, gates, delta, q):
    """Apply a given gate sequence (see :func:`sample_sequence`) to the qudit-chain state rho.

    ``gates`` (n, 4q^2, 4q^2) must conserve the number of up spins; ``bonds`` (n,) lie in
    [0, L]. rho is not modified.
    """
    q = _check_q(q)
    L = _check_state(rho, 2 * q, positive=False, q=q)
    delta = _checks.drive(delta)
    bonds = _checks.indices("bonds", bonds, 0, L, distinct=False, empty=True)
    gates = _check_gates(gates, len(bonds), q)
    charge = _check_commutes(rho, _charges(L, q))
    return _apply(rho, L, q, bonds, gates, delta, charge)


def _apply(rho, L, q, bonds, gates, delta, charge):
    """:func:`apply_gates` without the checks (``charge``: :func:`_charges` of the chain)."""
    weights = {0: _reservoir_weights((1 + delta) / 2, q), L: _reservoir_weights((1 - delta) / 2, q)}
    d = 2 * q
    local = _charges(2, q)
    rho = np.array(rho, dtype=complex)
    for bond, U in zip(bonds, gates):
        if bond in weights:
            rho = _end_channel(rho, _end_superoperator(U, weights[bond], bond == 0), bond == 0)
        else:
            rho = _conjugate(rho, U, d ** (bond - 1), charge, local)
    return rho


def evolve(rho, steps, rng, q, p1, delta):
    """State after ``steps`` random gates of dmu_q(p1) with drive delta.

    rho must be a density matrix (finite, Hermitian, unit trace, positive) that commutes with
    the number of up spins; ``steps`` beyond the time budget of :func:`nqlib._checks.work` are
    refused.
    """
    q = _check_q(q)
    L = _check_state(rho, 2 * q, positive=True, q=q)
    _checks.generator(rng)
    p1, delta = _check_p1(p1), _checks.drive(delta)
    steps = _checks.integer("steps", steps, low=0)
    _checks.work(f"evolve with steps={steps} at L={L}, q={q}", _gate_work(steps, (2 * q) ** L))
    _checks.memory(f"evolve with steps={steps} at q={q}", 16 * (steps + 3) * (4 * q * q) ** 2)
    return _evolve(rho, L, q, steps, rng, p1, delta, _check_commutes(rho, _charges(L, q)))


def _evolve(rho, L, q, steps, rng, p1, delta, charge):
    """:func:`evolve` without the checks."""
    bonds, gates = _sample_sequence(rng, steps, L, q, p1)
    return _apply(rho, L, q, bonds, gates, delta, charge)


def neas_samples(rng, L, q, p1, delta, n_samples, sweeps_between=1.0, burn_in=None):
    """Late-time states of one qudit circuit, sampled every ``sweeps_between`` time units.

    Starts from :func:`local_equilibrium`, discards ``burn_in`` time units (default
    :func:`nqlib.trajectory.burn_in`, 4 (L+1)**2, as :func:`nqlib.circuit.neas_samples`), then
    records per sample: the entropy ``S`` (nats), the purity ``P`` = tr rho^2, the half-chain
    purities ``PA``, ``PB`` and mutual information ``I`` for [0, L//2) | [L//2, L), and the
    qubit occupations ``n`` (n_samples, L). One time unit is L + 1 gates. A realization function
    for :func:`nqlib.ensemble.run_ensemble`.
    """
    _checks.generator(rng)
    L, q = _check_chain(L, q)
    p1 = _check_p1(p1)
    _checks.drive(delta)
    n_samples = _checks.sample_count(n_samples)
    sweeps_between, burn_in = trajectory.chain_schedule(L, sweeps_between, burn_in)
    steps = max(1, round(sweeps_between * (L + 1)))
    what = (
        f"neas_samples with burn_in={burn_in:g}, sweeps_between={sweeps_between:g}, "
        f"n_samples={n_samples} at L={L}, q={q}"
    )
    _guard_samples(what, n_samples, L, burn_in * (L + 1), steps, (2 * q) ** L, 4 * q * q)
    charge = _charges(L, q)
    return trajectory.sample(
        local_equilibrium(L, q, delta),
        lambda rho, gates: _evolve(rho, L, q, gates, rng, p1, delta, charge),
        round(burn_in * (L + 1)),
        steps,
        n_samples,
        lambda rho: _measure(rho, (2 * q) ** (L // 2), _qubit_occupations(rho, L, q), charge),
    )


# ------------------------------------------------------------------------------- ladder
def ladder_bonds(L):
    """The 3L + 2 bonds of the two-leg ladder as rows (kind, rung, leg), an int array.

    kind 0: left reservoir to qubit (0, leg); 1: leg bond (rung, leg)-(rung + 1, leg);
    2: rung bond (rung, 0)-(rung, 1) (leg = -1); 3: qubit (L - 1, leg) to the right reservoir.
    """
    L = _check_ladder_L(L)
    rows = [(0, 0, leg) for leg in (0, 1)]
    rows += [(1, j, leg) for j in range(L - 1) for leg in (0, 1)]
    rows += [(2, j, -1) for j in range(L)]
    rows += [(3, L - 1, leg) for leg in (0, 1)]
    return np.array(rows, dtype=np.int64)


def ladder_local_equilibrium(L, delta):
    """Product state of the 2L ladder qubits with the SSEP density of rung j on both legs."""
    L = _check_ladder_L(L)
    _checks.drive(delta)
    return circuit.product_state(np.repeat(ssep.density(L, delta), 2))


def ladder_apply_gates(rho, bonds, gates, delta):
    """Apply qubit gates (n, 4, 4) of :mod:`nqlib.gates` on ladder bonds (indices into
    :func:`ladder_bonds`) to the 2L-qubit state rho (qubit (j, l) = 2j + l). rho is not modified.
    """
    L = _check_state(rho, 4, positive=False)
    delta = _checks.drive(delta)
    bonds = _checks.indices("bonds", bonds, 0, 3 * L + 1, distinct=False, empty=True)
    gates = _check_gates(gates, len(bonds), 1)
    charge = _check_commutes(rho, _charges(2 * L, 1))
    return _ladder_apply(rho, L, bonds, gates, delta, charge)


def _ladder_apply(rho, L, bonds, gates, delta, charge):
    """:func:`ladder_apply_gates` without the checks."""
    table = ladder_bonds(L)
    left, right = _reservoir_weights((1 + delta) / 2, 1), _reservoir_weights((1 - delta) / 2, 1)
    rung, pair = _charges(2, 1), _charges(4, 1)
    rho = np.array(rho, dtype=complex)
    for bond, U in zip(bonds, gates):
        kind, j, leg = table[bond]
        if kind == 2:
            rho = _conjugate(rho, U, 4**j, charge, rung)
        elif kind == 1:
            rho = _conjugate(rho, _qubit_gate_on(U, (leg, 2 + leg), 4), 4**j, charge, pair)
        else:  # the reservoir rung: qubit `leg` in rho_m, the other one idle (traced out unchanged)
            first = (
                kind == 0
            )  # the gate acts on (reservoir, site) at the left, (site, reservoir) at the right
            big = _qubit_gate_on(U, (leg, 2 + leg), 4)
            w = left if first else right
            rho = _end_channel(rho, _end_superoperator(big, np.kron(w, w), first), first)
    return rho


def ladder_evolve(rho, steps, rng, p1, p2, delta):
    """Ladder state after ``steps`` gates of dmu(p1, p2) (GH Eq. 12) on uniformly chosen bonds.

    rho must be a density matrix that commutes with the number of up spins; ``steps`` beyond
    the time budget of :func:`nqlib._checks.work` are refused.
    """
    L = _check_state(rho, 4, positive=True)
    _checks.generator(rng)
    _gates._check_probabilities(p1, p2)
    delta = _checks.drive(delta)
    steps = _checks.integer("steps", steps, low=0)
    _checks.work(f"ladder_evolve with steps={steps} at L={L}", _gate_work(steps, 4**L))
    return _ladder_evolve(
        rho, L, steps, rng, p1, p2, delta, _check_commutes(rho, _charges(2 * L, 1))
    )


def _ladder_evolve(rho, L, steps, rng, p1, p2, delta, charge):
    """:func:`ladder_evolve` without the checks."""
    # the gate stream of the chain with n_bonds - 1 sites draws bonds uniformly in [0, n_bonds - 1]
    bonds, gates = _gates.sample_sequence(rng, steps, 3 * L + 1, p1, p2)
    return _ladder_apply(rho, L, bonds, gates, delta, charge)


def ladder_neas_samples(rng, L, p1, p2, delta, n_samples, sweeps_between=1.0, burn_in=None):
    """Late-time states of one ladder circuit: the fields of :func:`neas_samples` with the cut
    between rungs [0, L//2) and [L//2, L) and ``n`` (n_samples, 2L) per qubit. One time unit is
    3L + 2 gates; burn_in defaults to :func:`nqlib.trajectory.burn_in` of the L + 1 rungs
    between the reservoirs, 4 (L+1)**2 time units.
    """
    _checks.generator(rng)
    L = _check_ladder_L(L)
    _gates._check_probabilities(p1, p2)
    _checks.drive(delta)
    n_samples = _checks.sample_count(n_samples)
    sweeps_between, burn_in = trajectory.chain_schedule(L, sweeps_between, burn_in)
    n_bonds = 3 * L + 2
    steps = max(1, round(sweeps_between * n_bonds))
    what = (
        f"ladder_neas_samples with burn_in={burn_in:g}, sweeps_between={sweeps_between:g}, "
        f"n_samples={n_samples} at L={L}"
    )
    _guard_samples(what, n_samples, 2 * L, burn_in * n_bonds, steps, 4**L, 4)
    charge = _charges(2 * L, 1)
    return trajectory.sample(
        ladder_local_equilibrium(L, delta),
        lambda rho, gates: _ladder_evolve(rho, L, gates, rng, p1, p2, delta, charge),
        round(burn_in * n_bonds),
        steps,
        n_samples,
        lambda rho: _measure(rho, 4 ** (L // 2), _qubit_occupations(rho, 2 * L, 1), charge),
    )


# ------------------------------------------------------------------------------- exact averages
def gate_twirl(X, q, p1):
    """Exact E (U (x) U) X (U (x) U)^dagger over dmu_q(p1) for X on two copies of two sites.

    X: (D^2, D^2) with D = 4q^2, rows (copy-1 index, copy-2 index), each a site-basis index
    (s1, n1, s2, n2) as returned by :func:`sample_gate`.
    """
    q, p1 = _check_q(q), _check_p1(p1)
    D = 4 * q * q
    X = _checks.array("X", X, dtype=complex)
    if X.shape != (D * D, D * D):
        raise ValueError(
            f"X must be a ({D * D}, {D * D}) two-copy operator for q={q}, got shape {X.shape}"
        )
    perm = _sector_order(q)  # sector index -> site index
    Xs = X.reshape(D, D, D, D)[np.ix_(perm, perm, perm, perm)]
    block = q * q
    labels_free = np.repeat([0, 1, 1, 2], block)  # partial swap: U(q^2) + U(2q^2) + U(q^2)
    labels_kept = np.repeat([0, 1, 2, 3], block)  # no partial swap: four U(q^2) blocks
    out = np.zeros_like(Xs)
    if p1 > 0:
        out += p1 * _block_twirl(Xs, labels_free)
    if p1 < 1:
        kept = _block_twirl(Xs, labels_kept)
        P = _qubit_exchange(q)
        swapped = kept[np.ix_(P, P, P, P)]  # (P (x) P) Y (P (x) P)^dagger for a permutation P
        out += (1 - p1) * 0.5 * (kept + swapped)
    inverse = np.argsort(perm)
    return out[np.ix_(inverse, inverse, inverse, inverse)].reshape(D * D, D * D)


def sampled_gate_twirl(rng, A, B, q, p1, n_gates):
    """Monte Carlo estimate of ``gate_twirl(kron(A, B), q, p1)``: the independent route.

    Averages kron(U A U^dagger, U B U^dagger) over ``n_gates`` gates U of dmu_q(p1)
    (:func:`sample_gate`); A and B are (D, D) operators on two sites, D = 4q^2. Returns
    ``(mean, standard_error)``, each (D^2, D^2); the error of a complex entry is the root of the
    summed variances of its real and imaginary parts over ``n_gates``.
    """
    _checks.generator(rng)
    q, p1 = _check_q(q), _check_p1(p1)
    D = 4 * q * q
    A, B = (_checks.array(name, X, dtype=complex, ndim=2) for name, X in (("A", A), ("B", B)))
    for name, X in (("A", A), ("B", B)):
        if X.shape != (D, D):
            raise ValueError(
                f"{name} must be a ({D}, {D}) two-site operator for q={q}, got shape {X.shape}"
            )
    n_gates = _checks.integer("n_gates", n_gates, low=2)
    _checks.work(f"sampled_gate_twirl with n_gates={n_gates}", n_gates * D**4)
    total, squares = np.zeros((D * D, D * D), dtype=complex), np.zeros((D * D, D * D))
    for _ in range(n_gates):
        U = sample_gate(rng, q, p1)
        X = np.kron(U @ A @ U.conj().T, U @ B @ U.conj().T)
        total += X
        squares += np.abs(X) ** 2
    mean = total / n_gates
    variance = np.maximum(squares / n_gates - np.abs(mean) ** 2, 0.0) * n_gates / (n_gates - 1)
    return mean, np.sqrt(variance / n_gates)


def reduced_gate(q, p1):
    """The averaged bulk gate on pairs of :data:`STATES`: (64, 64), real.

    Column (a, b) holds the coefficients of gate_twirl(e_a (x) e_b) in the basis e_c (x) e_d;
    raises RuntimeError if the twirl leaves the span (it never should: a closure check).
    """
    q, p1 = _check_two_copy_q(q), _check_p1(p1)
    return _reduced_gate(q, p1).copy()


@functools.lru_cache(maxsize=16)
def _reduced_gate(q, p1):
    E = _state_tensors(q)
    G = np.empty((64, 64))
    for a in range(8):
        for b in range(8):
            G[:, 8 * a + b] = _project_pair(_twirl_pair(E[a], E[b], q, p1), E, q)
    return G


def reduced_boundary(q, p1, delta, side):
    """Averaged boundary map of the end site on :data:`STATES`: (8, 8), real.

    The fresh reservoir site enters as (rho_m (x) 1/q) in both copies and is traced out in both.
    ``side`` is "left" (occupation (1+delta)/2, reservoir first) or "right" ((1-delta)/2).
    """
    q, p1 = _check_two_copy_q(q), _check_p1(p1)
    _checks.drive(delta)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got side={side!r}")
    E = _state_tensors(q)
    n = (1 + delta) / 2 if side == "left" else (1 - delta) / 2
    reservoir = _reservoir_state(n, q)
    trace = _functionals(q)[0]
    M = np.empty((8, 8))
    for b in range(8):
        pair = (reservoir, E[b]) if side == "left" else (E[b], reservoir)
        coefficients = _project_pair(_twirl_pair(*pair, q, p1), E, q).reshape(8, 8)
        M[:, b] = trace @ coefficients if side == "left" else coefficients @ trace
    return M


def reduced_channel(L, q, p1, delta):
    """Averaged one-step channel on the 8**L configurations of :data:`STATES`: sparse, real."""
    L = _checks.integer("L", L, low=2, high=MAX_TWO_COPY_L)
    q, p1 = _check_two_copy_q(q), _check_p1(p1)
    _checks.drive(delta)
    G = reduced_gate(q, p1)
    G[np.abs(G) < 1e-14] = 0.0
    left, right = (reduced_boundary(q, p1, delta, side) for side in ("left", "right"))
    maps = [abcmodel._embed(left, 0, 1, L, 8)]
    maps += [abcmodel._embed(G, site, 2, L, 8) for site in range(L - 1)]
    maps += [abcmodel._embed(right, L - 1, 1, L, 8)]
    return (sum(maps) / (L + 1)).tocsr()


@dataclass(frozen=True)
class TwoCopyAverage:
    """Exact late-time averages of purities (from the fixed point of the averaged two-copy map).

    ``purity`` = E tr rho^2, ``purity_left`` / ``purity_right`` = E tr rho_A^2 for the halves of
    the half cut; ``renyi2_deficit`` = S2(rho_LE) + ln E tr rho^2 and ``renyi2_mutual_information``
    = ln E tr rho^2 - ln E tr rho_A^2 - ln E tr rho_B^2 (annealed Renyi-2 quantities, nats).
    """

    L: int
    purity: float
    purity_left: float
    purity_right: float
    renyi2_deficit: float
    renyi2_mutual_information: float


def renyi2_local_equilibrium(L, q, delta, legs=1):
    """Renyi-2 entropy of local equilibrium: legs * sum_j -ln(n_j^2 + (1-n_j)^2) + L ln q."""
    L = _checks.integer("L", L, low=2)
    q = _check_q(q)
    legs = _checks.integer("legs", legs, low=1, high=2)
    _checks.drive(delta)
    n = ssep.density(L, delta)
    return float(legs * np.sum(-np.log(n**2 + (1 - n) ** 2)) + L * np.log(q))


def two_copy_average(L, q, p1, delta):
    """Exact E tr rho^2 and half-cut purities of the qudit chain's late-time states (q >= 2)."""
    T = reduced_channel(L, q, p1, delta)
    trace, swap = _functionals(q)
    _checks.memory(f"two_copy_average at L={L}", 40 * T.nnz + 200 * 8**L)
    start = np.array([0, 0, 1, 1, 1, 1, 0, 0]) / (4.0 * q * q)  # the fully mixed site
    X = _fixed_point(T, _product([trace] * L), 2 * (8**L - 1) // 7, _product([start] * L))
    cut = L // 2
    values = [
        float(_product([swap if k < n_swap else trace for k in range(L)][::order]) @ X)
        for n_swap, order in ((L, 1), (cut, 1), (L - cut, -1))
    ]
    return _two_copy_result(L, values, renyi2_local_equilibrium(L, q, delta))


def ladder_two_copy_average(L, p1, p2, delta):
    """Exact E tr rho^2 and half-cut purities of the ladder (abc species on 2L qubits, L <= 3)."""
    L = _checks.integer("L", L, low=2, high=MAX_LADDER_TWO_COPY_L)
    _gates._check_probabilities(p1, p2)
    _checks.drive(delta)
    G = abcmodel.reduced_gate(p1, p2)
    G[np.abs(G) < 1e-14] = 0.0
    left, right = (abcmodel.reduced_boundary(p1, p2, delta, side) for side in ("left", "right"))
    n = 2 * L
    skip = _skip_middle(G)  # a gate on qubits (k, k + 2) over the idle qubit k + 1
    maps = [abcmodel._embed(left, leg, 1, n, 6) for leg in (0, 1)]
    maps += [abcmodel._embed(skip, 2 * j + leg, 3, n, 6) for j in range(L - 1) for leg in (0, 1)]
    maps += [abcmodel._embed(G, 2 * j, 2, n, 6) for j in range(L)]
    maps += [abcmodel._embed(right, 2 * (L - 1) + leg, 1, n, 6) for leg in (0, 1)]
    T = (sum(maps) / (3 * L + 2)).tocsr()
    trace = abcmodel._TRACE[abcmodel._SPECIES_SLOTS]
    swap = abcmodel._SWAP[abcmodel._SPECIES_SLOTS]
    mixed = np.array([0, 0, 1, 1, 1, 1]) / 4.0  # species order of abcmodel.SPECIES
    X = _fixed_point(T, _product([trace] * n), 2 * (6**n - 1) // 5, _product([mixed] * n))
    cut = 2 * (L // 2)
    values = [
        float(_product([swap if k < n_swap else trace for k in range(n)][::order]) @ X)
        for n_swap, order in ((n, 1), (cut, 1), (n - cut, -1))
    ]
    return _two_copy_result(L, values, renyi2_local_equilibrium(L, 1, delta, legs=2))


def chain_two_copy_average(L, p1, p2, delta):
    """Exact E tr rho^2 and half-cut purities of the qubit chain's late-time states (q = 1).

    The qubit chain's counterpart of :func:`two_copy_average`: the purities come from the abc
    fixed point (:func:`nqlib.abcmodel.average_purity`, six species per site), the Rényi-2 quantities
    as in :class:`TwoCopyAverage`, so the three systems of the extensions appendix (qubit chain,
    qudit chain, ladder) are compared in one form.

    Parameters
    ----------
    L : int
        Sites, 2 <= L <= ``abcmodel.MAX_REDUCED_L``.
    p1, p2 : float
        Gate probabilities (p1 + p2 <= 1).
    delta : float
        Drive in [-1, 1].

    Returns
    -------
    TwoCopyAverage

    References
    ----------
    GH Sec. IV and Eqs. 27-30 (two-copy average); chapter {doc}`circuit_extensions`.
    """
    L = _checks.integer("L", L, low=2, high=abcmodel.MAX_REDUCED_L)
    _gates._check_probabilities(p1, p2)
    _checks.drive(delta)
    values = [
        abcmodel.average_purity(L, p1, p2, delta, A)
        for A in (None, range(L // 2), range(L // 2, L))
    ]
    return _two_copy_result(L, values, renyi2_local_equilibrium(L, 1, delta))


@dataclass(frozen=True)
class NeasSummary:
    """Time averages of late-time states over independent circuits, with jackknife errors.

    ``value`` and ``error`` hold, in this order: the entropy deficit per site
    (S_LE - E S)/N, the half-cut mutual information per site E I/N, E tr rho^2 and, where the
    samples record them (keys ``PA``, ``PB``), E tr rho_A^2 and E tr rho_B^2 of the halves.
    """

    value: np.ndarray
    error: np.ndarray


def neas_summary(samples, entropy_le, n_sites):
    """Jackknife over circuits of the dense simulators' time averages (:class:`NeasSummary`).

    Parameters
    ----------
    samples : dict of numpy.ndarray
        Stacked outputs of ``neas_samples``-type samplers (:func:`nqlib.stats.stack`): ``S``,
        ``I``, ``P`` and optionally ``PA``, ``PB``, each (n_circuits >= 2, n_samples).
    entropy_le : float
        Von Neumann entropy of local equilibrium of the same system
        (:func:`local_equilibrium_entropy`, :func:`nqlib.circuit.local_equilibrium_entropy`).
    n_sites : int
        N >= 1, the number of sites (qubits) the per-site values divide by.

    Returns
    -------
    NeasSummary
        Each estimate is the mean over all samples of all circuits; its error is the jackknife
        over circuits (:func:`nqlib.stats.jackknife`).

    References
    ----------
    GH Sec. IV; chapter {doc}`circuit_extensions`.
    """
    if not isinstance(samples, dict) or not {"S", "I", "P"} <= set(samples):
        raise ValueError(
            f"samples must be a dict of arrays with keys 'S', 'I', 'P' (and optionally "
            f"'PA', 'PB'), got samples={samples!r}"
        )
    entropy_le = _checks.real("entropy_le", entropy_le)
    n_sites = _checks.integer("n_sites", n_sites, low=1)
    halves = "PA" in samples

    def estimate(d):
        return np.array(
            [
                (entropy_le - d["S"].mean()) / n_sites,
                d["I"].mean() / n_sites,
                d["P"].mean(),
                *([d["PA"].mean(), d["PB"].mean()] if halves else []),
            ]
        )

    return NeasSummary(*stats.jackknife(estimate, samples))


# ------------------------------------------------------------------------------- private helpers
def _sector_order(q):
    """perm[i] = site-basis index of sector-basis index i = (s1, s2, n1, n2)."""
    s1, s2, n1, n2 = np.unravel_index(np.arange(4 * q * q), (2, 2, q, q))
    return np.ravel_multi_index((s1, n1, s2, n2), (2, q, 2, q))


def _to_site_basis(U, q):
    perm = _sector_order(q)
    out = np.empty_like(U)
    out[np.ix_(perm, perm)] = U
    return out


def _qubit_exchange(q):
    """Sector-basis permutation of the qubit exchange (s1, s2, n1, n2) -> (s2, s1, n1, n2)."""
    s1, s2, n1, n2 = np.unravel_index(np.arange(4 * q * q), (2, 2, q, q))
    return np.ravel_multi_index((s2, s1, n1, n2), (2, 2, q, q))


def _sector_gate(rng, q, p1):
    """A gate of dmu_q(p1) in the sector basis (s1, s2, n1, n2)."""
    b = q * q
    U = np.zeros((4 * b, 4 * b), dtype=complex)
    U[:b, :b] = haarcircuit.haar_unitary(rng, b)
    U[3 * b :, 3 * b :] = haarcircuit.haar_unitary(rng, b)
    if rng.random() < p1:
        U[b : 3 * b, b : 3 * b] = haarcircuit.haar_unitary(rng, 2 * b)
    else:
        U[b : 2 * b, b : 2 * b] = haarcircuit.haar_unitary(rng, b)
        U[2 * b : 3 * b, 2 * b : 3 * b] = haarcircuit.haar_unitary(rng, b)
        if rng.random() < 0.5:
            U = U[_qubit_exchange(q)]
    return U


def _block_twirl(X, labels):
    """E (U (x) U) X (U (x) U)^dagger for U = direct sum of independent Haar blocks; X (D, D, D, D)."""
    out = np.zeros_like(X)
    blocks = [np.flatnonzero(labels == k) for k in np.unique(labels)]
    for k, first in enumerate(blocks):
        d1 = len(first)
        for m, second in enumerate(blocks):
            d2 = len(second)
            if k == m:
                sub = X[np.ix_(first, first, first, first)].reshape(d1 * d1, d1 * d1)
                twirled = sub if d1 == 1 else haarcircuit.twirl(sub)
                out[np.ix_(first, first, first, first)] += twirled.reshape(d1, d1, d1, d1)
                continue
            kept = np.einsum("abab->", X[np.ix_(first, second, first, second)])
            out[np.ix_(first, second, first, second)] += (
                kept / (d1 * d2) * np.einsum("ac,bd->abcd", np.eye(d1), np.eye(d2))
            )
            exchanged = np.einsum("abba->", X[np.ix_(first, second, second, first)])
            out[np.ix_(first, second, second, first)] += (
                exchanged / (d1 * d2) * np.einsum("ad,bc->abcd", np.eye(d1), np.eye(d2))
            )
    return out


def _state_tensors(q):
    """The eight STATES as tensors E[k, r1, r2, c1, c2] over one site (local dimension 2q)."""
    d = 2 * q
    E = np.zeros((8, d, d, d, d))
    eye = np.eye(q)
    qudit = {"one": np.einsum("ac,bd->abcd", eye, eye), "swap": np.einsum("ad,bc->abcd", eye, eye)}
    for k, (species, factor) in enumerate(STATES):
        r1, c1, r2, c2 = abcmodel.SPECIES[species]
        qubit = np.zeros((2, 2, 2, 2))
        qubit[r1, r2, c1, c2] = 1.0
        E[k] = np.einsum("abcd,ijkl->aibjckdl", qubit, qudit[factor]).reshape(d, d, d, d)
    return E


def _functionals(q):
    """(trace, swap): tr (x) tr and tr(. SWAP) of each of the eight STATES (8,), (8,)."""
    E = _state_tensors(q)
    return np.einsum("kabab->k", E), np.einsum("kabba->k", E)


def _twirl_pair(e1, e2, q, p1):
    """gate_twirl of the product e1 (site 1) (x) e2 (site 2), as a tensor of eight site indices."""
    d = 2 * q
    D = d * d
    X = np.einsum("aceg,bdfh->abcdefgh", e1, e2, optimize=True).reshape(D * D, D * D)
    return gate_twirl(X, q, p1).reshape((d,) * 8)


def _project_pair(Y, E, q):
    """Coefficients (64,) of Y in the basis E[c] (x) E[e]; RuntimeError if Y leaves the span."""
    gram = np.einsum("kabcd,labcd->kl", E, E)
    overlaps = np.einsum("abcdefgh,kaceg,lbdfh->kl", Y, E, E, optimize=True)
    coefficients = np.linalg.solve(gram, np.linalg.solve(gram, overlaps).T).T
    rebuilt = np.einsum("kl,kaceg,lbdfh->abcdefgh", coefficients, E, E, optimize=True)
    if np.abs(rebuilt - Y).max() > 1e-10:
        raise RuntimeError(
            f"the twirl left the span of the eight states (residual {np.abs(rebuilt - Y).max():.1e})"
        )
    if np.abs(coefficients.imag).max() > 1e-10:
        raise RuntimeError("complex coefficients in the reduced two-copy basis")
    return coefficients.real.ravel()


def _reservoir_state(n, q):
    """(rho_m (x) 1/q) in both copies as a one-site tensor [r1, r2, c1, c2]."""
    sigma = np.diag(_reservoir_weights(n, q))
    return np.einsum("ac,bd->abcd", sigma, sigma)


def _reservoir_weights(n, q):
    """Diagonal of sigma = diag(n, 1 - n) (x) 1_q/q in the local basis (s, n)."""
    return np.repeat([n, 1 - n], q) / q


def _product(vectors):
    return abcmodel._product(vectors)


def _fixed_point(T, trace, row, start):
    """x with T x = x and trace . x = 1; ``row`` is an equation replaced by the normalisation
    (any configuration with trace[row] != 0: the rows of T - 1 sum to zero against trace).
    Solved by LGMRES from ``start`` (a product state), with a sparse LU as fallback."""
    n = T.shape[0]
    A = (T - sp.identity(n, format="csr")).tolil()
    A[row, :] = trace
    rhs = np.zeros(n)
    rhs[row] = 1.0
    A = A.tocsr()
    x, info = spla.lgmres(A, rhs, x0=start, rtol=1e-13, atol=0.0, maxiter=2000)
    for _ in range(4):  # iterative refinement down to rounding
        r = rhs - A @ x
        if info != 0 or np.abs(r).max() < 1e-16:
            break
        dx, info = spla.lgmres(A, r, rtol=1e-10, atol=0.0, maxiter=2000)
        x = x + dx
    if info != 0 or np.abs(rhs - A @ x).max() > 1e-14:  # direct solve: slow but sure
        x = spla.spsolve(A.tocsc(), rhs)
    residual = np.abs(T @ x - x).max()
    if not np.all(np.isfinite(x)) or residual > 1e-12:
        raise RuntimeError(f"two-copy fixed point not converged (residual {residual:.1e})")
    return x


def _two_copy_result(L, values, s2_le):
    purity, left, right = values
    return TwoCopyAverage(
        L=L,
        purity=purity,
        purity_left=left,
        purity_right=right,
        renyi2_deficit=float(s2_le + np.log(purity)),
        renyi2_mutual_information=float(np.log(purity) - np.log(left) - np.log(right)),
    )


def _skip_middle(G):
    """A two-species-site map G (36, 36) on sites (0, 2) of three sites, identity on site 1."""
    T = np.einsum("acbd,ef->aecbfd", G.reshape(6, 6, 6, 6), np.eye(6))
    return T.reshape(216, 216)


def _conjugate(rho, U, before, charge, local_charge):
    """U rho U^dagger with U on the local factor of size len(U) that follows a factor ``before``.

    rho must commute with the number of up spins (``charge`` per basis state) and U conserve it
    (``local_charge`` per local index): only the nonzero blocks are touched (numba kernel).
    """
    D, k = rho.shape[0], U.shape[0]
    after = D // (before * k)
    groups = [np.flatnonzero(local_charge == c) for c in range(local_charge.max() + 1)]
    members = np.zeros((len(groups), k), dtype=np.int64)
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    for c, g in enumerate(groups):
        members[c, : len(g)] = g
    A = np.array(rho, dtype=complex)
    _left_multiply(A, U, after, charge, local_charge, members, sizes)  # U rho
    A = np.ascontiguousarray(A.conj().T)  # rho U^dagger (rho Hermitian)
    _left_multiply(A, U, after, charge, local_charge, members, sizes)
    return A


@njit(cache=True)
def _left_multiply(rho, U, after, charge, local_charge, members, sizes):
    """In place rho <- U rho, rows (x, a, r): a < len(U) the local index, r < after.

    For a row group (x, r) and a column c only the local indices a whose total charge matches
    that of c can be nonzero; they form one invariant block of U.
    """
    D = rho.shape[0]
    k = U.shape[0]
    before = D // (k * after)
    n_groups = sizes.size
    v = np.empty(k, dtype=np.complex128)
    for x in range(before):
        for r in range(after):
            base = x * k * after + r
            outer = charge[base] - local_charge[0]
            for c in range(D):
                g = charge[c] - outer
                if g < 0 or g >= n_groups:
                    continue
                n = sizes[g]
                for i in range(n):
                    v[i] = rho[base + members[g, i] * after, c]
                for i in range(n):
                    a = members[g, i]
                    acc = 0j
                    for j in range(n):
                        acc += U[a, members[g, j]] * v[j]
                    rho[base + a * after, c] = acc


def _end_superoperator(U, weights, left):
    """S = sum_k K_k (x) conj(K_k) of the end-site channel tr_res[U (sigma (x) rho) U^dagger]."""
    d = len(weights)
    U4 = U.reshape(d, d, d, d)  # (out first, out second, in first, in second)
    if left:  # reservoir first
        S = np.einsum("xayc,xbye,y->abce", U4, U4.conj(), weights)
    else:
        S = np.einsum("axcy,bxey,y->abce", U4, U4.conj(), weights)
    return S.reshape(d * d, d * d)


def _end_channel(rho, S, left):
    """Apply the superoperator S to every block of the first (left) or last site of rho."""
    D = rho.shape[0]
    d = int(round(np.sqrt(S.shape[0])))
    M = D // d
    if left:
        t = rho.reshape(d, M, d, M).transpose(0, 2, 1, 3).reshape(d * d, M * M)
        return (S @ t).reshape(d, d, M, M).transpose(0, 2, 1, 3).reshape(D, D)
    t = rho.reshape(M, d, M, d).transpose(1, 3, 0, 2).reshape(d * d, M * M)
    return (S @ t).reshape(d, d, M, M).transpose(2, 0, 3, 1).reshape(D, D)


def _qubit_gate_on(U, positions, n):
    """A (4, 4) qubit gate on qubits ``positions`` of n qubits, as a (2^n, 2^n) matrix."""
    order = list(positions) + [k for k in range(n) if k not in positions]
    op = np.kron(U, np.eye(2 ** (n - 2))).reshape((2,) * (2 * n))
    axes = [order.index(k) for k in range(n)]
    return op.transpose(axes + [n + a for a in axes]).reshape(2**n, 2**n)


def _qubit_occupations(rho, n_qubits, q):
    """<n_i> of the n_qubits qubits (basis state 0 = up = occupied) from the diagonal."""
    p = np.real(np.diagonal(rho)).reshape((2, q) * n_qubits if q > 1 else (2,) * n_qubits)
    step = 2 if q > 1 else 1
    out = np.empty(n_qubits)
    for i in range(n_qubits):
        axes = tuple(a for a in range(p.ndim) if a != step * i)
        out[i] = p.sum(axis=axes)[0]
    return out


def _measure(rho, dim_left, occupations, charge):
    """Entropies, purities and occupations of one late-time state (a dict of the sample's fields)."""
    rho = 0.5 * (rho + rho.conj().T)
    D = rho.shape[0]
    t = rho.reshape(dim_left, D // dim_left, dim_left, D // dim_left)
    left, right = np.einsum("ajbj->ab", t), np.einsum("iaib->ab", t)
    S = _block_entropy(rho, charge)
    return {
        "S": S,
        "P": np.real(np.vdot(rho, rho)),
        "PA": np.real(np.vdot(left, left)),
        "PB": np.real(np.vdot(right, right)),
        "I": quantum.entropy(left) + quantum.entropy(right) - S,
        "n": occupations,
    }


def _charges(n_sites, q):
    """Number of up spins (s = 0) of every basis state of n_sites sites of dimension 2q."""
    s = np.arange(2 * q) // q  # qubit of each local index
    charge = np.zeros(1, dtype=np.int64)
    for _ in range(n_sites):
        charge = (charge[:, None] + (1 - s)[None, :]).ravel()
    return charge


def _check_commutes(rho, charge, atol=1e-10):
    """Return ``charge`` after checking rho has no entry between different numbers of up spins."""
    rho = np.asarray(rho)
    _checks.finite("rho", rho)
    mixing = np.abs(rho[charge[:, None] != charge[None, :]])
    if mixing.size and mixing.max() > atol:
        raise ValueError(
            f"rho must commute with the number of up spins: off-sector entry {mixing.max():.2e} > {atol}"
        )
    return charge


def _block_entropy(rho, charge):
    """von Neumann entropy (nats) of a state that commutes with the charge, block by block."""
    if abs(np.trace(rho).real - 1) > quantum.STATE_TOL * len(rho):
        raise ValueError(f"rho must have unit trace, got {np.trace(rho).real:.12g}")
    total = 0.0
    for c in np.unique(charge):
        block = np.flatnonzero(charge == c)
        p = np.linalg.eigvalsh(rho[np.ix_(block, block)])
        if p.min() < -quantum.STATE_TOL * len(rho):
            raise ValueError(f"rho must be positive semidefinite, got an eigenvalue {p.min():.3g}")
        p = p[p > 1e-300]
        total -= float(np.sum(p * np.log(p)))
    return total


def _check_q(q):
    return _checks.integer("q", q, low=1)


def _check_two_copy_q(q):
    return _checks.integer("q", q, low=2, high=3)


def _check_p1(p1):
    return _checks.real("p1", p1, 0, 1)


def _check_chain(L, q):
    q = _check_q(q)
    L = _checks.integer("L", L, low=2)
    # 2q >= 2: beyond _MAX_SITES sites (2q)**L exceeds MAX_DIM (and is not computed: L may be huge)
    if L > _MAX_SITES or (2 * q) ** L > MAX_DIM:
        raise ValueError(f"(2q)**L must be <= {MAX_DIM} for the dense simulator, got L={L}, q={q}")
    _checks.memory(f"quditcircuit at L={L}, q={q}", 6 * 16 * (2 * q) ** (2 * L))
    return L, q


def _check_ladder_L(L):
    L = _checks.integer("L", L, low=2)
    if L > _MAX_SITES // 2 or 4**L > MAX_DIM:
        raise ValueError(
            f"L must be an integer in [2, 6] for the dense ladder (4**L <= {MAX_DIM}), got L={L}"
        )
    _checks.memory(f"ladder at L={L}", 6 * 16 * 4 ** (2 * L))
    return L


def _check_state(rho, d, positive, q=None):
    """Number of sites of a (d**L, d**L) state (ValueError otherwise): finite, Hermitian, of unit
    trace and, with ``positive``, positive semidefinite (a factorisation of rho). ``q``: the qudit
    dimension, d = 2q, named in the message."""
    rho = np.asarray(rho)
    L = int(round(np.log(rho.shape[0]) / np.log(d))) if rho.ndim == 2 and rho.shape[0] > 1 else 0
    if (
        rho.ndim != 2
        or rho.shape[0] != rho.shape[1]
        or L < 2
        or d**L != rho.shape[0]
        or d**L > MAX_DIM
    ):
        what = f"d={d}" if q is None else f"d=2q={d} (q={q})"
        raise ValueError(
            f"rho must be a (d**L, d**L) state with {what}, L >= 2 and d**L <= {MAX_DIM}, "
            f"got shape {rho.shape}"
        )
    if positive:
        quantum._check_density_matrix(rho)
    else:
        quantum._check_hermitian_unit_trace(rho)
    return L


def _gate_work(n_gates, dim):
    """Elementary steps of n_gates gates on a dense (dim, dim) state: each touches every entry."""
    return float(n_gates) * float(dim) ** 2


def _guard_samples(what, n_samples, n_qubits, burn_in_gates, steps, dim, gate_dim):
    """Memory of the records and of the burn-in gates (``gate_dim`` square each) and work of all
    gates of a sampling run, checked before it starts; ``what`` names the call and arguments."""
    _checks.memory(
        what, 8 * n_samples * (n_qubits + 5) + (16 * gate_dim**2 + 8) * (burn_in_gates + steps)
    )
    _checks.work(what, _gate_work(burn_in_gates + n_samples * steps, dim))


def _check_gates(gates, n, q):
    """(n, 4q^2, 4q^2) gates that conserve the number of up spins (site basis (s1, n1, s2, n2))."""
    D = 4 * q * q
    gates = _checks.array("gates", gates, dtype=complex)
    if gates.shape != (n, D, D):
        raise ValueError(f"gates must have shape ({n}, {D}, {D}) to match bonds, got {gates.shape}")
    s1, _, s2, _ = np.unravel_index(np.arange(D), (2, q, 2, q))
    charge = 2 - s1 - s2
    return _checks.conserving_unitaries(
        "gates", gates, charge, "the number of up spins", "entries between sectors must vanish"
    )
