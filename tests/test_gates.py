"""Gate ensembles of the current-driven random circuit (GH Eqs. 11-15): unitarity, S^z
conservation, the partial-swap probability E|U_lr|^2 = 1/2, Haar statistics of the NIF gates,
the fermionic-Gaussian criterion checked against an explicit Jordan-Wigner construction, and
input validation.

Monte Carlo checks use fixed seeds and a tolerance of 5 standard errors computed from the
samples themselves (a |z| > 5 has probability < 6e-7 for a correct sampler)."""

import numpy as np
import pytest
from scipy import stats

from nqlib import gates, spreading

N_MC = 200_000  # gates per Monte Carlo estimate: SE of a [0, 1] variable <= 0.5 / sqrt(N) ~ 1.1e-3

# Two-site Jordan-Wigner operators, single-site basis (u, d) = (occupied, empty).
_L = np.array([[0, 0], [1, 0]], dtype=complex)  # l = |d><u| removes the particle
_Z = np.diag([-1.0, 1.0]).astype(complex)  # (-1)^n
_I = np.eye(2, dtype=complex)
_C = [np.kron(_L, _I), np.kron(_Z, _L)]  # c_1 (site 0), c_2 (site 1)
_CDAG = [c.conj().T for c in _C]

SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)

CORNERS = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.3, 0.3), (0.5, 0.5), (0.2, 0.7)]


def _many(p1, p2, n=N_MC, seed=0):
    _, us = gates.sample_sequence(np.random.default_rng(seed), n, 2, p1, p2)
    return us


def _z(samples, expected):
    samples = np.asarray(samples, dtype=float)
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    return (
        (samples.mean() - expected) / se
        if se > 0
        else (np.inf if samples.mean() != expected else 0.0)
    )


def _jw_residual(U, u):
    """max over j of || U c_j^dag U^dag - sum_k u[k, j] c_k^dag || (and the same for c_j)."""
    U = np.asarray(U)
    res = 0.0
    for j in range(2):
        lhs = U @ _CDAG[j] @ U.conj().T
        rhs = sum(u[k, j] * _CDAG[k] for k in range(2))
        res = max(res, np.abs(lhs - rhs).max())
        lhs = U @ _C[j] @ U.conj().T
        rhs = sum(np.conj(u[k, j]) * _C[k] for k in range(2))
        res = max(res, np.abs(lhs - rhs).max())
    return res


# --------------------------------------------------------------------------- unitarity, S^z
@pytest.mark.parametrize("p1, p2", CORNERS)
def test_sampled_gates_are_unitary_and_conserve_sz(p1, p2):
    us = _many(p1, p2, n=5000, seed=1)
    rng = np.random.default_rng(2)
    us = np.concatenate([us, [gates.sample_gate(rng, p1, p2) for _ in range(50)]])
    assert us.shape == (5050, 4, 4) and us.dtype == complex
    eye = np.eye(4)
    err = np.abs(np.einsum("nab,ncb->nac", us, us.conj()) - eye).max()
    assert err < 1e-13, f"U U^dagger deviates from 1 by {err:.2e} at (p1, p2) = ({p1}, {p2})"
    err = np.abs(np.einsum("nba,nbc->nac", us.conj(), us) - eye).max()
    assert err < 1e-13, f"U^dagger U deviates from 1 by {err:.2e}"
    outside = np.ones((4, 4), dtype=bool)
    outside[0, 0] = outside[3, 3] = False
    outside[1:3, 1:3] = False
    assert np.abs(us[:, outside]).max() == 0, "gate mixes sectors of different S^z"
    # U_+ and U_- are pure phases
    np.testing.assert_allclose(np.abs(us[:, 0, 0]), 1, atol=1e-14)
    np.testing.assert_allclose(np.abs(us[:, 3, 3]), 1, atol=1e-14)


def test_constant_gates():
    assert np.allclose(gates.ISWAP @ gates.ISWAP.conj().T, np.eye(4))
    assert gates.ISWAP[2, 1] == 1j and gates.ISWAP[1, 2] == 1j and gates.ISWAP[1, 1] == 0
    assert np.array_equal(gates.IDENTITY, np.eye(4))


# --------------------------------------------------------------------------- partial swap
@pytest.mark.parametrize("p1, p2", [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.3, 0.3), (0.1, 0.8)])
def test_partial_swap_probability_is_one_half(p1, p2):
    us = _many(p1, p2, seed=3)
    for name, (a, b) in (("U_lr", (2, 1)), ("U_rl", (1, 2))):
        w = np.abs(us[:, a, b]) ** 2
        z = _z(w, 0.5)
        assert abs(z) < 5, (
            f"E|{name}|^2 = {w.mean():.5f} (z = {z:.1f}) != 1/2 at (p1, p2) = ({p1}, {p2})"
        )


@pytest.mark.parametrize("p1, p2", [(0.3, 0.3), (0.6, 0.1), (0.05, 0.9)])
def test_mixture_weights(p1, p2):
    """Classify each gate: mu_0 has U_+ = U_- = 1; mu_2 has U_- = 1 but a random U_+; mu_1 has
    U_- = conj(U_+) != 1 (all almost surely)."""
    us = _many(p1, p2, seed=4)
    plus_one = np.abs(us[:, 0, 0] - 1) < 1e-14
    minus_one = np.abs(us[:, 3, 3] - 1) < 1e-14
    fractions = {
        "mu0": (plus_one & minus_one, 1 - p1 - p2),
        "mu1": (~minus_one, p1),
        "mu2": (minus_one & ~plus_one, p2),
    }
    for name, (mask, expected) in fractions.items():
        z = _z(mask, expected)
        assert abs(z) < 5, (
            f"fraction of {name} gates {mask.mean():.4f}, expected {expected} (z = {z:.1f})"
        )


# --------------------------------------------------------------------------- NIF gates
def test_nif_block_has_haar_statistics():
    us = _many(1.0, 0.0, seed=5)
    B = us[:, 1:3, 1:3]
    # SU(2): determinant 1 and U_+ U_- = 1
    np.testing.assert_allclose(np.linalg.det(B), 1, atol=1e-13)
    np.testing.assert_allclose(us[:, 0, 0] * us[:, 3, 3], 1, atol=1e-14)
    c2 = np.abs(B[:, 0, 0]) ** 2  # cos^2(theta/2), uniform on [0, 1] under Haar
    assert abs(_z(c2, 0.5)) < 5, f"E cos^2(theta/2) = {c2.mean():.5f} != 1/2"
    assert abs(_z(c2**2, 1 / 3)) < 5, f"E cos^4(theta/2) = {np.mean(c2**2):.5f} != 1/3"
    var = (c2 - 0.5) ** 2  # its mean is the variance, 1/12
    assert abs(_z(var, 1 / 12)) < 5, f"Var cos^2(theta/2) = {var.mean():.5f} != 1/12"
    ks = stats.kstest(c2, "uniform")
    assert ks.pvalue > 1e-6, f"|U_ud|^2 is not uniform on [0, 1]: KS p = {ks.pvalue:.2g}"
    # theta = 2 arccos|U_ud| has density sin(theta)/2, i.e. CDF (1 - cos theta)/2
    theta = 2 * np.arccos(np.sqrt(np.clip(c2, 0, 1)))
    ks = stats.kstest(theta, lambda t: (1 - np.cos(t)) / 2)
    assert ks.pvalue > 1e-6, f"theta does not have density sin(theta)/2: KS p = {ks.pvalue:.2g}"
    # left invariance of the Haar measure: V B has the same |[0, 0]|^2 law for a fixed V in SU(2)
    a, b = np.exp(0.7j) * np.cos(0.4), np.exp(-1.9j) * np.sin(0.4)
    V = np.array([[a, b], [-np.conj(b), np.conj(a)]])
    rotated = np.abs(np.einsum("ab,nbc->nac", V, B)[:, 0, 0]) ** 2
    ks = stats.kstest(rotated, "uniform")
    assert ks.pvalue > 1e-6, (
        f"|(V B)_00|^2 not uniform: the block is not Haar (KS p = {ks.pvalue:.2g})"
    )
    # uniform phases: the first two moments of U_+ and of the phase of U_ud vanish
    for name, phase in (("U_+", us[:, 0, 0]), ("arg U_ud", B[:, 0, 0] / np.abs(B[:, 0, 0]))):
        for k in (1, 2):
            m = np.mean(phase**k)
            se = 1 / np.sqrt(2 * len(phase))  # real and imaginary parts have variance 1/2
            assert abs(m) < 5 * np.sqrt(2) * se, (
                f"E[({name})^{k}] = {m:.4f} != 0: phase not uniform"
            )


# --------------------------------------------------------------------------- mu_0, mu_2
def test_mu0_is_iswap_or_identity_with_probability_one_half():
    us = _many(0.0, 0.0, seed=6)
    is_iswap = np.all(us == gates.ISWAP, axis=(1, 2))
    is_identity = np.all(us == gates.IDENTITY, axis=(1, 2))
    assert np.all(is_iswap | is_identity), "mu_0 produced a gate that is neither iSWAP nor identity"
    z = _z(is_iswap, 0.5)
    assert abs(z) < 5, f"iSWAP frequency {is_iswap.mean():.4f} != 1/2 (z = {z:.1f})"


def test_mu2_gates_are_u1_or_u2_with_probability_one_half():
    us = _many(0.0, 1.0, n=50_000, seed=7)
    B = us[:, 1:3, 1:3]
    diagonal = (B[:, 0, 1] == 0) & (B[:, 1, 0] == 0)
    exchange = (B[:, 0, 0] == 0) & (B[:, 1, 1] == 0)
    assert np.all(diagonal ^ exchange), "an interacting gate performs a partial swap"
    assert np.all(us[:, 3, 3] == 1), "U_- must be 1 for U1 and U2 (GH Eqs. 14-15)"
    z = _z(diagonal, 0.5)
    assert abs(z) < 5, f"U1 frequency {diagonal.mean():.4f} != 1/2 (z = {z:.1f})"


@pytest.mark.parametrize(
    "p1, p2, expected", [(0.0, 1.0, False), (1.0, 0.0, True), (0.0, 0.0, True)]
)
def test_gaussianity_of_the_pure_gate_sets(p1, p2, expected):
    us = _many(p1, p2, n=20_000, seed=8)
    flags = np.array([gates.is_gaussian(U) for U in us])
    assert np.all(flags == expected), (
        f"{np.sum(flags != expected)} of {len(us)} gates at (p1, p2) = ({p1}, {p2}) "
        f"have is_gaussian != {expected}"
    )


def test_swap_is_not_gaussian_but_iswap_is():
    assert not gates.is_gaussian(SWAP)
    assert gates.is_gaussian(gates.ISWAP)
    assert gates.is_gaussian(gates.IDENTITY)
    # the fermionic swap (SWAP with a -1 on |uu>) is Gaussian, with u = [[0, 1], [1, 0]]
    fswap = SWAP.copy()
    fswap[0, 0] = -1
    assert gates.is_gaussian(fswap)
    np.testing.assert_array_equal(gates.single_particle(fswap), [[0, 1], [1, 0]])


def test_single_particle_rejects_non_gaussian_gates():
    with pytest.raises(ValueError, match="not a fermionic Gaussian gate"):
        gates.single_particle(SWAP)
    for U in _many(0.0, 1.0, n=200, seed=9):
        with pytest.raises(ValueError, match="not a fermionic Gaussian gate"):
            gates.single_particle(U)


def test_single_particle_of_iswap_and_identity():
    np.testing.assert_array_equal(gates.single_particle(gates.ISWAP), [[0, 1j], [1j, 0]])
    np.testing.assert_array_equal(gates.single_particle(gates.IDENTITY), np.eye(2))


# --------------------------------------------------------------------------- Jordan-Wigner
def test_jordan_wigner_operators_are_fermions():
    """Sanity of the reference construction: CAR and c^dag |dd> = the one-particle states."""
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(
                _C[i] @ _CDAG[j] + _CDAG[j] @ _C[i], np.eye(4) * (i == j), atol=0
            )
            np.testing.assert_allclose(_C[i] @ _C[j] + _C[j] @ _C[i], 0, atol=0)
    vac = np.array([0, 0, 0, 1.0])  # |dd>
    assert np.array_equal(_CDAG[0] @ vac, [0, 1, 0, 0])  # |ud>: site 0 occupied
    assert np.array_equal(_CDAG[1] @ vac, [0, 0, 1, 0])  # |du>: site 1 occupied
    assert np.array_equal(_CDAG[0] @ _CDAG[1] @ vac, [1, 0, 0, 0])  # c_1^dag c_2^dag |vac> = +|uu>


def test_gaussian_gates_are_free_fermion_unitaries():
    """U c_j^dag U^dag = sum_k u[k, j] c_k^dag with u = single_particle(U), for the iSWAP, the
    identity, the fermionic swap and sampled NIF gates."""
    candidates = [gates.ISWAP, gates.IDENTITY] + list(_many(1.0, 0.0, n=300, seed=10))
    candidates += list(_many(0.4, 0.0, n=100, seed=11))
    for U in candidates:
        res = _jw_residual(U, gates.single_particle(U))
        assert res < 1e-13, f"Gaussian gate violates the Jordan-Wigner relation by {res:.2e}:\n{U}"


def test_jordan_wigner_check_is_decisive_for_interacting_gates():
    """Forcing u = B / U_- on non-Gaussian gates must break the relation."""
    assert _jw_residual(SWAP, SWAP[1:3, 1:3] / SWAP[3, 3]) > 0.5
    for U in _many(0.0, 1.0, n=200, seed=12):
        res = _jw_residual(U, U[1:3, 1:3] / U[3, 3])
        assert res > 1e-6, (
            f"interacting gate passes the free-fermion check (residual {res:.2e}):\n{U}"
        )


def test_is_gaussian_agrees_with_jordan_wigner_on_random_number_conserving_gates():
    """Random U(2) central blocks and random outer phases; half of them made Gaussian by
    setting U_+ = det(B) / U_-. is_gaussian must agree with the explicit JW test."""
    rng = np.random.default_rng(13)
    for n in range(200):
        z = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
        B, _ = np.linalg.qr(z)
        U = np.zeros((4, 4), dtype=complex)
        U[1:3, 1:3] = B
        U[3, 3] = np.exp(2j * np.pi * rng.random())
        U[0, 0] = np.linalg.det(B) / U[3, 3] if n % 2 else np.exp(2j * np.pi * rng.random())
        jw_free = _jw_residual(U, B / U[3, 3]) < 1e-10
        assert gates.is_gaussian(U) == jw_free == bool(n % 2), (n, gates.is_gaussian(U), jw_free)


# --------------------------------------------------------------------------- sequences
@pytest.mark.parametrize("L, steps", [(2, 1000), (5, 3000), (9, 0), (7, 1)])
def test_sample_sequence_shapes_and_bonds(L, steps):
    bonds, us = gates.sample_sequence(np.random.default_rng(14), steps, L, 0.3, 0.3)
    assert bonds.shape == (steps,) and us.shape == (steps, 4, 4)
    assert np.issubdtype(bonds.dtype, np.integer)
    if steps:
        assert bonds.min() >= 0 and bonds.max() <= L
    if steps >= 1000:
        # all L + 1 bonds, reservoir bonds 0 and L included, are used
        assert set(np.unique(bonds)) == set(range(L + 1))


def test_bonds_are_uniform():
    L, n = 4, N_MC
    bonds, _ = gates.sample_sequence(np.random.default_rng(15), n, L, 0.5, 0.5)
    counts = np.bincount(bonds, minlength=L + 1)
    chi2 = stats.chisquare(counts)
    assert chi2.pvalue > 1e-6, f"bonds are not uniform over the L + 1 bonds: {counts}"


def test_same_seed_same_sequence():
    a = gates.sample_sequence(np.random.default_rng(16), 500, 6, 0.2, 0.5)
    b = gates.sample_sequence(np.random.default_rng(16), 500, 6, 0.2, 0.5)
    c = gates.sample_sequence(np.random.default_rng(17), 500, 6, 0.2, 0.5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    g1 = gates.sample_gate(np.random.default_rng(18), 0.4, 0.4)
    g2 = gates.sample_gate(np.random.default_rng(18), 0.4, 0.4)
    assert np.array_equal(g1, g2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gates.sample_gate(np.random.default_rng(), -0.1, 0.0), "p1 must be a probability"),
        (lambda: gates.sample_gate(np.random.default_rng(), 1.2, 0.0), "p1 must be a probability"),
        (lambda: gates.sample_gate(np.random.default_rng(), 0.0, -0.5), "p2 must be a probability"),
        (
            lambda: gates.sample_gate(np.random.default_rng(), "0.1", 0.0),
            "p1 must be a probability",
        ),
        (lambda: gates.sample_gate(np.random.default_rng(), 0.6, 0.5), r"p1 \+ p2 must be <= 1"),
        (lambda: gates.sample_gate(7, 0.1, 0.1), "rng must be a numpy.random.Generator"),
        (
            lambda: gates.sample_gate(np.random.RandomState(0), 0.1, 0.1),
            "rng must be a numpy.random.Generator",
        ),
        (
            lambda: gates.sample_sequence(np.random.default_rng(), 10, 1, 0.1, 0.1),
            "L must be an integer >= 2",
        ),
        (
            lambda: gates.sample_sequence(np.random.default_rng(), 10, 4.0, 0.1, 0.1),
            "L must be an integer >= 2",
        ),
        (
            lambda: gates.sample_sequence(np.random.default_rng(), -1, 4, 0.1, 0.1),
            "steps must be a non-negative",
        ),
        (
            lambda: gates.sample_sequence(np.random.default_rng(), 2.5, 4, 0.1, 0.1),
            "steps must be a non-negative",
        ),
        (
            lambda: gates.sample_sequence(np.random.default_rng(), 10, 4, 0.7, 0.7),
            r"p1 \+ p2 must be <= 1",
        ),
        (
            lambda: gates.sample_sequence(None, 10, 4, 0.1, 0.1),
            "rng must be a numpy.random.Generator",
        ),
        (lambda: gates.is_gaussian(np.eye(3)), r"U must be a \(4, 4\)"),
        (lambda: gates.single_particle(np.ones((4, 4))), "U must conserve S"),
    ],
)
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("p1, p2", [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.3, 0.45)])
def test_second_moment_is_exact_and_is_the_sampled_average(p1, p2):
    """The quadrature is exact (a finer rule gives the same tensor) and the tensor is the Monte
    Carlo average of U (x) U* (x) U (x) U* over sample_gate, entry by entry within 5 sigma."""
    finer = []
    for kind, w in zip(range(3), (1 - p1 - p2, p1, p2)):
        weights, U = gates.quadrature(kind, n_phase=7, n_theta=5)
        A = np.einsum("nab,ncd->nacbd", U, U.conj()).reshape(len(U), 16, 16)
        finer.append(w * np.einsum("n,nij,nkl->ikjl", weights, A, A).reshape(256, 256))
    exact = gates.second_moment(p1, p2)
    np.testing.assert_allclose(exact, sum(finer), atol=1e-14)
    U = gates.sample_sequence(np.random.default_rng(8), 4000, 2, p1, p2)[1]
    A = np.einsum("nab,ncd->nacbd", U, U.conj()).reshape(len(U), 256)
    n = len(U)
    mean = A.T @ A / n  # [i, k] = mean of A_i A_k
    se = np.sqrt(np.maximum((np.abs(A) ** 2).T @ np.abs(A) ** 2 / n - np.abs(mean) ** 2, 0) / n)
    layout = exact.reshape(16, 16, 16, 16).transpose(0, 2, 1, 3).reshape(256, 256)
    assert np.all(np.abs(mean - layout) <= 5 * se + 1e-12)


def test_the_old_quadrature_name_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning, match="gates.quadrature"):
        weights, U = spreading.gate_quadrature(1)
    np.testing.assert_array_equal(U, gates.quadrature(1)[1])


def test_conserving_unitaries_is_the_one_gate_check():
    """_checks.conserving_unitaries (the S^z check of gates and circuit, the up-spin check of
    quditcircuit): refuses any entry between charge sectors, then non-unitary blocks; passes
    conserving unitaries and an empty stack unchanged."""
    from nqlib import _checks

    law = (gates._SZ_CHARGE, *gates._SZ_LAW)
    assert np.array_equal(_checks.conserving_unitaries("U", gates.ISWAP, *law), gates.ISWAP)
    stack = np.stack([gates.ISWAP, gates.IDENTITY])
    assert np.array_equal(_checks.conserving_unitaries("gates", stack, *law), stack)
    empty = np.zeros((0, 4, 4))
    assert _checks.conserving_unitaries("gates", empty, *law).shape == (0, 4, 4)
    leaky = gates.IDENTITY.copy()
    leaky[0, 1] = 1e-9  # |00> <-> |01>: changes S^z
    with pytest.raises(ValueError, match=r"gates must conserve S\^z: only U\[0,0\]"):
        _checks.conserving_unitaries("gates", np.stack([gates.ISWAP, leaky]), *law)
    with pytest.raises(ValueError, match=r"U must be unitary.*\(matrix \(1,\)\)"):
        _checks.conserving_unitaries("U", np.stack([gates.ISWAP, 2 * gates.IDENTITY]), *law)
    # a charge vector of the caller's: sectors {0, 1} and {2}
    with pytest.raises(ValueError, match="must conserve q: no mixing"):
        _checks.conserving_unitaries("V", np.ones((3, 3)) / 3**0.5, [0, 0, 1], "q", "no mixing")
