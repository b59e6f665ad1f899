"""QSSEP free cumulants, estimators and simulators.

Independent routes used here, not taken from nqlib.qssep:
- non-crossing partitions by brute force (filter all set partitions with the crossing test);
- free cumulants at coinciding points from the power-series form of the free moment-cumulant
  relation M(z) = C(z M(z)) for the moments m_n = x of a projection (Bernoulli law);
- closed forms g2, g3 (HJ Eq. 5) and g4 (our notes) of the cyclic cumulants;
- exact cumulants of small equally weighted sample sets (Bernoulli, independent variables);
- the exact stationary moments of continuous-time QSSEP (sparse linear solve) against the
  linear profile formula, a finite-N closed form, and the Monte Carlo simulator;
- the circuit's exact second moments from nqlib.abcmodel (an independent two-copy calculation);
- a dense site-space implementation of the Anderson cumulant estimator.
Exact identities use 1e-10; Monte Carlo comparisons use k standard errors with k stated.
"""

import itertools
import math

import numpy as np
import pytest

from nqlib import abcmodel, anderson, ensemble, ssep
from nqlib import qssep as q


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
    parts = q.noncrossing_partitions(n)
    assert len(parts) == math.comb(2 * n, n) // (n + 1)
    assert len(set(parts)) == len(parts)
    for p in parts[:200]:
        assert sorted(e for block in p for e in block) == list(range(n))


@pytest.mark.parametrize("n", range(1, 8))
def test_noncrossing_partitions_equal_brute_force_filter(n):
    bell = [1, 1, 2, 5, 15, 52, 203, 877]
    everything = q.set_partitions(n)
    assert len(everything) == bell[n]
    brute = {tuple(sorted(tuple(sorted(b)) for b in p)) for p in everything if not crossing(p)}
    mine = {tuple(sorted(p)) for p in q.noncrossing_partitions(n)}
    assert mine == brute


# --------------------------------------------------------------------------- cyclic cumulants
def g3_closed(x, y, z):
    m = np.minimum
    return m(m(x, y), z) - (x * m(y, z) + y * m(z, x) + z * m(x, y)) + 2 * x * y * z


def test_low_orders_match_closed_forms_at_random_points():
    rng = np.random.default_rng(1)
    x, y, z = rng.uniform(size=(3, 200))
    np.testing.assert_allclose(q.cyclic_cumulant([x]), x, atol=1e-14)
    np.testing.assert_allclose(q.cyclic_cumulant([x, y]), np.minimum(x, y) - x * y, atol=1e-14)
    np.testing.assert_allclose(q.cyclic_cumulant([x, y, z]), g3_closed(x, y, z), atol=1e-14)
    s = np.sort([x, y, z], axis=0)
    np.testing.assert_allclose(q.cyclic_cumulant([x, y, z]), s[0] * (1 - 2 * s[1]) * (1 - s[2]), atol=1e-14)


def test_low_orders_at_coinciding_points():
    x = np.linspace(0, 1, 11)
    np.testing.assert_allclose(q.cyclic_cumulant([x, x]), x * (1 - x), atol=1e-14)
    np.testing.assert_allclose(q.cyclic_cumulant([x, x, x]), g3_closed(x, x, x), atol=1e-14)
    y = 0.7
    np.testing.assert_allclose(q.cyclic_cumulant([x, y, x]), g3_closed(x, y, x), atol=1e-14)


def test_fourth_order_closed_forms_depend_on_the_cyclic_order():
    rng = np.random.default_rng(2)
    a, b, c, d = np.sort(rng.uniform(size=(4, 100)), axis=0)
    first = a * (1 - 3 * b - 2 * c + 5 * b * c) * (1 - d)  # loop visits (a, b, c, d) or (a, b, d, c)
    second = a * (1 - 4 * b - c + 5 * b * c) * (1 - d)  # loop visits (a, c, b, d)
    np.testing.assert_allclose(q.cyclic_cumulant([a, b, c, d]), first, atol=1e-14)
    np.testing.assert_allclose(q.cyclic_cumulant([a, b, d, c]), first, atol=1e-14)
    np.testing.assert_allclose(q.cyclic_cumulant([a, c, b, d]), second, atol=1e-14)
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
    got = [q.cyclic_cumulant([x] * n) for n in range(1, 9)]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(expected[:4], [x, x * (1 - x), x * (1 - x) * (1 - 2 * x),
                                              x * (1 - x) * (1 - 5 * x + 5 * x**2)], atol=1e-14)


@pytest.mark.parametrize("n", [4, 5, 6])
def test_cyclic_and_reversal_symmetry(n):
    rng = np.random.default_rng(n)
    xs = list(rng.uniform(size=(n, 20)))
    g = q.cyclic_cumulant(xs)
    for shift in range(n):
        np.testing.assert_allclose(q.cyclic_cumulant(xs[shift:] + xs[:shift]), g, atol=1e-13)
    np.testing.assert_allclose(q.cyclic_cumulant(xs[::-1]), g, atol=1e-13)
    swapped = [xs[1], xs[0]] + xs[2:]  # not a symmetry of the loop for n >= 4
    assert np.abs(q.cyclic_cumulant(swapped) - g).max() > 1e-3


def test_imbalance_scaling_and_moment_recursion():
    xs = [0.1, 0.8, 0.35, 0.6, 0.2]
    for n in range(1, 6):
        assert q.cyclic_cumulant(xs[:n], dn=-1.7) == pytest.approx((-1.7) ** n * q.cyclic_cumulant(xs[:n]), abs=1e-14)
    total = sum(np.prod([q.cyclic_cumulant([xs[i] for i in block]) for block in p]) for p in q.noncrossing_partitions(5))
    assert total == pytest.approx(min(xs), abs=1e-14)


def test_cyclic_cumulant_validation():
    with pytest.raises(ValueError, match="xs must hold numbers in"):
        q.cyclic_cumulant([0.2, 1.3])
    with pytest.raises(ValueError, match="len\\(xs\\) must be"):
        q.cyclic_cumulant([0.5] * 11)
    with pytest.raises(ValueError, match="dn must be"):
        q.cyclic_cumulant([0.5], dn=np.nan)
    with pytest.raises(ValueError, match="n must be"):
        q.noncrossing_partitions(-1)


# --------------------------------------------------------------------------- estimators
def test_loop_cumulants_exact_for_small_sample_sets():
    # G_00 in {0, 0, 1}: Bernoulli(1/3); the loop (0, 0, 0) has all three edges equal to G_00
    G = np.zeros((3, 2, 2), complex)
    G[2, 0, 0] = 1.0
    p = 1 / 3
    k = q.loop_cumulants(q.loop_moments(G, [[0, 0, 0], ]))
    assert k[0] == pytest.approx(p * (1 - p) * (1 - 2 * p), abs=1e-14)
    assert q.loop_cumulants(q.loop_moments(G, [[0, 0]]))[0] == pytest.approx(p * (1 - p), abs=1e-14)
    # independent variables on a product grid: all mixed cumulants vanish exactly
    a, b = np.meshgrid([0.0, 1.0, 3.0], [2.0, -1.0], indexing="ij")
    H = np.zeros((6, 2, 2), complex)
    H[:, 0, 1], H[:, 1, 0] = a.ravel(), b.ravel()
    assert abs(q.loop_cumulants(q.loop_moments(H, [[0, 1]]))[0]) < 1e-14
    assert abs(q.loop_cumulants(q.loop_moments(H, [[0, 1, 0, 1]]))[0]) < 1e-14
    # complex: E[G_01 G_10] - E[G_01] E[G_10] for explicit values
    v = np.array([1 + 2j, -0.5j, 3.0])
    H = np.zeros((3, 2, 2), complex)
    H[:, 0, 1], H[:, 1, 0] = v, v.conj() ** 2
    expected = np.mean(v * v.conj() ** 2) - v.mean() * (v.conj() ** 2).mean()
    assert q.loop_cumulants(q.loop_moments(H, [[0, 1]]))[0] == pytest.approx(expected, abs=1e-13)


def test_cumulant_estimate_first_order_error_is_standard_error():
    rng = np.random.default_rng(4)
    G = rng.normal(size=(30, 3, 3)) + 0j
    moments = np.array([q.loop_moments(g, [[1]]) for g in G])  # (R, 1, 2)
    est, err = q.cumulant_estimate(moments)
    assert est[0].real == pytest.approx(G[:, 1, 1].real.mean(), abs=1e-13)
    assert err[0].real == pytest.approx(G[:, 1, 1].real.std(ddof=1) / np.sqrt(30), rel=1e-12)


def test_estimator_validation():
    with pytest.raises(ValueError, match="loops must hold site indices"):
        q.loop_moments(np.zeros((2, 3, 3)), [[0, 3]])
    with pytest.raises(ValueError, match="last axis of length 2\\*\\*n"):
        q.loop_cumulants(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=">= 2 realizations"):
        q.cumulant_estimate(np.zeros((1, 3, 4)))


# --------------------------------------------------------------------------- QSSEP
def test_exact_profile_is_linear_in_the_finite_size_coordinate():
    for N, J, ga, gb, na, nb in ((5, 1.0, 1.0, 1.0, 0.0, 1.0), (7, 1.3, 0.7, 2.0, 0.2, 0.9)):
        r = q.exact_second_moments(N, J, ga, gb, na, nb)
        x = q.coordinate(N, J, ga, gb)
        np.testing.assert_allclose(np.diag(r["mean"]), na + (nb - na) * x, atol=1e-12)
        assert np.abs(r["mean"] - np.diag(np.diag(r["mean"]))).max() < 1e-14


def test_exact_second_cumulant_finite_size_closed_form_and_limit():
    # for J = gamma = 1 the exact solve gives E[G_ij G_ji]^c = x_i (1 - x_j) (N + 1) / (N (N + 2)), i < j
    for N in (4, 9, 14):
        r = q.exact_second_moments(N)
        x = q.coordinate(N)
        i, j = np.triu_indices(N, 1)
        np.testing.assert_allclose(r["pair"][i, j], x[i] * (1 - x[j]) * (N + 1) / (N * (N + 2)), atol=1e-12)
        np.testing.assert_allclose(r["pair"], r["pair"].T, atol=1e-13)
        assert np.abs(r["pair"].imag).max() < 1e-14
    # hence (N + 1) E[G_ij G_ji]^c -> g2(x_i, x_j) with relative corrections 1 / (N (N + 2))
    N = 14
    r = q.exact_second_moments(N)
    x = q.coordinate(N)
    g2 = q.cyclic_cumulant([x[:, None], x[None, :]])
    off = ~np.eye(N, dtype=bool)
    np.testing.assert_allclose((N + 1) * r["pair"][off].real, g2[off] * (1 + 1 / (N * (N + 2))), rtol=1e-10)
    # imbalance enters as dn^2 (cumulants of order 2 do not see n_a)
    r2 = q.exact_second_moments(6, n_a=0.3, n_b=0.8)
    np.testing.assert_allclose(r2["pair"], 0.25 * q.exact_second_moments(6)["pair"], atol=1e-13)


def test_simulation_stays_a_correlation_matrix():
    rng = np.random.default_rng(8)
    G = q.evolve(np.diag(np.linspace(0, 1, 10)).astype(complex), 30.0, 0.05, rng)
    assert np.abs(G - G.conj().T).max() < 1e-12
    ev = np.linalg.eigvalsh(G)
    assert ev.min() > -1e-12 and ev.max() < 1 + 1e-12


def run_qssep(N, dt, runs, seed):
    pairs = np.array([(i, j) for i in range(N) for j in range(N)])
    out = [q.qssep_loop_moments(np.random.default_rng([seed, r]), N, {"pair": pairs}, n_samples=400,
                                time_between=4.0, dt=dt) for r in range(runs)]
    est, err = q.cumulant_estimate(np.array([o["pair"] for o in out]))
    dens = np.array([o["density"] for o in out])
    return est.reshape(N, N), err.reshape(N, N), dens


def test_simulation_matches_exact_moments():
    """N = 8, 20 trajectories x 400 samples 4 time units apart (> 6 relaxation times N^2/(pi^2 J)
    per 10 samples, so the jackknife over trajectories is honest). dt = 0.02: the O(J dt) bias
    of the scheme was measured as ~1 % of the pair cumulant at dt = 0.1, hence ~0.2 % here,
    a fifth of the ~1.2 % statistical error. Tolerance: 4.5 standard errors for the maximum of
    64 (pair) and 8 (density) roughly Gaussian deviations."""
    N = 8
    exact = q.exact_second_moments(N)
    est, err, dens = run_qssep(N, 0.02, 20, 11)
    z = (est.real - exact["pair"].real) / err.real
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    assert np.abs(est.imag / err.imag).max() < 4.5
    zd = (dens.mean(0) - np.diag(exact["mean"]).real) / (dens.std(0, ddof=1) / np.sqrt(len(dens)))
    assert np.abs(zd).max() < 4.5, zd


def test_simulation_bias_is_detectable_at_large_dt():
    """The comparison above can fail: at dt = 0.25 the weak-order-1 bias of the scheme exceeds
    the statistical error (same sample sizes) by far."""
    N = 8
    exact = q.exact_second_moments(N)
    est, err, dens = run_qssep(N, 0.25, 20, 12)
    zd = (dens.mean(0) - np.diag(exact["mean"]).real) / (dens.std(0, ddof=1) / np.sqrt(len(dens)))
    assert np.abs(zd).max() > 6


def test_simulation_validation():
    with pytest.raises(ValueError, match="dt must be"):
        q.evolve(np.eye(3), 1.0, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_b must be a density"):
        q.evolve(np.eye(3), 1.0, 0.1, np.random.default_rng(0), n_b=1.5)
    with pytest.raises(ValueError, match="loops must be a non-empty dict"):
        q.qssep_loop_moments(np.random.default_rng(0), 4, [[0, 1]], 2, 1.0)
    with pytest.raises(ValueError, match="N must be <= 24"):
        q.exact_second_moments(25)


# --------------------------------------------------------------------------- circuit
def test_circuit_second_cumulant_matches_exact_two_copy_solution():
    """p1 = 1, p2 = 0, delta = 1, L = 8: 20 circuits x 200 samples 4 time units apart. The exact
    E|C_ij|^2 = delta^2 coherence (nqlib.abcmodel, exact at O(delta^2); C - 1/2 is linear in delta,
    so exact at every delta) and the SSEP profile; 4.5 standard errors for the max of 56 and 8."""
    L = 8
    pairs = np.array([(i, j) for i in range(L) for j in range(L)])
    out = [q.circuit_loop_moments(np.random.default_rng([21, r]), L, 1.0, 1.0, {"pair": pairs}, n_samples=200,
                                  sweeps_between=4.0) for r in range(20)]
    est, err = q.cumulant_estimate(np.array([o["pair"] for o in out]))
    est, err = est.reshape(L, L).real, err.reshape(L, L).real
    exact = abcmodel.second_order(L, 1.0, 0.0)
    off = ~np.eye(L, dtype=bool)
    assert np.abs((est - exact.coherence)[off] / err[off]).max() < 4.5
    assert np.abs((np.diag(est) - exact.fluctuation) / np.diag(err)).max() < 4.5
    dens = np.array([o["density"] for o in out])
    assert np.abs((dens.mean(0) - ssep.density(L, 1.0)) / (dens.std(0, ddof=1) / np.sqrt(20))).max() < 4.5


# --------------------------------------------------------------------------- Anderson
def translation_average(block, Ny, Nz):
    """Average of an (M, M) block over simultaneous transverse shifts of both indices."""
    idx = np.arange(Ny * Nz).reshape(Ny, Nz)
    out = np.zeros_like(block)
    for sy in range(Ny):
        for sz in range(Nz):
            s = np.roll(np.roll(idx, sy, 0), sz, 1).ravel()
            out += block[np.ix_(s, s)]
    return out / (Ny * Nz)


def test_anderson_estimator_matches_dense_site_space_computation():
    """The momentum-diagonal / channel-space formulas against dense G^neq matrices, with the
    sample means of the blocks symmetrised over transverse translations (the same estimator,
    computed independently in site space). Exact identity: 1e-10."""
    t, (Nx, Ny, Nz), W, R = (1.0, 0.4, 0.4), (4, 4, 2), 6.0, 3
    pairs = [(1, 2), (3, 0), (2, 2)]
    data = ensemble.stack([q.anderson_loop_statistics(np.random.default_rng([7, r]), Nx, Ny, Nz, W, pairs, t=t)
                           for r in range(R)])
    res = q.anderson_cumulants(data, pairs)
    Gs = []
    for r in range(R):
        V = anderson.potential(Nx, Ny, Nz, W, np.random.default_rng([7, r]))
        Gs.append((anderson.G(V, 0.2, "R", t) - anderson.G(V, -0.2, "L", t)).reshape(Nx, Ny * Nz, Nx, Ny * Nz))
    Gs = np.array(Gs)

    def mean_block(f):
        return translation_average(np.mean([f(B) for B in Gs], axis=0), Ny, Nz)

    Gbar = [[mean_block(lambda B: B[a, :, b]) for b in range(Nx)] for a in range(Nx)]
    for a in range(Nx):
        assert np.trace(Gbar[a][a]).real == pytest.approx(res["g1"][0][a], abs=1e-10)
        for b in range(Nx):
            raw = np.mean([np.trace(B[a, :, b] @ B[b, :, a]) for B in Gs])
            assert (raw - np.trace(Gbar[a][b] @ Gbar[b][a])).real == pytest.approx(res["pair"][0][a, b], abs=1e-10)
    for p, (b, c) in enumerate(pairs):
        for a in range(Nx):
            k3 = np.mean([np.trace(B[a, :, b] @ B[b, :, c] @ B[c, :, a]) for B in Gs])
            k3 -= np.trace(mean_block(lambda B: B[a, :, b] @ B[b, :, c]) @ Gbar[c][a])
            k3 -= np.trace(mean_block(lambda B: B[b, :, c] @ B[c, :, a]) @ Gbar[a][b])
            k3 -= np.trace(mean_block(lambda B: B[c, :, a] @ B[a, :, b]) @ Gbar[b][c])
            k3 += 2 * np.trace(Gbar[a][b] @ Gbar[b][c] @ Gbar[c][a])
            assert k3.real == pytest.approx(res["triple"][0][p, a], abs=1e-10)
    full = np.block(Gbar)
    dense = Gs.reshape(R, Nx * Ny * Nz, -1)
    square = np.mean([g @ g for g in dense], axis=0).reshape(Nx, Ny * Nz, Nx, Ny * Nz)
    square = np.block([[translation_average(square[a, :, c], Ny, Nz) for c in range(Nx)] for a in range(Nx)])
    m2 = np.mean([np.trace(g @ g) for g in dense]) - np.trace(full @ full)
    m3 = np.mean([np.trace(g @ g @ g) for g in dense]) - 3 * np.trace(square @ full) + 2 * np.trace(full @ full @ full)
    assert m2.real == pytest.approx(res["m2"][0], abs=1e-9)
    assert m3.real == pytest.approx(res["m3"][0], abs=1e-9)
    assert np.all(res["pair"][1] > 0) and np.all(np.isfinite(res["triple"][1]))


def test_anderson_validation():
    with pytest.raises(ValueError, match=r"pairs must be integers in \[0, 2\]"):
        q.anderson_loop_statistics(np.random.default_rng(0), 3, 2, 2, 1.0, pairs=[(0, 3)])
    with pytest.raises(ValueError, match="data must be a dict"):
        q.anderson_cumulants({"mean": np.zeros((2, 3, 3, 4))})
