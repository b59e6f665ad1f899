"""Exact gate average of the two-copy channel (nqlib.abcmodel) against Monte Carlo over sampled
gates, quadrature convergence, and the structure every average must have."""

import importlib
import sys

import numpy as np
import pytest

from nqlib import abcmodel, circuit, ensemble, gates, ssep

VEC_I = np.eye(4).reshape(16)  # row-major vec of the two-site identity


def _pair_sum(a, b):
    """sum_n a_n[i, j] b_n[k, l] arranged as the two-copy matrix [(i, k), (j, l)]."""
    gram = a.reshape(len(a), 256).T @ b.reshape(len(b), 256)
    return gram.reshape(16, 16, 16, 16).transpose(0, 2, 1, 3).reshape(256, 256)


@pytest.mark.parametrize("p1, p2", [(0.3, 0.3), (1.0, 0.0), (0.0, 1.0)])
def test_exact_average_matches_monte_carlo(p1, p2):
    rng = np.random.default_rng(17)
    n, chunk = 100_000, 10_000
    mean = np.zeros((256, 256), dtype=complex)
    second = np.zeros((256, 256))
    for _ in range(n // chunk):
        _, us = gates.sample_sequence(rng, chunk, 2, p1, p2)
        single = np.einsum("nab,ncd->nacbd", us, us.conj()).reshape(chunk, 16, 16)
        mean += _pair_sum(single, single)
        second += _pair_sum(np.abs(single) ** 2, np.abs(single) ** 2)
    mean /= n
    se = np.sqrt(np.maximum(second / n - np.abs(mean) ** 2, 0.0) / n)
    diff = np.abs(abcmodel.averaged_two_copy_gate(p1, p2) - mean)
    # entries that never fluctuate (se = 0) must agree to rounding; the rest within 6 SE
    assert np.all(diff[se < 1e-12] < 1e-12)
    assert (diff[se >= 1e-12] / se[se >= 1e-12]).max() < 6


def test_the_average_is_the_gates_second_moment():
    """abc owns no quadrature: its average is nqlib.gates.second_moment (tested exact there)."""
    np.testing.assert_array_equal(
        abcmodel.averaged_two_copy_gate(0.4, 0.35), gates.second_moment(0.4, 0.35)
    )


@pytest.mark.parametrize("p1, p2", [(0.0, 0.0), (0.2, 0.7), (1.0, 0.0), (0.0, 1.0)])
def test_average_preserves_both_traces_and_the_swap_probability(p1, p2):
    E = abcmodel.averaged_two_copy_gate(p1, p2)
    both = np.kron(VEC_I, VEC_I)
    np.testing.assert_allclose(both @ E, both, atol=1e-13)  # each copy's trace is kept
    single = np.einsum("ikjl,k,l->ij", E.reshape(16, 16, 16, 16), VEC_I, VEC_I / 4)
    # the single-copy average keeps |ud><ud| -> |du><du| with probability E|U_lr|^2 = 1/2
    ud, du = 1 * 4 + 1, 2 * 4 + 2  # vec indices of |ud><ud| and |du><du|
    assert single[du, ud].real == pytest.approx(0.5, abs=1e-13)
    assert single[ud, ud].real == pytest.approx(0.5, abs=1e-13)


def test_mu0_corner_is_the_mean_of_identity_and_iswap():
    expected = 0.5 * (
        abcmodel.two_copy_superoperator(gates.IDENTITY)
        + abcmodel.two_copy_superoperator(gates.ISWAP)
    )
    np.testing.assert_allclose(abcmodel.averaged_two_copy_gate(0.0, 0.0), expected, atol=1e-15)


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="p1 \\+ p2 must be <= 1"):
        abcmodel.averaged_two_copy_gate(0.7, 0.5)
    with pytest.raises(ValueError, match="p1 must be a probability"):
        abcmodel.averaged_two_copy_gate(-0.1, 0.5)
    with pytest.raises(ValueError, match="\\(4, 4\\) two-site gate"):
        abcmodel.two_copy_superoperator(np.eye(2))


# --------------------------------------------------------------------------- L-site two-copy channel
@pytest.mark.parametrize("L", [2, 3, 4])
def test_phase_one_purity_is_that_of_a_product_of_reservoir_states(L):
    # p1 = 0: every late-time state is a product of reservoir states (GH Eq. 27), purity (1+delta^2)/2 each
    delta = 0.6
    assert abcmodel.average_purity(L, 0.0, 0.5, delta) == pytest.approx(
        ((1 + delta**2) / 2) ** L, abs=1e-12
    )


@pytest.mark.parametrize("p1, p2", [(1.0, 0.0), (0.5, 0.5)])
def test_single_copy_reduction_is_the_ssep_average_state(p1, p2):
    L, delta = 3, 0.7
    X = abcmodel.steady_state(L, p1, p2, delta, full=True).reshape((2,) * (4 * L))
    # contract copy 2 (slots r2, c2 of every site) with the identity: E[rho] in site-major order
    letters = "abcdefghijklmnop"
    spec, out = [], []
    for site in range(L):
        r1, c1, r2 = letters[4 * site : 4 * site + 3]
        spec += [r1, c1, r2, r2]  # r2 == c2: trace over copy 2
        out += [r1, c1]
    mean = np.einsum("".join(spec) + "->" + "".join(out), X)
    P = ssep.steady_state(L, delta)[::-1]  # qubit basis: 0 = up = occupied
    rho_bar = np.diag(P).reshape((2,) * (2 * L))
    site_major = rho_bar.transpose([k for site in range(L) for k in (site, L + site)])
    np.testing.assert_allclose(mean, site_major, atol=1e-12)


def _dense_purity(L, p1, p2, delta, n_samples, seed):
    """Time- and circuit-averaged purity of 8 dense circuits, with its jackknife error."""
    runs = ensemble.run_ensemble(
        circuit.neas_samples,
        8,
        seed=seed,
        L=L,
        p1=p1,
        p2=p2,
        delta=delta,
        n_samples=n_samples,
        progress=False,
    )
    return ensemble.jackknife(lambda d: d.mean(), ensemble.stack(runs)["P"])


def test_purity_matches_the_dense_circuit_time_average():
    L, p1, p2, delta = 3, 0.5, 0.5, 0.6
    exact = abcmodel.average_purity(L, p1, p2, delta)
    value, error = _dense_purity(L, p1, p2, delta, n_samples=1000, seed=3)
    assert abs(value - exact) < 5 * error, (value, error, exact)
    assert error < 0.002  # the test resolves the purity to better than 1 %


@pytest.mark.parametrize("sites", [None, [], [0], [0, 2]])
def test_without_drive_every_state_is_fully_mixed(sites):
    L = 3
    size = L if sites is None else len(sites)
    assert abcmodel.average_purity(L, 0.4, 0.3, 0.0, A=sites) == pytest.approx(
        2.0**-size, abs=1e-12
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: abcmodel.two_copy_channel(1, 0.5, 0.5, 0.5), "L must be an integer in \\[2, 5\\]"),
        (lambda: abcmodel.two_copy_channel(6, 0.5, 0.5, 0.5), "L must be an integer in \\[2, 5\\]"),
        (
            lambda: abcmodel.two_copy_channel(3, 0.5, 0.5, 1.5),
            "delta must be a finite real number in \\[-1, 1\\]",
        ),
        (
            lambda: abcmodel.average_purity(3, 0.5, 0.5, 0.5, A=[3]),
            "A must be distinct integers in \\[0, 2\\]",
        ),
    ],
)
def test_channel_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- the abc reduction
_SLOTS = np.array([8 * r1 + 4 * c1 + 2 * r2 + c2 for r1, c1, r2, c2 in abcmodel.SPECIES.values()])
_OTHER = np.array([k for k in range(16) if k not in _SLOTS])


@pytest.mark.parametrize(
    "p1, p2, delta", [(0.3, 0.3, 0.6), (1.0, 0.0, 0.9), (0.0, 1.0, -0.4), (0.6, 0.1, 1.0)]
)
def test_six_species_subspace_is_invariant(p1, p2, delta):
    G = abcmodel._site_major(abcmodel.averaged_two_copy_gate(p1, p2))
    inside = (_SLOTS[:, None] * 16 + _SLOTS[None, :]).ravel()
    outside = np.setdiff1d(np.arange(256), inside)
    assert np.abs(G[np.ix_(outside, inside)]).max() < 1e-14
    for B in abcmodel._boundary_maps(p1, p2, delta):
        assert np.abs(B[np.ix_(_OTHER, _SLOTS)]).max() < 1e-14
    # and the restricted maps are real
    assert np.abs(np.imag(G[np.ix_(inside, inside)])).max() < 1e-14


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("p1, p2", [(0.3, 0.3), (1.0, 0.0), (0.0, 0.5)])
def test_reduced_process_reproduces_the_full_two_copy_fixed_point(L, p1, p2):
    delta = 0.6
    full = abcmodel.steady_state(L, p1, p2, delta, full=True)
    reduced = abcmodel.steady_state(L, p1, p2, delta)
    index = _SLOTS
    for _ in range(L - 1):
        index = (index[:, None] * 16 + _SLOTS[None, :]).ravel()
    embedded = np.zeros_like(full)
    embedded[index] = reduced
    np.testing.assert_allclose(embedded, full, atol=1e-12)
    for sites in (None, [0], [0, L - 1]):
        assert abcmodel.average_purity(L, p1, p2, delta, A=sites) == pytest.approx(
            abcmodel.average_purity(L, p1, p2, delta, A=sites, full=True), abs=1e-12
        )


def test_reduced_maps_validation():
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        abcmodel.reduced_boundary(0.3, 0.3, 0.5, "top")
    with pytest.raises(ValueError, match="L must be an integer in \\[2, 8\\]"):
        abcmodel.reduced_channel(9, 0.3, 0.3, 0.5)


# --------------------------------------------------------------------------- comparison with GH Eqs. E7-E10
_IX = {name: k for k, name in enumerate(abcmodel.SPECIES)}


def _pair(a, b):
    return _IX[a] * 6 + _IX[b]


@pytest.mark.parametrize("p1, p2", [(0.3, 0.2), (1.0, 0.0), (0.0, 1.0)])
def test_bulk_rates_are_those_of_eqs_e7_e8(p1, p2):
    W = abcmodel.reduced_gate(p1, p2) - np.eye(36)
    g1, h = p1 / 6, 0.5
    sub = [
        _pair(*x)
        for x in (
            ("b_up", "b_dn"),
            ("b_dn", "b_up"),
            ("c_up", "c_dn"),
            ("c_dn", "c_up"),
            ("a_up", "a_dn"),
            ("a_dn", "a_up"),
        )
    ]
    W0 = np.array(
        [
            [-h - g1, h - g1, g1, g1, g1, g1],
            [h - g1, -h - g1, g1, g1, g1, g1],
            [g1, g1, -h - g1, h - g1, -g1, -g1],
            [g1, g1, h - g1, -h - g1, -g1, -g1],
            [g1, g1, -g1, -g1, -h - g1, h - g1],
            [g1, g1, -g1, -g1, h - g1, -h - g1],
        ]
    )
    np.testing.assert_allclose(W[np.ix_(sub, sub)], W0, atol=1e-13)  # Eq. E7 exactly
    ab = [_pair("a_up", "b_up"), _pair("b_up", "a_up")]
    np.testing.assert_allclose(W[np.ix_(ab, ab)], [[-h, h], [h, -h]], atol=1e-13)  # Eq. E8, W_ab
    ac = [_pair("a_up", "c_up"), _pair("c_up", "a_up")]
    # Eq. E8's W_ac up to the sign of the exchange term: GH use Jordan-Wigner-transformed a and c
    # particles, which anticommute; in the plain operator basis the exchange enters with a minus
    np.testing.assert_allclose(
        W[np.ix_(ac, ac)],
        [[-(1 + p2) / 2, -(1 - p2) / 2], [-(1 - p2) / 2, -(1 + p2) / 2]],
        atol=1e-13,
    )


@pytest.mark.parametrize("p1, p2, delta", [(0.3, 0.2, 0.6), (0.0, 1.0, 0.0), (1.0, 0.0, 0.9)])
def test_left_boundary_rates_where_they_differ_from_eqs_e9_e10(p1, p2, delta):
    R = abcmodel.reduced_boundary(p1, p2, delta, "left") - np.eye(6)
    pu, pd, g1 = (1 + delta) / 2, (1 - delta) / 2, p1 / 6
    # b rows agree with Eq. E9
    np.testing.assert_allclose(
        R[_IX["b_up"], [_IX[k] for k in ("b_up", "b_dn", "c_up", "c_dn")]],
        [
            -(pd**2) * (0.5 + g1) - pd * pu,
            pu**2 * (0.5 - g1),
            pu**2 / 2 + g1 * pd * pu,
            pu**2 / 2 + g1 * pd * pu,
        ],
        atol=1e-13,
    )
    # the exact average gives c_up <-> c_dn exchange at the boundary, which Eq. E9 (as extracted) lacks
    cc = [_IX["c_up"], _IX["c_dn"]]
    off = pu * pd * (0.5 - g1)
    np.testing.assert_allclose(
        R[np.ix_(cc, cc)], [[-0.5 + off, off], [off, -0.5 + off]], atol=1e-13
    )
    # and interacting gates dephase boundary coherences: Eq. E10 has -1/2 for every (p1, p2)
    a = [_IX["a_up"], _IX["a_dn"]]
    np.testing.assert_allclose(
        R[np.ix_(a, a)], np.eye(2) * (-0.5 - p2 * (1 - delta**2) / 4), atol=1e-13
    )


def _purity_with_printed_coherence_rate(L, p1, p2, delta):
    """E[tr rho^2] if the boundary kept coherences at the rate of Eq. E10 (R^a = -1/2)."""
    ends = []
    for side in ("left", "right"):
        B = abcmodel.reduced_boundary(p1, p2, delta, side).copy()
        B[_IX["a_up"], _IX["a_up"]] = B[_IX["a_dn"], _IX["a_dn"]] = 0.5
        ends.append(B)
    G = abcmodel.reduced_gate(p1, p2)
    assert L == 2, "written for two sites: one bulk bond and two boundary bonds"
    T = (np.kron(ends[0], np.eye(6)) + G + np.kron(np.eye(6), ends[1])) / 3
    values, vectors = np.linalg.eig(T)
    X = np.real(vectors[:, np.argmin(abs(values - 1))])
    trace, swap = (np.kron(v, v) for v in (abcmodel._TRACE[_SLOTS], abcmodel._SWAP[_SLOTS]))
    return float(swap @ X / (trace @ X))


def test_dense_circuit_purity_decides_between_exact_and_printed_boundary_rates():
    L, p1, p2, delta = 2, 0.3, 0.7, 0.6
    exact = abcmodel.average_purity(L, p1, p2, delta)
    printed = _purity_with_printed_coherence_rate(L, p1, p2, delta)
    value, error = _dense_purity(L, p1, p2, delta, n_samples=5000, seed=9)
    assert abs(value - exact) < 4 * error, (value, error, exact)
    assert abs(value - printed) > 8 * error, (value, error, printed)


def test_deprecated_abc_alias_warns_and_gives_the_same_functions():
    """nqlib.abc (renamed abcmodel, issue 17) still imports for one release, with a warning."""
    sys.modules.pop("nqlib.abc", None)
    with pytest.warns(DeprecationWarning, match="nqlib.abcmodel"):
        old = importlib.import_module("nqlib.abc")
    assert old.__all__ == abcmodel.__all__ and "second_order" in old.__all__
    for name in abcmodel.__all__:
        assert getattr(old, name) is getattr(abcmodel, name)
    assert old.average_purity(3, 0.3, 0.4, 0.2) == abcmodel.average_purity(3, 0.3, 0.4, 0.2)


def test_deprecated_sites_keyword_warns_and_agrees():
    """sites= (renamed A, the house name of a subsystem, issue 17) works for one release."""
    second = abcmodel.second_order(4, 0.3, 0.4, max_excitations=2)
    new_old = [
        (
            lambda: abcmodel.average_purity(3, 0.3, 0.4, 0.2, A=[0, 2]),
            lambda: abcmodel.average_purity(3, 0.3, 0.4, 0.2, sites=[0, 2]),
        ),
        (
            lambda: abcmodel.fixed_point_purity_excess(3, 0.3, 0.4, A=[1]),
            lambda: abcmodel.fixed_point_purity_excess(3, 0.3, 0.4, sites=[1]),
        ),
        (lambda: second.purity_excess(A=[1, 2]), lambda: second.purity_excess(sites=[1, 2])),
        (lambda: second.entropy_deficit(A=[0]), lambda: second.entropy_deficit(sites=[0])),
    ]
    for new, old in new_old:
        with pytest.warns(DeprecationWarning, match="sites=.*deprecated.*A="):
            assert old() == new()
    assert second.purity_excess([1, 2]) != second.purity_excess()  # A really restricts
    with pytest.raises(TypeError, match="both A= and its deprecated name sites="):
        abcmodel.average_purity(3, 0.3, 0.4, 0.2, A=[0], sites=[0])
