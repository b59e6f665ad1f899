"""The open Haar circuit without conservation (GH App. F): Haar averages, the operator-weight
chain and its fixed point against dense simulations."""

import numpy as np
import pytest

from nqlib import haarcircuit


def test_twirl_is_the_haar_average():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
    samples = []
    for _ in range(4000):
        UU = np.kron(*(2 * [haarcircuit.haar_unitary(rng)]))
        samples.append(UU @ X @ UU.conj().T)
    samples = np.array(samples)
    se = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - haarcircuit.twirl(X)) < 5 * se + 1e-12)


def test_chain_bond_spreads_weight_uniformly_over_the_fifteen_paulis():
    T = haarcircuit.pattern_map()
    assert np.allclose(T[:, 0], [1, 0, 0, 0], atol=1e-14)
    for p in (1, 2, 3):
        assert np.allclose(T[:, p], [0, 3 / 15, 3 / 15, 9 / 15], atol=1e-14)
    # Monte Carlo: weight of U (Z x 1) U^dag on the patterns (sampled gates, no twirl formula)
    weights = haarcircuit.sampled_weights(np.random.default_rng(2), (3, 0), 3000)
    se = weights.std(axis=0) / np.sqrt(len(weights)) + 1e-15
    assert np.all(np.abs(weights.mean(axis=0) - T[:, 1]) < 5 * se)
    assert np.allclose(weights.sum(axis=1), 1, atol=1e-12)  # unitarity: the weight is conserved
    # a chain-bond column of another pattern (Y on the second site), and the identity string
    weights = haarcircuit.sampled_weights(np.random.default_rng(5), (0, 2), 3000)
    assert np.all(
        np.abs(weights.mean(axis=0) - T[:, 2]) < 5 * weights.std(axis=0) / np.sqrt(3000) + 1e-15
    )
    assert np.allclose(
        haarcircuit.sampled_weights(np.random.default_rng(6), (0, 0), 5), [1, 0, 0, 0], atol=1e-12
    )


def test_pauli_pairs_are_an_orthogonal_basis_with_their_patterns():
    strings, patterns = haarcircuit.pauli_pairs()
    gram = np.einsum("aij,bij->ab", strings.conj(), strings)  # tr(P^dag Q) = 4 delta_PQ
    assert np.allclose(gram, 4 * np.eye(16), atol=1e-14)
    assert np.bincount(patterns).tolist() == [1, 3, 3, 9]
    Z = np.diag([1.0, -1.0])
    assert (
        np.allclose(strings[12], np.kron(Z, np.eye(2))) and patterns[12] == 1
    )  # Z on the first site


def test_pattern_weights_are_the_fixed_point():
    assert np.allclose(haarcircuit.pattern_weights(1), [1, 1 / 3], atol=1e-14)  # p1 = b / d by hand
    b, d = haarcircuit.boundary_rates()
    for L in (3, 8):
        w = haarcircuit.pattern_weights(L)
        assert w[0] == 1 and np.abs(haarcircuit.averaged_map(L) @ w - w).max() < 1e-12
        assert abs(w.sum() / 2**L - haarcircuit.average_purity(L)) < 1e-15
        site_one = (np.arange(2**L) & 1) == 1
        p1, pmu = w[site_one].sum(), w[~site_one].sum() - 1
        assert abs(b * (1 + pmu) - d * p1) < 1e-10  # stationarity of the reservoir bond
    assert abs(p1 / (p1 + pmu) - 0.75) < 1e-3  # large L: the share of GH's reduction


def test_boundary_rates_match_the_reservoir_channel():
    b, d = haarcircuit.boundary_rates()
    assert abs(b - 0.2) < 1e-14 and abs(d - 0.6) < 1e-14
    # One site: rho = (1 + c Z)/2 -> sum_r K_r rho K_r^dag, weight = sum_{P != 1} |tr(P rho')|^2.
    rng = np.random.default_rng(3)
    paulis = haarcircuit._PAULI
    born, kept = [], []
    for _ in range(4000):
        K = haarcircuit.haar_unitary(rng).reshape(2, 2, 2, 2)[:, :, 0, :]
        for rho, out in ((np.eye(2) / 2, born), ((np.eye(2) + paulis[3]) / 2, kept)):
            new = sum(K[r] @ rho @ K[r].conj().T for r in range(2))
            out.append(sum(abs(np.trace(P @ new)) ** 2 for P in paulis[1:]))
    born, kept = np.array(born), np.array(kept) - np.array(born)  # cross terms average to zero
    assert abs(born.mean() - b) < 5 * born.std() / np.sqrt(len(born))
    assert abs(kept.mean() - (1 - d)) < 5 * kept.std() / np.sqrt(len(kept))


def test_dense_gate_step_is_the_kronecker_embedding():
    L = 3
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = X @ X.conj().T
    rho /= np.trace(rho)
    seen = set()
    for seed in range(12):
        got = haarcircuit._apply_random_gate(rho, np.random.default_rng(seed), L)
        ref_rng = np.random.default_rng(seed)
        bond, U = ref_rng.integers(L), haarcircuit.haar_unitary(ref_rng)
        seen.add(int(bond))
        if bond == 0:
            full = np.kron(np.diag([1.0, 0.0]), rho)
            Uf = np.kron(U, np.eye(4))
            full = (Uf @ full @ Uf.conj().T).reshape(2, 8, 2, 8)
            expected = full[0, :, 0, :] + full[1, :, 1, :]
        else:
            Uf = np.kron(np.kron(np.eye(2 ** (bond - 1)), U), np.eye(2 ** (L - bond - 1)))
            expected = Uf @ rho @ Uf.conj().T
        assert np.allclose(got, expected, atol=1e-14)
    assert seen == {0, 1, 2}


def test_exact_purity_small_cases_and_large_L_limit():
    assert abs(haarcircuit.average_purity(1) - 2 / 3) < 1e-14  # p1 = b / d = 1/3
    for L in (10, 12):
        deficit = L + np.log2(haarcircuit.average_purity(L))
        assert abs(deficit - np.log2(1.5)) < 1e-5  # not one bit: log2(3/2) = 0.585
        assert abs(haarcircuit.reduced_purity(L) / haarcircuit.average_purity(L) - 1) < 1e-5
    assert abs(haarcircuit.reduced_purity(8, 0.5) - 2.0**-7) < 1e-15  # GH's W_i: exactly L - 1 bits
    gh = np.array(
        [[1, 0, 0, 0], [0, 1 / 3, 1 / 3, 1 / 3], [0, 1 / 3, 1 / 3, 1 / 3], [0, 1 / 3, 1 / 3, 1 / 3]]
    )
    assert (
        abs(12 + np.log2(haarcircuit.average_purity(12, bulk=gh)) - 1) < 1e-3
    )  # ... which the full chain confirms


@pytest.mark.parametrize("L", [2, 3])
def test_exact_purity_matches_dense_simulation(L):
    means = [
        haarcircuit.neas_purity(np.random.default_rng([5, L, k]), L, 1500)["purity"].mean()
        for k in range(6)
    ]
    se = np.std(means, ddof=1) / np.sqrt(len(means))
    assert abs(np.mean(means) - haarcircuit.average_purity(L)) < 4 * se


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: haarcircuit.average_purity(0), "L must be"),
        (lambda: haarcircuit.average_purity(14), "L must be"),
        (lambda: haarcircuit.neas_purity(np.random.default_rng(0), 11, 5), "L must be"),
        (lambda: haarcircuit.neas_purity(np.random.default_rng(0), 3, 0), "n_samples"),
        (lambda: haarcircuit.reduced_purity(5, 0.0), "site_one_fraction"),
        (lambda: haarcircuit.twirl(np.eye(5)), "shape"),
        (lambda: haarcircuit.average_purity(3, bulk=np.eye(4) * 2), "columns sum to 1"),
    ],
)
def test_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()
