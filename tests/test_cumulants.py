"""Set and non-crossing partitions, free and cyclic cumulants, loop estimators (nqlib.cumulants).

Independent routes used here, not taken from nqlib.cumulants:
- non-crossing partitions by brute force (filter all set partitions with the crossing test), their
  number against the Catalan numbers and that of set partitions against the Bell numbers;
- free cumulants of known laws: the semicircle (moments: Catalan numbers; only kappa_2 = 1), the
  free Poisson / Marchenko-Pastur law (moments: Narayana polynomials; all kappa_n = rate), and
  a round trip through the moment-cumulant sum written out here;
- free cumulants at coinciding points from the power-series form of the free moment-cumulant
  relation M(z) = C(z M(z)) for the moments m_n = x of a projection (Bernoulli law);
- closed forms g2, g3 (HJ Eq. 5) and g4 (our notes) of the cyclic cumulants;
- exact cumulants of small equally weighted sample sets (Bernoulli, independent variables);
- the jackknife of the second cumulant against a leave-one-out loop written out here.
Exact identities use 1e-12 or tighter (1e-9 where order-10 sums cancel).
"""

import itertools
import math

import numpy as np
import pytest

from nqlib import cumulants as cu


# --------------------------------------------------------------------------- partitions
def crossing(partition):
    """True if two blocks cross: a < b < c < d with a, c in one block and b, d in another."""
    for B1, B2 in itertools.permutations(partition, 2):
        for a, c in itertools.combinations(sorted(B1), 2):
            if any(a < b < c for b in B2) and any(d > c or d < a for d in B2):
                return True
    return False


@pytest.mark.parametrize("n", range(0, 11))
def test_noncrossing_partitions_count_is_catalan(n):
    parts = cu.noncrossing_partitions(n)
    assert len(parts) == math.comb(2 * n, n) // (n + 1)
    assert len(set(parts)) == len(parts)
    for p in parts[:200]:
        assert sorted(e for block in p for e in block) == list(range(n))


@pytest.mark.parametrize("n", range(1, 8))
def test_noncrossing_partitions_equal_brute_force_filter(n):
    bell = [1, 1, 2, 5, 15, 52, 203, 877]
    everything = cu.set_partitions(n)
    assert len(everything) == bell[n]
    brute = {tuple(sorted(tuple(sorted(b)) for b in p)) for p in everything if not crossing(p)}
    mine = {tuple(sorted(p)) for p in cu.noncrossing_partitions(n)}
    assert mine == brute


# --------------------------------------------------------------------------- cyclic cumulants
def g3_closed(x, y, z):
    m = np.minimum
    return m(m(x, y), z) - (x * m(y, z) + y * m(z, x) + z * m(x, y)) + 2 * x * y * z


def test_low_orders_match_closed_forms_at_random_points():
    rng = np.random.default_rng(1)
    x, y, z = rng.uniform(size=(3, 200))
    np.testing.assert_allclose(cu.cyclic_cumulant([x]), x, atol=1e-14)
    np.testing.assert_allclose(cu.cyclic_cumulant([x, y]), np.minimum(x, y) - x * y, atol=1e-14)
    np.testing.assert_allclose(cu.cyclic_cumulant([x, y, z]), g3_closed(x, y, z), atol=1e-14)
    s = np.sort([x, y, z], axis=0)
    np.testing.assert_allclose(
        cu.cyclic_cumulant([x, y, z]), s[0] * (1 - 2 * s[1]) * (1 - s[2]), atol=1e-14
    )


def test_low_orders_at_coinciding_points():
    x = np.linspace(0, 1, 11)
    np.testing.assert_allclose(cu.cyclic_cumulant([x, x]), x * (1 - x), atol=1e-14)
    np.testing.assert_allclose(cu.cyclic_cumulant([x, x, x]), g3_closed(x, x, x), atol=1e-14)
    y = 0.7
    np.testing.assert_allclose(cu.cyclic_cumulant([x, y, x]), g3_closed(x, y, x), atol=1e-14)


def test_fourth_order_closed_forms_depend_on_the_cyclic_order():
    rng = np.random.default_rng(2)
    a, b, c, d = np.sort(rng.uniform(size=(4, 100)), axis=0)
    first = (
        a * (1 - 3 * b - 2 * c + 5 * b * c) * (1 - d)
    )  # loop visits (a, b, c, d) or (a, b, d, c)
    second = a * (1 - 4 * b - c + 5 * b * c) * (1 - d)  # loop visits (a, c, b, d)
    np.testing.assert_allclose(cu.cyclic_cumulant([a, b, c, d]), first, atol=1e-14)
    np.testing.assert_allclose(cu.cyclic_cumulant([a, b, d, c]), first, atol=1e-14)
    np.testing.assert_allclose(cu.cyclic_cumulant([a, c, b, d]), second, atol=1e-14)
    assert np.abs(first - second).max() > 0.01  # = max a (c - b)(1 - d): the order matters


def free_cumulants_of_projection(x, n_max):
    """Free cumulants of the law with all moments m_k = x, from M(z) = C(z M(z)) as power series."""
    m = np.array([1.0] + [x] * n_max)
    kappa = np.zeros(n_max + 1)
    for n in range(1, n_max + 1):
        # coefficient of z^n in sum_k kappa_k z^k M(z)^k, with kappa_n unknown (M^n starts with 1)
        total = 0.0
        power = np.array([1.0] + [0.0] * n_max)  # M(z)^0
        for k in range(1, n):
            power = np.convolve(power, m)[: n_max + 1]
            total += kappa[k] * power[n - k]
        kappa[n] = m[n] - total
    return kappa[1:]


@pytest.mark.parametrize("x", [0.13, 0.5, 0.81])
def test_coinciding_points_are_free_cumulants_of_a_projection(x):
    expected = free_cumulants_of_projection(x, 8)
    got = [cu.cyclic_cumulant([x] * n) for n in range(1, 9)]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(
        expected[:4],
        [x, x * (1 - x), x * (1 - x) * (1 - 2 * x), x * (1 - x) * (1 - 5 * x + 5 * x**2)],
        atol=1e-14,
    )


@pytest.mark.parametrize("n", [4, 5, 6])
def test_cyclic_and_reversal_symmetry(n):
    rng = np.random.default_rng(n)
    xs = list(rng.uniform(size=(n, 20)))
    g = cu.cyclic_cumulant(xs)
    for shift in range(n):
        np.testing.assert_allclose(cu.cyclic_cumulant(xs[shift:] + xs[:shift]), g, atol=1e-13)
    np.testing.assert_allclose(cu.cyclic_cumulant(xs[::-1]), g, atol=1e-13)
    swapped = [xs[1], xs[0]] + xs[2:]  # not a symmetry of the loop for n >= 4
    assert np.abs(cu.cyclic_cumulant(swapped) - g).max() > 1e-3


def test_imbalance_scaling_and_moment_recursion():
    xs = [0.1, 0.8, 0.35, 0.6, 0.2]
    for n in range(1, 6):
        assert cu.cyclic_cumulant(xs[:n], dn=-1.7) == pytest.approx(
            (-1.7) ** n * cu.cyclic_cumulant(xs[:n]), abs=1e-14
        )
    total = sum(
        np.prod([cu.cyclic_cumulant([xs[i] for i in block]) for block in p])
        for p in cu.noncrossing_partitions(5)
    )
    assert total == pytest.approx(min(xs), abs=1e-14)


def test_cyclic_cumulant_validation():
    with pytest.raises(ValueError, match="xs must hold numbers in"):
        cu.cyclic_cumulant([0.2, 1.3])
    with pytest.raises(ValueError, match="len\\(xs\\) must be"):
        cu.cyclic_cumulant([0.5] * 11)
    with pytest.raises(ValueError, match="dn must be"):
        cu.cyclic_cumulant([0.5], dn=np.nan)
    with pytest.raises(ValueError, match="n must be"):
        cu.noncrossing_partitions(-1)


# --------------------------------------------------------------------------- estimators
def test_loop_cumulants_exact_for_small_sample_sets():
    # G_00 in {0, 0, 1}: Bernoulli(1/3); the loop (0, 0, 0) has all three edges equal to G_00
    G = np.zeros((3, 2, 2), complex)
    G[2, 0, 0] = 1.0
    p = 1 / 3
    k = cu.loop_cumulants(
        cu.loop_moments(
            G,
            [
                [0, 0, 0],
            ],
        )
    )
    assert k[0] == pytest.approx(p * (1 - p) * (1 - 2 * p), abs=1e-14)
    assert cu.loop_cumulants(cu.loop_moments(G, [[0, 0]]))[0] == pytest.approx(
        p * (1 - p), abs=1e-14
    )
    # independent variables on a product grid: all mixed cumulants vanish exactly
    a, b = np.meshgrid([0.0, 1.0, 3.0], [2.0, -1.0], indexing="ij")
    H = np.zeros((6, 2, 2), complex)
    H[:, 0, 1], H[:, 1, 0] = a.ravel(), b.ravel()
    assert abs(cu.loop_cumulants(cu.loop_moments(H, [[0, 1]]))[0]) < 1e-14
    assert abs(cu.loop_cumulants(cu.loop_moments(H, [[0, 1, 0, 1]]))[0]) < 1e-14
    # complex: E[G_01 G_10] - E[G_01] E[G_10] for explicit values
    v = np.array([1 + 2j, -0.5j, 3.0])
    H = np.zeros((3, 2, 2), complex)
    H[:, 0, 1], H[:, 1, 0] = v, v.conj() ** 2
    expected = np.mean(v * v.conj() ** 2) - v.mean() * (v.conj() ** 2).mean()
    assert cu.loop_cumulants(cu.loop_moments(H, [[0, 1]]))[0] == pytest.approx(expected, abs=1e-13)


def test_cumulant_estimate_first_order_error_is_standard_error():
    rng = np.random.default_rng(4)
    G = rng.normal(size=(30, 3, 3)) + 0j
    moments = np.array([cu.loop_moments(g, [[1]]) for g in G])  # (R, 1, 2)
    est, err = cu.cumulant_estimate(moments)
    assert est[0].real == pytest.approx(G[:, 1, 1].real.mean(), abs=1e-13)
    assert err[0].real == pytest.approx(G[:, 1, 1].real.std(ddof=1) / np.sqrt(30), rel=1e-12)


def test_estimator_validation():
    with pytest.raises(ValueError, match="loops must hold site indices"):
        cu.loop_moments(np.zeros((2, 3, 3)), [[0, 3]])
    with pytest.raises(ValueError, match="last axis of length 2\\*\\*n"):
        cu.loop_cumulants(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=">= 2 realizations"):
        cu.cumulant_estimate(np.zeros((1, 3, 4)))


# --------------------------------------------------------------------------- free cumulants of known laws
def narayana(n, k):
    return math.comb(n, k) * math.comb(n, k - 1) // n


def test_semicircle_has_only_a_second_free_cumulant():
    # moments of the standard semicircle: m_2k = Catalan(k), odd moments 0
    m = [0 if n % 2 else math.comb(n, n // 2) // (n // 2 + 1) for n in range(1, 11)]
    kappa = cu.free_cumulants(m)
    np.testing.assert_allclose(kappa, [0, 1] + [0] * 8, atol=1e-12)
    # scaled by s: kappa_2 = s^2 (homogeneity), with a shift a: kappa_1 = a
    s, a = 1.7, -0.3
    shifted = [
        sum(math.comb(n, j) * a ** (n - j) * s**j * ([1] + m)[j] for j in range(n + 1))
        for n in range(1, 9)
    ]
    np.testing.assert_allclose(cu.free_cumulants(shifted), [a, s**2] + [0] * 6, atol=1e-10)


@pytest.mark.parametrize("rate", [0.3, 1.0, 2.5])
def test_free_poisson_has_all_free_cumulants_equal_to_its_rate(rate):
    # Marchenko-Pastur (free Poisson) moments: m_n = sum_k Narayana(n, k) rate^k
    m = [sum(narayana(n, k) * rate**k for k in range(1, n + 1)) for n in range(1, 11)]
    np.testing.assert_allclose(
        cu.free_cumulants(m), [rate] * 10, rtol=1e-9
    )  # cancellations at n = 10
    # the classical Poisson law has the same property for classical cumulants: its moments are
    # Touchard polynomials, sums over all set partitions, not the non-crossing ones
    touchard = [sum(rate ** len(p) for p in cu.set_partitions(n)) for n in range(1, 7)]
    assert not np.allclose(cu.free_cumulants(touchard), rate)


def test_moment_cumulant_round_trip_and_complex_batches():
    rng = np.random.default_rng(5)
    kappa = rng.normal(size=(7, 3)) + 1j * rng.normal(size=(7, 3))  # three independent laws
    moments = np.array(
        [
            sum(
                np.prod([kappa[len(b) - 1] for b in p], axis=0)
                for p in cu.noncrossing_partitions(n)
            )
            for n in range(1, 8)
        ]
    )
    np.testing.assert_allclose(cu.free_cumulants(moments), kappa, atol=1e-12)


@pytest.mark.parametrize("x", [0.13, 0.5, 0.81])
def test_free_cumulants_of_a_projection_are_the_cyclic_cumulants_at_one_point(x):
    np.testing.assert_allclose(
        cu.free_cumulants([x] * 8), [cu.cyclic_cumulant([x] * n) for n in range(1, 9)], atol=1e-13
    )
    np.testing.assert_allclose(
        cu.free_cumulants([x] * 8), free_cumulants_of_projection(x, 8), atol=1e-12
    )


def test_free_cumulants_validation():
    with pytest.raises(ValueError, match="moments must hold 1..10"):
        cu.free_cumulants(np.zeros(11))
    with pytest.raises(ValueError, match="moments must hold 1..10"):
        cu.free_cumulants(2.0)
    with pytest.raises(ValueError, match="moments"):
        cu.free_cumulants([1.0, np.nan])


# --------------------------------------------------------------------------- jackknife
def test_cumulant_estimate_jackknife_equals_an_explicit_leave_one_out():
    rng = np.random.default_rng(6)
    R = 7
    G = rng.normal(size=(R, 40, 3, 3)) + 1j * rng.normal(size=(R, 40, 3, 3))
    loops = [[0, 2], [1, 1]]
    moments = np.array([cu.loop_moments(g, loops) for g in G])  # (R, 2, 4)

    def kappa2(m):  # second cumulant of the two edges from realization-averaged moments
        m = m.mean(axis=0)
        return m[:, 3] - m[:, 1] * m[:, 2]

    loo = np.array([kappa2(np.delete(moments, i, axis=0)) for i in range(R)])
    err_re = np.sqrt((R - 1) / R * ((loo.real - loo.real.mean(0)) ** 2).sum(0))
    err_im = np.sqrt((R - 1) / R * ((loo.imag - loo.imag.mean(0)) ** 2).sum(0))
    est, err = cu.cumulant_estimate(moments)
    np.testing.assert_allclose(est, kappa2(moments), atol=1e-13)
    np.testing.assert_allclose(err.real, err_re, rtol=1e-10)
    np.testing.assert_allclose(err.imag, err_im, rtol=1e-10)
    assert np.all(err_re > 0) and np.all(err_im > 0)


# --------------------------------------------------------------------------- cuts
def test_cut_loops_map_cuts_to_the_nearest_sites():
    x = (np.arange(7) + 1) / 8
    cuts = [(0.78, 0.23), (0.23, 0.23), (0.0, 1.0)]
    loops = cu.cut_loops(x, cuts)
    assert loops["pair"].tolist() == [[i, j] for i in range(7) for j in range(7)]
    assert loops["triple"].shape == (3 * 7, 3)
    for c, (y, z) in enumerate(cuts):
        j = min(range(7), key=lambda s: abs(x[s] - y))
        k = min(range(7), key=lambda s: abs(x[s] - z))
        assert loops["triple"][c * 7 : (c + 1) * 7].tolist() == [[i, j, k] for i in range(7)]
    with pytest.raises(ValueError, match="cuts must"):
        cu.cut_loops(x, [(0.2, 0.3, 0.4)])
    with pytest.raises(ValueError, match="x must hold numbers in"):
        cu.cut_loops([0.2, 1.5], cuts)


def test_distinct_sites_against_sets():
    rng = np.random.default_rng(8)
    for n in (1, 2, 3, 4):
        loops = rng.integers(0, 4, size=(50, n))
        assert cu.distinct_sites(loops).tolist() == [len(set(row)) == n for row in loops.tolist()]


def test_cut_cumulants_reshape_and_scale_the_cumulant_estimates():
    rng = np.random.default_rng(9)
    N, R = 3, 5
    x = (np.arange(N) + 1) / (N + 1)
    loops = cu.cut_loops(x, [(0.3, 0.7), (0.5, 0.5)])
    G = rng.normal(size=(R, 20, N, N)) + 1j * rng.normal(size=(R, 20, N, N))
    data = {
        "pair": np.array([cu.loop_moments(g, loops["pair"]) for g in G]),
        "triple": np.array([cu.loop_moments(g, loops["triple"]) for g in G]),
        "density": rng.uniform(size=(R, N)),
    }
    res = cu.cut_cumulants(data, 4.0)
    k2, e2 = cu.cumulant_estimate(data["pair"])
    k3, e3 = cu.cumulant_estimate(data["triple"])
    np.testing.assert_array_equal(res.g2, 4 * k2.real.reshape(N, N))
    np.testing.assert_array_equal(res.g2_err.ravel(), 4 * e2.real)
    np.testing.assert_array_equal(res.g2_imag, 4 * k2.imag)
    np.testing.assert_array_equal(res.g3, 16 * k3.real.reshape(2, N))
    np.testing.assert_array_equal(res.g3_err, 16 * e3.real.reshape(2, N))
    # an entry by hand: loop (1, 2) is row 1 * N + 2; kappa_2 = E[X Y] - E[X] E[Y] over all samples
    X, Y = G[:, :, 1, 2].ravel(), G[:, :, 2, 1].ravel()
    assert res.g2[1, 2] == pytest.approx(4 * (np.mean(X * Y) - X.mean() * Y.mean()).real, abs=1e-12)
    np.testing.assert_array_equal(res.density, data["density"])
    with pytest.raises(ValueError, match="data must be a dict"):
        cu.cut_cumulants({"pair": data["pair"]}, 4.0)
    with pytest.raises(ValueError, match=r"data\['pair'\] must have shape"):
        cu.cut_cumulants({**data, "pair": data["pair"][:, :5]}, 4.0)
    with pytest.raises(ValueError, match="scale must be"):
        cu.cut_cumulants(data, 0.0)
