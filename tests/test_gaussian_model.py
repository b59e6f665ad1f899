"""GH's Gaussian model of the phase-II NEAS (freecircuit.gaussian_model) and the negativity
records of the free-fermion circuit."""

import numpy as np
import pytest

from nqlib import abcmodel, freecircuit, gaussian, ssep, stats


def test_gaussian_model_has_the_prescribed_mean_and_variances():
    L, delta, n = 6, 0.3, 20000
    rng = np.random.default_rng(1)
    draws = [freecircuit.gaussian_model(rng, L, delta) for _ in range(n)]
    assert all(
        outside == 0 for _, outside in draws
    )  # delta = 0.3: no clipping, C is exactly Cbar + X
    C = np.array([c for c, _ in draws])
    x = np.arange(1, L + 1) / (L + 1)
    mean = np.diag(ssep.density(L, delta))
    se = np.abs(C - mean).std(axis=0) / np.sqrt(n) + 1e-15
    assert np.all(np.abs(C.mean(axis=0) - mean) < 5 * se)
    dev2 = np.abs(C - mean) ** 2
    expected = delta**2 * (np.triu(np.outer(x, 1 - x), 1) + np.diag(x * (1 - x))) / (L + 1)
    expected = np.triu(expected) + np.triu(expected, 1).T
    assert np.all(np.abs(dev2.mean(axis=0) - expected) < 5 * dev2.std(axis=0) / np.sqrt(n))
    square = (C - mean)[:, 0, 3] ** 2  # circular: E[X_ij^2] = 0
    assert abs(square.mean()) < 5 * np.abs(square).std() / np.sqrt(n)


def test_gaussian_model_clips_unphysical_spectra_and_accepts_exact_coefficients():
    rng = np.random.default_rng(2)
    L = 8
    C, outside = freecircuit.gaussian_model(
        rng, L, 1.0, coherence=np.full((L, L), 0.5), fluctuation=np.full(L, 0.5)
    )
    assert outside > 0
    gaussian.check_correlation_matrix(C)  # clipped back into [0, 1]
    second = abcmodel.second_order(L, 1.0, 0.0)
    C, outside = freecircuit.gaussian_model(rng, L, 0.5, second.coherence, second.fluctuation)
    assert C.shape == (L, L) and outside == 0


def test_gaussian_model_is_reproducible_and_zero_drive_is_the_mixed_state():
    a = freecircuit.gaussian_model_negativity(np.random.default_rng(3), 12, 0.6, 3)
    b = freecircuit.gaussian_model_negativity(np.random.default_rng(3), 12, 0.6, 3)
    assert np.array_equal(a["Ef"], b["Ef"]) and a["Ef"].shape == (3, 1) and np.all(a["Ef"] > 0)
    C, _ = freecircuit.gaussian_model(np.random.default_rng(4), 5, 0.0)
    assert np.allclose(C, np.eye(5) / 2, atol=1e-14)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda rng: freecircuit.gaussian_model(rng, 1, 0.5), "L must be"),
        (lambda rng: freecircuit.gaussian_model(rng, 4, 1.5), "delta must"),
        (lambda rng: freecircuit.gaussian_model(rng, 4, 0.5, coherence=np.ones((3, 3))), "shape"),
        (lambda rng: freecircuit.gaussian_model(rng, 4, 0.5, fluctuation=-np.ones(4)), "variances"),
        (lambda rng: freecircuit.gaussian_model_negativity(rng, 4, 0.5, 0), "n_samples"),
    ],
)
def test_gaussian_model_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.random.default_rng(0))


def test_neas_negativity_record():
    kwargs = dict(L=10, delta=0.8, n_samples=4, burn_in=20.0, cuts=[3, 5])
    plain = freecircuit.neas_samples(np.random.default_rng(5), p1=1.0, **kwargs)
    rich = freecircuit.neas_samples(np.random.default_rng(5), p1=1.0, negativity=True, **kwargs)
    assert "Ef" not in plain and rich["Ef"].shape == (4, 2) and np.all(rich["Ef"] > 0)
    assert np.array_equal(plain["S"], rich["S"])  # computing E_f draws no random numbers
    # Phase I (p1 = 0): every late-time state is a product, so there is no negativity at all.
    product = freecircuit.neas_samples(np.random.default_rng(6), p1=0.0, negativity=True, **kwargs)
    assert np.all(np.abs(product["Ef"]) < 1e-12)


@pytest.mark.parametrize("L", [10, 50, 400])
def test_weak_drive_negativity_closed_form_and_limit(L):
    """GH's form: 4/(L+1)^3 [m(m+1)/2]^2 for L = 2m (both half-sums are m(m+1)/2/(L+1)); -> L/16."""
    m = L // 2
    kappa = freecircuit.weak_drive_negativity(L)
    assert kappa == pytest.approx(4 * (m * (m + 1) / 2) ** 2 / (L + 1) ** 3, rel=1e-12)
    assert abs(kappa / L * 16 - 1) < 3.5 / L


def test_weak_drive_negativity_is_the_small_correlation_limit_of_E_f():
    """kappa delta^2 against gaussian.negativity of C = 1/2 + eps X (an independent formula)."""
    L, eps = 6, 1e-3
    rng = np.random.default_rng(4)
    X = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
    X = (X + X.conj().T) / 2
    expected = freecircuit.weak_drive_negativity(L, np.abs(X) ** 2) * eps**2
    assert gaussian.negativity(0.5 * np.eye(L) + eps * X, range(L // 2)) == pytest.approx(
        expected, rel=1e-4
    )
    exact = freecircuit.weak_drive_negativity(50, abcmodel.second_order(50, 1.0, 0.0).coherence)
    assert exact == pytest.approx(
        freecircuit.weak_drive_negativity(50), rel=2e-3
    )  # GH's form at L = 50
    with pytest.raises(ValueError, match="coherence must have shape \\(L, L\\) with L=4"):
        freecircuit.weak_drive_negativity(4, np.ones((3, 3)))


def test_negativity_per_site_by_hand_and_by_the_jackknife():
    Ef = np.array([[1.0, 3.0], [5.0, 7.0], [0.2, 0.3]])
    r = freecircuit.negativity_per_site(Ef, 2)
    run_means = Ef.mean(axis=1) / 2  # 1, 3, 0.125
    assert r.Ef[0] == pytest.approx(4.125 / 3, rel=1e-14)
    assert r.Ef == pytest.approx(tuple(map(float, stats.jackknife(np.mean, run_means))), rel=1e-12)
    low = np.maximum(0, Ef - np.log(2) / 2).mean(axis=1) / 2  # the third run is below ln sqrt2
    assert low[2] == 0 and r.low == pytest.approx(
        tuple(map(float, stats.jackknife(np.mean, low))), rel=1e-12
    )
    with pytest.raises(ValueError, match="Ef must hold >= 2 runs"):
        freecircuit.negativity_per_site(Ef[:1], 2)


def test_dense_negativities_follow_the_circuit_of_neas_samples_and_the_bounds():
    """E_f equals that of neas_samples on the same circuit (same seed, another code path); the
    qubit negativity lies in [E_f - ln sqrt2, E_f]."""
    L, n = 6, 5
    dense = freecircuit.dense_negativities(np.random.default_rng(9), L, 1.0, 0.8, n)
    neas = freecircuit.neas_samples(np.random.default_rng(9), L, 1.0, 0.8, n, negativity=True)
    np.testing.assert_allclose(dense.fermionic, neas["Ef"][:, 0], rtol=0, atol=1e-13)
    assert np.all(dense.qubit <= dense.fermionic + 1e-12)
    assert (
        np.all(dense.qubit >= dense.fermionic - np.log(2) / 2 - 1e-12)
        and dense.fermionic.max() > 0.1
    )
    with pytest.raises(ValueError, match="L must be an integer in \\[2, 12\\]"):
        freecircuit.dense_negativities(np.random.default_rng(0), 13, 1.0, 0.5, 1)
