"""Dense-state quantities: entropies, purity, partial traces, mutual information and the
Jordan-Wigner correlation matrix, against explicit constructions; input validation.

Tolerances: every reference is an exact linear-algebra identity evaluated in double precision
on matrices of dimension <= 32, so agreement to 1e-12 (1e-10 for entropies, whose x ln x is
steep near zero eigenvalues) is expected."""

import numpy as np
import pytest
from jordan_wigner import annihilators, kron

from nqlib import quantum

LN2 = np.log(2)


def _random_density_matrix(rng, L, rank=None):
    d = 2**L
    rank = d if rank is None else rank
    g = rng.normal(size=(d, rank)) + 1j * rng.normal(size=(d, rank))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def _random_pure(rng, L):
    psi = rng.normal(size=2**L) + 1j * rng.normal(size=2**L)
    psi /= np.linalg.norm(psi)
    return np.outer(psi, psi.conj())


def _binary_entropy(p):
    return -sum(x * np.log(x) for x in (p, 1 - p) if x > 0)


# --------------------------------------------------------------------------- entropy, purity
@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_pure_states_have_zero_entropy_and_unit_purity(L):
    rho = _random_pure(np.random.default_rng(L), L)
    assert abs(quantum.entropy(rho)) < 1e-10
    assert quantum.purity(rho) == pytest.approx(1, abs=1e-12)
    assert quantum.n_sites(rho) == L


@pytest.mark.parametrize("L", [1, 2, 4, 6])
def test_maximally_mixed_state(L):
    rho = np.eye(2**L) / 2**L
    assert quantum.entropy(rho) == pytest.approx(L * LN2, abs=1e-12)
    assert quantum.purity(rho) == pytest.approx(2.0**-L, abs=1e-15)


@pytest.mark.parametrize("ps", [[0.3], [0.1, 0.5, 0.93], [0.0, 1.0, 0.25, 0.6], [0.5, 0.5]])
def test_product_of_diagonal_states(ps):
    rho = kron(*[np.diag([p, 1 - p]) for p in ps])
    expected = sum(_binary_entropy(p) for p in ps)
    assert quantum.entropy(rho) == pytest.approx(expected, abs=1e-12)
    assert quantum.purity(rho) == pytest.approx(
        np.prod([p**2 + (1 - p) ** 2 for p in ps]), abs=1e-14
    )


def test_entropy_is_unitarily_invariant_and_matches_eigenvalues():
    rng = np.random.default_rng(3)
    rho = _random_density_matrix(rng, 3, rank=5)
    p = np.linalg.eigvalsh(rho)
    p = p[p > 1e-14]
    assert quantum.entropy(rho) == pytest.approx(-np.sum(p * np.log(p)), abs=1e-10)
    V, _ = np.linalg.qr(rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8)))
    assert quantum.entropy(V @ rho @ V.conj().T) == pytest.approx(quantum.entropy(rho), abs=1e-10)
    assert quantum.purity(rho) == pytest.approx(np.sum(p**2), abs=1e-12)


# --------------------------------------------------------------------------- partial trace
def test_partial_trace_of_a_kronecker_product():
    rng = np.random.default_rng(4)
    A, B = _random_density_matrix(rng, 1), _random_density_matrix(rng, 2)
    rho = np.kron(A, B)  # site 0 carries A, sites 1, 2 carry B
    np.testing.assert_allclose(quantum.partial_trace(rho, [0]), A, atol=1e-14)
    np.testing.assert_allclose(quantum.partial_trace(rho, [1, 2]), B, atol=1e-14)
    np.testing.assert_allclose(quantum.partial_trace(rho, [0, 1, 2]), rho, atol=0)
    np.testing.assert_allclose(quantum.partial_trace(rho, []), [[1.0]], atol=1e-14)
    # with B = B1 x B2 a further product, keeping the middle site returns B1
    B1, B2 = _random_density_matrix(rng, 1), _random_density_matrix(rng, 1)
    rho = kron(A, B1, B2)
    np.testing.assert_allclose(quantum.partial_trace(rho, 1), B1, atol=1e-14)
    np.testing.assert_allclose(quantum.partial_trace(rho, [0, 2]), np.kron(A, B2), atol=1e-14)


def _partial_trace_by_index_sums(rho, L, keep):
    """Reference: explicit loops over basis labels (site 0 = most significant bit)."""
    traced = [k for k in range(L) if k not in keep]
    d = 2 ** len(keep)
    out = np.zeros((d, d), dtype=complex)

    def index(bits_keep, bits_traced):
        bits = [0] * L
        for k, b in zip(keep, bits_keep):
            bits[k] = b
        for k, b in zip(traced, bits_traced):
            bits[k] = b
        return int("".join(map(str, bits)), 2)

    for a in range(d):
        for b in range(d):
            ka = [int(x) for x in format(a, f"0{len(keep)}b")]
            kb = [int(x) for x in format(b, f"0{len(keep)}b")]
            for t in range(2 ** len(traced)):
                tb = [int(x) for x in format(t, f"0{len(traced)}b")] if traced else []
                out[a, b] += rho[index(ka, tb), index(kb, tb)]
    return out


@pytest.mark.parametrize(
    "L, keep", [(3, [0, 2]), (3, [1]), (4, [0, 3]), (4, [1, 3]), (4, [0, 1, 3])]
)
def test_partial_trace_against_index_sums(L, keep):
    rho = _random_density_matrix(np.random.default_rng(5 + L), L)
    expected = _partial_trace_by_index_sums(rho, L, keep)
    np.testing.assert_allclose(quantum.partial_trace(rho, keep), expected, atol=1e-14)
    # the order of ``keep`` does not matter: sites come back in increasing order
    np.testing.assert_allclose(quantum.partial_trace(rho, keep[::-1]), expected, atol=1e-14)


# --------------------------------------------------------------------------- mutual information
def test_mutual_information_of_product_states_vanishes():
    rng = np.random.default_rng(6)
    A, B = _random_density_matrix(rng, 2), _random_density_matrix(rng, 2)
    rho = np.kron(A, B)
    assert abs(quantum.mutual_information(rho, range(2))) < 1e-10
    # but the cut through A sees A's internal correlations
    assert quantum.mutual_information(rho, [0]) > 1e-3


def test_mutual_information_of_a_bell_pair():
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    pair = np.outer(bell, bell)
    assert quantum.mutual_information(pair, [0]) == pytest.approx(2 * LN2, abs=1e-12)
    # Bell pair on sites (1, 2) of 4, mixed product states on sites 0 and 3
    rho = kron(np.diag([0.2, 0.8]), pair, np.diag([0.65, 0.35]))
    assert quantum.mutual_information(rho, range(2)) == pytest.approx(2 * LN2, abs=1e-12)
    assert abs(quantum.mutual_information(rho, [0])) < 1e-12
    assert abs(quantum.mutual_information(rho, range(3))) < 1e-12


def test_mutual_information_of_a_classically_correlated_state():
    # (|uu><uu| + |dd><dd|) / 2: I = ln 2 (classical correlation only)
    rho = np.diag([0.5, 0, 0, 0.5])
    assert quantum.mutual_information(rho, [0]) == pytest.approx(LN2, abs=1e-12)


def _bell_across_a_traced_site():
    """Bell pair on sites (0, 2) of 3 with site 1 in the mixed state diag(0.3, 0.7)."""
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    rho = kron(np.outer(bell, bell), np.diag([0.3, 0.7]))  # sites (pair, pair, mixed)
    return rho.reshape((2,) * 6).transpose(0, 2, 1, 3, 5, 4).reshape(8, 8)


def test_mutual_information_of_chosen_site_sets():
    """I(A:B) = 2 ln 2 exactly when A and B split the Bell pair and 0 when one of them holds only
    the mixed site; on a random state, against S_A + S_B - S_AB of explicit partial traces, with
    A and B swapped and B a strict subset of the complement."""
    rho = _bell_across_a_traced_site()
    assert quantum.mutual_information(rho, [0], [2]) == pytest.approx(2 * LN2, abs=1e-12)
    assert quantum.mutual_information(rho, [2], [0, 1]) == pytest.approx(2 * LN2, abs=1e-12)
    assert abs(quantum.mutual_information(rho, [1], [0, 2])) < 1e-12
    assert abs(quantum.mutual_information(rho, [0], [1])) < 1e-12
    rho = _random_density_matrix(np.random.default_rng(11), 4)
    for A, B in [([0, 2], [3]), ([3], [0, 2]), ([1], None), ([2, 0], [1, 3])]:
        rest = sorted(set(range(4)) - set(A)) if B is None else B
        S = [quantum.entropy(quantum.partial_trace(rho, x)) for x in (A, rest, [*A, *rest])]
        expected = S[0] + S[1] - S[2]
        assert expected > 1e-3
        assert quantum.mutual_information(rho, A, B) == pytest.approx(expected, abs=1e-12)
        assert quantum.mutual_information(rho, rest, A) == pytest.approx(expected, abs=1e-12)


def test_log_negativity_traces_out_the_rest_first():
    """B a strict subset of the complement: E(A:B) is that of the reduced state (an explicit
    partial trace) and symmetric in A and B; a Bell pair across a traced site has E = ln 2."""
    rho = _random_density_matrix(np.random.default_rng(12), 4, rank=2)
    value = quantum.log_negativity(rho, [2], [0, 3])
    reduced = quantum.partial_trace(rho, [0, 2, 3])
    assert value == pytest.approx(quantum.log_negativity(reduced, [1]), abs=1e-12)
    assert value == pytest.approx(quantum.log_negativity(rho, [0, 3], [2]), abs=1e-12)
    assert value > 1e-3
    rho = _bell_across_a_traced_site()
    assert quantum.log_negativity(rho, [0], [2]) == pytest.approx(LN2, abs=1e-12)
    assert abs(quantum.log_negativity(rho, [1], [2])) < 1e-12
    assert quantum.log_negativity(rho, [0]) == pytest.approx(LN2, abs=1e-12)  # B = [1, 2]


def test_deprecated_spellings_warn_and_agree():
    """For one release: an integer cut, and the old keywords cut= and keep=."""
    rho = _random_density_matrix(np.random.default_rng(13), 3)
    new = quantum.mutual_information(rho, range(2))
    with pytest.warns(DeprecationWarning, match=r"mutual_information\(\.\.\., range\(2\)\)"):
        assert quantum.mutual_information(rho, 2) == new
    with pytest.warns(DeprecationWarning, match="integer cut"):
        assert quantum.mutual_information(rho, cut=2) == new
    with pytest.warns(DeprecationWarning, match=r"log_negativity\(\.\.\., range\(1\)\)"):
        assert quantum.log_negativity(rho, 1) == quantum.log_negativity(rho, [0])
    with pytest.warns(DeprecationWarning, match=r"partial_trace\(keep=\.\.\.\)"):
        np.testing.assert_array_equal(
            quantum.partial_trace(rho, keep=[0, 2]), quantum.partial_trace(rho, [0, 2])
        )
    with pytest.raises(TypeError, match="both"):
        quantum.mutual_information(rho, [0], cut=1)


# --------------------------------------------------------------------------- correlation matrix
def test_reference_operators_satisfy_the_anticommutation_relations():
    L = 3
    c = annihilators(L)
    eye = np.eye(2**L)
    for i in range(L):
        for j in range(L):
            np.testing.assert_array_equal(
                c[i] @ c[j].conj().T + c[j].conj().T @ c[i], eye * (i == j)
            )
            np.testing.assert_array_equal(c[i] @ c[j] + c[j] @ c[i], 0)


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_correlation_matrix_against_brute_force_jordan_wigner(L, seed):
    rho = _random_density_matrix(
        np.random.default_rng(seed), L, rank=2
    )  # low rank: large coherences
    c = annihilators(L)
    expected = np.array(
        [[np.trace(rho @ c[i].conj().T @ c[j]) for j in range(L)] for i in range(L)]
    )
    C = quantum.correlation_matrix(rho)
    assert C.shape == (L, L)
    np.testing.assert_allclose(C, expected, atol=1e-13)
    np.testing.assert_allclose(C, C.conj().T, atol=1e-14)
    # the diagonal is the occupation tr(rho n_i) = <u|rho_i|u>
    occupations = [quantum.partial_trace(rho, [i])[0, 0].real for i in range(L)]
    np.testing.assert_allclose(np.diag(C).real, occupations, atol=1e-14)
    np.testing.assert_allclose(np.diag(C).imag, 0, atol=1e-14)
    # a generic state has nonzero coherences, so the test sees the off-diagonal signs
    assert np.abs(C[np.triu_indices(L, 1)]).min() > 1e-3, "reference state has vanishing coherences"


def test_correlation_matrix_of_a_single_particle_is_conj_psi_psi_T():
    """One particle in psi: |Psi> = sum_j psi_j c_j^dag |vac>, C_ij = conj(psi_i) psi_j."""
    L = 4
    rng = np.random.default_rng(9)
    psi = rng.normal(size=L) + 1j * rng.normal(size=L)
    psi /= np.linalg.norm(psi)
    c = annihilators(L)
    vac = np.zeros(2**L)
    vac[-1] = 1  # all spins down = empty
    state = sum(psi[j] * c[j].conj().T @ vac for j in range(L))
    C = quantum.correlation_matrix(np.outer(state, state.conj()))
    np.testing.assert_allclose(C, np.outer(psi.conj(), psi), atol=1e-14)


def test_correlation_matrix_of_a_two_particle_slater_determinant_has_jw_signs():
    """Two particles: C = conj(Phi) Phi^T restricted to the occupied orbitals, projector of rank 2.
    A wrong Jordan-Wigner string changes the sign of some entries and breaks C^2 = C."""
    L = 4
    rng = np.random.default_rng(10)
    Q, _ = np.linalg.qr(rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L)))
    phi1, phi2 = Q[:, 0], Q[:, 1]
    c = annihilators(L)
    a1 = sum(phi1[j] * c[j].conj().T for j in range(L))
    a2 = sum(phi2[j] * c[j].conj().T for j in range(L))
    vac = np.zeros(2**L)
    vac[-1] = 1
    state = a1 @ a2 @ vac
    C = quantum.correlation_matrix(np.outer(state, state.conj()))
    expected = np.outer(phi1.conj(), phi1) + np.outer(phi2.conj(), phi2)
    np.testing.assert_allclose(C, expected, atol=1e-13)
    np.testing.assert_allclose(C @ C, C, atol=1e-13)


def test_correlation_matrix_of_product_states_is_diagonal():
    ps = [0.9, 0.2, 0.0, 0.55]
    rho = kron(*[np.diag([p, 1 - p]) for p in ps])
    np.testing.assert_allclose(quantum.correlation_matrix(rho), np.diag(ps), atol=1e-15)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: quantum.entropy(np.ones((2, 3))), "rho must be a square matrix"),
        (lambda: quantum.entropy(np.ones(4)), "rho must be a square matrix"),
        (lambda: quantum.purity(np.ones((4, 2))), "rho must be a square matrix"),
        (lambda: quantum.entropy(np.array([[0.5, 1.0], [0.0, 0.5]])), "rho must be Hermitian"),
        (lambda: quantum.n_sites(np.eye(3) / 3), r"rho must be a square \(2\*\*L, 2\*\*L\)"),
        (lambda: quantum.n_sites(np.eye(1)), r"rho must be a square \(2\*\*L, 2\*\*L\)"),
        (lambda: quantum.n_sites(np.ones((4, 2))), r"rho must be a square \(2\*\*L, 2\*\*L\)"),
        (
            lambda: quantum.partial_trace(np.eye(6) / 6, [0]),
            r"rho must be a square \(2\*\*L, 2\*\*L\)",
        ),
        (
            lambda: quantum.mutual_information(np.eye(12) / 12, 1),
            r"rho must be a square \(2\*\*L, 2\*\*L\)",
        ),
        (
            lambda: quantum.correlation_matrix(np.eye(5) / 5),
            r"rho must be a square \(2\*\*L, 2\*\*L\)",
        ),
        (
            lambda: quantum.mutual_information(np.eye(8) / 8, 0),
            r"cut must be an integer in \[1, 2\]",
        ),
        (
            lambda: quantum.mutual_information(np.eye(8) / 8, 3),
            r"cut must be an integer in \[1, 2\]",
        ),
        (
            lambda: quantum.mutual_information(np.eye(8) / 8, -1),
            r"cut must be an integer in \[1, 2\]",
        ),
        (lambda: quantum.mutual_information(np.eye(8) / 8, [0.5]), "A must be distinct"),
        (lambda: quantum.mutual_information(np.eye(8) / 8, True), "A must be distinct"),
        (lambda: quantum.mutual_information(np.eye(8) / 8, range(3)), "proper subset"),
        (lambda: quantum.mutual_information(np.eye(8) / 8, [0], [0, 1]), "disjoint"),
        (lambda: quantum.log_negativity(np.eye(8) / 8, [0], [3]), "B must be distinct"),
        (
            lambda: quantum.mutual_information(np.eye(2) / 2, 1),
            r"cut must be an integer in \[1, 0\]",
        ),
        (
            lambda: quantum.partial_trace(np.eye(8) / 8, [0, 3]),
            r"A must be distinct integers in \[0, 2\]",
        ),
        (
            lambda: quantum.partial_trace(np.eye(8) / 8, [-1]),
            r"A must be distinct integers in \[0, 2\]",
        ),
        (
            lambda: quantum.partial_trace(np.eye(8) / 8, 5),
            r"A must be distinct integers in \[0, 2\]",
        ),
    ],
)
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
