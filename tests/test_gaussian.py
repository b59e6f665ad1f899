"""Gaussian-state entropies from the correlation matrix against dense states built by the
Jordan-Wigner map; input validation.

A Gaussian state rho = exp(-sum_ij h_ij c_i^dag c_j) / Z is built from explicit 2^L x 2^L
fermion matrices, its C is computed densely (quantum.correlation_matrix) and the free-fermion
formulas must reproduce the dense von Neumann entropies. Both sides are exact in double
precision (dimension 16), hence the 1e-10 tolerance."""

import numpy as np
import pytest
from jordan_wigner import annihilators

from nqlib import gaussian, quantum

LN2 = np.log(2)
L = 4


def _random_hermitian(rng, n, scale):
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return scale * (a + a.conj().T) / 2


def _gaussian_state(h):
    """exp(-H) / tr exp(-H) with H = sum_ij h_ij c_i^dag c_j (dense, via eigh of H)."""
    c = annihilators(len(h))
    H = sum(h[i, j] * c[i].conj().T @ c[j] for i in range(len(h)) for j in range(len(h)))
    w, V = np.linalg.eigh(H)
    weights = np.exp(-(w - w.min()))
    rho = (V * weights) @ V.conj().T
    return rho / np.trace(rho).real


@pytest.fixture(
    params=[(0, 1.0), (1, 0.4), (2, 2.5), (3, 6.0)], ids=["T=1", "hot", "cold", "near-pure"]
)
def state(request):
    seed, scale = request.param
    h = _random_hermitian(np.random.default_rng(seed), L, scale)
    rho = _gaussian_state(h)
    return h, rho, quantum.correlation_matrix(rho)


def test_dense_correlation_matrix_is_the_fermi_function_of_h(state):
    """Sanity of the construction: <c_i^dag c_j> = [(1 + e^h)^{-1}]_{ji}."""
    h, _, C = state
    w, V = np.linalg.eigh(h)
    fermi = (V / (1 + np.exp(w))) @ V.conj().T
    np.testing.assert_allclose(C, fermi.T, atol=1e-12)


def test_entropy_matches_dense_state(state):
    _, rho, C = state
    S = gaussian.entropy(C)
    assert S == pytest.approx(quantum.entropy(rho), abs=1e-10)
    assert 0 <= S <= L * LN2 + 1e-12


@pytest.mark.parametrize(
    "A, B",
    [
        (range(1), None),
        (range(2), None),
        (range(3), None),
        ([2, 3], [0, 1]),  # A and B swapped
        ([0], [1, 2]),  # B a strict subset of the complement: mode 3 traced out
        ([1, 2], [3]),  # mode 0 traced out
        ([3], [1, 2]),
    ],
)
def test_mutual_information_matches_dense_state(state, A, B):
    """Blocks of consecutive modes (A, B and their union): the Jordan-Wigner strings cancel and
    the fermion and qubit mutual informations coincide."""
    _, rho, C = state
    assert gaussian.mutual_information(C, A, B) == pytest.approx(
        quantum.mutual_information(rho, A, B), abs=1e-10
    )


@pytest.mark.parametrize("A, B", [([0, 2], None), ([0, 2], [3]), ([3], [0, 2]), ([1], [3])])
def test_mutual_information_is_sum_of_entropies_and_symmetric(state, A, B):
    """I(A:B) = S_A + S_B - S_AB from :func:`gaussian.entropy`, also for sets with gaps, where
    the qubit route differs; swapping A and B leaves I unchanged."""
    _, _, C = state
    B_set = sorted(set(range(L)) - set(A)) if B is None else B
    expected = (
        gaussian.entropy(C, A)
        + gaussian.entropy(C, B_set)
        - gaussian.entropy(C, sorted([*A, *B_set]))
    )
    assert gaussian.mutual_information(C, A, B) == pytest.approx(expected, abs=1e-12)
    assert gaussian.mutual_information(C, B_set, A) == pytest.approx(expected, abs=1e-12)
    assert expected > 1e-6  # a correlated state: the test can tell A from B


def test_deprecated_spellings_warn_and_agree(state):
    """For one release: an integer cut, and the old keywords cut= and modes=."""
    _, _, C = state
    new = gaussian.mutual_information(C, range(2))
    with pytest.warns(DeprecationWarning, match=r"mutual_information\(\.\.\., range\(2\)\)"):
        assert gaussian.mutual_information(C, 2) == new
    with pytest.warns(DeprecationWarning, match="integer cut"):
        assert gaussian.mutual_information(C, cut=2) == new
    with pytest.warns(DeprecationWarning, match=r"entropy\(modes=\.\.\.\).*entropy\(A="):
        assert gaussian.entropy(C, modes=[1, 2]) == gaussian.entropy(C, [1, 2])
    with pytest.warns(DeprecationWarning, match=r"negativity\(\.\.\., range\(1\)\)"):
        assert gaussian.negativity(C, 1) == gaussian.negativity(C, [0])
    with pytest.raises(TypeError, match="both"):
        gaussian.entropy(C, [0], modes=[1])


@pytest.mark.parametrize("modes", [[0], [3], [1, 2], [0, 1, 2], [1, 2, 3], [2, 3]])
def test_entropy_of_contiguous_blocks_matches_reduced_dense_state(state, modes):
    """For a contiguous block the Jordan-Wigner strings cancel: the spin and fermion reduced
    states coincide."""
    _, rho, C = state
    dense = quantum.entropy(quantum.partial_trace(rho, modes))
    assert gaussian.entropy(C, modes) == pytest.approx(dense, abs=1e-10)


def test_entropy_of_known_states():
    assert gaussian.entropy(np.eye(5) / 2) == pytest.approx(5 * LN2, abs=1e-14)
    assert gaussian.entropy(np.diag([1.0, 0.0, 1.0])) == 0.0
    nus = np.array([0.1, 0.5, 0.7])
    expected = -np.sum(nus * np.log(nus) + (1 - nus) * np.log(1 - nus))
    # a unitary rotation of the modes leaves the entropy unchanged but fills C off the diagonal
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    C = Q @ np.diag(nus) @ Q.conj().T
    assert gaussian.entropy(C) == pytest.approx(expected, abs=1e-12)
    # a pure Slater determinant: S = 0 and I = 2 S_A
    P = Q[:, :2] @ Q[:, :2].conj().T
    assert abs(gaussian.entropy(P)) < 1e-10
    assert gaussian.mutual_information(P, [0]) == pytest.approx(
        2 * gaussian.entropy(P, [0]), abs=1e-10
    )
    assert gaussian.entropy(P, [0]) > 1e-3


def test_check_correlation_matrix_returns_complex_array():
    out = gaussian.check_correlation_matrix([[0.5, 0.1], [0.1, 0.5]])
    assert out.dtype == complex and out.shape == (2, 2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gaussian.entropy(np.array([[0.5, 0.2], [0.1, 0.5]])), "C must be Hermitian"),
        (lambda: gaussian.entropy(np.array([[0.5, 0.2j], [0.2j, 0.5]])), "C must be Hermitian"),
        (lambda: gaussian.entropy(np.diag([1.5, 0.2])), r"eigenvalues of C must lie in \[0, 1\]"),
        (lambda: gaussian.entropy(np.diag([-0.1, 0.2])), r"eigenvalues of C must lie in \[0, 1\]"),
        # Hermitian with positive diagonal but a negative eigenvalue (0.5 +- 0.8)
        (
            lambda: gaussian.entropy(np.array([[0.5, 0.8], [0.8, 0.5]])),
            r"eigenvalues of C must lie in \[0, 1\]",
        ),
        (lambda: gaussian.entropy(np.ones((2, 3)) / 4), "C must be a square matrix"),
        (
            lambda: gaussian.mutual_information(np.eye(4) / 2, 0),
            r"cut must be an integer in \[1, 3\]",
        ),
        (
            lambda: gaussian.mutual_information(np.eye(4) / 2, 4),
            r"cut must be an integer in \[1, 3\]",
        ),
        (lambda: gaussian.mutual_information(np.eye(4) / 2, range(4)), "proper subset"),
        (lambda: gaussian.mutual_information(np.eye(4) / 2, [0, 1], [1, 2]), "disjoint"),
        (lambda: gaussian.mutual_information(np.eye(4) / 2, [2.5]), "A must be distinct"),
        (lambda: gaussian.mutual_information(np.eye(4) / 2, True), "A must be distinct"),
        (lambda: gaussian.mutual_information(np.eye(4) / 2, [0], []), "B must be distinct"),
        (lambda: gaussian.mutual_information(np.diag([2.0, 0.0]), [0]), "eigenvalues of C"),
        (
            lambda: gaussian.entropy(np.eye(3) / 2, [0, 3]),
            r"A must be distinct integers in \[0, 2\]",
        ),
        (
            lambda: gaussian.entropy(np.eye(3) / 2, [-1]),
            r"A must be distinct integers in \[0, 2\]",
        ),
    ],
)
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_fermi_sea_against_the_fock_space_ground_state():
    # the ground state of H - mu N built from Jordan-Wigner matrices, and the level sum
    rng = np.random.default_rng(8)
    L, mu = 4, 0.3
    a = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
    h = (a + a.conj().T) / 2
    C = gaussian.fermi_sea(h, mu)
    c = annihilators(L)
    H = sum(h[i, j] * c[i].conj().T @ c[j] for i in range(L) for j in range(L))
    N = sum(ci.conj().T @ ci for ci in c)
    energies, states = np.linalg.eigh(H - mu * N)
    assert energies[1] - energies[0] > 1e-6  # non-degenerate ground state
    g = states[:, 0]
    fock = np.array([[g.conj() @ c[i].conj().T @ c[j] @ g for j in range(L)] for i in range(L)])
    np.testing.assert_allclose(C, fock, atol=1e-12)
    eps = np.linalg.eigvalsh(h)
    assert abs(np.sum(h * C).real - eps[eps < mu].sum()) < 1e-12
    np.testing.assert_allclose(C @ C, C, atol=1e-12)  # a projector
    real = gaussian.fermi_sea(h.real)
    assert (
        real.dtype == float and abs(np.trace(real) - np.sum(np.linalg.eigvalsh(h.real) < 0)) < 1e-12
    )
    with pytest.raises(ValueError, match="h must be Hermitian"):
        gaussian.fermi_sea(np.array([[0.0, 1.0], [0.0, 0.0]]))
