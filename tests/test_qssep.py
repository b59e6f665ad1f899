"""QSSEP's simulator and exact moments, and the loop statistics of the circuit and the Anderson model.

The partitions, free cumulants and estimators are tested in tests/test_cumulants.py.
Independent routes used here, not taken from nqlib.qssep:
- the exact stationary moments of continuous-time QSSEP (sparse linear solve) against the
  linear profile formula, a finite-N closed form, and the Monte Carlo simulator;
- the circuit's exact second moments from nqlib.abcmodel (an independent two-copy calculation);
- a dense site-space implementation of the Anderson cumulant estimator, and the jackknife written out;
- anderson.imbalances against nqlib.paper's independent reduction of the same data, amplitude fits on
  exact shapes, the N, N/2 extrapolation and the imbalance root against closed forms.
Exact identities use 1e-10; Monte Carlo comparisons use k standard errors with k stated.
"""

import numpy as np
import pytest

from nqlib import abcmodel, anderson, ensemble, freecircuit, ssep
from nqlib import cumulants as cu
from nqlib import qssep as q


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
        np.testing.assert_allclose(
            r["pair"][i, j], x[i] * (1 - x[j]) * (N + 1) / (N * (N + 2)), atol=1e-12
        )
        np.testing.assert_allclose(r["pair"], r["pair"].T, atol=1e-13)
        assert np.abs(r["pair"].imag).max() < 1e-14
    # hence (N + 1) E[G_ij G_ji]^c -> g2(x_i, x_j) with relative corrections 1 / (N (N + 2))
    N = 14
    r = q.exact_second_moments(N)
    x = q.coordinate(N)
    g2 = cu.cyclic_cumulant([x[:, None], x[None, :]])
    off = ~np.eye(N, dtype=bool)
    np.testing.assert_allclose(
        (N + 1) * r["pair"][off].real, g2[off] * (1 + 1 / (N * (N + 2))), rtol=1e-10
    )
    # imbalance enters as dn^2 (cumulants of order 2 do not see n_a)
    r2 = q.exact_second_moments(6, n_a=0.3, n_b=0.8)
    np.testing.assert_allclose(r2["pair"], 0.25 * q.exact_second_moments(6)["pair"], atol=1e-13)


def test_g2_amplitude_fits_the_shape_off_the_diagonal():
    """Exact data A * x(1-y) off the diagonal (garbage on it) give A back with chi2 = 0; at
    min_separation = 2 the first off-diagonal is left out too; errors scale as 1/sqrt(pairs)."""
    N = 9
    x = q.coordinate(N)
    g2 = 1.7 * cu.cyclic_cumulant([x[:, None], x[None, :]])
    err = np.full((N, N), 0.01)
    g2[np.diag_indices(N)] = 99.0
    fit = q.g2_amplitude(g2, err, x)
    assert abs(fit.value - 1.7) < 1e-12 and fit.chi2_dof < 1e-20
    g2[np.arange(N - 1), np.arange(1, N)] = -5.0  # spoil the first off-diagonal
    assert abs(q.g2_amplitude(g2, err, x, min_separation=2).value - 1.7) < 1e-12
    assert abs(q.g2_amplitude(g2, err, x).value - 1.7) > 0.1
    shape = cu.cyclic_cumulant([x[:, None], x[None, :]])
    far = np.abs(np.subtract.outer(np.arange(N), np.arange(N))) >= 2
    expected = 0.01 / np.sqrt(np.sum(shape[far] ** 2))  # weighted least squares, one parameter
    assert abs(q.g2_amplitude(g2, err, x, min_separation=2).error - expected) < 1e-15
    for bad, match in [
        (dict(g2=g2[:-1]), r"g2 and g2_err must have shape \(N, N\) = \(9, 9\)"),
        (dict(x=np.linspace(0, 1.5, N)), "x"),
        (dict(min_separation=0), "min_separation"),
        (dict(min_separation=9), "min_separation"),
    ]:
        args = dict(g2=g2, g2_err=err, x=x)
        args.update(bad)
        with pytest.raises(ValueError, match=match):
            q.g2_amplitude(**args)


def test_simulation_stays_a_correlation_matrix():
    rng = np.random.default_rng(8)
    G = q.evolve(np.diag(np.linspace(0, 1, 10)).astype(complex), 30.0, 0.05, rng)
    assert np.abs(G - G.conj().T).max() < 1e-12
    ev = np.linalg.eigvalsh(G)
    assert ev.min() > -1e-12 and ev.max() < 1 + 1e-12


def run_qssep(N, dt, runs, seed):
    pairs = np.array([(i, j) for i in range(N) for j in range(N)])
    out = [
        q.qssep_loop_moments(
            np.random.default_rng([seed, r]),
            N,
            {"pair": pairs},
            n_samples=400,
            time_between=4.0,
            dt=dt,
        )
        for r in range(runs)
    ]
    est, err = cu.cumulant_estimate(np.array([o["pair"] for o in out]))
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
    out = [
        freecircuit.loop_moments(
            np.random.default_rng([21, r]),
            L,
            1.0,
            1.0,
            {"pair": pairs},
            n_samples=200,
            sweeps_between=4.0,
        )
        for r in range(20)
    ]
    est, err = cu.cumulant_estimate(np.array([o["pair"] for o in out]))
    est, err = est.reshape(L, L).real, err.reshape(L, L).real
    exact = abcmodel.second_order(L, 1.0, 0.0)
    off = ~np.eye(L, dtype=bool)
    assert np.abs((est - exact.coherence)[off] / err[off]).max() < 4.5
    assert np.abs((np.diag(est) - exact.fluctuation) / np.diag(err)).max() < 4.5
    dens = np.array([o["density"] for o in out])
    assert (
        np.abs((dens.mean(0) - ssep.density(L, 1.0)) / (dens.std(0, ddof=1) / np.sqrt(20))).max()
        < 4.5
    )


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
    """The momentum-diagonal / channel-space formulas against dense G^neq matrices in site space:
    every product of disorder averages is the mean over distinct realizations (r != s, or r, s, t
    all different) of blocks symmetrised over transverse translations, written out as explicit
    loops (an independent computation of the same U-statistics). Exact identity: 1e-10."""
    t, (Nx, Ny, Nz), W, R = (1.0, 0.4, 0.4), (4, 4, 2), 6.0, 5
    pairs = [(1, 2), (3, 0), (2, 2)]
    data = ensemble.stack(
        [
            anderson.loop_statistics(np.random.default_rng([7, r]), Nx, Ny, Nz, W, pairs, t=t)
            for r in range(R)
        ]
    )
    res = anderson.loop_cumulants(data, pairs)
    Gs = []
    for r in range(R):
        V = anderson.potential(np.random.default_rng([7, r]), Nx, Ny, Nz, W)
        Gs.append(
            (anderson.mode_sum(V, 0.2, "R", t) - anderson.mode_sum(V, -0.2, "L", t)).reshape(
                Nx, Ny * Nz, Nx, Ny * Nz
            )
        )
    Gs = np.array(Gs)
    two = [(r, s) for r in range(R) for s in range(R) if r != s]
    three = [(r, s, u) for r, s in two for u in range(R) if u not in (r, s)]

    def avg(f, tuples):  # mean over distinct realizations of f(*tuple)
        return np.mean([f(*x) for x in tuples], axis=0)

    T = [
        [[translation_average(B[a, :, b], Ny, Nz) for b in range(Nx)] for a in range(Nx)]
        for B in Gs
    ]

    def T2(r, a, b, c):  # translation average of G_ab G_bc in realization r
        return translation_average(Gs[r, a, :, b] @ Gs[r, b, :, c], Ny, Nz)

    for a in range(Nx):
        assert np.mean([np.trace(T[r][a][a]) for r in range(R)]).real == pytest.approx(
            res["g1"][0][a], abs=1e-10
        )
        for b in range(Nx):
            raw = np.mean([np.trace(B[a, :, b] @ B[b, :, a]) for B in Gs])
            k2 = raw - avg(lambda r, s: np.trace(T[r][a][b] @ T[s][b][a]), two)
            assert k2.real == pytest.approx(res["pair"][0][a, b], abs=1e-10)
    for p, (b, c) in enumerate(pairs):
        for a in range(Nx):
            k3 = np.mean([np.trace(B[a, :, b] @ B[b, :, c] @ B[c, :, a]) for B in Gs])
            k3 -= avg(lambda r, s: np.trace(T2(r, a, b, c) @ T[s][c][a]), two)
            k3 -= avg(lambda r, s: np.trace(T2(r, b, c, a) @ T[s][a][b]), two)
            k3 -= avg(lambda r, s: np.trace(T2(r, c, a, b) @ T[s][b][c]), two)
            k3 += 2 * avg(lambda r, s, u: np.trace(T[r][a][b] @ T[s][b][c] @ T[u][c][a]), three)
            assert k3.real == pytest.approx(res["triple"][0][p, a], abs=1e-10)
    full = [np.block(T[r]) for r in range(R)]
    dense = Gs.reshape(R, Nx * Ny * Nz, -1)
    square = []
    for g in dense:
        g2 = (g @ g).reshape(Nx, Ny * Nz, Nx, Ny * Nz)
        square.append(
            np.block(
                [[translation_average(g2[a, :, c], Ny, Nz) for c in range(Nx)] for a in range(Nx)]
            )
        )
    m2 = np.mean([np.trace(g @ g) for g in dense]) - avg(
        lambda r, s: np.trace(full[r] @ full[s]), two
    )
    m3 = (
        np.mean([np.trace(g @ g @ g) for g in dense])
        - 3 * avg(lambda r, s: np.trace(square[r] @ full[s]), two)
        + 2 * avg(lambda r, s, u: np.trace(full[r] @ full[s] @ full[u]), three)
    )
    assert m2.real == pytest.approx(res["m2"][0], abs=1e-9)
    assert m3.real == pytest.approx(res["m3"][0], abs=1e-9)
    assert np.all(res["pair"][1] > 0) and np.all(np.isfinite(res["triple"][1]))
    # the errors: the jackknife written out, each leave-one-out estimate from R - 1 realizations
    loo = [
        anderson.loop_cumulants({k: np.delete(v, i, axis=0) for k, v in data.items()}, pairs)
        for i in range(R)
    ]
    for key in res:
        theta = np.array([x[key][0] for x in loo])
        assert res[key][0].shape == res[key][1].shape == theta.shape[1:]
        np.testing.assert_allclose(
            res[key][1],
            np.sqrt((R - 1) / R * ((theta - theta.mean(0)) ** 2).sum(0)),
            rtol=1e-8,
            atol=1e-12,
        )


def test_cut_pairs_are_the_nearest_slices():
    for Nx in (1, 5, 8, 13):
        xs = (np.arange(Nx) + 0.5) / Nx
        cuts = [(0.78, 0.23), (0.23, 0.23), (0.0, 1.0)]
        expected = [tuple(int(np.argmin(np.abs(xs - v))) for v in cut) for cut in cuts]
        assert anderson.cut_pairs(Nx, cuts) == expected
    with pytest.raises(ValueError, match="cuts must"):
        anderson.cut_pairs(4, [(0.2,)])


def _direct_cube_fits(data, N, pairs):
    """The QSSEP shapes fitted to the loop cumulants of an N^3 cube written out by hand: plain
    weighted least squares (numpy.linalg.lstsq) with the chi^2 scale factor, the cumulants'
    transverse sums divided by M^n = N^(2n) and scaled by N^(n-1)."""
    M = N * N
    cum = anderson.loop_cumulants(data, pairs)
    x = (np.arange(N) + 0.5) / N

    def fit(y, sigma, shape):
        (a,), *_ = np.linalg.lstsq((shape / sigma)[:, None], y / sigma, rcond=None)
        chi2_dof = np.sum(((y - a * shape) / sigma) ** 2) / (y.size - 1)
        error = np.sqrt(max(chi2_dof, 1.0) / np.sum((shape / sigma) ** 2))
        return np.array([a, error, chi2_dof])

    g2, e2 = N * cum["pair"][0] / M**2, N * cum["pair"][1] / M**2
    g3, e3 = N**2 * cum["triple"][0] / M**3, N**2 * cum["triple"][1] / M**3
    far = np.abs(np.subtract.outer(np.arange(N), np.arange(N))) >= 2
    A2 = fit(g2[far], e2[far], np.minimum.outer(x, x)[far] * (1 - np.maximum.outer(x, x)[far]))
    j, k = pairs[0]
    keep = (np.abs(np.arange(N) - j) >= 2) & (np.abs(np.arange(N) - k) >= 2)
    A3 = fit(g3[0][keep], e3[0][keep], cu.cyclic_cumulant([x[keep], x[j], x[k]]))
    return dict(
        A2=A2,
        A3=A3,
        dn2=np.sign(A2[0]) * np.abs(A2[0]) ** 0.5,
        dn3=np.sign(A3[0]) * np.abs(A3[0]) ** (1 / 3),
        g1=cum["g1"][0] / M,
        g2=g2,
        m2=np.array([cum["m2"][0], cum["m2"][1]]) / M**2,
    )


def test_imbalances_agree_with_fits_written_out_and_direct_slopes():
    """anderson.imbalances against the fits written out in the test on a small cube (HJ's
    parameters), and the slope Delta n^(1) against numpy.polyfit of each realization."""
    from nqlib import paper

    N, R = 8, 4
    params = paper.DATASETS["anderson-w6"].params(N)
    data = ensemble.stack(
        [anderson.loop_statistics(np.random.default_rng([3, r]), **params) for r in range(R)]
    )
    f = anderson.imbalances(data, params["pairs"])
    ref = _direct_cube_fits(data, N, params["pairs"])
    np.testing.assert_allclose([f.A2.value, f.A2.error, f.A2.chi2_dof], ref["A2"], rtol=1e-12)
    np.testing.assert_allclose([f.A3.value, f.A3.error, f.A3.chi2_dof], ref["A3"], rtol=1e-12)
    np.testing.assert_allclose(f.dn2[0], ref["dn2"], rtol=1e-12)
    np.testing.assert_allclose(f.dn3[0], ref["dn3"], rtol=1e-12)
    np.testing.assert_allclose(f.g2, ref["g2"], rtol=1e-12)
    np.testing.assert_allclose(f.g1, ref["g1"], rtol=1e-10)
    np.testing.assert_allclose(f.m2, ref["m2"], rtol=1e-12)
    g1 = [np.einsum("aaq->a", m).real / N**2 for m in data["mean"]]
    slopes = [np.polyfit(f.x, g, 1)[0] for g in g1]
    assert f.dn1[0] == pytest.approx(np.mean(slopes), rel=1e-12)
    assert f.dn1[1] == pytest.approx(np.std(slopes, ddof=1) / np.sqrt(R), rel=1e-10)
    assert f.m2[0] == pytest.approx(f.g2.sum() / N, rel=1e-10) and f.runs == R
    quasi = anderson.imbalances(data, params["pairs"], length_power=-1)  # g_n scaled by N^-(n-1)
    np.testing.assert_allclose(quasi.g2, f.g2 / N**2, rtol=1e-12)
    np.testing.assert_allclose(quasi.g3, f.g3 / N**4, rtol=1e-12)
    with pytest.raises(ValueError, match="length_power must be 1 or -1"):
        anderson.imbalances(data, params["pairs"], length_power=2)


def test_anderson_validation():
    with pytest.raises(ValueError, match=r"pairs must be integers in \[0, 2\]"):
        anderson.loop_statistics(np.random.default_rng(0), 3, 2, 2, 1.0, pairs=[(0, 3)])
    with pytest.raises(ValueError, match="data must be a dict"):
        anderson.loop_cumulants({"mean": np.zeros((2, 3, 3, 4))})


# --------------------------------------------------------------------------- fits to the QSSEP shapes
def test_amplitude_extrapolation_and_imbalance_closed_forms():
    shape = np.array([0.1, 0.3, -0.2, 0.4])
    A = q.amplitude(2.5 * shape, np.full(4, 0.01), shape)
    assert A.value == pytest.approx(2.5, rel=1e-12) and A.chi2_dof == pytest.approx(0, abs=1e-20)
    assert A.error == pytest.approx(0.01 / np.sqrt(np.sum(shape**2)), rel=1e-12)  # sigma / |shape|
    big, small = q.Amplitude(0.9, 0.03, 1.0), q.Amplitude(0.8, 0.04, 1.0)
    inf = q.extrapolate_amplitude([1, 2], [small, big])  # A(N) = A_inf + c / N at N and N/2
    assert inf.value == pytest.approx(2 * 0.9 - 0.8, abs=1e-12)
    assert inf.error == pytest.approx(np.hypot(2 * 0.03, 0.04), rel=1e-12) and np.isnan(
        inf.chi2_dof
    )
    for value, n in ((0.7, 2), (-0.4, 3), (1.3, 3)):
        dn, err = q.imbalance((value, 0.01), n)
        assert dn**n == pytest.approx(value, rel=1e-12) and np.sign(dn) == np.sign(value)
        h = 1e-6  # the propagated error is |d(Delta n)/dA| * error
        slope = (q.imbalance((value + h, 0), n)[0] - q.imbalance((value - h, 0), n)[0]) / (2 * h)
        assert err == pytest.approx(abs(slope) * 0.01, rel=1e-6)
    with pytest.raises(ValueError, match="A must be an amplitude"):
        q.imbalance(0.5, 2)
    with pytest.raises(ValueError, match="n must be an integer"):
        q.imbalance((0.5, 0.1), 0)


def test_extrapolate_amplitude_with_hruza_jins_ansatz():
    """A_inf + beta/N + gamma/N^2: exact through three sizes (the inverse of the 3 x 3 design
    matrix gives value and error), and numpy.polyfit in 1/N on five noisy sizes."""
    sizes = np.array([8.0, 12.0, 24.0])
    errors = np.array([0.02, 0.01, 0.03])
    exact = [(0.7 - 1.5 / N + 4.0 / N**2, e) for N, e in zip(sizes, errors)]
    fit = q.extrapolate_amplitude(sizes, exact, powers=(1, 2))
    row = np.linalg.inv(np.column_stack([np.ones(3), 1 / sizes, 1 / sizes**2]))[0]
    assert fit.value == pytest.approx(0.7, abs=1e-12)
    assert fit.error == pytest.approx(np.sqrt(np.sum((row * errors) ** 2)), rel=1e-10)
    assert np.isnan(fit.chi2_dof)
    rng = np.random.default_rng(5)
    sizes = np.array([6.0, 8.0, 12.0, 16.0, 24.0])
    errors = rng.uniform(0.01, 0.03, 5)
    values = -0.4 + 0.8 / sizes - 2.0 / sizes**2 + errors * rng.normal(size=5)
    fit = q.extrapolate_amplitude(sizes, list(zip(values, errors)), powers=(1, 2))
    coef, cov = np.polyfit(1 / sizes, values, 2, w=1 / errors, cov="unscaled")
    assert fit.value == pytest.approx(coef[-1], rel=1e-10)
    assert fit.error == pytest.approx(np.sqrt(cov[-1, -1]), rel=1e-8)
    # the default is A_inf + beta/N
    line = np.polyfit(1 / sizes, values, 1, w=1 / errors)
    assert q.extrapolate_amplitude(sizes, zip(values, errors)).value == pytest.approx(
        line[-1], rel=1e-10
    )
    with pytest.raises(ValueError, match="powers must be distinct positive"):
        q.extrapolate_amplitude(sizes, list(zip(values, errors)), powers=(1, 1))


def test_g3_amplitude_recovers_the_amplitude_at_distinct_points_only():
    N = 9
    x = (np.arange(N) + 1) / (N + 1)
    loops = cu.cut_loops(x, [(0.78, 0.23), (0.23, 0.23)])
    shape = cu.cyclic_cumulant([x[loops["triple"][:, k]] for k in range(3)]).reshape(2, N)
    distinct = cu.distinct_sites(loops["triple"]).reshape(2, N)
    g3 = np.where(distinct, -0.6 * shape, 5.0)  # junk at coinciding sites must be ignored
    cut = cu.CutCumulants(
        np.zeros((N, N)),
        np.ones((N, N)),
        np.zeros(N * N),
        np.ones(N * N),
        g3,
        np.full((2, N), 0.01),
        np.zeros((1, N)),
    )
    A = q.g3_amplitude(cut, loops, x)
    assert A.value == pytest.approx(-0.6, rel=1e-10) and A.chi2_dof == pytest.approx(0, abs=1e-12)
    assert 0 < distinct.sum() < 2 * N
    co = q.coinciding(cut, loops, x)  # exactly the loops left out, with their g3 and QSSEP's value
    assert len(co.sites) == (~distinct).sum() and np.all(co.g3 == 5.0)
    for sites, g3_q in zip(co.sites, co.g3_qssep):
        assert len(set(sites.tolist())) < 3
        assert g3_q == pytest.approx(cu.cyclic_cumulant([x[i] for i in sites]), abs=1e-14)
    with pytest.raises(ValueError, match="cut must be a CutCumulants"):
        q.g3_amplitude({"g3": g3}, loops, x)
    with pytest.raises(ValueError, match="loops must be the cut_loops"):
        q.g3_amplitude(cut, loops, x[:-1])


# --------------------------------------------------------------------------- deprecated aliases
MOVED = {
    "noncrossing_partitions": lambda: cu.noncrossing_partitions,
    "set_partitions": lambda: cu.set_partitions,
    "cyclic_cumulant": lambda: cu.cyclic_cumulant,
    "loop_moments": lambda: cu.loop_moments,
    "loop_cumulants": lambda: cu.loop_cumulants,
    "cumulant_estimate": lambda: cu.cumulant_estimate,
    "circuit_loop_moments": lambda: freecircuit.loop_moments,
    "anderson_loop_statistics": lambda: anderson.loop_statistics,
    "anderson_cumulants": lambda: anderson.loop_cumulants,
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_warn_and_are_the_new_functions(old):
    with pytest.warns(DeprecationWarning, match=f"qssep.{old} moved to"):
        alias = getattr(q, old)
    assert alias is MOVED[old]()
    assert old not in q.__all__


def test_aliases_give_the_same_results():
    with pytest.warns(DeprecationWarning):
        assert q.cyclic_cumulant([0.2, 0.7, 0.4], dn=1.3) == cu.cyclic_cumulant(
            [0.2, 0.7, 0.4], dn=1.3
        )
    loops = {"pair": np.array([[0, 3], [1, 2]])}
    with pytest.warns(DeprecationWarning):
        old = q.circuit_loop_moments(np.random.default_rng(3), 6, 1.0, 0.5, loops, 3)
    new = freecircuit.loop_moments(np.random.default_rng(3), 6, 1.0, 0.5, loops, 3)
    assert old.keys() == new.keys() and all(np.array_equal(old[k], new[k]) for k in old)
    with pytest.warns(DeprecationWarning):
        old = q.anderson_loop_statistics(np.random.default_rng(4), 3, 2, 2, 1.0, pairs=[(0, 2)])
    new = anderson.loop_statistics(np.random.default_rng(4), 3, 2, 2, 1.0, pairs=[(0, 2)])
    assert all(np.array_equal(old[k], new[k]) for k in new)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        q.not_a_name


def test_imbalance_summary_lines():
    f = anderson.Imbalances(
        x=None,
        g1=None,
        g1_err=None,
        dn1=(1.7234, 0.0123),
        A2=q.Amplitude(1.9, 0.1, 1.25),
        A3=q.Amplitude(-0.3, 0.05, 0.84),
        dn2=(1.3784, 0.0363),
        dn3=(-0.6694, 0.0372),
        g2=None,
        g2_err=None,
        g3=None,
        g3_err=None,
        m2=None,
        m3=None,
        runs=3,
    )
    assert (
        f.summary()
        == "Delta n^(1) = 1.723 +- 0.012, Delta n^(2) = 1.378 +- 0.036, Delta n^(3) = -0.669 +- 0.037"
    )
    assert f.summary(chi2=True) == (
        "Delta n^(1) = 1.723 +- 0.012, Delta n^(2) = 1.378 +- 0.036 (chi2/dof 1.2), "
        "Delta n^(3) = -0.669 +- 0.037 (chi2/dof 0.8)"
    )


def test_chapter_figures_draw_the_data_and_the_qssep_curves():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nqlib import plotting

    N = 6
    x = (np.arange(N) + 1) / (N + 1)
    g3 = np.ones((2, N))
    cut = cu.CutCumulants(
        np.ones((N, N)), np.ones((N, N)), np.zeros(N * N), np.ones(N * N), g3, g3, np.zeros((1, N))
    )
    fig, axes = plotting.loop_cuts(
        cut, x, "t", (0.2, 0.6), ((0.78, 0.23), (0.23, 0.23)), exact_pair=np.ones((N, N))
    )
    assert (
        len(axes[0].lines) >= 2 * 2 and len(axes[1].containers) == 2
    )  # curves + crosses; error bars
    plt.close(fig)
    f = anderson.Imbalances(
        x=x,
        g1=x,
        g1_err=0 * x,
        dn1=(1.0, 0.1),
        A2=q.Amplitude(1.0, 0.1, 1.0),
        A3=q.Amplitude(1.0, 0.1, 1.0),
        dn2=(1.0, 0.1),
        dn3=(1.0, 0.1),
        g2=np.ones((N, N)),
        g2_err=np.ones((N, N)),
        g3=g3,
        g3_err=g3,
        m2=(1.0, 0.1),
        m3=(0.0, 0.1),
        runs=2,
    )
    fig, axes = plotting.anderson_imbalances({N: f}, "t", (0.2, 0.6), ((0.78, 0.23),))
    assert [len(ax.containers) for ax in axes] == [1, 2, 1]  # g1, the two g2 cuts, the g3 cut
    plt.close(fig)


def test_loop_statistics_block_is_the_mean_of_consecutive_realizations():
    """realizations=k draws k potentials from rng in turn and averages their sums; k = 1 is the
    plain realization, bit for bit."""
    params = dict(Nx=4, Ny=2, Nz=3, W=2.0, pairs=[(0, 2)], t=(1.0, 0.4, 0.4))
    rng = np.random.default_rng(11)
    singles = [anderson.loop_statistics(rng, **params) for _ in range(3)]
    block = anderson.loop_statistics(np.random.default_rng(11), realizations=3, **params)
    one = anderson.loop_statistics(np.random.default_rng(11), realizations=1, **params)
    assert one["realizations"] == 1 and block["realizations"] == 3  # the block size is recorded
    for key, value in singles[0].items():
        assert np.array_equal(one[key], value), key
        if key != "realizations":
            np.testing.assert_allclose(
                block[key], np.mean([s[key] for s in singles], axis=0), rtol=1e-13, atol=1e-15
            )
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="realizations must be an integer"):
            anderson.loop_statistics(np.random.default_rng(0), realizations=bad, **params)


def test_loop_cumulants_are_unbiased_for_few_rows():
    """Monte Carlo: 480 realizations of a small cube, cut into groups of 4 rows (single
    realizations, or blocks of two), average to the estimate from all of them within 4 standard
    errors of the group mean; those errors are below 3 % of the value for the second order, so a
    bias of the size of a scalar cumulant's plug-in factor (25 % at n = 4) would fail.
    Too few rows are refused."""
    params = dict(Nx=4, Ny=2, Nz=3, W=3.0, pairs=[(0, 2)], t=(1.0, 0.4, 0.4))
    rows = [anderson.loop_statistics(np.random.default_rng([11, r]), **params) for r in range(480)]
    data = ensemble.stack(rows)
    full = anderson.loop_cumulants(data, params["pairs"])
    blocks = ensemble.stack(
        [
            anderson.loop_statistics(np.random.default_rng([12, r]), realizations=2, **params)
            for r in range(240)
        ]
    )
    for source in (data, blocks):
        groups = [
            anderson.loop_cumulants({k: v[i : i + 4] for k, v in source.items()}, params["pairs"])
            for i in range(0, len(source["mean"]), 4)
        ]
        for key in ("m2", "pair", "m3", "triple"):
            values = np.array([np.sum(g[key][0]) for g in groups])
            mean, sem = values.mean(), values.std(ddof=1) / np.sqrt(len(values))
            if key in ("m2", "pair"):  # precise enough to see a 25 % bias
                assert sem < 0.03 * abs(np.sum(full[key][0])), key
            assert abs(mean - np.sum(full[key][0])) < 4 * sem, (key, mean, full[key][0])
    with pytest.raises(ValueError, match=">= 4 rows"):
        anderson.loop_cumulants({k: v[:3] for k, v in data.items()}, params["pairs"])
