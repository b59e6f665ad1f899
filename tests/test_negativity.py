"""Fermionic negativity of Gaussian states (nqlib.gaussian.negativity) against the Fock-space
partial time reversal, pure-state entropies and the qubit negativity (nqlib.quantum)."""

import numpy as np
import pytest

from nqlib import gaussian, quantum


def _random_C(rng, L, pure=False):
    M = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
    U = np.linalg.qr(M)[0]
    nu = (rng.random(L) < 0.5).astype(float) if pure else rng.random(L)
    return U @ np.diag(nu) @ U.conj().T


def _renyi_half(C_AA):
    n = np.clip(np.linalg.eigvalsh(C_AA), 0, 1)
    return 2 * np.sum(np.log(np.sqrt(n) + np.sqrt(1 - n)))


def _partial_time_reversal(rho, a, b):
    """rho^{R_A} in the occupation basis for A = modes [0, a), B = [a, a + b) (Shapourian et al.)."""
    dim = 2 ** (a + b)
    occupation = 1 - ((np.arange(dim)[:, None] >> np.arange(a + b)[::-1]) & 1)  # bit 0 = occupied
    tau_A, tau_B = occupation[:, :a].sum(1), occupation[:, a:].sum(1)
    high = 2**b  # index = index_A * 2**b + index_B
    out = np.zeros_like(rho)
    for r in range(dim):
        for c in range(dim):
            rA, rB, cA, cB = r // high, r % high, c // high, c % high
            phase = 1j ** ((tau_A[r] + tau_A[c]) % 2) * (-1) ** (
                (tau_A[r] + tau_A[c]) * (tau_B[r] + tau_B[c])
            )
            out[cA * high + rB, rA * high + cB] += phase * rho[r, c]
    return out


def test_dense_state_has_the_correlation_matrix_and_entropy():
    rng = np.random.default_rng(5)
    C = _random_C(rng, 5)
    rho = gaussian.dense_state(C)
    np.testing.assert_allclose(quantum.correlation_matrix(rho), C, atol=1e-13)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-13)
    assert np.linalg.eigvalsh(rho).min() > -1e-13
    assert quantum.entropy(rho) == pytest.approx(gaussian.entropy(C), abs=1e-12)


@pytest.mark.parametrize("cut", [1, 3, 5])
def test_pure_state_negativity_is_the_renyi_half_entropy(cut):
    rng = np.random.default_rng(cut)
    C = _random_C(rng, 6, pure=True)
    # a pure state has xi at 0 and 1, where sqrt(xi) turns rounding (1e-16) into 1e-8
    assert gaussian.negativity(C, range(cut)) == pytest.approx(_renyi_half(C[:cut, :cut]), abs=1e-7)
    # for pure states the qubit negativity of adjacent blocks is the same Renyi-1/2 entropy
    assert quantum.log_negativity(gaussian.dense_state(C), range(cut)) == pytest.approx(
        _renyi_half(C[:cut, :cut]), abs=1e-7
    )


def test_uncorrelated_blocks_have_no_negativity():
    rng = np.random.default_rng(2)
    C = np.zeros((6, 6), dtype=complex)
    C[:2, :2], C[2:, 2:] = _random_C(rng, 2), _random_C(rng, 4)
    assert gaussian.negativity(C, range(2)) == pytest.approx(0.0, abs=1e-12)
    assert gaussian.negativity_lower_bound(C, range(2)) == 0.0
    assert quantum.log_negativity(gaussian.dense_state(C), range(2)) == pytest.approx(
        0.0, abs=1e-12
    )


@pytest.mark.parametrize("a, b, traced", [(1, 1, 0), (2, 2, 0), (2, 3, 1), (1, 3, 2)])
def test_formula_equals_the_fock_space_partial_time_reversal(a, b, traced):
    rng = np.random.default_rng(10 * a + b)
    for _ in range(3):
        C = _random_C(rng, a + b + traced)
        rho = quantum.partial_trace(gaussian.dense_state(C), range(a + b))  # traced modes are last
        brute = np.log(np.linalg.svd(_partial_time_reversal(rho, a, b), compute_uv=False).sum())
        assert gaussian.negativity(C, range(a), range(a, a + b)) == pytest.approx(brute, abs=1e-12)


def test_partial_time_reversal_is_a_combination_of_partial_transposes():
    rng = np.random.default_rng(3)
    a, b = 2, 3
    rho = gaussian.dense_state(_random_C(rng, a + b))
    transposed = rho.reshape((2,) * 10).transpose([5, 6, 2, 3, 4, 0, 1, 7, 8, 9]).reshape(32, 32)
    occupation = 1 - ((np.arange(32)[:, None] >> np.arange(5)[::-1]) & 1)
    P = np.diag((-1.0) ** occupation[:, :a].sum(1))
    expected = (1 - 1j) / 2 * transposed + (1 + 1j) / 2 * P @ transposed @ P
    np.testing.assert_allclose(_partial_time_reversal(rho, a, b), expected, atol=1e-14)


def test_qubit_negativity_lies_within_log_sqrt2_of_the_fermionic_one():
    rng = np.random.default_rng(8)
    lower_bound_positive = 0
    for L in (4, 6, 8):
        for cut in (1, L // 2):
            for pure in (False, True):
                C = _random_C(rng, L, pure=pure)
                E, E_f = (
                    quantum.log_negativity(gaussian.dense_state(C), range(cut)),
                    gaussian.negativity(C, range(cut)),
                )
                assert E_f - np.log(2) / 2 - 1e-7 <= E <= E_f + np.log(2) / 2 + 1e-7
                bound = gaussian.negativity_lower_bound(C, range(cut))
                assert bound <= E + 1e-7
                lower_bound_positive += bound > 0
    assert lower_bound_positive > 0  # the bound is not trivially zero on these states


def test_negativity_symmetries():
    rng = np.random.default_rng(4)
    C = _random_C(rng, 7)
    value = gaussian.negativity(C, range(3), range(3, 7))
    assert gaussian.negativity(C.T, range(3), range(3, 7)) == pytest.approx(value, abs=1e-12)
    assert gaussian.negativity(C, range(3, 7), range(3)) == pytest.approx(value, abs=1e-12)
    assert gaussian.negativity(np.eye(7) - C, range(3)) == pytest.approx(value, abs=1e-12)  # p-h
    assert gaussian.negativity(C, range(3)) == value  # B defaults to the complement of A
    assert gaussian.negativity(C, [4, 1]) == gaussian.negativity(C, [1, 4], [0, 2, 3, 5, 6])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gaussian.negativity(np.array([[0.5, 0.1], [0.2, 0.5]]), [0]), "Hermitian"),
        (lambda: gaussian.negativity(np.diag([1.5, 0.5]), [0]), "eigenvalues"),
        (lambda: gaussian.negativity(np.eye(3) / 2, 3), "cut"),  # the deprecated integer cut
        (lambda: gaussian.negativity(np.eye(3) / 2, range(3)), "proper subset"),
        (lambda: gaussian.negativity(np.eye(3) / 2, [0, 1], [1, 2]), "disjoint"),
        (
            lambda: gaussian.negativity(np.eye(3) / 2, [0], [5]),
            r"B must be distinct integers in \[0, 2\]",
        ),
        (lambda: gaussian.dense_state(np.eye(13) / 2), "L must be"),
        (lambda: gaussian.negativity_lower_bound(np.eye(4) / 2, [2, 3], [0, 1]), "before"),
        (lambda: quantum.log_negativity(np.eye(4) / 4, 2), "cut"),
        (lambda: quantum.log_negativity(np.eye(4) / 4, [0, 1]), "proper subset"),
    ],
)
def test_negativity_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_small_drive_negativity_is_four_times_the_cross_block_weight():
    """Near C = 1/2: E_f = 4 ||C_AB||_F^2 + O(eps^4) (even in eps since E_f(C) = E_f(1 - C))."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    X = (X + X.conj().T) / 2
    errors = []
    for eps in (0.02, 0.01):
        C = 0.5 * np.eye(8) + eps * X
        errors.append(gaussian.negativity(C, range(3)) - 4 * np.sum(np.abs(C[:3, 3:]) ** 2))
    assert abs(errors[0]) < 1e-2 * 4 * np.sum(np.abs(0.02 * X[:3, 3:]) ** 2)
    assert 14 < errors[0] / errors[1] < 18  # fourth order: halving eps divides the error by 16
