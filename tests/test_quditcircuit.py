"""The circuit's extensions (GH Sec. IV): qudit chain and two-leg ladder, dense and exact two-copy."""

import numpy as np
import pytest

from nqlib import abcmodel, circuit, gates, gaussian
from nqlib import quditcircuit as qc


def _block_means(x, blocks=20):
    """Mean and standard error of a correlated time series from block means."""
    means = np.array([b.mean() for b in np.array_split(np.asarray(x), blocks)])
    return means.mean(), means.std(ddof=1) / np.sqrt(blocks)


@pytest.mark.parametrize("q", [1, 2])
def test_sampled_gates_are_unitary_and_conserve_the_charge(q):
    rng = np.random.default_rng(1)
    D = 4 * q * q
    s1, _, s2, _ = np.unravel_index(np.arange(D), (2, q, 2, q))
    charge = 2 - s1 - s2
    for p1 in (0.0, 0.5, 1.0):
        for _ in range(20):
            U = qc.sample_gate(rng, q, p1)
            assert np.allclose(U @ U.conj().T, np.eye(D), atol=1e-12)
            assert np.abs(U[charge[:, None] != charge[None, :]]).max() < 1e-14


def test_without_partial_swaps_the_qubit_is_kept_or_swapped_whole():
    rng = np.random.default_rng(2)
    q = 2
    up_down = np.ravel_multi_index((0, 0, 1, 0), (2, q, 2, q))  # |u n=0, d n=0>
    for _ in range(20):
        U = qc.sample_gate(rng, q, 0.0)
        column = U[:, up_down].reshape(2, q, 2, q)
        kept, swapped = np.abs(column[0, :, 1, :]).sum(), np.abs(column[1, :, 0, :]).sum()
        assert min(kept, swapped) < 1e-14 < max(kept, swapped)


@pytest.mark.parametrize("p1", [0.0, 0.4, 1.0])
def test_gate_twirl_is_the_average_over_sampled_gates(p1):
    """Exact twirl vs Monte Carlo on product observables tr(U A U+ C) tr(U B U+ E), q = 2."""
    rng = np.random.default_rng(3)
    q, D = 2, 16
    basis = np.eye(D)
    x = np.ravel_multi_index((0, 0, 1, 1), (2, q, 2, q))  # u0 d1
    y = np.ravel_multi_index((1, 1, 0, 0), (2, q, 2, q))  # d1 u0
    z = np.ravel_multi_index((0, 1, 0, 0), (2, q, 2, q))  # u1 u0
    random = [rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D)) for _ in range(4)]
    cases = [
        tuple(random),
        (
            np.outer(basis[x], basis[y]),
            np.outer(basis[y], basis[x]),  # exchanged sectors
            np.outer(basis[y], basis[x]),
            np.outer(basis[x], basis[y]),
        ),
        (np.outer(basis[x], basis[x]), np.outer(basis[z], basis[z]), np.eye(D), np.eye(D)),
        (np.outer(basis[x], basis[y]), np.outer(basis[x], basis[y]).T, random[0], random[1]),
    ]
    gates_ = [qc.sample_gate(rng, q, p1) for _ in range(3000)]
    for A, B, C, E in cases:
        exact = np.trace(qc.gate_twirl(np.kron(A, B), q, p1) @ np.kron(C, E))
        f = np.array(
            [np.trace(U @ A @ U.conj().T @ C) * np.trace(U @ B @ U.conj().T @ E) for U in gates_]
        )
        se = np.hypot(f.real.std(), f.imag.std()) / np.sqrt(len(f))
        assert abs(f.mean() - exact) < 5 * se + 1e-12, (f.mean(), exact, se)


def test_sampled_twirl_agrees_with_the_exact_twirl_and_tells_p1_apart():
    """All 256^2 entries: squared deviation / its expectation ~ 1 at the right p1, >> 1 at a wrong one."""
    rng = np.random.default_rng(11)
    q, D = 2, 16
    s1, n1, _, _ = np.unravel_index(np.arange(D), (2, q, 2, q))
    H = rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D))
    A = np.diag(1.0 - 2 * s1) + (H + H.conj().T) / np.sqrt(8 * D)
    B = np.diag(1.0 - 2 * s1) + np.diag(1.0 - 2 * (n1 == 0))
    values = (0.0, 0.4, 1.0)
    for p1 in values:
        mean, se = qc.sampled_gate_twirl(rng, A, B, q, p1, 1500)
        ratio = {
            w: np.sum(np.abs(mean - qc.gate_twirl(np.kron(A, B), q, w)) ** 2) / np.sum(se**2)
            for w in values
        }
        assert ratio[p1] < 3, (p1, ratio)
        assert min(r for w, r in ratio.items() if w != p1) > 10, (p1, ratio)


def test_q_one_reproduces_the_qubit_chain_on_the_same_gate_stream():
    rng = np.random.default_rng(4)
    for L, delta in ((3, 0.6), (4, -0.3)):
        rho = circuit.local_equilibrium(L, delta)
        bonds, us = gates.sample_sequence(rng, 300, L, 0.5, 0.3)
        assert (
            np.abs(
                qc.apply_gates(rho, bonds, us, delta, 1)
                - circuit.apply_gates(rho, bonds, us, delta)
            ).max()
            < 1e-12
        )
        assert np.allclose(qc.local_equilibrium(L, 1, delta), circuit.local_equilibrium(L, delta))


def test_evolved_qudit_states_are_states_that_conserve_the_charge():
    rng = np.random.default_rng(5)
    L, q = 3, 2
    rho = qc.evolve(qc.local_equilibrium(L, q, 0.8), 200, rng, q, 0.5, 0.8)
    p = np.linalg.eigvalsh(rho)
    assert (
        abs(np.trace(rho) - 1) < 1e-12
        and np.abs(rho - rho.conj().T).max() < 1e-12
        and p.min() > -1e-12
    )
    charge = qc._charges(L, q)
    assert np.abs(rho[charge[:, None] != charge[None, :]]).max() < 1e-14
    assert p.max() < 1 - 1e-3  # mixed: the reservoirs are mixed at delta = 0.8


def test_phase_one_of_the_qudit_chain_is_a_product_of_reservoir_states():
    L, q, delta = 3, 2, 0.6
    out = qc.neas_samples(np.random.default_rng(6), L, q, 0.0, delta, 5)
    S_expected = L * float(gaussian.binary_entropy((1 + delta) / 2)) + L * np.log(q)
    assert np.abs(out["S"] - S_expected).max() < 1e-9 and np.abs(out["I"]).max() < 1e-9
    deficit = qc.local_equilibrium_entropy(L, q, delta) - out["S"]
    assert np.allclose(deficit, circuit.phase_one_entropy_deficit(L, delta), atol=1e-9)


def test_ladder_without_rungs_is_two_independent_chains():
    rng = np.random.default_rng(7)
    L, delta = 3, 0.7
    table = qc.ladder_bonds(L)
    assert len(table) == 3 * L + 2
    chains = [gates.sample_sequence(rng, 80, L, 0.6, 0.2) for _ in range(2)]

    # chain bond b of leg l -> ladder bond: 0 reservoir, 1..L-1 leg bonds, L right reservoir
    def ladder_index(bond, leg):
        kind, j = (0, 0) if bond == 0 else (3, L - 1) if bond == L else (1, bond - 1)
        return int(
            np.flatnonzero((table[:, 0] == kind) & (table[:, 1] == j) & (table[:, 2] == leg))[0]
        )

    order = rng.permutation(np.repeat([0, 1], 80))
    bonds, us, position = [], [], [0, 0]
    for leg in order:
        b, u = chains[leg][0][position[leg]], chains[leg][1][position[leg]]
        bonds.append(ladder_index(b, leg))
        us.append(u)
        position[leg] += 1
    ladder = qc.ladder_apply_gates(qc.ladder_local_equilibrium(L, delta), bonds, us, delta)
    legs = [
        circuit.apply_gates(circuit.local_equilibrium(L, delta), *chains[leg], delta)
        for leg in (0, 1)
    ]
    # qubit (j, l) = 2j + l: reorder the ladder's axes into (leg 0 sites, leg 1 sites)
    perm = [2 * j for j in range(L)] + [2 * j + 1 for j in range(L)]
    t = (
        ladder.reshape((2,) * (4 * L))
        .transpose(perm + [2 * L + k for k in perm])
        .reshape(4**L, 4**L)
    )
    assert np.abs(t - np.kron(legs[0], legs[1])).max() < 1e-12


def test_ladder_phase_one_and_rung_gates():
    out = qc.ladder_neas_samples(np.random.default_rng(8), 2, 0.0, 0.5, 0.6, 4)
    S_expected = 4 * float(gaussian.binary_entropy(0.8))
    assert np.abs(out["S"] - S_expected).max() < 1e-9 and np.abs(out["I"]).max() < 1e-9
    # one rung gate on a product state: the two qubits of rung 0 see the gate directly
    rho = circuit.product_state([1.0, 0.0, 0.5, 0.5])
    table = qc.ladder_bonds(2)
    rung0 = int(np.flatnonzero((table[:, 0] == 2) & (table[:, 1] == 0))[0])
    out = qc.ladder_apply_gates(rho, [rung0], [gates.ISWAP], 0.3)
    assert np.allclose(out, circuit.product_state([0.0, 1.0, 0.5, 0.5]))


def test_reduced_maps_preserve_the_trace_and_close():
    trace = qc._functionals(2)[0]
    G = qc.reduced_gate(2, 0.3)  # closure is checked inside (RuntimeError otherwise)
    assert np.abs(np.kron(trace, trace) @ G - np.kron(trace, trace)).max() < 1e-12
    for side in ("left", "right"):
        assert np.abs(trace @ qc.reduced_boundary(2, 0.3, 0.5, side) - trace).max() < 1e-12


@pytest.mark.parametrize("q", [2, 3])
def test_exact_purity_in_phase_one_and_without_drive(q):
    L, delta = 3, 0.6
    assert (
        abs(qc.two_copy_average(L, q, 0.0, delta).purity - ((1 + delta**2) / (2 * q)) ** L) < 1e-12
    )
    if q == 3:  # the q = 3 maps take ~10 s per p1: one check is enough
        return
    assert abs(qc.two_copy_average(L, q, 0.7, 0.0).purity - (2 * q) ** -L) < 1e-12
    ladder = qc.ladder_two_copy_average(2, 0.0, 0.4, delta)
    assert abs(ladder.purity - ((1 + delta**2) / 2) ** 4) < 1e-12


def test_ladder_exact_average_is_mirror_symmetric():
    """delta -> -delta with the halves exchanged leaves the ladder's averages unchanged; two coupled
    legs are less pure than one chain of the same length."""
    a, b = (
        qc.ladder_two_copy_average(2, 1.0, 0.0, 0.5),
        qc.ladder_two_copy_average(2, 1.0, 0.0, -0.5),
    )
    assert abs(a.purity - b.purity) < 1e-12 and abs(a.purity_left - b.purity_right) < 1e-12
    chain = abcmodel.average_purity(2, 1.0, 0.0, 0.5)
    assert 0 < a.purity < chain  # two legs: the purity of two coupled chains is below one chain's


def test_dense_time_average_matches_the_exact_two_copy_purity():
    L, q, p1, delta = 2, 2, 0.5, 0.8
    out = qc.neas_samples(np.random.default_rng(9), L, q, p1, delta, 4000, burn_in=20)
    exact = qc.two_copy_average(L, q, p1, delta)
    for key, value in (("P", exact.purity), ("PA", exact.purity_left), ("PB", exact.purity_right)):
        mean, se = _block_means(out[key])
        assert abs(mean - value) < 5 * se, (key, mean, value, se)
    n, se_n = _block_means(out["n"][:, 0])
    assert abs(n - circuit.ssep.density(L, delta)[0]) < 5 * se_n


def test_dense_ladder_matches_the_exact_two_copy_purity():
    L, p1, delta = 2, 1.0, 0.8
    out = qc.ladder_neas_samples(np.random.default_rng(10), L, p1, 0.0, delta, 3000, burn_in=20)
    exact = qc.ladder_two_copy_average(L, p1, 0.0, delta)
    for key, value in (("P", exact.purity), ("PA", exact.purity_left)):
        mean, se = _block_means(out[key])
        assert abs(mean - value) < 5 * se, (key, mean, value, se)


def test_qubit_chain_two_copy_average_limits_and_an_independent_solver():
    L, delta = 3, 0.6
    phase_one = qc.chain_two_copy_average(L, 0.0, 0.0, delta)  # products of reservoir states
    assert abs(phase_one.purity - ((1 + delta**2) / 2) ** L) < 1e-12
    assert abs(phase_one.renyi2_mutual_information) < 1e-12
    # Delta S_2 does not depend on q in phase I: the qudit chain's solver gives the same number
    assert (
        abs(phase_one.renyi2_deficit - qc.two_copy_average(L, 2, 0.0, delta).renyi2_deficit) < 1e-9
    )
    mixed = qc.chain_two_copy_average(L, 0.7, 0.0, 0.0)  # no drive: the fully mixed state
    assert abs(mixed.purity - 2.0**-L) < 1e-12 and abs(mixed.renyi2_deficit) < 1e-12
    # phase II against the full 16-dimensional two-copy solver (no species reduction)
    r = qc.chain_two_copy_average(L, 1.0, 0.0, delta)
    full = [
        abcmodel.average_purity(L, 1.0, 0.0, delta, A=s, full=True) for s in (None, [0], [1, 2])
    ]
    assert np.allclose([r.purity, r.purity_left, r.purity_right], full, rtol=1e-10, atol=0)
    assert abs(r.renyi2_mutual_information - np.log(full[0] / (full[1] * full[2]))) < 1e-9
    # phase II: closer to local equilibrium than phase I, with mutual information between halves
    assert 0 < r.renyi2_deficit < phase_one.renyi2_deficit and r.renyi2_mutual_information > 0.05
    with pytest.raises(ValueError, match="L must be an integer"):
        qc.chain_two_copy_average(abcmodel.MAX_REDUCED_L + 1, 1.0, 0.0, delta)


def test_neas_summary_is_the_standard_error_of_circuit_means():
    # for a mean over equal-length circuits the jackknife error is the standard error of the
    # circuit means (a closed form), and the deficit is linear in the mean entropy
    rng = np.random.default_rng(11)
    data = {key: rng.uniform(0.1, 0.9, size=(5, 7)) for key in ("S", "I", "P", "PA", "PB")}
    s = qc.neas_summary(data, 2.0, 4)
    assert s.value.shape == s.error.shape == (5,)
    expected = [
        (2.0 - data["S"].mean()) / 4,
        data["I"].mean() / 4,
        data["P"].mean(),
        data["PA"].mean(),
        data["PB"].mean(),
    ]
    assert np.allclose(s.value, expected, rtol=1e-14, atol=0)
    sem = [
        np.std(data[key].mean(axis=1), ddof=1) / np.sqrt(5) for key in ("S", "I", "P", "PA", "PB")
    ]
    assert np.allclose(s.error, np.array(sem) / [4, 4, 1, 1, 1], rtol=1e-10, atol=0)
    no_halves = qc.neas_summary({key: data[key] for key in ("S", "I", "P")}, 2.0, 4)
    assert np.allclose(no_halves.value, s.value[:3]) and no_halves.error.shape == (3,)
    with pytest.raises(ValueError, match="samples must be a dict of arrays with keys"):
        qc.neas_summary({"S": data["S"]}, 2.0, 4)
    with pytest.raises(ValueError, match="n_sites must be an integer >= 1"):
        qc.neas_summary(data, 2.0, 0)


BAD = {
    "q 0": (
        lambda: qc.sample_gate(np.random.default_rng(), 0, 0.5),
        r"q must be an integer >= 1, got q=0",
    ),
    "p1 1.5": (
        lambda: qc.sample_gate(np.random.default_rng(), 2, 1.5),
        r"p1 .*\[0, 1\], got p1=1\.5",
    ),
    "rng": (lambda: qc.sample_gate(3, 2, 0.5), r"rng must be a numpy.random.Generator"),
    "too large": (
        lambda: qc.local_equilibrium(7, 2, 0.5),
        r"\(2q\)\*\*L must be <= 4096.*L=7, q=2",
    ),
    "delta 2": (lambda: qc.local_equilibrium(3, 2, 2.0), r"delta .*\[-1, 1\], got delta=2"),
    "bonds out of range": (
        lambda: qc.apply_gates(qc.local_equilibrium(2, 2, 0.1), [3], np.eye(16)[None], 0.1, 2),
        r"bonds must be integers in \[0, 2\]",
    ),
    "gate shape": (
        lambda: qc.apply_gates(qc.local_equilibrium(2, 2, 0.1), [1], np.eye(4)[None], 0.1, 2),
        r"gates must have shape \(1, 16, 16\)",
    ),
    "gate mixes charge": (
        lambda: qc.apply_gates(qc.local_equilibrium(2, 2, 0.1), [1], np.ones((1, 16, 16)), 0.1, 2),
        r"conserve the number of up spins",
    ),
    "state shape": (
        lambda: qc.apply_gates(np.eye(8) / 8, [1], np.eye(16)[None], 0.1, 2),
        r"rho must be a \(d\*\*L, d\*\*L\)",
    ),
    "state mixes charge": (
        lambda: qc.apply_gates(np.full((16, 16), 1 / 16), [1], np.eye(16)[None], 0.1, 2),
        r"rho must commute with the number of up spins",
    ),
    "n_samples 0": (
        lambda: qc.neas_samples(np.random.default_rng(), 2, 2, 0.5, 0.5, 0),
        r"n_samples",
    ),
    "burn_in -1": (
        lambda: qc.neas_samples(np.random.default_rng(), 2, 2, 0.5, 0.5, 1, burn_in=-1),
        r"burn_in.*-1",
    ),
    "ladder L 7": (lambda: qc.ladder_bonds(7), r"L must be an integer in \[2, 6\].*L=7"),
    "ladder p1+p2": (
        lambda: qc.ladder_neas_samples(np.random.default_rng(), 2, 0.7, 0.5, 0.5, 1),
        r"p1 \+ p2 must be <= 1",
    ),
    "ladder bonds": (
        lambda: qc.ladder_apply_gates(
            qc.ladder_local_equilibrium(2, 0.1), [8], np.eye(4)[None], 0.1
        ),
        r"bonds must be integers in \[0, 7\]",
    ),
    "two-copy q 1": (
        lambda: qc.two_copy_average(3, 1, 0.5, 0.5),
        r"q must be an integer in \[2, 3\], got q=1",
    ),
    "two-copy L 7": (
        lambda: qc.two_copy_average(7, 2, 0.5, 0.5),
        r"L must be an integer in \[2, 6\], got L=7",
    ),
    "ladder two-copy L 5": (
        lambda: qc.ladder_two_copy_average(5, 0.5, 0.0, 0.5),
        r"L must be an integer in \[2, 4\]",
    ),
    "twirl shape": (
        lambda: qc.gate_twirl(np.eye(16), 2, 0.5),
        r"X must be a \(256, 256\) two-copy operator for q=2",
    ),
    "twirl nan": (
        lambda: qc.gate_twirl(np.full((256, 256), np.nan), 2, 0.5),
        r"X must hold finite numbers",
    ),
    "sampled twirl shape": (
        lambda: qc.sampled_gate_twirl(np.random.default_rng(), np.eye(4), np.eye(16), 2, 0.5, 10),
        r"A must be a \(16, 16\) two-site operator for q=2, got shape \(4, 4\)",
    ),
    "sampled twirl nan": (
        lambda: qc.sampled_gate_twirl(
            np.random.default_rng(), np.eye(16), np.full((16, 16), np.nan), 2, 0.5, 10
        ),
        r"B",
    ),
    "sampled twirl n_gates": (
        lambda: qc.sampled_gate_twirl(np.random.default_rng(), np.eye(16), np.eye(16), 2, 0.5, 1),
        r"n_gates must be an integer >= 2, got n_gates=1",
    ),
    "side": (
        lambda: qc.reduced_boundary(2, 0.5, 0.5, "top"),
        r"side must be 'left' or 'right', got side='top'",
    ),
    # found by the bad-input audit (tests/bad_input_audit.py): each used to hang, run out of
    # memory, fail deep inside NumPy or return garbage
    "huge L": (
        lambda: qc.local_equilibrium(10**18, 2, 0.5),
        r"\(2q\)\*\*L must be <= 4096.*L=10+, q=2",
    ),
    "huge ladder L": (lambda: qc.ladder_bonds(10**18), r"L must be an integer in \[2, 6\]"),
    "huge q": (
        lambda: qc.sample_gate(np.random.default_rng(), 10**9, 0.5),
        r"sample_gate at q=1000000000 needs",
    ),
    "huge steps": (
        lambda: qc.sample_sequence(np.random.default_rng(), 10**18, 2, 2, 0.5),
        r"steps=10+ at q=2",
    ),
    "evolve huge steps": (
        lambda: qc.evolve(
            qc.local_equilibrium(2, 2, 0.1), 10**18, np.random.default_rng(), 2, 0.5, 0.1
        ),
        r"evolve with steps=10+ at L=2, q=2",
    ),
    "huge burn_in": (
        lambda: qc.neas_samples(np.random.default_rng(), 2, 2, 0.5, 0.5, 1, burn_in=1e18),
        r"burn_in=1e\+18",
    ),
    "huge n_samples": (
        lambda: qc.neas_samples(np.random.default_rng(), 2, 2, 0.5, 0.5, 10**18),
        r"n_samples=10+",
    ),
    "ladder huge n_samples": (
        lambda: qc.ladder_neas_samples(np.random.default_rng(), 2, 0.5, 0.2, 0.5, 10**18),
        r"n_samples=10+",
    ),
    "state q huge": (
        lambda: qc.apply_gates(qc.local_equilibrium(2, 2, 0.1), [1], np.eye(16)[None], 0.1, 10**18),
        r"rho must be .* \(q=10+\)",
    ),
    "state not Hermitian": (
        lambda: qc.apply_gates(
            qc.local_equilibrium(2, 2, 0.1) + np.triu(np.full((16, 16), 0.01), 1),
            [1],
            np.eye(16)[None],
            0.1,
            2,
        ),
        r"rho must be Hermitian",
    ),
    "state trace": (
        lambda: qc.apply_gates(2 * qc.local_equilibrium(2, 2, 0.1), [1], np.eye(16)[None], 0.1, 2),
        r"rho must have unit trace",
    ),
    "state not positive": (
        lambda: qc.evolve(
            np.diag(np.r_[1.5, -0.5, np.zeros(14)]), 1, np.random.default_rng(), 2, 0.5, 0.1
        ),
        r"rho",
    ),
    "ladder state trace": (
        lambda: qc.ladder_evolve(
            2 * qc.ladder_local_equilibrium(2, 0.1), 1, np.random.default_rng(), 0.5, 0.2, 0.1
        ),
        r"rho must have unit trace",
    ),
    "gate not unitary": (
        lambda: qc.apply_gates(qc.local_equilibrium(2, 2, 0.1), [1], 2 * np.eye(16)[None], 0.1, 2),
        r"gates must be unitary",
    ),
    "ladder gate not unitary": (
        lambda: qc.ladder_apply_gates(
            qc.ladder_local_equilibrium(2, 0.1), [2], 2 * np.eye(4)[None], 0.1
        ),
        r"gates must be unitary",
    ),
    "gates string": (
        lambda: qc.apply_gates(qc.local_equilibrium(2, 2, 0.1), [1], "oops", 0.1, 2),
        r"gates must be an array",
    ),
    "twirl string": (lambda: qc.gate_twirl("oops", 1, 0.5), r"X must be an array"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_refused(name):
    call, message = BAD[name]
    with pytest.raises(ValueError, match=message):
        call()
