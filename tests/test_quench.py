"""Quench dynamics (nqlib.quench) and the block-diagonal entropy quantum.number_conserving_entropy.

Each statement of the quench module is checked against an independent route:

* number_conserving_entropy against full diagonalisation (quantum.entropy);
* mean_occupations against the SSEP steady state (long times), the explicit one-gate averaged
  map built bond by bond and iterated gate by gate, and the Monte Carlo average of the dense
  simulator over random circuits for several gate ensembles (including interacting gates);
* phase I (p1 = p2 = 0): the dense state against a classical bookkeeping of which spin sits on
  which site (state, entropy), phase_one_entropy against a Monte Carlo of that bookkeeping, and
  phase_one_asymptote against phase_one_entropy on a long chain;
* dense_trace against gaussian_trace (the same circuit at p2 = 0) and against a hand-written
  evolution at p2 > 0; local_equilibrium_deficit against a direct sum; the entropy bounds of the
  module docstring gate by gate (Araki-Lieb for boundary gates, invariance under bulk gates);
* the analysis helpers (at_diffusion_length, growth_exponent, crossing_time) on data with known
  answers; input validation.

Tolerances: exact identities evaluated in double precision on matrices of dimension <= 256 or
on <= 100 gates differ by rounding (~1e-15 per operation); 1e-12 for linear maps, 1e-10 for
entropies (x ln x is steep near zero eigenvalues) and 1e-9 for the dense-vs-Gaussian comparison
(as in tests/test_circuit.py). Monte Carlo means are compared within 4 standard errors of the
mean, estimated from the independent circuits themselves (two-sided probability 6e-5 per
comparison for a Gaussian mean; the seeds are fixed, so the tests are deterministic).
"""

import numpy as np
import pytest

from nqlib import circuit, gates, quantum, quench, ssep

LN2 = np.log(2)


def _rng(seed):
    return np.random.default_rng(seed)


def _h(p):
    """Binary entropy in nats, written out independently of nqlib.gaussian.binary_entropy."""
    return -sum(x * np.log(x) for x in (p, 1 - p) if x > 0)


def _occupations(rho):
    """<n_i> from the diagonal: probability that site i is in basis state 0 (up = occupied)."""
    L = quantum.n_sites(rho)
    p = np.real(np.diag(rho)).reshape((2,) * L)
    return np.array([np.take(p, 0, axis=i).sum() for i in range(L)])


def _particle_number(L):
    """Number of occupied sites (bit 0 = up = occupied) of each basis state, written independently."""
    bits = (np.arange(2**L)[:, None] >> np.arange(L)) & 1
    return L - bits.sum(axis=1)


def _random_number_conserving(rng, L):
    """A full-rank mixed state that is block diagonal in the particle number, with random blocks."""
    number = _particle_number(L)
    rho = np.zeros((2**L, 2**L), dtype=complex)
    for n in range(L + 1):
        block = np.flatnonzero(number == n)
        g = rng.normal(size=(block.size, block.size)) + 1j * rng.normal(
            size=(block.size, block.size)
        )
        rho[np.ix_(block, block)] = g @ g.conj().T * rng.uniform(0.1, 1.0)
    return rho / np.trace(rho).real


# --------------------------------------------------------------------------- number_conserving_entropy
@pytest.mark.parametrize("L", [4, 5, 6])
@pytest.mark.parametrize("p1, p2", [(0.3, 0.5), (1.0, 0.0), (0.0, 1.0)])
def test_number_conserving_entropy_matches_full_diagonalisation_on_circuit_states(L, p1, p2):
    rng = _rng(10 * L + int(10 * p1))
    occ = rng.choice([0.0, 1.0, 0.3, 0.8], size=L)
    rho = circuit.evolve(circuit.product_state(occ), 4 * (L + 1), rng, p1, p2, 0.6)
    assert quantum.entropy(rho) > 0.1, "the test needs a mixed state"
    if p1 > 0:  # NIF gates make the state non-diagonal, so the blocks are really diagonalised
        assert np.abs(rho - np.diag(np.diag(rho))).max() > 1e-3
    for keep in [range(L), [0, 1], [1, 2, 3], [0, L - 1], [L - 2]]:
        reduced = quantum.partial_trace(rho, keep)
        assert quantum.number_conserving_entropy(reduced) == pytest.approx(
            quantum.entropy(reduced), abs=1e-10
        )


@pytest.mark.parametrize("L", [1, 3, 6])
def test_number_conserving_entropy_matches_full_diagonalisation_on_random_block_states(L):
    rng = _rng(20 + L)
    for _ in range(3):
        rho = _random_number_conserving(rng, L)
        assert quantum.number_conserving_entropy(rho) == pytest.approx(
            quantum.entropy(rho), abs=1e-10
        )
    # a product of diagonal states: sum of binary entropies
    occ = rng.uniform(size=L)
    expected = sum(_h(p) for p in occ)
    assert quantum.number_conserving_entropy(circuit.product_state(occ)) == pytest.approx(
        expected, abs=1e-10
    )


def test_number_conserving_entropy_rejects_coherence_between_particle_numbers():
    L = 3
    plus = np.ones(2**L) / np.sqrt(2**L)  # |+>^L: equal superposition of every particle number
    with pytest.raises(ValueError, match="particle number"):
        quantum.number_conserving_entropy(np.outer(plus, plus))
    # coherence between sectors N = 1 (basis state 0b011) and N = 2 (0b001), below and above atol
    rho = _random_number_conserving(_rng(30), L)
    small = rho.copy()
    small[3, 1] += 1e-12
    small[1, 3] += 1e-12
    assert quantum.number_conserving_entropy(small) == pytest.approx(
        quantum.entropy(rho), abs=1e-10
    )
    large = rho.copy()
    large[3, 1] += 1e-6
    large[1, 3] += 1e-6
    with pytest.raises(ValueError, match="particle number"):
        quantum.number_conserving_entropy(large)
    assert quantum.number_conserving_entropy(large, atol=1e-5) == pytest.approx(
        quantum.entropy(rho), abs=1e-5
    )
    with pytest.raises(ValueError, match="Hermitian"):
        quantum.number_conserving_entropy(np.triu(rho))


# --------------------------------------------------------------------------- mean occupations
@pytest.mark.parametrize("L", [2, 5, 8])
@pytest.mark.parametrize("delta", [0.7, -0.3, 1.0])
def test_mean_occupations_relax_to_the_ssep_profile(L, delta):
    """Slowest mode: eigenvalue 2 - 2 cos(pi/(L+1)) of K decays per time unit by about
    exp(-(1 - cos(pi/9))) = exp(-0.06) at L = 8, so t = 2000 leaves exp(-120): pure rounding."""
    initial = _rng(L).uniform(size=L)
    n = quench.mean_occupations(initial, [0, 3, 2000], (1 + delta) / 2, (1 - delta) / 2)
    assert n.shape == (3, L)
    np.testing.assert_allclose(n[-1], ssep.density(L, delta), atol=1e-12, rtol=0)
    assert np.abs(n[1] - ssep.density(L, delta)).max() > 1e-3, "t = 3 must not have relaxed yet"


def test_mean_occupations_at_time_zero_and_fixed_point():
    initial = _rng(40).uniform(size=7)
    np.testing.assert_allclose(
        quench.mean_occupations(initial, 0, 0.2, 0.9)[0], initial, atol=1e-13, rtol=0
    )
    # equal reservoirs and a uniform chain at the same density: nothing moves
    flat = quench.mean_occupations(np.full(6, 0.35), [0, 1, 7, 50], 0.35, 0.35)
    np.testing.assert_allclose(flat, 0.35, atol=1e-13, rtol=0)


@pytest.mark.parametrize("left, right", [(0.8, 0.2), (1.0, 0.0), (0.5, 0.5)])
def test_mean_occupations_equal_the_explicit_one_gate_map_iterated_gate_by_gate(left, right):
    """The averaged gate as the mean of L + 1 explicit bond maps on (n, 1) (affine: the last
    component carries the reservoir occupations), applied t (L + 1) times."""
    L, times = 5, [0, 1, 2, 4]
    initial = np.array([1.0, 0.0, 0.7, 0.1, 1.0])
    maps = []
    for bond in range(L + 1):
        M = np.eye(L + 1)
        if bond == 0:  # n_0 -> (n_0 + rho_L)/2
            M[0, 0], M[0, L] = 0.5, 0.5 * left
        elif bond == L:  # n_{L-1} -> (n_{L-1} + rho_R)/2
            M[L - 1, L - 1], M[L - 1, L] = 0.5, 0.5 * right
        else:  # sites (bond - 1, bond) -> their mean
            a = bond - 1
            M[a, [a, a + 1]] = M[a + 1, [a, a + 1]] = 0.5
        maps.append(M)
    averaged = np.mean(maps, axis=0)
    v = np.append(initial, 1.0)
    expected = []
    for gate in range(times[-1] * (L + 1) + 1):
        if gate % (L + 1) == 0 and gate // (L + 1) in times:
            expected.append(v[:L].copy())
        v = averaged @ v
    got = quench.mean_occupations(initial, times, left, right)
    np.testing.assert_allclose(got, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("p1, p2", [(0.0, 0.0), (1.0, 0.0), (0.3, 0.5), (0.0, 1.0)])
def test_mean_occupations_equal_the_circuit_average_for_every_gate_ensemble(p1, p2):
    L, delta, n_circuits = 4, 0.6, 1500
    initial = np.array([1.0, 0.2, 0.9, 0.0])
    rng = _rng(50 + int(10 * p1 + 100 * p2))
    samples = np.empty((n_circuits, 2, L))
    for c in range(n_circuits):
        rho = circuit.product_state(initial)
        for t in range(2):  # one time unit = L + 1 gates
            rho = circuit.evolve(rho, L + 1, rng, p1, p2, delta)
            samples[c, t] = _occupations(rho)
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(n_circuits)
    assert se.min() > 0, "every site must fluctuate between circuits"
    exact = quench.mean_occupations(initial, [1, 2], (1 + delta) / 2, (1 - delta) / 2)
    z = np.abs(mean - exact) / se
    assert z.max() < 4, f"Monte Carlo vs exact mean occupations: {z.max():.1f} standard errors"
    # power: the occupations moved by many standard errors, so a wrong map would be seen
    assert (np.abs(mean - initial) / se).max() > 20


def test_mean_occupations_validation():
    with pytest.raises(ValueError, match="left"):
        quench.mean_occupations([0.5, 0.5], [1], 1.2, 0.5)
    with pytest.raises(ValueError, match="right"):
        quench.mean_occupations([0.5, 0.5], [1], 0.5, -0.1)
    with pytest.raises(ValueError, match="initial"):
        quench.mean_occupations([0.5, 1.5], [1], 0.5, 0.5)
    with pytest.raises(ValueError, match="initial"):
        quench.mean_occupations([0.5], [1], 0.5, 0.5)


# --------------------------------------------------------------------------- phase I (p1 = p2 = 0)
def _track_spins(occupations, bonds, us, delta):
    """Classical bookkeeping of one p1 = p2 = 0 circuit: the gate is an iSWAP (U[1, 2] = i) or the
    identity; an iSWAP exchanges the two spins, on a boundary bond it brings a fresh reservoir spin
    (occupation (1 +- delta)/2) onto the end site. Yields (occupations, from_reservoir) per gate."""
    L = len(occupations)
    occ, label = np.array(occupations, dtype=float), np.zeros(L, dtype=bool)
    for bond, U in zip(bonds, us):
        assert np.allclose(U, gates.ISWAP) or np.allclose(U, gates.IDENTITY)
        if abs(U[1, 2]) > 0.5:
            if bond == 0:
                occ[0], label[0] = (1 + delta) / 2, True
            elif bond == L:
                occ[L - 1], label[L - 1] = (1 - delta) / 2, True
            else:
                a = bond - 1
                occ[[a, a + 1]], label[[a, a + 1]] = occ[[a + 1, a]], label[[a + 1, a]]
        yield occ, label


@pytest.mark.parametrize("delta", [0.6, -0.35])
def test_phase_one_state_is_the_product_of_the_tracked_spins(delta):
    L, occ0 = 6, [1, 0, 1, 1, 0, 0]
    bonds, us = gates.sample_sequence(_rng(60), 12 * (L + 1), L, 0.0, 0.0)
    rho = circuit.product_state(occ0)
    h = _h((1 + delta) / 2)
    counts = []
    for k, (occ, label) in enumerate(_track_spins(occ0, bonds, us, delta)):
        rho = circuit.apply_gates(rho, bonds[k : k + 1], us[k : k + 1], delta)
        if k % 7 == 6:
            np.testing.assert_allclose(rho, circuit.product_state(occ), atol=1e-12, rtol=0)
            assert quantum.entropy(rho) == pytest.approx(h * label.sum(), abs=1e-10)
            assert quantum.number_conserving_entropy(rho) == pytest.approx(
                h * label.sum(), abs=1e-10
            )
            counts.append(label.sum())
    assert min(counts) < L // 2 and max(counts) >= L // 2, f"uninformative label counts {counts}"


def _reservoir_spin_counts(rng, L, n_circuits, duration):
    """Monte Carlo of the classical bookkeeping, all circuits at once: count of sites holding a
    reservoir spin after each time unit 0..duration. Columns 0 and L + 1 are the reservoirs."""
    label = np.zeros((n_circuits, L + 2), dtype=bool)
    label[:, [0, L + 1]] = True
    rows = np.arange(n_circuits)
    counts = [label[:, 1 : L + 1].sum(axis=1)]
    for _ in range(duration):
        bonds, us = gates.sample_sequence(rng, n_circuits * (L + 1), L, 0.0, 0.0)
        bonds, swap = (
            bonds.reshape(n_circuits, L + 1),
            (np.abs(us[:, 1, 2]) > 0.5).reshape(n_circuits, L + 1),
        )
        for g in range(L + 1):
            b, s = bonds[:, g], swap[:, g]
            left, right = label[rows, b], label[rows, b + 1]  # bond b joins columns b and b + 1
            label[rows, b], label[rows, b + 1] = np.where(s, right, left), np.where(s, left, right)
            label[:, [0, L + 1]] = True  # a fresh reservoir spin every time
        counts.append(label[:, 1 : L + 1].sum(axis=1))
    return np.array(counts).T


def test_phase_one_entropy_is_the_mean_reservoir_spin_count():
    L, n_circuits, duration = 6, 3000, 10
    counts = _reservoir_spin_counts(_rng(61), L, n_circuits, duration)
    times = np.arange(duration + 1)
    mean, se = counts.mean(axis=0), counts.std(axis=0, ddof=1) / np.sqrt(n_circuits)
    exact = quench.phase_one_entropy(L, times, 0.0) / LN2  # h(1/2) = ln 2
    assert exact[0] == pytest.approx(0, abs=1e-12) and mean[0] == 0
    z = np.abs(mean[1:] - exact[1:]) / se[1:]
    assert z.max() < 4, (
        f"mean reservoir-spin count vs phase_one_entropy: {z.max():.1f} standard errors"
    )
    assert exact[-1] > L / 2, (
        "the chain must be half refilled by t = 10 (relaxation time 2 (L+1)^2 / pi^2 = 10)"
    )
    # the drive enters only through h((1 + delta)/2), equal for +-delta
    for delta in [0.5, -0.5, 1.0]:
        np.testing.assert_allclose(
            quench.phase_one_entropy(L, times, delta),
            _h((1 + delta) / 2) * exact,
            atol=1e-12,
            rtol=0,
        )


@pytest.fixture(scope="module")
def long_chain():
    """phase_one_entropy on L = 2000 sites at delta = 0 (one eigendecomposition, ~1.5 s).

    Up to t = 3000 the diffusion length sqrt(4 D t) <= 78 << L, so the two ends do not see each
    other (erfc(L / 78) ~ 1e-288); L = 4000 changes S by < 2e-6 (discrete-gate corrections ~1/L).
    """
    times = np.unique(np.concatenate([np.arange(100, 1001, 50), [300, 500, 2000, 3000]]))
    return times, quench.phase_one_entropy(2000, times, 0.0)


def test_phase_one_asymptote_approaches_the_exact_mean(long_chain):
    """The neglected terms are O(1/l) with l = sqrt(4 D t): the next Euler-Maclaurin term
    -g'(0)/12 = 1/(6 sqrt(pi) l) per end, and lattice corrections to the erfc profile of the same
    order. So |asymptote - exact| <= 2 h / l (an O(1) coefficient 1; the observed one is ~0.14)
    while a missing -1/2 (error h) or a 1 % error in D (error ~ 0.01 S) would exceed it by far."""
    times, exact = long_chain
    pick = np.isin(times, [300, 500, 1000, 2000, 3000])
    t, S = times[pick], exact[pick]
    A = quench.phase_one_asymptote(t, 0.0)
    ell = np.sqrt(4 * quench.D_SPIN * t)
    assert np.all(np.abs(A - S) < 2 * LN2 / ell), (
        f"|A - S| = {np.abs(A - S)}, bound {2 * LN2 / ell}"
    )
    relative = np.abs(A / S - 1)
    assert relative[0] < 1e-2
    assert np.all(np.diff(relative) < 0), f"relative difference must shrink with t: {relative}"
    # delta enters as the factor h((1 + delta)/2)
    np.testing.assert_allclose(quench.phase_one_asymptote(t, 0.8), A * _h(0.9) / LN2, rtol=1e-12)


# --------------------------------------------------------------------------- traces
TRACE_KEYS = ("S", "n", "S_region")


@pytest.mark.parametrize("p1", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("pure", [True, False])
def test_dense_and_gaussian_traces_are_the_same_circuit_at_p2_zero(p1, pure):
    L, delta, times, widths = 6, 0.8, [0, 1, 2, 5, 9], [1, 2, 3]
    occ = quench.step_occupations(L, 1.0 if pure else delta)
    dense = quench.dense_trace(_rng(70), occ, p1, 0.0, delta, times, widths)
    free = quench.gaussian_trace(_rng(70), occ, p1, delta, times, widths)
    np.testing.assert_array_equal(dense["t"], times)
    np.testing.assert_array_equal(free["t"], times)
    assert (
        dense["S"].shape == (5,)
        and dense["n"].shape == (5, L)
        and dense["S_region"].shape == (5, 3)
    )
    for key in TRACE_KEYS:
        np.testing.assert_allclose(dense[key], free[key], atol=1e-9, rtol=0, err_msg=key)
    np.testing.assert_allclose(dense["n"][0], occ, atol=1e-15, rtol=0)
    assert np.abs(dense["n"][-1] - dense["n"][0]).max() > 0.1, (
        "the circuit must move the occupations"
    )
    if (
        pure or p1 > 0
    ):  # (at p1 = 0 from the mixed step every spin carries h((1 + delta)/2): S is constant)
        assert abs(dense["S"][-1] - dense["S"][0]) > 0.1, "the circuit must change the entropy"
    # the region of half-width L/2 is the whole chain
    np.testing.assert_allclose(dense["S_region"][:, -1], dense["S"], atol=1e-10, rtol=0)
    other = quench.gaussian_trace(_rng(71), occ, p1, delta, times, widths)
    assert np.abs(other["n"] - free["n"]).max() > 1e-3, "another seed must give another circuit"


def test_dense_trace_records_the_evolved_state_with_interacting_gates():
    """The record against a hand-written evolution with the same random stream (one
    circuit.evolve call of L + 1 gates per time unit) and independent routes for each quantity:
    full diagonalisation, occupations from the diagonal, explicitly listed region sites."""
    L, p1, p2, delta, times, widths = 6, 0.3, 0.4, -0.5, [0, 2, 3, 7], [1, 3]
    occ = [1, 0.9, 1, 0.5, 0, 0]
    trace = quench.dense_trace(_rng(72), occ, p1, p2, delta, times, widths)
    rng, rho, now = _rng(72), circuit.product_state(occ), 0
    sites = {1: [2, 3], 3: [0, 1, 2, 3, 4, 5]}
    for k, t in enumerate(times):
        for _ in range(t - now):
            rho = circuit.evolve(rho, L + 1, rng, p1, p2, delta)
        now = t
        assert trace["S"][k] == pytest.approx(quantum.entropy(rho), abs=1e-10)
        np.testing.assert_allclose(trace["n"][k], _occupations(rho), atol=1e-13, rtol=0)
        for j, x in enumerate(widths):
            S_A = quantum.entropy(quantum.partial_trace(rho, sites[x]))
            assert trace["S_region"][k, j] == pytest.approx(S_A, abs=1e-10)
    assert trace["S"][-1] > 0.5 and not np.allclose(trace["n"][-1], occ, atol=1e-2)
    empty = quench.dense_trace(_rng(72), occ, p1, p2, delta, times)
    assert empty["S_region"].shape == (4, 0)
    np.testing.assert_allclose(empty["S"], trace["S"], atol=0, rtol=0)


# --------------------------------------------------------------------------- local equilibrium deficit
def test_local_equilibrium_deficit_is_a_nonnegative_direct_difference():
    L, delta, times, widths = 6, 0.9, [0, 1, 2, 4, 8], [1, 2, 3]
    occ = quench.step_occupations(L, delta)
    traces = [
        quench.dense_trace(_rng(80 + r), occ, 0.5, 0.3, delta, times, widths) for r in range(3)
    ]
    n = np.array([tr["n"] for tr in traces])
    S_region = np.array([tr["S_region"] for tr in traces])
    deficit = quench.local_equilibrium_deficit(n, S_region, widths)
    assert deficit.shape == (3, 5, 3)
    np.testing.assert_allclose(deficit[:, 0], 0.0, atol=1e-10)  # product state at t = 0
    assert deficit.min() >= -1e-10, f"subadditivity violated: {deficit.min():.2e}"
    assert deficit.max() > 1e-2, "the interacting circuit must build correlations"
    # direct: region of half-width 2 is sites 1..4 of 6
    for r, tr in enumerate(traces):
        direct = (
            np.array([sum(_h(p) for p in tr["n"][k, 1:5]) for k in range(5)]) - tr["S_region"][:, 1]
        )
        np.testing.assert_allclose(deficit[r, :, 1], direct, atol=1e-12, rtol=0)
        # single trace (no realization axis) gives the same
        np.testing.assert_allclose(
            quench.local_equilibrium_deficit(tr["n"], tr["S_region"], widths),
            deficit[r],
            atol=0,
            rtol=0,
        )
    with pytest.raises(ValueError, match="S_region must have shape"):
        quench.local_equilibrium_deficit(n, S_region[..., :2], widths)


def test_phase_one_has_no_local_equilibrium_deficit():
    """At p1 = p2 = 0 the state stays a product, so every region is in local equilibrium."""
    L, delta, widths = 8, 0.7, [1, 2, 4]
    trace = quench.dense_trace(
        _rng(81), quench.step_occupations(L, 1.0), 0.0, 0.0, delta, [0, 1, 3, 6], widths
    )
    deficit = quench.local_equilibrium_deficit(trace["n"], trace["S_region"], widths)
    np.testing.assert_allclose(deficit, 0.0, atol=1e-10)
    # yet the entropy grew: S = h((1 + delta)/2) x (number of reservoir spins), a positive integer
    count = trace["S"] / _h((1 + delta) / 2)
    np.testing.assert_allclose(count, np.round(count), atol=1e-9)
    assert count[0] == pytest.approx(0, abs=1e-9) and count[-1] >= 1 - 1e-9


# --------------------------------------------------------------------------- entropy bounds
@pytest.mark.parametrize("p1, p2, delta", [(0.5, 0.3, 0.5), (1.0, 0.0, -0.8), (0.0, 1.0, 0.0)])
def test_entropy_changes_only_at_boundary_gates_and_by_at_most_h_plus_ln2(p1, p2, delta):
    """Bulk gates are unitary on the chain: S unchanged. A boundary gate acts unitarily on chain +
    fresh reservoir spin (entropy S + h), then the spin (entropy <= ln 2) is traced out, so by
    Araki-Lieb h - ln 2 <= S_after - S_before <= h + ln 2. Summed: S(t) - S(0) <= (h + ln 2) N_b."""
    L = 5
    h = _h((1 + delta) / 2)
    bonds, us = gates.sample_sequence(_rng(90), 40 * (L + 1), L, p1, p2)
    rho = circuit.product_state([1, 0, 1, 0, 0])
    S0 = S = quantum.entropy(rho)
    n_boundary = 0
    for b, U in zip(bonds, us):
        rho = circuit.apply_gates(rho, [b], [U], delta)
        S_new = quantum.entropy(rho)
        if b in (0, L):
            n_boundary += 1
            assert h - LN2 - 1e-10 <= S_new - S <= h + LN2 + 1e-10
        else:
            assert S_new == pytest.approx(S, abs=1e-10)
        S = S_new
    assert n_boundary > 40
    assert S - S0 <= (h + LN2) * n_boundary
    assert S > 0.5


# --------------------------------------------------------------------------- analysis helpers
def test_at_diffusion_length_interpolates_linearly_in_x():
    times = [0, 1, 2, 4, 8, 16, 32, 50]  # l_D = sqrt(t/2): 0, .71, 1, 1.41, 2, 2.83, 4, 5
    widths = [1, 2, 4, 5]
    t, x = np.array(times, float), np.array(widths, float)
    rng = _rng(100)
    intercept, slope = rng.normal(size=(3, len(times), 1)), rng.normal(size=(3, len(times), 1))
    values = intercept + slope * x  # (3, T, X), linear in x at each t
    got = quench.at_diffusion_length(times, widths, values)
    assert got.shape == (3, len(times))
    lD = np.sqrt(quench.D_SPIN * t)
    inside = (lD >= 1) & (lD <= 5)
    np.testing.assert_array_equal(inside, [False, False, True, True, True, True, True, True])
    assert np.all(np.isnan(got[:, ~inside]))
    expected = intercept[..., 0] + slope[..., 0] * lD
    np.testing.assert_allclose(got[:, inside], expected[:, inside], atol=1e-12, rtol=0)
    # arbitrary data: piecewise-linear interpolation, as np.interp does it
    values = rng.normal(size=(len(times), len(widths)))
    got = quench.at_diffusion_length(times, widths, values)
    expected = [np.interp(l, x, v) for l, v in zip(lD, values)]
    np.testing.assert_allclose(got[inside], np.array(expected)[inside], atol=1e-12, rtol=0)
    # another diffusion constant moves l_D: D = 2 gives l_D = sqrt(2 t), inside for t = 1..12
    got = quench.at_diffusion_length([1, 8, 13], widths, values[:3], D=2.0)
    assert np.isnan(got[2]) and got[1] == pytest.approx(values[1, 2], abs=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: quench.at_diffusion_length([1, 2], [1], np.zeros((2, 1))), "half_widths"),
        (lambda: quench.at_diffusion_length([1, 2], [2, 1], np.zeros((2, 2))), "half_widths"),
        (
            lambda: quench.at_diffusion_length([1, 2], [1, 2], np.zeros((3, 2))),
            "values must end in shape",
        ),
    ],
)
def test_at_diffusion_length_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "alpha, a, b", [(0.5, 2.0, -0.7), (1.0, 0.3, 3.0), (0.5, 1.0, 0.0), (1.5, 0.01, 5.0)]
)
def test_growth_exponent_recovers_exact_power_laws(alpha, a, b):
    times = np.arange(0, 201, 5)  # t = 0 lies outside the fit (t > 0 only)
    y = a * times**alpha + b
    got, error = quench.growth_exponent(times, np.vstack([y, y, y]), 10, 200)
    assert got == pytest.approx(alpha, abs=1e-4)
    assert error == pytest.approx(0, abs=1e-6)  # identical realizations
    # outside the window the data do not matter
    spoiled = y.copy()
    spoiled[times > 200 - 1] = 0.0
    spoiled = np.append(spoiled, 1e6)
    got, _ = quench.growth_exponent(np.append(times, 300), np.vstack([spoiled, spoiled]), 10, 195)
    assert got == pytest.approx(alpha, abs=1e-4)


def test_growth_exponent_jackknife_error_covers_the_truth():
    times = np.arange(0, 201, 10)
    rng = _rng(110)
    samples = 2.0 * times**0.5 + 1.0 + rng.normal(scale=1.0, size=(100, times.size))
    alpha, error = quench.growth_exponent(times, samples, 10, 200)
    assert np.isfinite(error) and 0 < error < 0.1
    assert abs(alpha - 0.5) < 4 * error, f"alpha = {alpha:.4f} +- {error:.4f}"


def test_growth_exponent_of_phase_one_is_one_half(long_chain):
    """E S = 2h (sqrt(2t/pi) - 1/2) + O(t^-1/2): the offset absorbs -h, the O(t^-1/2) remainder
    (~0.14/l of 13 at t = 300, see the asymptote test) biases alpha by ~1e-3 on [100, 1000]."""
    times, S = long_chain
    alpha, _ = quench.growth_exponent(times, np.vstack([S, S]), 100, 1000)
    assert alpha == pytest.approx(0.5, abs=0.005)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: quench.growth_exponent([1, 2, 3, 4, 5], np.zeros(5), 1, 5),
            "samples must have shape",
        ),
        (
            lambda: quench.growth_exponent([1, 2, 3, 4, 5], np.zeros((2, 4)), 1, 5),
            "samples must have shape",
        ),
        (
            lambda: quench.growth_exponent([0, 1, 2, 3, 4], np.zeros((2, 5)), 0, 3),
            "four positive times",
        ),
    ],
)
def test_growth_exponent_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_crossing_time_interpolates_linearly():
    times = [3, 5, 8, 12]
    values = np.array([0.0, 1.0, 3.0, 4.0])
    assert quench.crossing_time(times, values, 2.0) == pytest.approx(5 + 0.5 * 3, abs=1e-14)
    assert quench.crossing_time(times, values, 0.5) == pytest.approx(3 + 0.5 * 2, abs=1e-14)
    assert quench.crossing_time(times, values, 4.0) == pytest.approx(12, abs=1e-14)
    assert quench.crossing_time(times, values, 3.0) == pytest.approx(8, abs=1e-14)
    assert np.isnan(quench.crossing_time(times, values, 4.5))
    assert quench.crossing_time(times, values, 0.0) == 3  # reached at the start
    assert quench.crossing_time(times, values, -1.0) == 3
    # non-monotonic data: the first crossing
    assert quench.crossing_time(times, [0.0, 2.0, 1.0, 5.0], 1.5) == pytest.approx(
        3 + 0.75 * 2, abs=1e-14
    )
    # leading axes against a loop
    rng = _rng(120)
    many = np.cumsum(rng.uniform(size=(4, 3, 4)), axis=-1)
    got = quench.crossing_time(times, many, 1.5)
    assert got.shape == (4, 3)
    for idx in np.ndindex(4, 3):
        v = many[idx]
        if v[-1] < 1.5:
            assert np.isnan(got[idx])
        elif v[0] >= 1.5:
            assert got[idx] == times[0]
        else:
            k = np.argmax(v >= 1.5)
            expected = times[k - 1] + (1.5 - v[k - 1]) / (v[k] - v[k - 1]) * (
                times[k] - times[k - 1]
            )
            assert got[idx] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(got).any() and (~np.isnan(got)).any()
    with pytest.raises(ValueError, match="values must end in an axis"):
        quench.crossing_time(times, np.zeros(3), 1.0)


# --------------------------------------------------------------------------- region, step, validation
def test_region_and_step_occupations():
    np.testing.assert_array_equal(quench.region(8, 1), [3, 4])
    np.testing.assert_array_equal(quench.region(8, 4), np.arange(8))
    np.testing.assert_array_equal(quench.region(7, 2), [1, 2, 3, 4])
    np.testing.assert_array_equal(quench.region(7, 3), [0, 1, 2, 3, 4, 5])
    for L in [2, 5, 10]:
        for x in range(1, L // 2 + 1):
            r = quench.region(L, x)
            assert len(r) == 2 * x and r.min() >= 0 and r.max() < L
            assert (r < L // 2).sum() == x  # centred on the bond (L//2 - 1, L//2)
    np.testing.assert_allclose(
        quench.step_occupations(6, 0.4), [0.7, 0.7, 0.7, 0.3, 0.3, 0.3], atol=1e-15
    )
    np.testing.assert_array_equal(quench.step_occupations(4, 1.0), [1, 1, 0, 0])
    np.testing.assert_array_equal(quench.step_occupations(2, -1.0), [0, 1])


OCC = [1.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: quench.region(8, 0), "half-width x"),
        (lambda: quench.region(8, 5), "half-width x"),
        (lambda: quench.region(7, 4), "half-width x"),
        (lambda: quench.region(8, 1.0), "half-width x"),
        (lambda: quench.region(8, True), "half-width x"),
        (lambda: quench.region(1, 1), "L must be"),
        (lambda: quench.step_occupations(7, 0.5), "even number of sites"),
        (lambda: quench.step_occupations(6, 1.5), "delta"),
        (lambda: quench.step_occupations(6, "0.5"), "delta"),
        (lambda: quench.step_occupations(6.0, 0.5), "L must be"),
        (lambda: quench.phase_one_entropy(6, [1], -1.1), "delta"),
        (lambda: quench.phase_one_asymptote([1], 2.0), "delta"),
        (lambda: quench.phase_one_entropy(1, [1], 0.0), "L must be"),
        (lambda: quench.mean_occupations([0.5, 0.5], [0.5], 0.5, 0.5), "times"),
        (lambda: quench.mean_occupations([0.5, 0.5], [2, 1], 0.5, 0.5), "times"),
        (lambda: quench.mean_occupations([0.5, 0.5], [1, 1], 0.5, 0.5), "times"),
        (lambda: quench.mean_occupations([0.5, 0.5], [-1, 1], 0.5, 0.5), "times"),
        (lambda: quench.mean_occupations([0.5, 0.5], [], 0.5, 0.5), "times"),
        (lambda: quench.phase_one_asymptote([1, np.nan], 0.0), "times"),
        (lambda: quench.dense_trace(_rng(0), OCC, 0.5, 0.0, 0.3, [0, 1.5]), "times"),
        (lambda: quench.gaussian_trace(_rng(0), OCC, 0.5, 0.3, [3, 2]), "times"),
        (
            lambda: quench.dense_trace(_rng(0), [1.0, 0.0, 1.2, 0.0], 0.5, 0.0, 0.3, [1]),
            "occupations",
        ),
        (
            lambda: quench.gaussian_trace(_rng(0), [1.0, -0.1, 1.0, 0.0], 0.5, 0.3, [1]),
            "occupations",
        ),
        (
            lambda: quench.gaussian_trace(_rng(0), [[1.0, 0.0], [1.0, 0.0]], 0.5, 0.3, [1]),
            "occupations",
        ),
        (lambda: quench.dense_trace(_rng(0), [1.0] * 13, 0.5, 0.0, 0.3, [1]), "occupations"),
        (lambda: quench.dense_trace(_rng(0), OCC, 0.5, 0.0, 0.3, [1], [3]), "half_widths must be"),
        (lambda: quench.gaussian_trace(_rng(0), OCC, 0.5, 0.3, [1], [0]), "half_widths must be"),
        (
            lambda: quench.local_equilibrium_deficit(np.zeros((2, 4)), np.zeros((2, 1)), [3]),
            "half_widths must be",
        ),
        (lambda: quench.dense_trace(_rng(0), OCC, 0.7, 0.5, 0.3, [1]), "p1 \\+ p2"),
        (lambda: quench.gaussian_trace(_rng(0), OCC, 0.5, 1.3, [1]), "delta"),
    ],
)
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- validation of records
def test_infinite_times_are_rejected():
    with pytest.raises(ValueError, match="times"):
        quench.dense_trace(_rng(0), OCC, 0.5, 0.0, 0.3, [0, np.inf])


def test_non_integer_half_widths_are_rejected():
    with pytest.raises(ValueError, match="half_widths"):
        quench.gaussian_trace(_rng(0), OCC, 0.5, 0.3, [1], [1.5])
    with pytest.raises(ValueError, match="reservoir occupation"):
        quench.mean_occupations([0.5, 0.5], [1], True, 0.5)


@pytest.mark.parametrize("L", [2, 3, 4, 7, 12])
def test_phase_one_half_time_is_the_crossing_of_the_whole_exact_curve(L):
    t = np.arange(4 * L * L)
    level = L * np.log(2) / 2
    brute = quench.crossing_time(t, quench.phase_one_entropy(L, t, 0.0), level)
    assert quench.phase_one_half_time(L) == pytest.approx(float(brute), rel=1e-12)
    k = int(np.floor(quench.phase_one_half_time(L)))  # bracketed by the integer times around it
    assert (
        quench.phase_one_entropy(L, [k], 0.0)[0]
        <= level
        <= quench.phase_one_entropy(L, [k + 1], 0.0)[0]
    )


def test_phase_one_half_time_spans_blocks_and_scales_as_L_squared():
    """At L = 300 the crossing lies past the first block of times (2**21 // L = 6990); the
    time grows diffusively, t_1/2 ~ L^2 (local exponent within 0.05 of 2)."""
    t150, t300 = quench.phase_one_half_time(150), quench.phase_one_half_time(300)
    assert t300 > 2**21 // 300
    assert abs(np.log(t300 / t150) / np.log(2) - 2) < 0.05


def test_neel_occupations_alternate_and_make_a_pure_state():
    n = quench.neel_occupations(5)
    np.testing.assert_array_equal(n, [1, 0, 1, 0, 1])
    assert quench.dense_trace(np.random.default_rng(0), n, 0.5, 0.5, 0.0, [0])["S"][
        0
    ] == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError, match="L"):
        quench.neel_occupations(1)


def test_half_saturation_time_of_linear_traces_and_its_leave_one_out_error():
    """Traces S = c_i t cross L ln 2 / 2 at level / mean(c), exactly (linear interpolation);
    the jackknife error is the closed form over the leave-one-out means."""
    t, c, L = np.arange(40), np.array([0.30, 0.36, 0.25, 0.33]), 6
    level = L * np.log(2) / 2
    estimate, error = quench.half_saturation_time(t, np.outer(c, t), L)
    assert estimate == pytest.approx(level / c.mean(), rel=1e-12)
    loo = level / np.array([np.delete(c, i).mean() for i in range(len(c))])
    assert error == pytest.approx(np.sqrt(3 / 4 * np.sum((loo - loo.mean()) ** 2)), rel=1e-10)
    with pytest.raises(ValueError, match="samples"):
        quench.half_saturation_time(t, np.outer(c, t)[:1], L)
