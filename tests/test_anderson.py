"""Driven 3D Anderson model: scattering states and S matrix of the slice recursion against
analytic plane waves (W = 0), conservation laws (unitarity, reciprocity), an independent dense
Green's-function route, the bipartite symmetry, a naive transfer-matrix product, and input
validation.

Independent pieces built here, not taken from nqlib.anderson: the dense Hamiltonian (explicit
loops over bonds), the lead self-energies (complex plane-wave transverse basis and the exact
surface Green's function of a semi-infinite chain), and the naive transfer-matrix product. The
library's own dense route, ``anderson.dense_green``, is checked against them and against the
analytic Green's function of the clean chain, and then serves as the reference for the mode sums.
Everything is exact up to rounding for the sizes used (at most a few hundred sites), hence the
1e-10 tolerances; the long-bar stability test uses the 1e-8 the method is meant to guarantee.
"""

import numpy as np
import pytest

from nqlib import anderson as an

ISO = (1.0, 1.0, 1.0)
ANISO = (1.0, 0.4, 0.3)


# --------------------------------------------------------------------------- independent helpers
def dense_hamiltonian(V, t):
    """H of the isolated bar by explicit loops over sites; ring neighbours y +- 1 mod Ny (a ring
    of 1 or 2 sites double-counts its bond, as the module's S + S^T convention does)."""
    Nx, Ny, Nz = V.shape
    idx = np.arange(V.size).reshape(V.shape)
    H = np.diag(V.ravel()).astype(float)
    for x in range(Nx):
        for y in range(Ny):
            for z in range(Nz):
                i = idx[x, y, z]
                if x + 1 < Nx:
                    H[i, idx[x + 1, y, z]] -= t[0]
                    H[idx[x + 1, y, z], i] -= t[0]
                H[i, idx[x, (y + 1) % Ny, z]] -= t[1]
                H[idx[x, (y + 1) % Ny, z], i] -= t[1]
                H[i, idx[x, y, (z + 1) % Nz]] -= t[2]
                H[idx[x, y, (z + 1) % Nz], i] -= t[2]
    return H


def surface_green(omega, t):
    """Retarded surface Green's function of a semi-infinite chain with hopping -t at real omega."""
    s = np.sqrt(omega - 2 * t + 0j) * np.sqrt(omega + 2 * t + 0j)
    return (omega - s) / (2 * t**2)


def lead_self_energy(E, Ny, Nz, t):
    """Sigma = t_x^2 sum_q phi_q phi_q^dagger g(E - eps_q) with complex plane waves phi_q."""
    y, z = np.meshgrid(np.arange(Ny), np.arange(Nz), indexing="ij")
    Sigma = np.zeros((Ny * Nz, Ny * Nz), dtype=complex)
    for qy in range(Ny):
        for qz in range(Nz):
            phi = np.exp(2j * np.pi * (qy * y / Ny + qz * z / Nz)).ravel() / np.sqrt(Ny * Nz)
            eps = -2 * t[1] * np.cos(2 * np.pi * qy / Ny) - 2 * t[2] * np.cos(2 * np.pi * qz / Nz)
            Sigma += t[0] ** 2 * surface_green(E - eps, t[0]) * np.outer(phi, phi.conj())
    return Sigma


def dense_route(V, E, t):
    """G^r = (E - H - Sigma_L - Sigma_R)^-1 and the embedded Gamma_L, Gamma_R."""
    Nx, Ny, Nz = V.shape
    M, N = Ny * Nz, V.size
    Sigma = lead_self_energy(E, Ny, Nz, t)
    SL, SR = np.zeros((N, N), complex), np.zeros((N, N), complex)
    SL[:M, :M] = Sigma
    SR[N - M :, N - M :] = Sigma
    Gr = np.linalg.inv(E * np.eye(N) - dense_hamiltonian(V, t) - SL - SR)
    return Gr, 1j * (SL - SL.conj().T), 1j * (SR - SR.conj().T)


def naive_smatrix(V, E, t):
    """S from the plain product of slice transfer matrices (HJ SM Eqs. 17-23), no renormalisation.

    State (psi_{x+1}, psi_x) = M_x (psi_x, psi_{x-1}); lead solutions psi_x = U(lam^x a + lam^-x b)
    (left, x <= 0) and U(lam^(x-Nx+1) c + lam^-(x-Nx+1) d) (right, x >= Nx - 1); physical:
    a = incoming / sqrt(v) on open channels and 0 on closed ones, likewise d.
    """
    Nx, Ny, Nz = V.shape
    modes = an.lead_modes(E, Ny, Nz, t)
    U, lam, op = modes.U, modes.lam, modes.is_open
    M = Ny * Nz
    Hperp = dense_hamiltonian(np.zeros((1, Ny, Nz)), t)
    I, Z = np.eye(M), np.zeros((M, M))
    T = np.block([[U, U], [U / lam, U * lam]])  # (psi_0, psi_-1) = Q_L (a, b)
    for x in range(Nx):
        T = np.block([[(Hperp + np.diag(V[x].ravel()) - E * I) / t[0], -I], [I, Z]]) @ T
    QR = np.block([[U * lam, U / lam], [U, U]])  # (psi_Nx, psi_Nx-1) = Q_R (c, d)
    T = np.linalg.solve(QR, T)
    T11, T12, T21, T22 = T[:M, :M], T[:M, M:], T[M:, :M], T[M:, M:]
    sv = np.sqrt(modes.velocity)
    a = np.zeros((M, modes.n_open))
    a[op] = np.diag(1 / sv)
    b = -np.linalg.solve(T22, T21 @ a)  # incidence from the left: d = 0
    c = T11 @ a + T12 @ b
    bp = np.linalg.solve(T22, a)  # incidence from the right: a = 0, d = incoming
    cp = T12 @ bp
    r, tt = sv[:, None] * b[op], sv[:, None] * c[op]
    rp, ttp = sv[:, None] * cp[op], sv[:, None] * bp[op]
    return np.block([[r, ttp], [tt, rp]])


def unitarity_error(S):
    with np.errstate(all="ignore"):
        err = np.abs(S.conj().T @ S - np.eye(len(S))).max()
    return err if np.isfinite(err) else np.inf


def close(a, b, tol):
    scale = max(1.0, np.abs(b).max())
    return np.abs(a - b).max() <= tol * scale


# cases: (shape, E, t, W, seed); the isotropic E = 0 ones on 5 x 5 have closed channels
CASES = [
    ((4, 3, 2), 0.3, ANISO, 2.0, 1),
    ((5, 5, 5), 0.0, ISO, 4.0, 2),
    ((3, 5, 3), -1.1, ISO, 6.0, 3),
    ((1, 4, 2), 0.7, ANISO, 3.0, 4),
    ((6, 1, 1), 0.5, (1.0, 0.0, 0.0), 1.0, 5),
    ((2, 2, 5), 2.2, ISO, 8.0, 6),
]
IDS = ["aniso", "iso-E0-evanescent", "iso-strong", "Nx=1", "chain", "iso-E2.2"]


# --------------------------------------------------------------------------- the model
def test_potential_shape_range_and_seed():
    V = an.potential(np.random.default_rng(3), 7, 3, 4, 2.5)
    assert V.shape == (7, 3, 4)
    assert V.min() >= -1.25 and V.max() <= 1.25 and V.std() > 0.3
    np.testing.assert_array_equal(V, an.potential(np.random.default_rng(3), 7, 3, 4, 2.5))
    assert np.all(an.potential(np.random.default_rng(0), 2, 2, 2, 0) == 0)


def test_sparse_hamiltonian_matches_explicit_bonds():
    V = an.potential(np.random.default_rng(0), 3, 4, 2, 1.0)
    np.testing.assert_array_equal(an.hamiltonian(V, ANISO).toarray(), dense_hamiltonian(V, ANISO))


@pytest.mark.parametrize("Ny,Nz,t", [(5, 5, ISO), (4, 6, ANISO), (1, 3, ISO), (2, 1, ANISO)])
def test_lead_modes(Ny, Nz, t):
    E = 0.37
    m = an.lead_modes(E, Ny, Nz, t)
    U, (qy, qz) = m.U, m.labels.T
    np.testing.assert_allclose(U.T @ U, np.eye(Ny * Nz), atol=1e-13)
    assert np.isrealobj(U)
    eps = -2 * t[1] * np.cos(2 * np.pi * qy / Ny) - 2 * t[2] * np.cos(2 * np.pi * qz / Nz)
    np.testing.assert_allclose(m.eps, eps, atol=1e-14)
    Hperp = dense_hamiltonian(np.zeros((1, Ny, Nz)), t)
    np.testing.assert_allclose(Hperp @ U, U * eps, atol=1e-13)
    # lead dispersion, lam + 1/lam = (eps - E)/tx; open: e^{ik}, k in (0, pi); closed: |lam| < 1
    np.testing.assert_allclose(m.lam + 1 / m.lam, (eps - E) / t[0], atol=1e-12)
    assert np.all(m.is_open == (np.abs(E - eps) < 2 * t[0]))
    np.testing.assert_allclose(np.abs(m.lam[m.is_open]), 1, atol=1e-14)
    assert np.all(np.abs(m.lam[~m.is_open]) < 1)
    assert np.all((m.kx > 0) & (m.kx < np.pi))
    np.testing.assert_allclose(m.velocity, 2 * t[0] * np.sin(m.kx), atol=1e-14)
    np.testing.assert_allclose(E, m.eps[m.is_open] - 2 * t[0] * np.cos(m.kx), atol=1e-13)
    np.testing.assert_allclose(m.self_energy, lead_self_energy(E, Ny, Nz, t), atol=1e-13)


def test_isotropic_E0_has_closed_channels():
    m = an.lead_modes(0.0, 5, 5, ISO)
    assert 0 < m.n_open < 25 and (~m.is_open).sum() == 25 - m.n_open


# --------------------------------------------------------------------------- W = 0
@pytest.mark.parametrize(
    "shape,E,t", [((7, 3, 4), 0.3, ANISO), ((5, 5, 5), 0.0, ISO), ((1, 2, 3), -0.9, ISO)]
)
def test_clean_bar_is_plane_waves_with_unit_transmission(shape, E, t):
    Nx, Ny, Nz = shape
    res = an.scatter(np.zeros(shape), E, t)
    m = res.modes
    x = np.arange(Nx)[:, None, None, None]
    phi = m.U_open.reshape(1, Ny, Nz, -1)
    k, v = m.kx, m.velocity
    np.testing.assert_allclose(res.psi_L, phi * np.exp(1j * k * x) / np.sqrt(v), atol=1e-12)
    np.testing.assert_allclose(
        res.psi_R, phi * np.exp(-1j * k * (x - Nx + 1)) / np.sqrt(v), atol=1e-12
    )
    n = m.n_open
    np.testing.assert_allclose(res.S[:n, :n], 0, atol=1e-12)
    np.testing.assert_allclose(res.S[n:, :n], np.diag(np.exp(1j * k * (Nx - 1))), atol=1e-12)
    np.testing.assert_allclose(res.S[:n, n:], np.diag(np.exp(1j * k * (Nx - 1))), atol=1e-12)
    assert res.transmission == pytest.approx(n, abs=1e-11)


# --------------------------------------------------------------------------- conservation laws
@pytest.mark.parametrize("shape,E,t,W,seed", CASES, ids=IDS)
def test_unitarity_and_reciprocity(shape, E, t, W, seed):
    """S^dagger S = 1 (current conservation) and S = S^T (time reversal: real transverse modes and
    one phase reference per lead, x = 0 and x = Nx - 1, so outgoing = conj(incoming) per channel)."""
    V = an.potential(np.random.default_rng(seed), *shape, W)
    res = an.scatter(V, E, t)
    S = res.S
    assert res.unitarity_error < 1e-10
    assert unitarity_error(S) < 1e-10 and unitarity_error(S.T) < 1e-10
    np.testing.assert_allclose(S, S.T, atol=1e-10)
    np.testing.assert_allclose(an.smatrix(V, E, t), S, atol=0)
    assert 0 < an.transmission(V, E, t) <= res.n_open + 1e-10


@pytest.mark.parametrize("shape,E,t,W,seed", CASES, ids=IDS)
def test_mode_sums_equal_dense_green_function(shape, E, t, W, seed):
    """sum_c psi_c psi_c^dagger = G^r Gamma_alpha G^a with constant exactly 1 (not 1/2pi), from the
    dense route (checked against an independently built H and Sigma below); Caroli transmission;
    Ward identity sum_alpha = -2 Im G^r."""
    V = an.potential(np.random.default_rng(seed), *shape, W)
    dense = an.dense_green(V, E, t)
    Gr, GamL, GamR = dense.retarded, dense.gamma_L, dense.gamma_R
    Ga = Gr.conj().T
    GL, GR = an.mode_sum(V, E, "L", t), an.mode_sum(V, E, "R", t)
    assert close(GL, dense.mode_sum("L"), 1e-10)
    assert close(GR, dense.mode_sum("R"), 1e-10)
    assert close(GL + GR, 1j * (Gr - Ga), 1e-10)
    caroli = np.trace(GamL @ Gr @ GamR @ Ga).real
    assert an.transmission(V, E, t) == pytest.approx(caroli, abs=1e-10 * max(1, caroli))
    psi = an.scattering_states(V, E, "L", t).reshape(V.size, -1)
    np.testing.assert_allclose(psi @ psi.conj().T, GL, atol=1e-13)


def test_scattering_states_solve_the_schroedinger_equation_with_lead_tails():
    """Extend psi_L into both leads with the S matrix and the evanescent tails: H psi = E psi on
    every slice from -3 to Nx + 2."""
    Nx, Ny, Nz, E, t = 4, 5, 5, 0.0, ISO
    V = an.potential(np.random.default_rng(11), Nx, Ny, Nz, 5.0)
    res = an.scatter(V, E, t)
    m = res.modes
    M, U, lam = Ny * Nz, m.U, m.lam
    psi = res.psi_L.reshape(Nx, M, -1)
    pad = 3
    full = np.zeros((Nx + 2 * pad, M, m.n_open), complex)
    full[pad : pad + Nx] = psi
    a_in = np.zeros((M, m.n_open))
    a_in[m.is_open] = np.diag(1 / np.sqrt(m.velocity))
    out0 = U.T @ psi[0] - a_in  # mode amplitudes of the outgoing + evanescent part at x = 0
    outN = U.T @ psi[-1]
    for j in range(pad):
        xl, xr = -(j + 1), j + 1  # left lead x = -(j+1); right lead x = Nx - 1 + (j+1)
        full[pad + xl] = U @ (lam[:, None] ** xl * a_in + lam[:, None] ** (-xl) * out0)
        full[pad + Nx - 1 + xr] = U @ (lam[:, None] ** xr * outN)
    Hperp = dense_hamiltonian(np.zeros((1, Ny, Nz)), t)
    Vfull = np.zeros((Nx + 2 * pad, M))
    Vfull[pad : pad + Nx] = V.reshape(Nx, M)
    for s in range(1, Nx + 2 * pad - 1):
        resid = (
            -t[0] * (full[s + 1] + full[s - 1])
            + (Hperp + np.diag(Vfull[s]) - E * np.eye(M)) @ full[s]
        )
        assert np.abs(resid).max() < 1e-12


def test_bipartite_symmetry():
    """G^alpha(-E; V) = P conj(G^alpha(E; -V)) P with P = diag((-1)^(x+y+z)), Ny, Nz even."""
    shape, E = (3, 4, 2), 0.7
    V = an.potential(np.random.default_rng(7), *shape, 5.0)
    x, y, z = np.indices(shape)
    P = ((-1.0) ** (x + y + z)).ravel()
    for lead in "LR":
        lhs = an.mode_sum(V, -E, lead, ISO)
        rhs = P[:, None] * an.mode_sum(-V, E, lead, ISO).conj() * P[None, :]
        assert close(lhs, rhs, 1e-10)


# --------------------------------------------------------------------------- band edge
@pytest.mark.parametrize(
    "shape,E,t,label",
    [
        ((3, 6, 6), 0.0, ISO, "(1, 1)"),  # eps_perp = -2 (cos(pi/3) + cos(pi/3) = 1), |E - eps| = 2
        ((3, 4, 3), 0.0, ISO, "(1, 0)"),  # eps_perp = -2 (cos(pi/2) + cos 0 = 1)
        ((2, 3, 3), -6.0, ISO, "(0, 0)"),  # bottom of the lead band, eps_perp = -4
        ((2, 2, 2), 1.2, (1.0, 0.4, 0.0), "(0, 0)"),  # eps_perp = -0.8, E - eps = 2 tx
    ],
)
def test_band_edge_channel_is_refused(shape, E, t, label):
    V = an.potential(np.random.default_rng(0), *shape, 2.0)
    with pytest.raises(ValueError, match=r"band edge") as err:
        an.scatter(V, E, t)
    msg = str(err.value)
    assert f"channel (qy, qz)={label}" in msg and "Shift the energy" in msg
    for fn in (an.scattering_states, an.mode_sum):
        with pytest.raises(ValueError, match="band edge"):
            fn(V, E, "L", t)
    # the suggested shift works and gives a unitary S
    shifted = float(msg.split("e.g. E=")[1].split(" ")[0])
    assert an.scatter(V, shifted, t).unitarity_error < 1e-10


def test_near_band_edge_stays_accurate():
    """Just outside the default tolerance the solution is still accurate (error ~ eps/sqrt(gap))."""
    V = an.potential(np.random.default_rng(2), 4, 6, 6, 3.0)
    for E in (3e-9, -3e-9, 1e-6):
        res = an.scatter(V, E, ISO)
        assert res.n_open == 22 and res.unitarity_error < 1e-11
        assert np.all(np.isfinite(res.psi_L)) and np.all(np.isfinite(res.psi_R))


# --------------------------------------------------------------------------- slice statistics
def test_slice_statistics_equal_sums_over_dense_G():
    shape = (5, 3, 4)
    V = an.potential(np.random.default_rng(9), *shape, 4.0)
    Nx, M = shape[0], shape[1] * shape[2]
    psi_R, psi_L = (
        an.scattering_states(V, 0.2, "R", ANISO),
        an.scattering_states(V, -0.2, "L", ANISO),
    )
    psi = np.concatenate([psi_R, psi_L], axis=-1)
    w = np.concatenate([np.ones(psi_R.shape[-1]), -np.ones(psi_L.shape[-1])])
    for states, weights, dense in [
        (psi_R, None, an.mode_sum(V, 0.2, "R", ANISO)),
        (
            psi,
            w,
            an.mode_sum(V, 0.2, "R", ANISO) - an.mode_sum(V, -0.2, "L", ANISO),
        ),  # G^R(0+) - G^L(0-)
    ]:
        trace, frob = an.slice_moments(states, weights)
        blocks = dense.reshape(Nx, M, Nx, M)
        np.testing.assert_allclose(trace, np.einsum("aiai->a", blocks).real, atol=1e-12)
        np.testing.assert_allclose(frob, (np.abs(blocks) ** 2).sum(axis=(1, 3)), atol=1e-12)
    gram = an.slice_gram(psi_R)
    flat = psi_R.reshape(Nx, M, -1)
    assert gram.shape == (Nx, psi_R.shape[-1], psi_R.shape[-1])
    np.testing.assert_allclose(gram[2], flat[2].conj().T @ flat[2], atol=1e-13)


# --------------------------------------------------------------------------- stability
def test_naive_transfer_matrix_agrees_on_short_bars():
    """The helper is right (same S, same phase convention) where products stay well conditioned."""
    for shape, E, t, W, seed in CASES[:3]:
        V = an.potential(np.random.default_rng(seed), *shape, W)
        np.testing.assert_allclose(naive_smatrix(V, E, t), an.smatrix(V, E, t), atol=1e-8)


@pytest.mark.parametrize("cross", [4, 8])
def test_long_quasi_1d_bar_is_stable_where_naive_transfer_matrices_fail(cross):
    """Nx = 200, 4 x 4 or 8 x 8, W = 5 (T ~ 1e-12 for 4 x 4): the recursion keeps S unitary to 1e-8
    (it reaches ~1e-14); the plain product of transfer matrices loses unitarity already at
    Nx ~ 20 for 4 x 4 (~1e-5) and completely at Nx = 200 (|S^+S - 1| ~ 1e200: evanescent and
    localised growth)."""
    E = 0.1
    V = an.potential(np.random.default_rng(12), 200, cross, cross, 5.0)
    res = an.scatter(V, E, ISO)
    assert res.unitarity_error < 1e-8
    np.testing.assert_allclose(res.S, res.S.T, atol=1e-8)
    assert res.transmission < 0.1 * res.n_open
    assert unitarity_error(naive_smatrix(V, E, ISO)) > 1e-2
    assert unitarity_error(naive_smatrix(V[:10], E, ISO)) < 1e-8


@pytest.mark.parametrize("shape,W", [((6, 4, 5), 5.0), ((200, 4, 4), 5.0), ((40, 6, 6), 12.0)])
def test_one_sweep_right_states_equal_the_mirrored_sweep(shape, W):
    """scatter() gets psi_R from the back-substitution of the single block-UL sweep; the
    mirrored bar V[::-1] gives it from an independent sweep. They agree to 1e-10 of the largest
    amplitude, also where the transmitted part is exponentially small (Nx = 200; W = 12)."""
    E = 0.1
    V = an.potential(np.random.default_rng(sum(shape)), *shape, W)
    res = an.scatter(V, E, ISO)
    mirrored = an.scattering_states(V, E, "R", ISO)
    scale = np.abs(mirrored).max()
    assert np.abs(res.psi_R - mirrored).max() < 1e-10 * scale
    m = res.modes
    t_prime = np.sqrt(m.velocity)[:, None] * (
        m.U_open.T @ mirrored.reshape(shape[0], -1, m.n_open)[0]
    )
    n = m.n_open
    np.testing.assert_allclose(res.S[:n, n:], t_prime, atol=1e-10)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "args,match",
    [
        ((0, 2, 2, 1.0), "Nx must be a positive integer, got Nx=0"),
        ((3, -1, 2, 1.0), "Ny must be a positive integer, got Ny=-1"),
        ((3, 2, 2.5, 1.0), "Nz must be a positive integer"),
        ((3, 2, True, 1.0), "Nz must be a positive integer"),
        ((3, 2, 2, -1.0), r"W must be a finite real number >= 0, got W=-1.0"),
        ((3, 2, 2, np.inf), "W must be a finite real number >= 0"),
    ],
)
def test_potential_validation(args, match):
    with pytest.raises(ValueError, match=match):
        an.potential(np.random.default_rng(0), *args)


def test_potential_needs_a_generator():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        an.potential(42, 2, 2, 2, 1.0)


V0 = np.zeros((3, 2, 2))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: an.scatter(V0, 6.5, ISO), r"E=6.5 has no open channel.*lead band \[-6, 6\]"),
        (lambda: an.scattering_states(V0, -7.0, "L", ISO), "no open channel"),
        (lambda: an.scatter(V0, np.nan, ISO), "E must be a finite real number"),
        (lambda: an.scatter(V0, 1j, ISO), "E must be a finite real number"),
        (
            lambda: an.scattering_states(V0, 0.3, "left", ISO),
            "lead must be 'L' or 'R', got lead='left'",
        ),
        (lambda: an.mode_sum(V0, 0.3, "X", ISO), "lead must be 'L' or 'R'"),
        (
            lambda: an.scatter(np.zeros((3, 2)), 0.3, ISO),
            r"V must be a 3D array .* got shape \(3, 2\)",
        ),
        (
            lambda: an.scatter(np.zeros((0, 2, 2)), 0.3, ISO),
            r"all sizes >= 1, got shape \(0, 2, 2\)",
        ),
        (lambda: an.scatter(V0 + 1j, 0.3, ISO), "V must hold finite real"),
        (lambda: an.scatter(V0 + np.nan, 0.3, ISO), "V must hold finite real"),
        (
            lambda: an.scatter(V0, 0.3, (0.0, 1.0, 1.0)),
            r"tx > 0 and ty, tz >= 0, got t=\(0.0, 1.0, 1.0\)",
        ),
        (lambda: an.scatter(V0, 0.3, (1.0, -1.0, 1.0)), "tx > 0 and ty, tz >= 0"),
        (lambda: an.scatter(V0, 0.3, (1.0, 1.0)), "t must be three finite hoppings"),
        (lambda: an.scatter(V0, 0.3, ("1", 1.0, 1.0)), "t must be three finite hoppings"),
        (lambda: an.scatter(V0, 0.3, 1.0), "t must be three finite hoppings"),
        (lambda: an.scatter(V0, 0.3, ISO, edge_tol=-1), "edge_tol must be a real number in"),
        (lambda: an.lead_modes(0.3, 0, 2, ISO), "Ny must be a positive integer"),
        (
            lambda: an.mode_sum(np.zeros((17, 16, 16)), 0.3, "L", ISO),
            r"Nx \* Ny \* Nz must be <= 4096, got 4352",
        ),
        (
            lambda: an.slice_moments(np.zeros((3, 2, 2))),
            r"psi must have shape \(Nx, Ny, Nz, n_states\)",
        ),
        (
            lambda: an.slice_moments(np.zeros((3, 2, 2, 4)), np.ones(3)),
            "weights must be 4 finite real numbers",
        ),
        (lambda: an.slice_gram(np.zeros((3, 2, 2, 0))), "psi must have shape"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_lead_modes_with_no_open_channel_is_not_an_error():
    assert an.lead_modes(6.5, 2, 2, ISO).n_open == 0


# --------------------------------------------------------------------------- disorder ensembles
def test_disorder_moments_equal_dense_sums_on_the_same_realization():
    """The ensemble function draws V from rng exactly as potential() does and returns the slice
    sums of the signed mode-sum combination, here Hruza-Jin's G^R(0+) - G^L(0-), built densely."""
    shape, W = (5, 4, 2), 5.0
    out = an.disorder_moments(
        np.random.default_rng(17),
        *shape,
        W,
        t=ANISO,
        leads="RL",
        energies=(0.2, -0.2),
        weights=(1.0, -1.0),
    )
    V = an.potential(np.random.default_rng(17), *shape, W)
    Gneq = an.mode_sum(V, 0.2, "R", ANISO) - an.mode_sum(V, -0.2, "L", ANISO)
    Nx, M = shape[0], shape[1] * shape[2]
    blocks = Gneq.reshape(Nx, M, Nx, M)
    assert close(out["trace"], np.einsum("aiai->a", blocks).real, 1e-10)
    assert close(out["frobenius"], np.einsum("aibj->ab", np.abs(blocks) ** 2), 1e-10)
    assert out["V_mean"] == pytest.approx(V.mean(), abs=1e-15)
    for k, (lead, E) in enumerate((("R", 0.2), ("L", -0.2))):
        own = an.mode_sum(V, E, lead, ANISO).reshape(Nx, M, Nx, M)
        assert close(out["term_traces"][k], np.einsum("aiai->a", own).real, 1e-10)
    assert close(out["term_traces"][0] - out["term_traces"][1], out["trace"], 1e-12)
    assert list(out["n_open"]) == [an.lead_modes(E, 4, 2, ANISO).n_open for E in (0.2, -0.2)]


def test_disorder_moments_single_lead_clean_bar_is_analytic():
    """W = 0, one lead: sum over slices a, b of |G_ab|^2 is sum_c 1/v_c^2 for every slice pair
    (plane waves, orthonormal transverse functions), and the slice trace is sum_c 1/v_c."""
    out = an.disorder_moments(
        np.random.default_rng(0), 6, 5, 5, 0.0, t=ISO, leads="L", energies=(0.1,), weights=(1.0,)
    )
    v = an.lead_modes(0.1, 5, 5, ISO).velocity
    assert close(out["frobenius"], np.full((6, 6), np.sum(v**-2.0)), 1e-10)
    assert close(out["trace"], np.full(6, np.sum(1 / v)), 1e-10)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(leads="LX", energies=(0.1, 0.2), weights=(1.0, 1.0)),
            "leads must be a non-empty string",
        ),
        (dict(leads="", energies=(), weights=()), "leads must be a non-empty string"),
        (dict(leads="LR", energies=(0.1,), weights=(1.0, 1.0)), "one entry per term, got 2, 1, 2"),
        (
            dict(leads="L", energies=(0.1,), weights=(np.inf,)),
            "weights must be finite real numbers",
        ),
        (
            dict(leads="L", energies=(0.0,), weights=(1.0,)),
            r"band edge",
        ),  # isotropic 4 x 4 lead at E = 0
    ],
)
def test_disorder_moments_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        an.disorder_moments(np.random.default_rng(0), 3, 4, 4, 1.0, t=ISO, **kwargs)


def test_disorder_moments_validates_sizes_and_W():
    with pytest.raises(ValueError, match="Nx must be a positive integer"):
        an.disorder_moments(np.random.default_rng(0), -2, 4, 4, 1.0)
    with pytest.raises(ValueError, match="W must be a finite real number >= 0"):
        an.disorder_moments(np.random.default_rng(0), 3, 3, 3, -1.0, energies=(0.3,))


def test_energy_correlation_equals_dense_cross_sums():
    """cross[k, a, b] = Re sum_{x in a, y in b} G(E_k)_xy conj(G(E_0)_xy) with dense G^L; cross[0] is
    the frobenius of slice_moments; and GH Eq. 65 summed literally over channels pairs n, m at
    energies E_0, E_1 gives 2 sum_{a in A, b in B} cross[1, a, b]."""
    shape, W, Es = (5, 3, 4), 4.0, (0.3, 0.45)
    out = an.energy_correlation(np.random.default_rng(3), *shape, W, Es, t=ANISO)["cross"]
    V = an.potential(np.random.default_rng(3), *shape, W)
    Nx, M = shape[0], shape[1] * shape[2]
    G0, G1 = (an.mode_sum(V, E, "L", ANISO).reshape(Nx, M, Nx, M) for E in Es)
    assert close(out[1], np.einsum("aibj,aibj->ab", G1, G0.conj()).real, 1e-10)
    assert close(out[0], an.slice_moments(an.scattering_states(V, Es[0], "L", ANISO))[1], 1e-10)
    p0, p1 = (an.scattering_states(V, E, "L", ANISO) for E in Es)
    A, B = [0, 1], [3, 4]
    dPhi = an.delta_phi(p0, A, B, p1)
    assert abs(dPhi - 2 * out[1][np.ix_(A, B)].sum()) < 1e-10 * abs(dPhi)


def test_u1_maps_equal_dense_sums():
    shape, W, j = (4, 2, 3), 5.0, 2
    out = an.u1_maps(np.random.default_rng(4), *shape, W, j, t=ANISO)
    V = an.potential(np.random.default_rng(4), *shape, W)
    Nx, M = shape[0], shape[1] * shape[2]
    G = (an.mode_sum(V, 0.2, "R", ANISO) - an.mode_sum(V, -0.2, "L", ANISO)).reshape(Nx, M, Nx, M)
    assert close(out["pair"], np.einsum("aibi->ab", G), 1e-10)
    triple = np.einsum(
        "aik,kci->ac", G[:, :, j, :], G[j]
    )  # sum over i_perp, j_perp of G_(a,i)(j,k) G_(j,k)(c,i)
    assert close(out["triple"], triple, 1e-10)


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda: an.energy_correlation(np.random.default_rng(0), 3, 2, 2, 1.0, ()),
            "at least one energy",
        ),
        (
            lambda: an.energy_correlation(np.random.default_rng(0), 3, 2, 2, 1.0, (0.3,), lead="X"),
            "lead must be",
        ),
        (
            lambda: an.energy_correlation(np.random.default_rng(0), 0, 2, 2, 1.0, (0.3,)),
            "Nx must be a positive",
        ),
        (
            lambda: an.u1_maps(np.random.default_rng(0), 3, 2, 2, 1.0, 3),
            r"j must be a slice index in \[0, Nx\)",
        ),
        (
            lambda: an.u1_maps(np.random.default_rng(0), 3, 2, 2, 1.0, 1, leads="L"),
            "one entry per term",
        ),
    ],
)
def test_correlation_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- dense route, C, currents
@pytest.mark.parametrize("shape,E,t,W,seed", CASES[:4], ids=IDS[:4])
def test_dense_green_equals_the_independent_construction(shape, E, t, W, seed):
    """anderson.dense_green (library H and self-energy) against dense_route (H by explicit bond
    loops, Sigma from complex plane waves and the semi-infinite-chain surface Green's function)."""
    V = an.potential(np.random.default_rng(seed), *shape, W)
    dense = an.dense_green(V, E, t)
    Gr, GamL, GamR = dense_route(V, E, t)
    assert close(dense.retarded, Gr, 1e-12)
    assert close(dense.gamma_L, GamL, 1e-12) and close(dense.gamma_R, GamR, 1e-12)
    assert close(dense.mode_sum("L"), Gr @ GamL @ Gr.conj().T, 1e-10)


def test_dense_green_of_the_clean_chain_is_analytic():
    """W = 0 chain: the bar between its leads is the infinite chain, G^r_xy = -i e^{ik|x-y|} / v with
    E = -2 cos k and v = 2 sin k; Gamma_L = v on site 0."""
    E, Nx = 0.7, 6
    dense = an.dense_green(np.zeros((Nx, 1, 1)), E, (1.0, 0.0, 0.0))
    k = np.arccos(-E / 2)
    v = 2 * np.sin(k)
    x = np.arange(Nx)
    np.testing.assert_allclose(
        dense.retarded, -1j * np.exp(1j * k * np.abs(x[:, None] - x[None, :])) / v, atol=1e-13
    )
    assert (
        dense.gamma_L[0, 0] == pytest.approx(v, abs=1e-13) and np.count_nonzero(dense.gamma_L) == 1
    )


def test_mode_sum_alias_G_warns_and_gives_the_same_result():
    V = an.potential(np.random.default_rng(1), 3, 2, 2, 3.0)
    with pytest.warns(DeprecationWarning, match="anderson.mode_sum"):
        old = an.G(V, 0.3, "R", ANISO)
    np.testing.assert_array_equal(old, an.mode_sum(V, 0.3, "R", ANISO))


@pytest.mark.parametrize("shape,E,t,W,seed", CASES[:4], ids=IDS[:4])
def test_bond_currents_carry_the_landauer_transmission(shape, E, t, W, seed):
    """Current conservation: every bond of G^L(E) carries T(E) (Landauer), of G^R(E) -T(E); and
    the transmission itself from the Caroli formula of the dense route."""
    V = an.potential(np.random.default_rng(seed), *shape, W)
    T = an.transmission(V, E, t)
    dense = an.dense_green(V, E, t)
    caroli = np.trace(dense.gamma_L @ dense.retarded @ dense.gamma_R @ dense.retarded.conj().T).real
    assert T == pytest.approx(caroli, abs=1e-10 * max(1, caroli))
    J_L = an.bond_currents(an.mode_sum(V, E, "L", t), shape, t)
    J_R = an.bond_currents(an.mode_sum(V, E, "R", t), shape, t)
    assert J_L.shape == (shape[0] - 1,)
    np.testing.assert_allclose(J_L, T, atol=1e-10)
    np.testing.assert_allclose(J_R, -T, atol=1e-10)


def test_bond_currents_of_the_clean_bar_count_open_channels():
    shape, E = (5, 4, 3), 0.3
    n_open = an.lead_modes(E, 4, 3, ANISO).n_open
    J = an.bond_currents(an.mode_sum(np.zeros(shape), E, "L", ANISO), shape, ANISO)
    np.testing.assert_allclose(J, n_open, atol=1e-11)


def test_correlation_matrix_is_the_transposed_mode_sum_over_2pi():
    """C[i, j] = <c_i^dag c_j>: on a disordered bar, the current 2 tx Im sum_perp C[(x, p), (x+1, p)]
    of lead L's states at one energy is T / 2pi per unit energy (orientation and 2pi), C is
    Hermitian, and HJ's pair gives (G^R(0+) - G^L(0-))^T / 2pi."""
    shape, t = (4, 3, 2), ANISO
    V = an.potential(np.random.default_rng(5), *shape, 4.0)
    C = an.correlation_matrix(V, t, leads="L", energies=(0.3,), weights=(1.0,))
    Nx, M = shape[0], shape[1] * shape[2]
    blocks = C.reshape(Nx, M, Nx, M)
    J = [2 * t[0] * np.trace(blocks[x, :, x + 1, :]).imag for x in range(Nx - 1)]
    np.testing.assert_allclose(J, an.transmission(V, 0.3, t) / (2 * np.pi), atol=1e-11)
    np.testing.assert_allclose(C, C.conj().T, atol=1e-13)
    C_neq = an.correlation_matrix(V, t, leads="RL", energies=(0.2, -0.2), weights=(1.0, -1.0))
    dense_R, dense_L = (
        an.dense_green(V, 0.2, t).mode_sum("R"),
        an.dense_green(V, -0.2, t).mode_sum("L"),
    )
    assert close(C_neq, (dense_R - dense_L).T / (2 * np.pi), 1e-10)


def test_correlation_matrix_filled_band_of_the_clean_chain_is_the_identity():
    """Completeness: filling both leads over the whole band of the clean chain gives C = 1 on the
    bar (no bound states). With E = -2 cos k, int dE/2pi = int dk sin k / pi; Gauss-Legendre in k."""
    nodes, w = np.polynomial.legendre.leggauss(40)
    k = np.pi * (nodes + 1) / 2
    weights = tuple(np.tile(w * np.pi / 2 * 2 * np.sin(k), 2))
    energies = tuple(np.tile(-2 * np.cos(k), 2))
    C = an.correlation_matrix(
        np.zeros((5, 1, 1)),
        (1.0, 0.0, 0.0),
        leads="L" * 40 + "R" * 40,
        energies=energies,
        weights=weights,
    )
    np.testing.assert_allclose(C, np.eye(5), atol=1e-12)


def test_bias_window_fills_the_clean_chain_between_the_two_chemical_potentials():
    """Clean chain, left lead filled between mu_R and mu_L: with E = -2 cos k the window holds
    int dk / 2pi = (k(mu_L) - k(mu_R)) / 2pi particles per site; a narrow window is the linear
    response (mu_L - mu_R) G^L(mid)^T / 2pi; the rule is Gauss-Legendre on the interval."""
    chain, t = np.zeros((6, 1, 1)), (1.0, 0.0, 0.0)
    window = an.bias_window(0.5, -0.7)
    C = an.correlation_matrix(chain, t, **window)
    exact = (np.arccos(-0.5 / 2) - np.arccos(0.7 / 2)) / (2 * np.pi)
    np.testing.assert_allclose(np.diag(C).real, exact, rtol=1e-12)
    assert window["leads"] == "L" * 24 and abs(sum(window["weights"]) - 1.2) < 1e-14
    assert all(-0.7 < E < 0.5 for E in window["energies"])
    V = an.potential(np.random.default_rng(3), 3, 2, 2, 4.0)
    narrow = an.correlation_matrix(V, ANISO, **an.bias_window(0.3 + 1e-4, 0.3 - 1e-4, 4))
    linear = an.correlation_matrix(V, ANISO, energies=(0.3,), weights=(2e-4,))
    assert close(narrow / 2e-4, linear / 2e-4, 1e-7)  # O(width^2) apart
    assert an.bias_window(1.0, 0.0, 1) == dict(leads="L", energies=(0.5,), weights=(1.0,))
    for bad, match in [
        ((0.0, 0.0), r"mu_right must be below mu_left = 0 .*got mu_right=0.0"),
        ((np.nan, 0.0), "mu_left"),
        ((1.0, 0.0, 0), "n_nodes"),
    ]:
        with pytest.raises(ValueError, match=match):
            an.bias_window(*bad)


def test_dense_routes_refuse_large_bars():
    big = np.zeros((17, 16, 16))
    for call in (
        lambda: an.mode_sum(big, 0.3, "L", ISO),
        lambda: an.dense_green(big, 0.3, ISO),
        lambda: an.correlation_matrix(big, ISO, energies=(0.3,)),
    ):
        with pytest.raises(ValueError, match=r"Nx \* Ny \* Nz must be <= 4096, got 4352"):
            call()


# --------------------------------------------------------------------------- band edge shift
@pytest.mark.parametrize("L", range(2, 17))
def test_off_edge_energy_shifts_exactly_at_isotropic_band_edges(L):
    """Isotropic L x L lead at E = 0: a channel has |eps_perp| = 2 iff cos(2 pi qy/L) + cos(2 pi qz/L)
    = +-1, i.e. iff L is a multiple of 3 or 4 (the shift is needed); and the same as lead_modes
    refusing E = 0."""
    E = an.off_edge_energy(0.0, L, L, ISO)
    edge = L % 3 == 0 or L % 4 == 0
    assert E == (1e-7 if edge else 0.0)
    try:
        an.lead_modes(0.0, L, L, ISO)
        refused = False
    except ValueError:
        refused = True
    assert refused == edge
    assert an.off_edge_energy(0.5, L, L, ISO, shift=-1e-6) in (0.5, 0.5 - 1e-6)


# --------------------------------------------------------------------------- estimators
def test_density_profile_recovers_known_slopes_and_density_of_states():
    """Synthetic profiles g1 = s_r x + c_r: the slope is mean(s_r) with its standard error; flat
    term traces 2 pi nu n_perp / 2 (each) give nu."""
    rng = np.random.default_rng(0)
    runs, Nx, n_perp, nu = 7, 10, 9, 0.13
    s, c = rng.normal(1.7, 0.1, runs), rng.normal(0, 0.5, runs)
    x = np.arange(Nx) / Nx
    trace = n_perp * (s[:, None] * x + c[:, None])
    terms = np.full((runs, 2, Nx), np.pi * nu * n_perp)
    prof = an.density_profile(trace, terms, n_perp)
    np.testing.assert_allclose(prof.slopes, s, atol=1e-12)
    assert prof.slope == pytest.approx(s.mean(), abs=1e-12)
    assert prof.slope_err == pytest.approx(s.std(ddof=1) / np.sqrt(runs), abs=1e-12)
    assert prof.nu == pytest.approx(nu, rel=1e-12) and prof.four_pi_nu == pytest.approx(
        4 * np.pi * nu
    )
    np.testing.assert_allclose(prof.g1, trace / n_perp)


def test_density_profile_of_the_clean_bar_is_flat_with_the_lead_density_of_states():
    """W = 0: each term's slice trace is sum_c 1/v_c (plane waves), so g1 is flat (slope 0) and
    nu = (sum 1/v(0.2) + sum 1/v(-0.2)) / (2 pi n_perp), the clean density of states."""
    shape = (6, 4, 4)
    runs = [
        an.disorder_moments(
            np.random.default_rng(s),
            *shape,
            0.0,
            t=ANISO,
            leads="RL",
            energies=(0.2, -0.2),
            weights=(1.0, -1.0),
        )
        for s in (0, 1)
    ]
    prof = an.density_profile(
        np.array([r["trace"] for r in runs]), np.array([r["term_traces"] for r in runs]), 16
    )
    assert abs(prof.slope) < 1e-10 and prof.slope_err < 1e-10
    inv_v = sum(np.sum(1 / an.lead_modes(E, 4, 4, ANISO).velocity) for E in (0.2, -0.2))
    assert prof.nu == pytest.approx(inv_v / (2 * np.pi * 16), rel=1e-10)


def test_f_ab_equals_the_dense_sum_and_the_clean_formula():
    """f_AB = 4 / (Lx^2 L^2) sum_{x in A, y in B} |G^L_xy|^2 from the dense mode sum; at W = 0 every
    slice pair carries sum_c 1/v_c^2, so f_AB = sum_c v_c^-2 / Lx^2 for even L; stacks reduce entry
    by entry; and delta_phi (GH Eq. 65 literally) is half of Lx^2 L^2 f_AB / 2."""
    L, E = 4, 0.3
    assert [list(h) for h in an.central_halves(L)] == [[1, 2], [3, 4]]
    assert [list(h) for h in an.central_halves(5)] == [[1, 2], [4, 5]]
    V = an.potential(np.random.default_rng(8), L + 2, L, L, 6.0)
    psi = an.scattering_states(V, E, "L", ISO)
    frob = an.slice_moments(psi)[1]
    A, B = an.central_halves(L)
    G = an.mode_sum(V, E, "L", ISO).reshape(L + 2, L * L, L + 2, L * L)
    dense = 4 * np.sum(np.abs(G[A][:, :, B]) ** 2) / ((L + 2) ** 2 * L**2)
    assert an.f_ab(frob, L) == pytest.approx(dense, rel=1e-10)
    assert an.delta_phi(psi, A, B) == pytest.approx(
        an.f_ab(frob, L) * (L + 2) ** 2 * L**2 / 2, rel=1e-10
    )
    np.testing.assert_allclose(
        an.f_ab(np.stack([frob, 2 * frob]), L), [dense, 2 * dense], rtol=1e-10
    )
    clean = an.slice_moments(an.scattering_states(np.zeros((L + 2, L, L)), E, "L", ISO))[1]
    v = an.lead_modes(E, L, L, ISO).velocity
    assert an.f_ab(clean, L) == pytest.approx(np.sum(v**-2.0) / (L + 2) ** 2, rel=1e-10)


def test_diagonal_fluctuation_against_the_dense_mode_sum_and_the_bipartite_symmetry():
    """The diagonal of the dense mode_sum minus its slice means; zero sum over every slice; and
    G(-E; V) = S conj(G(E; -V)) S, whose diagonal is that of G(E; -V) (an exact identity)."""
    V = an.potential(np.random.default_rng(12), 5, 4, 2, 6.0)
    for lead, E in (("L", 0.2), ("R", -0.7)):
        fluct = an.diagonal_fluctuation(V, E, lead, ANISO)
        d = np.diag(an.mode_sum(V, E, lead, ANISO)).real.reshape(5, 8)
        np.testing.assert_allclose(fluct, (d - d.mean(axis=1, keepdims=True)).ravel(), atol=1e-12)
        assert np.abs(fluct.reshape(5, 8).sum(axis=1)).max() < 1e-12
        assert np.abs(fluct).max() > 1e-3  # disorder makes the diagonal fluctuate
        mirror = an.diagonal_fluctuation(-V, -E, lead, ANISO)
        np.testing.assert_allclose(mirror, fluct, atol=1e-11)


def test_f_ab_of_one_bar_and_of_the_clean_wire():
    """f_ab_at against the dense sum over A x B of |G^L_xy|^2 (mode_sum), for a disordered and a
    clean bar; f_ab_clean (sum_k v_k^-2 / Lx^2) against the same dense sum of the clean bar."""
    for L, W, E in ((4, 6.0, 0.3), (6, 0.0, 0.1), (4, 0.0, 0.7)):
        V = an.potential(np.random.default_rng(9), L + 2, L, L, W)
        A, B = an.central_halves(L)
        G = an.mode_sum(V, E, "L", ISO).reshape(L + 2, L * L, L + 2, L * L)
        dense = 4 * np.sum(np.abs(G[A][:, :, B]) ** 2) / ((L + 2) ** 2 * L**2)
        assert an.f_ab_at(V, E, ISO) == pytest.approx(dense, rel=1e-10)
        if W == 0:
            assert an.f_ab_clean(E, L, ISO) == pytest.approx(dense, rel=1e-10)
    with pytest.raises(ValueError, match=r"V must have shape \(L \+ 2, L, L\)"):
        an.f_ab_at(np.zeros((4, 4, 4)), 0.3, ISO)
    with pytest.raises(ValueError, match="L must be even"):
        an.f_ab_clean(0.3, 5, ISO)


def test_delta_phi_refuses_overlapping_sets_and_mismatched_states():
    psi = an.scattering_states(np.zeros((4, 2, 2)), 0.3, "L", ISO)
    with pytest.raises(ValueError, match="A and B must be disjoint"):
        an.delta_phi(psi, [0, 1], [1, 2])
    with pytest.raises(ValueError, match="psi_shifted must have the bar shape"):
        an.delta_phi(psi, [0], [2], psi[:3])


def test_i_ab_is_exact_for_a_gaussian_and_matches_an_explicit_jackknife():
    """(a) Cross sums proportional to exp(-eps^2 / 2 sigma^2) in every realization give i exactly,
    sigma exactly, the trapezoid integral and zero errors. (b) Noisy data: the errors equal a
    leave-one-out loop written out here."""
    eps = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 12.0, -6.0])
    shape = np.exp(-(eps**2) / (2 * 4.5**2))
    amplitudes = np.array([1.0, 2.0, 0.5, 1.3])
    fit = an.i_ab(amplitudes[:, None] * shape, eps)
    np.testing.assert_allclose(fit.i, shape, atol=1e-14)
    assert fit.sigma == pytest.approx(4.5, rel=1e-12) and fit.sigma_err < 1e-12
    assert fit.integral == pytest.approx(np.trapezoid(shape[:6], eps[:6]), rel=1e-12)
    assert np.isnan(fit.first_negative)

    rng = np.random.default_rng(3)
    c = amplitudes[:, None] * (shape - 0.05) + rng.normal(0, 0.02, (4, eps.size))
    c[:, 0] = amplitudes * 0.95 + rng.normal(0, 0.02, 4)
    fit = an.i_ab(c, eps, fit_max=6.0)
    loo = []
    for r in range(len(c)):
        d = np.delete(c, r, axis=0)
        i = d.mean(axis=0) / d[:, 0].mean()
        loo.append(i)
    loo = np.array(loo)
    err = np.sqrt((len(c) - 1) / len(c) * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    np.testing.assert_allclose(fit.i_err, err, atol=1e-14)
    np.testing.assert_allclose(fit.i, c.mean(axis=0) / c[:, 0].mean(), atol=1e-14)
    assert fit.first_negative == 12.0 and fit.i[5] < 0
    # the non-negative eps in increasing order, from eps given out of order
    perm = [0, 6, 3, 1, 5, 2, 4]
    shuffled = an.i_ab(c[:, perm], eps[perm], fit_max=6.0)
    view = shuffled.non_negative
    np.testing.assert_array_equal(view[0], eps[:6])
    np.testing.assert_allclose(view[1], fit.i[:6], atol=1e-14)
    np.testing.assert_allclose(view[2], fit.i_err[:6], atol=1e-14)
    assert shuffled.sigma == pytest.approx(fit.sigma, rel=1e-12)
    assert shuffled.integral == pytest.approx(fit.integral, rel=1e-12)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: an.i_ab(np.ones((3, 2)), [1.0, 0.0]), r"eps\[0\] = 0"),
        (lambda: an.i_ab(np.ones((3, 2)), [0.0, 0.0]), "distinct"),
        (lambda: an.i_ab(np.ones((3, 3)), [0.0, 1.0]), r"cross_sums must have shape"),
        (
            lambda: an.i_ab(np.ones((3, 2)), [0.0, 9.0], fit_max=8.0),
            "fit_max must leave a positive eps",
        ),
        (lambda: an.density_profile(np.ones((1, 4)), np.ones((1, 2, 4)), 4), "runs >= 2"),
        (
            lambda: an.density_profile(np.ones((2, 4)), np.ones((2, 2, 3)), 4),
            "term_traces must have shape",
        ),
        (
            lambda: an.f_ab(np.ones((5, 5)), 4),
            r"frobenius must have shape \(\.\.\., L \+ 2, L \+ 2\)",
        ),
        (lambda: an.central_halves(1), "L must be an integer >= 2"),
        (lambda: an.bond_currents(np.eye(5), (3, 2, 2)), "G must have shape"),
        (lambda: an.bond_currents(np.eye(12), (3, 2)), "shape must be a tuple"),
        (lambda: an.off_edge_energy(0.0, 4, 4, ISO, shift=0.0), "shift must be a nonzero"),
        (lambda: an.dense_green(np.zeros((2, 3, 3)), -6.0, ISO), "band edge"),
        (
            lambda: an.correlation_matrix(V0, ISO, leads="LR", energies=(0.3,), weights=(1.0, 1.0)),
            "one entry per term",
        ),
    ],
)
def test_estimator_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_potential_old_argument_order_still_works_with_a_warning():
    new = an.potential(np.random.default_rng(4), 3, 2, 2, 1.5)
    with pytest.warns(DeprecationWarning, match=r"anderson.potential takes rng first"):
        old = an.potential(3, 2, 2, 1.5, np.random.default_rng(4))
    with pytest.warns(DeprecationWarning, match=r"anderson.potential\(rng, \.\.\.\)"):
        keyword = an.potential(3, 2, 2, 1.5, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(keyword, new)
