"""The dense simulator (nqlib.circuit) against the free-fermion simulator (nqlib.freecircuit),
against explicit constructions of the gates and of the reservoir channel (GH Eq. 5), and
physical properties: the channel is CPTP, phase I (p1 = 0) ends in a product of single-site
states, delta = 0 has the fully mixed state as fixed point, the circuit-averaged density is the
SSEP profile (GH Sec. III A); input validation.

Tolerances: the dense and free-fermion routes are exact and differ only by rounding, which
after <= 600 gates stays ~1e-15 per entry; 1e-10 leaves five orders of margin. Monte Carlo
averages are compared within 5 standard errors estimated from independent circuits."""

import numpy as np
import pytest

from nqlib import circuit, freecircuit, gates, gaussian, quantum, ssep


def _rng(seed):
    return np.random.default_rng(seed)


def _occupations(rho):
    """<n_i> from the diagonal: probability that site i is in basis state 0 (up = occupied)."""
    L = quantum.n_sites(rho)
    p = np.real(np.diag(rho)).reshape((2,) * L)
    return np.array([np.take(p, 0, axis=i).sum() for i in range(L)])


def _random_pure(rng, L):
    psi = rng.normal(size=2**L) + 1j * rng.normal(size=2**L)
    psi /= np.linalg.norm(psi)
    return np.outer(psi, psi.conj())


def _random_mixed(rng, L, rank):
    g = rng.normal(size=(2**L, rank)) + 1j * rng.normal(size=(2**L, rank))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def _binary_entropy(p):
    return -sum(x * np.log(x) for x in (p, 1 - p) if x > 1e-300)


# --------------------------------------------------------------------------- dense vs free fermions
INITIAL_STATES = {
    "local-equilibrium": lambda L, delta: circuit.local_equilibrium(L, delta),
    "pure-product": lambda L, delta: circuit.product_state([1, 0, 1, 0, 1, 0][:L]),
}


@pytest.mark.parametrize("p1", [1.0, 0.3])
@pytest.mark.parametrize("delta", [0.7, -0.4])
@pytest.mark.parametrize("initial", sorted(INITIAL_STATES))
def test_dense_and_free_fermion_simulators_agree(p1, delta, initial):
    L, steps = 6, 500
    rho0 = INITIAL_STATES[initial](L, delta)
    bonds, us = gates.sample_sequence(_rng(100), steps, L, p1, 0.0)
    assert 0 in bonds and L in bonds, "the sequence must contain both reservoir bonds"
    rho = circuit.apply_gates(rho0, bonds, us, delta)
    C0 = quantum.correlation_matrix(rho0)
    C = freecircuit.apply_gates(C0, bonds, freecircuit.single_particle_sequence(us), delta)
    C_dense = quantum.correlation_matrix(rho)
    err = np.abs(C_dense - C).max()
    assert err < 1e-10, f"dense and free-fermion correlation matrices differ by {err:.2e}"
    # the evolution did something: the state moved far from the start
    assert np.abs(C - C0).max() > 0.05
    # Gaussianity is preserved, so the entropies agree too
    assert gaussian.entropy(C) == pytest.approx(quantum.entropy(rho), abs=1e-9)
    assert gaussian.mutual_information(C, range(L // 2)) == pytest.approx(
        quantum.mutual_information(rho, range(L // 2)), abs=1e-9
    )


def test_dense_and_free_fermion_agree_gate_by_gate_at_the_boundaries():
    """One gate at a time, boundary bonds over-represented, with a strongly driven reservoir."""
    L, delta = 4, 1.0
    rng = _rng(101)
    rho = circuit.product_state([0.0, 1.0, 0.5, 0.2])
    C = quantum.correlation_matrix(rho)
    for t in range(120):
        bond = [0, L, 1, 2, 3][t % 5] if t % 3 else [0, L][t % 2]
        U = gates.sample_gate(rng, 0.8, 0.0)
        rho = circuit.apply_gates(rho, [bond], [U], delta)
        C = freecircuit.apply_gates(C, [bond], [gates.single_particle(U)], delta)
        err = np.abs(quantum.correlation_matrix(rho) - C).max()
        assert err < 1e-12, f"gate {t} on bond {bond}: mismatch {err:.2e}"


@pytest.mark.parametrize("p1", [1.0, 0.3, 0.0])
def test_free_evolve_uses_the_sample_sequence_stream(p1):
    L, steps, delta = 7, 3000, 0.5
    C0 = np.ascontiguousarray(quantum.correlation_matrix(circuit.local_equilibrium(L, delta)))
    saved = C0.copy()
    C = freecircuit.evolve(C0, steps, _rng(102), p1, delta)
    np.testing.assert_array_equal(C0, saved, err_msg="freecircuit.evolve modified its input")
    assert C is not C0
    bonds, us = gates.sample_sequence(_rng(102), steps, L, p1, 0.0)
    expected = freecircuit.apply_gates(C0, bonds, freecircuit.single_particle_sequence(us), delta)
    np.testing.assert_array_equal(C0, saved, err_msg="freecircuit.apply_gates modified its input")
    np.testing.assert_allclose(C, expected, atol=1e-14, rtol=0)
    other = freecircuit.evolve(C0, steps, _rng(103), p1, delta)
    assert np.abs(other - C).max() > 1e-3, "a different seed must give a different circuit"
    assert np.array_equal(freecircuit.evolve(C0, 0, _rng(0), p1, delta), C0)


def test_dense_evolve_uses_the_sample_sequence_stream_and_matches_free_evolve():
    L, steps, delta, p1 = 5, 400, -0.6, 0.5
    rho0 = circuit.local_equilibrium(L, delta)
    saved = rho0.copy()
    rho = circuit.evolve(rho0, steps, _rng(104), p1, 0.0, delta)
    np.testing.assert_array_equal(rho0, saved, err_msg="circuit.evolve modified its input")
    bonds, us = gates.sample_sequence(_rng(104), steps, L, p1, 0.0)
    np.testing.assert_allclose(rho, circuit.apply_gates(rho0, bonds, us, delta), atol=1e-15, rtol=0)
    # same seed, same circuit in both simulators
    C = freecircuit.evolve(quantum.correlation_matrix(rho0), steps, _rng(104), p1, delta)
    np.testing.assert_allclose(quantum.correlation_matrix(rho), C, atol=1e-10, rtol=0)


# --------------------------------------------------------------------------- explicit constructions
def test_bulk_gate_is_the_kronecker_embedding():
    L = 4
    rng = _rng(105)
    rho = _random_mixed(rng, L, 3)
    for U in [gates.sample_gate(rng, 0.3, 0.4) for _ in range(3)]:
        for bond in range(1, L):
            site = bond - 1  # gate acts on sites (bond - 1, bond)
            full = np.kron(np.kron(np.eye(2**site), U), np.eye(2 ** (L - site - 2)))
            expected = full @ rho @ full.conj().T
            np.testing.assert_allclose(
                circuit.apply_gates(rho, [bond], [U], 0.3), expected, atol=1e-14
            )


@pytest.mark.parametrize("delta", [0.6, -0.25, 1.0, -1.0])
@pytest.mark.parametrize("p1, p2", [(1.0, 0.0), (0.0, 1.0), (0.0, 0.0)])
def test_boundary_gate_is_the_reservoir_channel(delta, p1, p2):
    """tr_res[U (rho_res x rho) U^dag] (left) and tr_res[U (rho x rho_res) U^dag] (right) with
    rho_res = diag(occupation, 1 - occupation), built explicitly on L + 1 qubits (GH Eq. 5)."""
    L = 3
    rng = _rng(106)
    rho = _random_mixed(rng, L, 2)
    res_left = np.diag([(1 + delta) / 2, (1 - delta) / 2])
    res_right = np.diag([(1 - delta) / 2, (1 + delta) / 2])
    for _ in range(4):
        U = gates.sample_gate(rng, p1, p2)
        big = np.kron(U, np.eye(2 ** (L - 1)))
        expected = quantum.partial_trace(
            big @ np.kron(res_left, rho) @ big.conj().T, range(1, L + 1)
        )
        np.testing.assert_allclose(circuit.apply_gates(rho, [0], [U], delta), expected, atol=1e-14)
        big = np.kron(np.eye(2 ** (L - 1)), U)
        expected = quantum.partial_trace(big @ np.kron(rho, res_right) @ big.conj().T, range(L))
        np.testing.assert_allclose(circuit.apply_gates(rho, [L], [U], delta), expected, atol=1e-14)


@pytest.mark.parametrize("delta", [0.6, -0.3, 1.0])
@pytest.mark.parametrize("filled", [0.0, 1.0])
def test_boundary_iswap_fills_the_end_site_from_the_reservoir(delta, filled):
    L = 4
    rho = circuit.product_state([filled] * L)
    left = circuit.apply_gates(rho, [0], [gates.ISWAP], delta)
    np.testing.assert_allclose(
        _occupations(left), [(1 + delta) / 2] + [filled] * (L - 1), atol=1e-15
    )
    right = circuit.apply_gates(rho, [L], [gates.ISWAP], delta)
    np.testing.assert_allclose(
        _occupations(right), [filled] * (L - 1) + [(1 - delta) / 2], atol=1e-15
    )
    # a single swap with a classical reservoir leaves a diagonal product state
    expected = circuit.product_state([(1 + delta) / 2] + [filled] * (L - 1))
    np.testing.assert_allclose(left, expected, atol=1e-15)
    # the identity gate does nothing
    np.testing.assert_allclose(
        circuit.apply_gates(rho, [0, L], [gates.IDENTITY] * 2, delta), rho, atol=0
    )


def test_boundary_partial_swap_occupation():
    """Classical rates for one gate: left, reservoir first: n' = rho n + rho (1 - n) |U_lr|^2 +
    (1 - rho) n |U_du|^2; right, reservoir second: n' = n rho + n (1 - rho) |U_ud|^2 +
    (1 - n) rho |U_rl|^2."""
    L, delta = 3, 0.45
    occ = np.array([0.3, 0.6, 0.8])
    rho = circuit.product_state(occ)
    rng = _rng(107)
    rl, rr = (1 + delta) / 2, (1 - delta) / 2
    for U in [gates.sample_gate(rng, 1.0, 0.0) for _ in range(5)] + [
        gates.sample_gate(rng, 0.0, 1.0)
    ]:
        n = occ[0]
        expected = rl * n + rl * (1 - n) * abs(U[2, 1]) ** 2 + (1 - rl) * n * abs(U[2, 2]) ** 2
        got = _occupations(circuit.apply_gates(rho, [0], [U], delta))
        np.testing.assert_allclose(got, [expected, occ[1], occ[2]], atol=1e-14)
        n = occ[-1]
        expected = n * rr + n * (1 - rr) * abs(U[1, 1]) ** 2 + (1 - n) * rr * abs(U[1, 2]) ** 2
        got = _occupations(circuit.apply_gates(rho, [L], [U], delta))
        np.testing.assert_allclose(got, [occ[0], occ[1], expected], atol=1e-14)


# --------------------------------------------------------------------------- channel properties
@pytest.mark.parametrize("delta", [0.8, 1.0, -1.0])
@pytest.mark.parametrize("p1, p2", [(0.3, 0.4), (0.0, 1.0)])
def test_dense_channel_is_trace_preserving_hermitian_and_positive(delta, p1, p2):
    L = 4
    rng = _rng(108)
    rho = _random_pure(rng, L)  # rank one: any loss of positivity shows up at once
    bonds, us = gates.sample_sequence(rng, 300, L, p1, p2)
    for t, (b, U) in enumerate(zip(bonds, us)):
        rho = circuit.apply_gates(rho, [b], [U], delta)
        assert abs(np.trace(rho) - 1) < 1e-12, f"trace {np.trace(rho)} after gate {t}"
        herm = np.abs(rho - rho.conj().T).max()
        assert herm < 1e-13, f"non-Hermitian by {herm:.1e} after gate {t}"
        low = np.linalg.eigvalsh(rho).min()
        assert low > -1e-12, f"negative eigenvalue {low:.2e} after gate {t} (bond {b})"
    # the reservoirs mixed the state (with pure reservoirs, delta = +-1, and only permutation
    # gates, p1 = 0, the state ends in a pure configuration instead)
    if abs(delta) < 1 or p1 > 0:
        assert quantum.purity(rho) < 0.9


def test_bulk_gates_alone_keep_a_pure_state_pure():
    L = 5
    rng = _rng(109)
    rho = _random_pure(rng, L)
    _, us = gates.sample_sequence(rng, 200, L, 0.3, 0.4)
    bonds = rng.integers(1, L, size=200)
    out = circuit.apply_gates(rho, bonds, us, 0.9)
    assert quantum.purity(out) == pytest.approx(1, abs=1e-12)
    assert np.abs(out - rho).max() > 1e-2


@pytest.mark.parametrize("p1, p2", [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.3, 0.3)])
def test_fully_mixed_state_is_fixed_without_drive(p1, p2):
    L = 5
    mixed = np.eye(2**L, dtype=complex) / 2**L
    bonds, us = gates.sample_sequence(_rng(110), 400, L, p1, p2)
    out = circuit.apply_gates(mixed, bonds, us, 0.0)
    assert np.abs(out - mixed).max() < 1e-12
    # control: with drive the fully mixed state is not stationary
    assert np.abs(circuit.apply_gates(mixed, bonds, us, 0.5) - mixed).max() > 1e-3
    C = freecircuit.apply_gates(np.eye(L) / 2, bonds[:0], np.zeros((0, 2, 2)), 0.0)
    np.testing.assert_array_equal(C, np.eye(L) / 2)
    if p2 == 0:
        C = freecircuit.apply_gates(
            np.eye(L) / 2, bonds, freecircuit.single_particle_sequence(us), 0.0
        )
        assert np.abs(C - np.eye(L) / 2).max() < 1e-12


@pytest.mark.parametrize("seed", [111, 112, 113])
def test_phase_one_ends_in_a_product_of_reservoir_states(seed):
    """p1 = 0: no partial swaps. Each initial spin random-walks (swap rate 1/2 per bond and time
    unit) until it is swapped into a reservoir; at L = 4 its survival decays as
    exp(-(1 - cos(pi/5)) t) = exp(-0.19 t), so after 2000 gates (t = 400) all four are gone with
    probability 1 - O(e^-76) and the state is a product of single-site states diag(rho_L or rho_R)."""
    L, delta, steps = 4, 0.8, 2000
    rng = _rng(seed)
    rho0 = _random_pure(rng, L)  # entangled and coherent start
    bonds, us = gates.sample_sequence(rng, steps, L, 0.0, 0.5)
    rho = circuit.apply_gates(rho0, bonds, us, delta)
    singles = [quantum.partial_trace(rho, [i]) for i in range(L)]
    S_sites = sum(quantum.entropy(s) for s in singles)
    assert abs(quantum.entropy(rho) - S_sites) < 1e-10, (
        "state is not a product of single-site states"
    )
    assert quantum.mutual_information(rho, range(L // 2)) < 1e-10
    rl, rr = (1 + delta) / 2, (1 - delta) / 2
    for i, s in enumerate(singles):
        assert abs(s[0, 1]) < 1e-12, f"site {i} keeps a coherence"
        assert min(abs(s[0, 0] - rl), abs(s[0, 0] - rr)) < 1e-12, (
            f"site {i}: occupation {s[0, 0].real}"
        )
    product = singles[0]
    for s in singles[1:]:
        product = np.kron(product, s)
    assert np.abs(rho - product).max() < 1e-12
    # every site carries a reservoir state, h(rho_L) = h(rho_R): S = L h((1 + delta) / 2)
    assert quantum.entropy(rho) == pytest.approx(L * _binary_entropy(rl), abs=1e-10)
    deficit = circuit.local_equilibrium_entropy(L, delta) - quantum.entropy(rho)
    assert circuit.phase_one_entropy_deficit(L, delta) == pytest.approx(deficit, abs=1e-10)


def test_nif_gates_build_correlations_that_phase_one_lacks():
    """Control for the test above: with p1 > 0 the same protocol leaves correlations."""
    L, delta, steps = 4, 0.8, 2000
    rng = _rng(111)
    rho0 = _random_pure(rng, L)
    bonds, us = gates.sample_sequence(rng, steps, L, 0.5, 0.0)
    rho = circuit.apply_gates(rho0, bonds, us, delta)
    assert quantum.mutual_information(rho, range(L // 2)) > 1e-4


def test_circuit_averaged_density_is_the_ssep_profile():
    """GH Sec. III A: the averaged state does not depend on (p1, p2); its density is GH Eq. C9.
    Each circuit starts empty, relaxes for 300 gates (the slowest density mode decays as
    exp(-0.19 t), t = gates / (L + 1): e^-11 here), then its density is time-averaged over 300
    more gates; circuits are independent, so the standard error comes from their spread."""
    L, delta, p1, p2 = 4, 0.8, 0.3, 0.3
    n_circuits, burn, window, every = 60, 300, 300, 5
    rng = _rng(114)
    means = []
    for _ in range(n_circuits):
        bonds, us = gates.sample_sequence(rng, burn + window, L, p1, p2)
        rho = circuit.apply_gates(
            circuit.product_state(np.zeros(L)), bonds[:burn], us[:burn], delta
        )
        acc = np.zeros(L)
        for start in range(burn, burn + window, every):
            rho = circuit.apply_gates(
                rho, bonds[start : start + every], us[start : start + every], delta
            )
            acc += _occupations(rho)
        means.append(acc / (window // every))
    means = np.array(means)
    mean = means.mean(axis=0)
    se = means.std(axis=0, ddof=1) / np.sqrt(n_circuits)
    z = (mean - ssep.density(L, delta)) / se
    assert np.abs(z).max() < 5, f"density {mean} vs SSEP {ssep.density(L, delta)}: z = {z}"
    # the estimate is sharp enough to see the gradient: the end sites differ by > 10 SE
    assert (mean[0] - mean[-1]) / np.hypot(se[0], se[-1]) > 10


def test_dense_and_free_neas_samples_agree():
    """At p2 = 0 both samplers draw the same circuit from the same seed (burn-in and sampling
    intervals included), so their entropies, mutual informations and densities coincide."""
    L, p1, delta, n = 4, 0.5, 0.6, 6
    kw = dict(sweeps_between=1.0, burn_in=5.0)
    dense = circuit.neas_samples(_rng(116), L, p1, 0.0, delta, n, **kw)
    free = freecircuit.neas_samples(_rng(116), L, p1, delta, n, **kw)
    assert (
        dense["S"].shape == (n,) and dense["n"].shape == (n, L) and dense["nn"].shape == (n, L, L)
    )
    assert free["S"].shape == (n,) and free["I"].shape == (n, 1) and free["n"].shape == (L,)
    np.testing.assert_allclose(dense["S"], free["S"], atol=1e-9)
    np.testing.assert_allclose(dense["I"], free["I"][:, 0], atol=1e-9)
    np.testing.assert_allclose(dense["n"].mean(axis=0), free["n"], atol=1e-10)
    assert np.ptp(dense["S"]) > 1e-3, "samples at different times must differ"
    again = circuit.neas_samples(_rng(116), L, p1, 0.0, delta, n, **kw)
    np.testing.assert_array_equal(again["S"], dense["S"])


def test_occupations_from_the_diagonal():
    rng = _rng(117)
    L = 3
    rho = _random_mixed(rng, L, 3)
    n, nn = circuit.occupations(rho)
    np.testing.assert_allclose(n, _occupations(rho), atol=1e-15)
    np.testing.assert_allclose(n, np.diag(quantum.correlation_matrix(rho)).real, atol=1e-14)
    p = np.real(np.diag(rho)).reshape((2,) * L)
    for i in range(L):
        for j in range(L):
            occupied = np.ones((2,) * L, dtype=bool)
            idx_i = [slice(None)] * L
            idx_i[i] = 1
            occupied[tuple(idx_i)] = False
            idx_j = [slice(None)] * L
            idx_j[j] = 1
            occupied[tuple(idx_j)] = False
            assert nn[i, j] == pytest.approx(p[occupied].sum(), abs=1e-15), (i, j)
    # a product state has <n_i n_j> = <n_i><n_j> off the diagonal
    occ = [0.9, 0.25, 0.6]
    n, nn = circuit.occupations(circuit.product_state(occ))
    expected = np.outer(occ, occ)
    np.fill_diagonal(expected, occ)
    np.testing.assert_allclose(nn, expected, atol=1e-15)


@pytest.mark.parametrize("L, delta", [(2, 0.3), (6, -0.9), (9, 1.0)])
def test_free_local_equilibrium_is_the_dense_one(L, delta):
    C = freecircuit.local_equilibrium(L, delta)
    if L <= 6:
        np.testing.assert_allclose(
            C, quantum.correlation_matrix(circuit.local_equilibrium(L, delta)), atol=1e-15
        )
    np.testing.assert_allclose(C, np.diag(ssep.density(L, delta)), atol=0)


# --------------------------------------------------------------------------- states, distance
def test_product_state_and_local_equilibrium():
    rho = circuit.product_state([1, 0, 0.25])
    assert rho.shape == (8, 8) and rho.dtype == complex
    np.testing.assert_allclose(_occupations(rho), [1, 0, 0.25], atol=0)
    np.testing.assert_allclose(quantum.correlation_matrix(rho), np.diag([1, 0, 0.25]), atol=1e-15)
    L, delta = 5, 0.6
    rho = circuit.local_equilibrium(L, delta)
    np.testing.assert_allclose(_occupations(rho), ssep.density(L, delta), atol=1e-15)
    expected = sum(_binary_entropy(n) for n in ssep.density(L, delta))
    assert quantum.entropy(rho) == pytest.approx(expected, abs=1e-12)


def test_trace_distance():
    rng = _rng(115)
    rho, sigma = _random_mixed(rng, 3, 4), _random_mixed(rng, 3, 2)
    assert circuit.trace_distance(rho, rho) == pytest.approx(0, abs=1e-14)
    psi, phi = np.zeros(8), np.zeros(8)
    psi[0], phi[5] = 1, 1
    assert circuit.trace_distance(np.outer(psi, psi), np.outer(phi, phi)) == pytest.approx(
        1, abs=1e-14
    )
    assert circuit.trace_distance(np.diag([1.0, 0.0]), np.eye(2) / 2) == pytest.approx(
        0.5, abs=1e-15
    )
    d = circuit.trace_distance(rho, sigma)
    assert 0 < d < 1 and d == pytest.approx(circuit.trace_distance(sigma, rho), abs=1e-14)
    # two pure states: sqrt(1 - |<psi|phi>|^2)
    a, b = _random_pure(rng, 2), _random_pure(rng, 2)
    overlap = np.real(np.trace(a @ b))
    assert circuit.trace_distance(a, b) == pytest.approx(np.sqrt(1 - overlap), abs=1e-12)


# --------------------------------------------------------------------------- validation
_BIG = np.broadcast_to(np.complex128(0), (2**13, 2**13))  # no memory: rejected before any copy
_RHO4 = np.eye(16, dtype=complex) / 16
_ONE_GATE = ([0], [gates.ISWAP])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: circuit.local_equilibrium(13, 0.1), r"L must be an integer in \[2, 12\]"),
        (lambda: circuit.local_equilibrium(1, 0.1), r"L must be an integer in \[2, 12\]"),
        (lambda: circuit.local_equilibrium(4.0, 0.1), r"L must be an integer in \[2, 12\]"),
        (
            lambda: circuit.local_equilibrium(4, 1.5),
            r"delta must be a finite real number in \[-1, 1\]",
        ),
        (lambda: circuit.product_state([0.5] * 13), "occupations must be 1..12 probabilities"),
        (lambda: circuit.product_state([]), "occupations must be 1..12 probabilities"),
        (lambda: circuit.product_state([0.5, 1.2]), "occupations must be 1..12 probabilities"),
        (lambda: circuit.product_state([[0.5, 0.5]]), "occupations must be 1..12 probabilities"),
        (lambda: circuit.apply_gates(_BIG, *_ONE_GATE, 0.1), r"L must be an integer in \[2, 12\]"),
        (
            lambda: circuit.apply_gates(np.eye(2) / 2, *_ONE_GATE, 0.1),
            r"L must be an integer in \[2, 12\]",
        ),
        (
            lambda: circuit.apply_gates(np.eye(6) / 6, *_ONE_GATE, 0.1),
            r"rho must be a \(2\*\*L, 2\*\*L\)",
        ),
        (
            lambda: circuit.apply_gates(_RHO4, *_ONE_GATE, 1.5),
            r"delta must be a finite real number in \[-1, 1\]",
        ),
        (
            lambda: circuit.apply_gates(_RHO4, *_ONE_GATE, -1.01),
            r"delta must be a finite real number in \[-1, 1\]",
        ),
        (
            lambda: circuit.apply_gates(_RHO4, *_ONE_GATE, "0.1"),
            r"delta must be a finite real number",
        ),
        (
            lambda: circuit.apply_gates(_RHO4, [5], [gates.ISWAP], 0.1),
            r"bonds must be integers in \[0, 4\]",
        ),
        (
            lambda: circuit.apply_gates(_RHO4, [2, -1], [gates.ISWAP] * 2, 0.1),
            r"bonds must be integers in \[0, 4\]",
        ),
        (lambda: circuit.evolve(_RHO4, 10, _rng(0), 0.7, 0.7, 0.1), r"p1 \+ p2 must be <= 1"),
        (
            lambda: circuit.evolve(_BIG, 10, _rng(0), 0.1, 0.1, 0.1),
            r"L must be an integer in \[2, 12\]",
        ),
        (
            lambda: freecircuit.apply_gates(np.eye(4) / 2, [0], [np.eye(2)], 1.5),
            r"delta must be a finite real number",
        ),
        (
            lambda: freecircuit.apply_gates(np.eye(4) / 2, [5], [np.eye(2)], 0.1),
            r"bonds must be integers in \[0, 4\]",
        ),
        (
            lambda: freecircuit.apply_gates(np.eye(4) / 2, [-1], [np.eye(2)], 0.1),
            r"bonds must be integers in \[0, 4\]",
        ),
        (
            lambda: freecircuit.apply_gates(np.eye(4) / 2, [0, 1], [np.eye(2)], 0.1),
            r"us must have shape \(2, 2, 2\)",
        ),
        (
            lambda: freecircuit.apply_gates(np.eye(1) / 2, [0], [np.eye(2)], 0.1),
            "C must be a square",
        ),
        (
            lambda: freecircuit.evolve(np.eye(4) / 2, -1, _rng(0), 0.5, 0.1),
            "steps must be an integer >= 0",
        ),
        (
            lambda: freecircuit.evolve(np.eye(4) / 2, 10, _rng(0), 1.5, 0.1),
            "p1 must be a probability",
        ),
        (
            lambda: freecircuit.single_particle_sequence(
                gates.sample_sequence(_rng(0), 20, 4, 0.0, 1.0)[1]
            ),
            "gate 0 is not fermionic Gaussian",
        ),
    ],
)
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_apply_gates_rejects_gates_that_do_not_conserve_sz():
    H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    with pytest.raises(ValueError, match="conserve S\\^z"):
        circuit.apply_gates(circuit.product_state([1, 0, 1]), [1], [np.kron(H, H)], 0.0)


def test_apply_gates_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="to match bonds"):
        circuit.apply_gates(circuit.product_state([1, 0, 1]), [0, 1, 2], [gates.ISWAP], 0.3)


def test_time_traces_track_memory_loss_and_match_a_direct_run():
    L, p1, p2, delta, duration = 4, 0.5, 0.3, 0.8, 30
    full, empty = circuit.product_state([1] * L), circuit.product_state([0] * L)
    trace = circuit.time_traces(_rng(7), L, p1, p2, delta, duration, initial=full, other=empty)
    assert (
        trace["t"].shape
        == trace["S"].shape
        == trace["I"].shape
        == trace["distance"].shape
        == (duration + 1,)
    )
    assert trace["distance"][0] == pytest.approx(1.0) and trace["S"][0] == pytest.approx(
        0.0, abs=1e-12
    )
    # a quantum channel never increases the trace distance
    assert np.diff(trace["distance"]).max() < 1e-12
    # the same stream of gates, drawn directly, gives the same final entropy
    rng = _rng(7)
    rho = full
    for _ in range(duration):
        bonds, us = gates.sample_sequence(rng, L + 1, L, p1, p2)
        rho = circuit.apply_gates(rho, bonds, us, delta)
    assert trace["S"][-1] == pytest.approx(quantum.entropy(rho), abs=1e-12)
    assert trace["I"][-1] == pytest.approx(
        quantum.mutual_information(rho, range(L // 2)), abs=1e-12
    )
    without = circuit.time_traces(_rng(7), L, p1, p2, delta, duration, initial=full)
    assert "distance" not in without and np.allclose(without["S"], trace["S"])


def test_local_equilibrium_entropy_and_phase_one_deficit():
    L, delta = 7, 0.4
    S_LE = circuit.local_equilibrium_entropy(L, delta)
    assert S_LE == pytest.approx(quantum.entropy(circuit.local_equilibrium(L, delta)), abs=1e-12)
    h = gaussian.binary_entropy((1 + delta) / 2)
    assert circuit.phase_one_entropy_deficit(L, delta) == pytest.approx(S_LE - L * h, abs=1e-12)
    assert circuit.phase_one_entropy_deficit(L, 0.0) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: circuit.time_traces(_rng(1), 4, 0.5, 0.0, 0.5, 0),
            "duration must be a positive integer",
        ),
        (
            lambda: circuit.time_traces(
                _rng(1), 4, 0.5, 0.0, 0.5, 3, initial=circuit.product_state([1] * 3)
            ),
            "initial must be a state on L=4",
        ),
        (
            lambda: circuit.time_traces(
                _rng(1), 3, 0.5, 0.0, 0.5, 3, other=circuit.product_state([1] * 4)
            ),
            "other must be a state on L=3",
        ),
        (
            lambda: circuit.neas_samples(_rng(1), 4, 0.5, 0.0, 0.5, 0),
            "n_samples must be a positive integer",
        ),
        (
            lambda: freecircuit.neas_samples(_rng(1), 8, 0.5, 0.5, 3, sweeps_between=0),
            "sweeps_between must be a finite real number > 0",
        ),
    ],
)
def test_trace_and_sample_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_block_average_of_freecircuit_leaves_out_the_diagonal_and_matches_a_mask_average():
    M = np.random.default_rng(0).random((10, 10))
    out = freecircuit.block_average(M, 3)  # blocks [0, 3), [3, 7), [7, 10)
    edges = [0, 3, 7, 10]
    for a in range(3):
        for b in range(3):
            mask = np.zeros((10, 10), bool)
            mask[edges[a] : edges[a + 1], edges[b] : edges[b + 1]] = True
            np.fill_diagonal(mask, False)
            assert out[a, b] == pytest.approx(M[mask].mean(), rel=1e-14)
    np.testing.assert_allclose(
        freecircuit.block_average(np.full((8, 8), 2.5) + 7 * np.eye(8), 4), 2.5
    )
    with pytest.raises(ValueError, match="blocks"):
        freecircuit.block_average(M, 6)


def test_deficit_estimate_is_the_jackknife_of_the_deficit_and_mutual_information():
    """Phase I (p1 = 0): every sampled state gives Delta S = the exact phase-I deficit and I = 0,
    with no spread; a generic point equals the jackknife written out; freecircuit's cuts come
    out one entry each."""
    runs = [
        circuit.neas_samples(np.random.default_rng([4, r]), 4, 0.0, 0.5, 0.6, 5) for r in range(3)
    ]
    data = {k: np.array([r[k] for r in runs]) for k in ("S", "I")}
    value, error = circuit.deficit_estimate(data, 4, 0.6)
    assert abs(value[0] - circuit.phase_one_entropy_deficit(4, 0.6) / 4) < 1e-12
    assert abs(value[1]) < 1e-12 and np.all(error < 1e-12)
    runs = [
        circuit.neas_samples(np.random.default_rng([5, r]), 4, 0.5, 0.3, 0.6, 5) for r in range(3)
    ]
    data = {k: np.array([r[k] for r in runs]) for k in ("S", "I")}
    S_LE = circuit.local_equilibrium_entropy(4, 0.6)
    loo = np.array(
        [[(S_LE - data["S"][k].mean()) / 4, data["I"][k].mean()] for k in ([1, 2], [0, 2], [0, 1])]
    )
    value, error = circuit.deficit_estimate(data, 4, 0.6)
    np.testing.assert_allclose(value, [(S_LE - data["S"].mean()) / 4, data["I"].mean()], rtol=1e-14)
    np.testing.assert_allclose(
        error, np.sqrt(2 / 3 * ((loo - loo.mean(0)) ** 2).sum(0)), rtol=1e-12
    )
    free = [
        freecircuit.neas_samples(np.random.default_rng([6, r]), 8, 1.0, 0.4, 3, cuts=[2, 4, 6])
        for r in range(2)
    ]
    stacked = {k: np.array([r[k] for r in free]) for k in ("S", "I")}
    value, error = circuit.deficit_estimate(stacked, 8, 0.4)
    assert value.shape == error.shape == (4,)
    np.testing.assert_allclose(value[1:], stacked["I"].mean(axis=(0, 1)), rtol=1e-14)
    for bad, match in [
        (dict(samples={"S": data["S"]}), "entries 'S' and 'I'"),
        (dict(samples={"S": data["S"][:1], "I": data["I"][:1]}), r"runs >= 2"),
        (dict(samples={"S": data["S"], "I": data["I"][:, :2]}), "same runs and samples"),
        (dict(L=0), "L must be an integer"),
        (dict(delta=1.5), "delta"),
    ]:
        args = dict(samples=data, L=4, delta=0.6)
        args.update(bad)
        with pytest.raises(ValueError, match=match):
            circuit.deficit_estimate(**args)


def test_occupation_estimate_is_the_pooled_covariance_with_circuit_errors():
    """Binary configurations s (runs, samples, L) with n = s and nn = s_i s_j: the estimate is the
    pooled mean and the population covariance of all samples (np.cov, an independent route); the
    density error is the standard error of the circuit means (the jackknife of a mean)."""
    rng = np.random.default_rng(11)
    s = (rng.random((5, 40, 4)) < [0.8, 0.6, 0.4, 0.2]).astype(float)
    data = {"n": s, "nn": s[..., :, None] * s[..., None, :]}
    est = circuit.occupation_estimate(data)
    flat = s.reshape(-1, 4)
    np.testing.assert_allclose(est.n, flat.mean(0), rtol=1e-14)
    np.testing.assert_allclose(est.connected, np.cov(flat.T, bias=True), atol=1e-14)
    np.testing.assert_allclose(np.diag(est.connected), est.n * (1 - est.n), atol=1e-14)
    run_means = s.mean(axis=1)
    np.testing.assert_allclose(est.n_err, run_means.std(0, ddof=1) / np.sqrt(5), rtol=1e-12)
    assert est.connected_err.shape == (4, 4) and np.all(est.connected_err > 0)
    np.testing.assert_allclose(est.connected_err, est.connected_err.T, rtol=1e-14)
    # a real phase-I run at delta = 1: every state is a product of pure reservoir spins, so each
    # sample has nn = n n^T with n in {0, 1}, and the estimate is np.cov of the pooled samples
    runs = [
        circuit.neas_samples(np.random.default_rng([7, r]), 3, 0.0, 0.5, 1.0, 20) for r in range(3)
    ]
    real = {k: np.array([r[k] for r in runs]) for k in ("n", "nn")}
    np.testing.assert_allclose(
        real["nn"], real["n"][..., :, None] * real["n"][..., None, :], atol=1e-12
    )
    pooled = real["n"].reshape(-1, 3)
    np.testing.assert_allclose(
        circuit.occupation_estimate(real).connected, np.cov(pooled.T, bias=True), atol=1e-12
    )
    for bad, match in [
        ({"n": s}, "entries 'n' and 'nn'"),
        ({"n": s[:1], "nn": data["nn"][:1]}, "runs >= 2"),
        ({"n": s, "nn": data["nn"][..., :3]}, r"\(runs, n_samples, L, L\)"),
        ({"n": s + 1, "nn": data["nn"]}, r"samples\['n'\] must hold numbers"),
        ({"n": s, "nn": data["nn"] * np.nan}, r"samples\['nn'\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            circuit.occupation_estimate(bad)


def test_coherence_collapse_averages_blocks_with_a_jackknife_and_gives_gh_shape():
    """Independent routes: an input that is GH's delta^2 x(1-y)/L in every circuit collapses
    onto the returned theory with zero error; on random input the value is the block average of
    the circuit mean and the error the leave-one-out formula written out here."""
    L, delta = 12, 0.4
    x = np.arange(1, L + 1) / (L + 1)
    g2 = np.minimum.outer(x, x) * (1 - np.maximum.outer(x, x))
    value, error, theory = freecircuit.coherence_collapse(
        np.stack([delta**2 * g2 / L] * 3), delta, blocks=4
    )
    np.testing.assert_allclose(value, theory, rtol=1e-13)
    np.testing.assert_allclose(error, 0, atol=1e-15)
    np.testing.assert_allclose(theory, freecircuit.block_average(g2, 4), rtol=1e-15)

    abs2 = np.random.default_rng(3).random((5, L, L))
    value, error, _ = freecircuit.coherence_collapse(abs2, -0.5, blocks=3)
    blocks = np.array([freecircuit.block_average(a, 3) for a in abs2]) * L / 0.25
    np.testing.assert_allclose(value, blocks.mean(axis=0), rtol=1e-13)
    leave_one_out = np.array([np.delete(blocks, i, axis=0).mean(axis=0) for i in range(5)])
    spread = leave_one_out - leave_one_out.mean(axis=0)
    np.testing.assert_allclose(error, np.sqrt(4 / 5 * (spread**2).sum(axis=0)), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(abs2=np.ones((1, 6, 6)), delta=0.5), "at least two circuits"),
        (dict(abs2=np.ones((2, 6, 5)), delta=0.5), "abs2"),
        (dict(abs2=np.ones((6, 6)), delta=0.5), "abs2"),
        (dict(abs2=-np.ones((2, 6, 6)), delta=0.5), "abs2"),
        (dict(abs2=np.ones((2, 6, 6)), delta=0.0), "delta must be nonzero"),
        (dict(abs2=np.ones((2, 6, 6)), delta=1.5), "delta"),
        (dict(abs2=np.ones((2, 6, 6)), delta=0.5, blocks=4), "blocks"),
    ],
)
def test_coherence_collapse_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        freecircuit.coherence_collapse(**kwargs)
