"""Injected reservoir modes of the p2 = 0 circuit (nqlib.circuitscattering, GH Sec. V B)."""

import numpy as np
import pytest

from nqlib import abcmodel, freecircuit, gates
from nqlib import circuitscattering as cs


def sequence(seed, L, time_units, p1=1.0):
    rng = np.random.default_rng(seed)
    bonds, u4 = gates.sample_sequence(rng, time_units * (L + 1), L, p1, 0.0)
    return bonds, freecircuit.single_particle_sequence(u4)


def random_state(rng, L):
    """A valid correlation matrix with coherences: U diag(n) U^dagger."""
    X = rng.standard_normal((L, L)) + 1j * rng.standard_normal((L, L))
    U = np.linalg.qr(X)[0]
    return (U * rng.uniform(0, 1, L)) @ U.conj().T


@pytest.mark.parametrize(
    "L, delta, time_units, p1",
    [(2, 0.3, 3, 1.0), (5, 0.7, 20, 1.0), (8, -0.4, 60, 0.5), (13, 1.0, 30, 0.8)],
)
def test_modes_reconstruct_freecircuit_exactly(L, delta, time_units, p1):
    bonds, us = sequence(L, L, time_units, p1)
    C0 = random_state(np.random.default_rng(100 + L), L)
    modes = cs.propagate(bonds, us, L)
    reference = freecircuit.apply_gates(C0, bonds, us, delta)
    assert np.abs(cs.correlation(modes, delta, C0) - reference).max() < 1e-10
    GL, GR, G0 = cs.mode_sums(modes)  # completeness, GH Eq. 78
    assert np.abs(GL + GR + G0 - np.eye(L)).max() < 1e-10
    assert np.all(modes.gate[1:] > modes.gate[:-1])
    assert np.array_equal(modes.side, np.where(bonds[modes.gate] == 0, 0, 1))


def test_same_circuit_as_freecircuit_evolve():
    """The gates of freecircuit.evolve(seed) are those of sample_sequence(seed): same C."""
    L, delta, steps = 7, 0.6, 40 * 8
    C0 = freecircuit.local_equilibrium(L, delta)
    C = freecircuit.evolve(C0, steps, np.random.default_rng(5), 1.0, delta)
    bonds, u4 = gates.sample_sequence(np.random.default_rng(5), steps, L, 1.0, 0.0)
    modes = cs.propagate(bonds, freecircuit.single_particle_sequence(u4), L)
    assert np.abs(cs.correlation(modes, delta, C0) - C).max() < 1e-10


@pytest.mark.parametrize("L, time_units", [(4, 300), (6, 500)])
def test_steady_state_is_the_sum_over_injected_modes(L, time_units):
    """Once the initial sites have leaked out, C = rho_R 1 + delta G^L (GH Eqs. 77, 79)."""
    delta = 0.5
    bonds, us = sequence(7, L, time_units)
    C = freecircuit.apply_gates(freecircuit.local_equilibrium(L, delta), bonds, us, delta)
    modes = cs.propagate(bonds, us, L)
    GL, _, G0 = cs.mode_sums(modes)
    assert np.abs(G0).max() < 1e-11
    assert np.abs(cs.correlation(modes, delta) - C).max() < 1e-10
    assert np.abs((1 - delta) / 2 * np.eye(L) + delta * GL - C).max() < 1e-10
    left = cs.propagate(bonds, us, L, sides="L", initial=False)
    assert np.allclose(left.psi, modes.psi[modes.side == 0], atol=0, rtol=0)


def test_pair_function_is_gh_eq65_summed_over_halves():
    L = 5
    bonds, us = sequence(3, L, 25)
    modes = cs.propagate(bonds, us, L, initial=False)
    A, B = [0, 1], [2, 3, 4]
    P = modes.psi[modes.side == 0]

    def phi(sites):  # GH Eq. 65 for every pair (k, k'), literally
        p = P[:, sites]
        out = np.zeros((len(P), len(P)))
        for k in range(len(P)):
            for m in range(len(P)):
                four = np.einsum("x,x,y,y->", p[k].conj(), p[m], p[k], p[m].conj())
                out[k, m] = four.real - np.sum(np.abs(p[k]) ** 2 * np.abs(p[m]) ** 2)
        return out

    dphi = phi(A + B) - phi(A) - phi(B)
    assert np.abs(cs.pair_function(modes, A, B) - dphi).max() < 1e-12
    GL = cs.mode_sums(modes)[0]
    assert abs(dphi.sum() - 2 * np.sum(np.abs(GL[np.ix_(A, B)]) ** 2)) < 1e-12


def test_pair_statistics_bookkeeping():
    out = cs.pair_statistics(np.random.default_rng(2), 6, 1.0, window=1.5, n_bins=7)
    assert abs(out["total"] - out["diag"] - out["lag"].sum()) < 1e-12 * out["total"]
    assert abs(out["total"] - 2 * out["abs2"][:3, 3:].sum()) < 1e-14
    assert abs(out["diag"] - 2 * out["naive"][:3, 3:].sum()) < 1e-12
    again = cs.pair_statistics(np.random.default_rng(2), 6, 1.0, window=1.5, n_bins=7)
    assert np.array_equal(out["lag"], again["lag"])
    # A and B need not cover the chain (sites in neither are traced out)
    A, B = [0, 1], [4]
    gap = cs.pair_statistics(np.random.default_rng(2), 6, 1.0, 1.5, 7, A, B)
    assert np.array_equal(gap["abs2"], out["abs2"])  # the same circuit
    assert abs(gap["total"] - gap["diag"] - gap["lag"].sum()) < 1e-12 * gap["total"]
    assert abs(gap["total"] - 2 * out["abs2"][np.ix_(A, B)].sum()) < 1e-14
    assert abs(gap["diag"] - 2 * out["naive"][np.ix_(A, B)].sum()) < 1e-12
    assert gap["total"] < out["total"]
    # the integer cut= (deprecated, issue 17) is A = range(cut)
    with pytest.warns(DeprecationWarning, match="range\\(3\\)"):
        old = cs.pair_statistics(np.random.default_rng(2), 6, 1.0, 1.5, 7, cut=3)
    assert old["total"] == out["total"] and np.array_equal(old["lag"], out["lag"])


def test_lag_function_bookkeeping_and_jackknife():
    # on simulated circuits: the lag bins hold the cross terms, so f * integral / 4 = mean total -
    # mean naive part (pair_statistics' bookkeeping); f is linear in the mean, so its jackknife
    # error is the standard error of the circuit means (a closed form)
    L, window, n_bins = 6, 2.0, 16
    runs = [
        cs.pair_statistics(np.random.default_rng([7, k]), L, 1.0, window, n_bins) for k in range(6)
    ]
    lag = np.array([r["lag"] for r in runs])
    g = cs.lag_function(lag, L, window)
    total, diag = np.mean([r["total"] for r in runs]), np.mean([r["diag"] for r in runs])
    assert abs(g.f * g.integral / 4 - (total - diag)) < 1e-10 * total
    width = window / n_bins
    assert np.allclose(g.theta, (np.arange(n_bins) + 0.5) * width)
    sem = np.std(lag[:, 0], ddof=1) / np.sqrt(len(lag)) / (width * (L + 1) ** 2)
    assert abs(g.f_err - 2 * (L + 1) ** 2 * sem) < 1e-10 * g.f_err
    assert g.i[0] == 1 and g.i_err[0] == 0 and g.i.shape == g.i_err.shape == (n_bins,)
    same = cs.lag_function(np.tile(lag[0], (3, 1)), L, window)  # identical circuits: no spread
    assert np.allclose([same.f_err, same.integral_err, *same.i_err], 0, atol=1e-12)
    with pytest.raises(ValueError, match="n_circuits >= 2"):
        cs.lag_function(lag[:1], L, window)
    with pytest.raises(ValueError, match="nonzero mean in its first bin"):
        cs.lag_function(np.zeros((3, 4)), L, window)


def test_mean_profile_sums_to_the_ssep_density():
    """sum over injection times of E|psi|^2 is E G^L_xx = 1 - x (rho_R + delta G^L = SSEP)."""
    L = 6
    ages = np.arange(0, 600 * (L + 1)) / (L + 1)  # every gate
    q = cs.mean_profile(L, ages)
    x = np.arange(1, L + 1) / (L + 1)
    assert np.abs(q.sum(axis=0) / (L + 1) - (1 - x)).max() < 1e-10


def test_exact_averages_agree_with_simulation():
    """mean_profile, naive_coherence and abc's coherences against propagated modes, L = 4."""
    L, runs = 4, 300
    rng = np.random.default_rng(11)
    out = [cs.pair_statistics(rng, L, 1.0, window=4.0) for _ in range(runs)]
    for key, exact in (
        ("naive", cs.naive_coherence(L, 1.0)),
        ("abs2", abcmodel.second_order(L, 1.0, 0.0).coherence),
    ):
        data = np.array([o[key] for o in out])
        mean, err = data.mean(axis=0), data.std(axis=0, ddof=1) / np.sqrt(runs)
        off = ~np.eye(L, dtype=bool) if key == "abs2" else np.ones((L, L), bool)
        assert np.all(np.abs(mean - exact)[off] < 4 * err[off] + 1e-12), (key, mean, exact)
    # one mode injected by a forced left gate at gate 0, then 2 time units of random gates
    profiles = []
    for seed in range(2000):
        bonds, us = sequence(seed, L, 2)
        bonds[0] = 0
        profiles.append(np.abs(cs.propagate(bonds, us, L, sides="L", initial=False).psi[0]) ** 2)
    profiles = np.array(profiles)
    exact = cs.mean_profile(L, (2 * (L + 1) - 1) / (L + 1))[0]
    err = profiles.std(axis=0, ddof=1) / np.sqrt(len(profiles))
    assert np.all(np.abs(profiles.mean(axis=0) - exact) < 4 * err), (profiles.mean(axis=0), exact)


def test_naive_coherence_limits():
    """p1 = 0 (iSWAP or identity): a mode is a walker on one site, so N is diagonal and its trace
    is sum_k E q_k^2 = E sum_k q_k = E tr G^L = sum_x (1 - x)."""
    L = 7
    N = cs.naive_coherence(L, 0.0)
    x = np.arange(1, L + 1) / (L + 1)
    assert np.abs(N - np.diag(np.diag(N))).max() < 1e-12
    assert abs(np.trace(N) - np.sum(1 - x)) < 1e-10
    N1 = cs.naive_coherence(L, 1.0)
    assert np.allclose(N1, N1.T) and N1.min() > 0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cs.propagate([0, 3], np.zeros((2, 2, 2)), 2), "bonds"),
        (lambda: cs.propagate([0, 1], np.zeros((3, 2, 2)), 2), "us must have shape"),
        (lambda: cs.propagate([0], np.full((1, 2, 2), np.nan), 2), "us must hold finite"),
        (lambda: cs.propagate([0], np.zeros((1, 2, 2)), 1), "L must be"),
        (lambda: cs.propagate([0], np.zeros((1, 2, 2)), 2, sides="X"), "sides"),
        (lambda: cs.propagate([0], np.zeros((1, 2, 2)), 2, initial=None), "initial"),
        (lambda: cs.mode_sums("modes"), "modes must be"),
        (lambda: cs.correlation(cs.propagate([], np.zeros((0, 2, 2)), 2), 1.5), "delta"),
        (
            lambda: cs.correlation(cs.propagate([], np.zeros((0, 2, 2)), 2), 0.1, np.eye(3)),
            "C0 must have shape",
        ),
        (
            lambda: cs.correlation(
                cs.propagate([], np.zeros((0, 2, 2)), 2, initial=False), 0.1, np.eye(2)
            ),
            "initial",
        ),
        (
            lambda: cs.pair_function(cs.propagate([], np.zeros((0, 2, 2)), 3), [0, 1], [1, 2]),
            "disjoint",
        ),
        (lambda: cs.pair_function(cs.propagate([], np.zeros((0, 2, 2)), 3), [0], [3]), "B must be"),
        (lambda: cs.pair_statistics(1, 4, 1.0), "rng"),
        (lambda: cs.pair_statistics(np.random.default_rng(), 4, 1.5), "p1"),
        (lambda: cs.pair_statistics(np.random.default_rng(), 4, 1.0, window=0), "window"),
        (lambda: cs.pair_statistics(np.random.default_rng(), 4, 1.0, window=np.nan), "window"),
        (lambda: cs.pair_statistics(np.random.default_rng(), 4, 1.0, n_bins=0), "n_bins"),
        (lambda: cs.pair_statistics(np.random.default_rng(), 4, 1.0, cut=4), "cut"),
        (lambda: cs.mean_profile(4, [-1.0]), "ages"),
        (lambda: cs.mean_profile(4, [np.inf]), "ages"),
        (lambda: cs.naive_coherence(1, 1.0), "L must be"),
        (lambda: cs.naive_coherence(4, -0.1), "p1"),
        # found by the bad-input audit (tests/bad_input_audit.py)
        (lambda: cs.propagate([0], "oops", 2), "us must be an array"),
        (lambda: cs.propagate([0, 1], 2 * np.stack([np.eye(2)] * 2), 2), "us must be unitary"),
        (
            lambda: cs.correlation(cs.propagate([], np.zeros((0, 2, 2)), 2), 0.1, "oops"),
            "C0 must be an array",
        ),
        (
            lambda: cs.correlation(
                cs.propagate([], np.zeros((0, 2, 2)), 2), 0.1, [[0.5, 0.1], [0, 0.5]]
            ),
            "C0 must be Hermitian",
        ),
        (
            lambda: cs.correlation(cs.propagate([], np.zeros((0, 2, 2)), 2), 0.1, 2 * np.eye(2)),
            "C0",
        ),
        (lambda: cs.correlation(cs.propagate([], np.zeros((0, 2, 2)), 2), 0.1, -np.eye(2)), "C0"),
        (lambda: cs.mean_profile(4, "oops"), "ages must be an array"),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
