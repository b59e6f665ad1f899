"""The O(delta^2) solution of the abc model (nqlib.abcmodel.second_order) against the exact fixed
point, the solvable phases I and II, and the structure of the excitation frame."""

import numpy as np
import pytest

from nqlib import abcmodel, ssep


def test_fixed_point_purity_excess_is_L_in_phase_one():
    """p1 = 0: 2^L E tr rho^2 = (1 + delta^2)^L exactly, delta^2 coefficient L (and 1 per site)."""
    for L in (3, 5):
        assert abcmodel.fixed_point_purity_excess(L, 0.0, 0.6) == pytest.approx(L, abs=1e-6)
        assert abcmodel.fixed_point_purity_excess(L, 0.0, 0.6, A=[0]) == pytest.approx(1, abs=1e-6)
    with pytest.raises(ValueError, match="h must be"):
        abcmodel.fixed_point_purity_excess(3, 0.3, 0.3, h=0.0)


@pytest.mark.parametrize("p1, p2", [(0.4, 0.3), (0.1, 0.9)])
def test_full_sector_is_the_exact_second_order(p1, p2):
    L = 4
    full = abcmodel.second_order(L, p1, p2, max_excitations=L)
    for sites in (None, [0, 1], [2, 3], [1], [0, 3]):
        exact = abcmodel.fixed_point_purity_excess(L, p1, p2, sites)
        assert full.purity_excess(sites) == pytest.approx(exact, abs=1e-6)
    np.testing.assert_allclose(full.magnetization, 2 * ssep.density(L, 1.0) - 1, atol=1e-12)


@pytest.mark.parametrize(
    "p1, p2, dephased",
    [
        (1, 0, False),
        (0, 0, False),
        (0, 1, False),
        (0.5, 0, False),
        (0, 0.5, False),
        (0.4, 0.3, True),
    ],
)
def test_two_excitations_are_exact_when_p1_p2_vanishes_or_dephased(p1, p2, dephased):
    L = 5
    two = abcmodel.second_order(L, p1, p2, dephased=dephased)
    full = abcmodel.second_order(L, p1, p2, max_excitations=L, dephased=dephased)
    for sites in (None, [0, 1], [2, 3, 4], [0, 4]):
        assert two.purity_excess(sites) == pytest.approx(full.purity_excess(sites), abs=1e-12)
    np.testing.assert_allclose(two.fluctuation, full.fluctuation, atol=1e-12)
    np.testing.assert_allclose(two.coherence, full.coherence, atol=1e-12)
    np.testing.assert_allclose(two.covariance, full.covariance, atol=1e-12)


def test_two_excitations_are_a_closure_in_phase_three():
    # interacting gates dress a coherence pair with further excitations: the truncation misses
    # them (a documented property, see the chapter), and three excitations recover most of it
    L = 5
    values = [
        abcmodel.second_order(L, 0.4, 0.3, max_excitations=K).entropy_deficit() for K in (2, 3, 5)
    ]
    assert values[2] - values[0] > 0.1
    assert abs(values[2] - values[1]) < 0.3 * abs(values[2] - values[0])


def test_phase_one_is_a_product_of_reservoir_spins():
    L = 20
    result = abcmodel.second_order(L, 0.0, 0.0)
    x = (np.arange(L) + 1) / (L + 1)
    np.testing.assert_allclose(result.fluctuation, x * (1 - x), atol=1e-12)  # GH Eq. 51, exact here
    assert np.abs(result.coherence).max() < 1e-14
    assert result.entropy_deficit() == pytest.approx(2 * np.sum(x * (1 - x)), abs=1e-12)
    assert result.mutual_information() == pytest.approx(0.0, abs=1e-12)


def test_phase_two_volume_laws_and_coherence_profile():
    # GH Eqs. 34-36: Delta S / L -> 1/6, I / L -> 1/16, a(x, y) = x (1 - y) / L; 1/L corrections
    # are removed by Richardson extrapolation from L = 60 and 120
    small, large = (abcmodel.second_order(L, 1.0, 0.0) for L in (60, 120))
    dS = 2 * large.entropy_deficit() / 120 - small.entropy_deficit() / 60
    info = 2 * large.mutual_information() / 120 - small.mutual_information() / 60
    assert dS == pytest.approx(1 / 6, abs=2e-4)
    assert info == pytest.approx(1 / 16, abs=2e-4)
    i, j = 30, 90  # x = 1/4, y = 3/4 at L = 120
    x, y = (i + 1) / 121, (j + 1) / 121
    assert 120 * large.coherence[i, j] == pytest.approx(x * (1 - y), rel=0.02)
    # the closure's two orderings of a coherence pair are the same number E|<c_i^dag c_j>|^2
    np.testing.assert_allclose(large.coherence, large.coherence.T, atol=1e-15)


def test_coherence_pair_orderings_agree_in_phase_three():
    result = abcmodel.second_order(8, 0.4, 0.3, max_excitations=3)
    sec, X = result._sector, result._X2
    n_exc = (sec.pos < sec.L).sum(axis=1)
    pairs = {}
    for first, second in ((4, 5), (5, 4)):
        sel = (n_exc == 2) & (sec.state[:, 0] == first) & (sec.state[:, 1] == second)
        pairs[first] = dict(zip(map(tuple, sec.pos[sel, :2]), X[sel]))
    assert pairs[4].keys() == pairs[5].keys()
    np.testing.assert_allclose(
        [pairs[4][k] for k in pairs[4]], [pairs[5][k] for k in pairs[4]], atol=1e-13
    )


def test_dephased_model_has_no_coherences_and_ignores_p2():
    a = abcmodel.second_order(12, 0.3, 0.0, dephased=True)
    b = abcmodel.second_order(12, 0.3, 0.6, dephased=True)
    assert np.abs(a.coherence).max() == 0.0
    np.testing.assert_allclose(a.fluctuation, b.fluctuation, atol=1e-13)
    assert a.entropy_deficit() == pytest.approx(b.entropy_deficit(), abs=1e-12)


def test_excitation_maps_conserve_traces_and_keep_the_vacuum():
    bulk, left, right = abcmodel.excitation_maps(0.4, 0.3)
    for G in bulk:
        np.testing.assert_allclose(G[0], np.eye(36)[0], atol=1e-13)  # both traces are kept
        np.testing.assert_allclose(G[:, 0], np.eye(36)[0], atol=1e-13)  # unital
    for B in (
        left,
        right[0],
    ):  # (an odd number of a's left of the last site: it holds the closing a)
        np.testing.assert_allclose(B[0][0], np.eye(6)[0], atol=1e-13)
        np.testing.assert_allclose(B[1][0], 0.0, atol=1e-13)  # the drive never changes a trace
        np.testing.assert_allclose(B[2][0], 0.0, atol=1e-13)


def test_mutual_information_of_site_sets():
    """I(A:B) is symmetric, equals Delta S_AB - Delta S_A - Delta S_B, defaults to the two halves,
    and (as the delta^2 coefficient of a quantity monotone under partial trace) grows when B
    gains sites; the deprecated integer cut warns and agrees."""
    r = abcmodel.second_order(8, 0.3, 0.3)
    half = r.mutual_information(range(4))
    assert r.mutual_information() == half
    assert r.mutual_information(range(4, 8), range(4)) == pytest.approx(half, abs=1e-12)
    A, B = [2, 3], [4]
    expected = r.entropy_deficit(A + B) - r.entropy_deficit(A) - r.entropy_deficit(B)
    assert r.mutual_information(A, B) == pytest.approx(expected, abs=1e-12)
    assert r.mutual_information(B, A) == pytest.approx(expected, abs=1e-12)
    assert 1e-3 < expected < r.mutual_information(A, [4, 5]) < r.mutual_information(A)
    with pytest.warns(DeprecationWarning, match=r"range\(4\)"):
        assert r.mutual_information(4) == half
    with pytest.warns(DeprecationWarning, match="integer cut"):
        assert r.mutual_information(cut=4) == half


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: abcmodel.second_order(1, 0.3, 0.3), "L must be"),
        (lambda: abcmodel.second_order(4.0, 0.3, 0.3), "L must be"),
        (lambda: abcmodel.second_order(5000, 0.3, 0.3), "L must be"),
        (lambda: abcmodel.second_order(6, 0.3, 0.3, max_excitations=1), "max_excitations"),
        (lambda: abcmodel.second_order(6, 0.3, 0.3, max_excitations=7), "max_excitations"),
        (lambda: abcmodel.second_order(200, 0.3, 0.3, max_excitations=4), "too large"),
        (lambda: abcmodel.second_order(6, 0.8, 0.3), "p1 \\+ p2"),
        (lambda: abcmodel.second_order(6, 0.3, 0.3).entropy_deficit([6]), "A must be"),
        (lambda: abcmodel.second_order(6, 0.3, 0.3).entropy_deficit([]), "A must be"),
        (lambda: abcmodel.second_order(6, 0.3, 0.3).mutual_information(6), "cut"),
    ],
)
def test_second_order_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_closure_coefficients_sum_to_the_entropy_deficit_and_extrapolate_in_one_over_L():
    """alpha1/p1 + alpha2/p2 (from h and a) against Delta S from the purity functional, an
    independent route; the 1/L extrapolation of two sizes L, 2L is 2 f(2L) - f(L)."""
    p1, p2, sizes = 0.2, 0.3, (10, 20)
    c = abcmodel.closure_coefficients(p1, p2, sizes)
    runs = [abcmodel.second_order(L, p1, p2) for L in sizes]
    deficit = [r.entropy_deficit() * L for r, L in zip(runs, sizes)]
    assert c.alpha1 / p1 + c.alpha2 / p2 == pytest.approx(2 * deficit[1] - deficit[0], rel=1e-9)
    info = [r.mutual_information() * L**2 * p2**1.5 for r, L in zip(runs, sizes)]
    assert c.alpha3 == pytest.approx(2 * info[1] - info[0], rel=1e-9)
    # the coherence part does not depend on p1 in the closure; none without interacting gates
    alpha2 = [abcmodel.closure_coefficients(q, p2, (50, 100)).alpha2 for q in (0.1, 0.4)]
    assert alpha2[1] == pytest.approx(alpha2[0], rel=1e-3)
    phase_two = abcmodel.closure_coefficients(0.5, 0.0, sizes)
    assert phase_two.alpha2 == 0 and phase_two.alpha3 == 0 and phase_two.alpha1 > 0


def test_size_exponents_in_phase_one_and_phase_two():
    """p1 = p2 = 0: Delta S = 2 sum_i x_i (1 - x_i) exactly (h = x(1-x), no coherences);
    phase II: Delta S and I grow like L (1/6 and 1/16 per site, GH Eqs. 38-39)."""

    def deficit(L):
        x = np.arange(1, L + 1) / (L + 1)
        return 2 * np.sum(x * (1 - x))

    exponents = abcmodel.size_exponents((8, 16), 0.0, 0.0)
    assert exponents.entropy == pytest.approx(
        np.log(deficit(16) / deficit(8)) / np.log(2), rel=1e-10
    )
    phase_two = abcmodel.size_exponents((50, 100), 1.0, 0.0)
    assert abs(phase_two.entropy - 1) < 0.03 and abs(phase_two.information - 1) < 0.03
    with pytest.raises(ValueError, match="sizes must be two chain lengths L1 < L2"):
        abcmodel.size_exponents((16, 8), 0.3, 0.3)
    with pytest.raises(ValueError, match="sizes must hold at least two"):
        abcmodel.closure_coefficients(0.3, 0.3, [8])


def test_size_exponent_map_is_size_exponents_on_the_grid():
    p = np.array([0.05, 0.5, 0.7])
    grid = abcmodel.size_exponent_map((8, 16), p, p[:2])
    assert grid.entropy.shape == (3, 2) and np.isnan(grid.entropy[2, 1])  # 0.7 + 0.5 > 1
    point = abcmodel.size_exponents((8, 16), 0.7, 0.05)
    assert grid.entropy[2, 0] == point.entropy and grid.information[2, 0] == point.information
    assert np.all(np.isfinite(grid.entropy[:2]))
