"""Every public function refuses bad input up front (issue 18): one case per defect of the audit.

Each case asserts the exception type and that the message names the argument and the offending
value. Realization functions must refuse before any work: the random stream is left untouched.
"""

import numpy as np
import pytest

from nqlib import (
    _checks,
    abcmodel,
    anderson,
    circuit,
    freecircuit,
    gates,
    gaussian,
    haarcircuit,
    probe,
    qssep,
    quantum,
    quench,
    spreading,
    ssep,
)

NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _eight_gib_budget(monkeypatch):
    """The size-guard cases assume an 8 GiB budget, whatever this machine's memory."""
    monkeypatch.setenv(_checks.MEMORY_VARIABLE, "8")


def _rng():
    return np.random.default_rng(0)


def _state(L=2):
    """A valid, generic number-conserving density matrix on L sites."""
    return circuit.evolve(
        circuit.local_equilibrium(L, 0.4), 20, np.random.default_rng(1), 0.5, 0.3, 0.4
    )


LOOPS = {"pair": np.array([[0, 2]])}

CASES = {
    # 1. sample_chain: non-finite or unbounded times would spin the numba loop forever
    "sample_chain times nan": (
        lambda: spreading.sample_chain(_rng(), 51, 0.5, 0.5, [NAN], 1),
        r"times.*nan",
    ),
    "sample_chain times inf": (
        lambda: spreading.sample_chain(_rng(), 51, 0.5, 0.5, [0.0, INF], 1),
        r"times.*inf",
    ),
    "sample_chain unbounded": (
        lambda: spreading.sample_chain(_rng(), 51, 0.5, 0.5, [0.0, 1e300], 1),
        r"times\[-1\]=1e\+300.*MAX_CHAIN_GATES",
    ),
    "sample_chain p1 nan": (
        lambda: spreading.sample_chain(_rng(), 51, NAN, 0.5, [1.0], 1),
        r"p1.*nan",
    ),
    "poisson_clock times nan": (
        lambda: spreading.poisson_clock(np.ones((3, 4)), 4, [NAN]),
        r"times.*nan",
    ),
    "linear_front_speed r1 nan": (lambda: spreading.linear_front_speed(NAN, 0.5), r"r1.*nan"),
    "solve_front_equations t_max inf": (
        lambda: spreading.solve_front_equations(0.3, 0.5, INF, 4, 10),
        r"t_max.*inf",
    ),
    "butterfly_velocity horizon nan": (
        lambda: spreading.butterfly_velocity(_rng(), 0.5, 0.5, 2, horizon=NAN),
        r"horizon.*nan",
    ),
    "gate_quadrature n_phase 5.5": (lambda: gates.quadrature(1, n_phase=5.5), r"n_phase.*5\.5"),
    "front_velocity t_min nan": (
        lambda: spreading.front_velocity([0.0, 1.0, 2.0], [[0.0, 1.0, 2.0]], NAN),
        r"t_min.*nan",
    ),
    # 2. haarcircuit: burn_in and site_one_fraction
    "neas_purity burn_in -5": (
        lambda: haarcircuit.neas_purity(_rng(), 3, 8, burn_in=-5),
        r"burn_in.*-5",
    ),
    "neas_purity burn_in inf": (
        lambda: haarcircuit.neas_purity(_rng(), 3, 8, burn_in=INF),
        r"burn_in.*inf",
    ),
    "neas_purity burn_in 2.5": (
        lambda: haarcircuit.neas_purity(_rng(), 3, 8, burn_in=2.5),
        r"burn_in.*2\.5",
    ),
    "reduced_purity f 0.01": (
        lambda: haarcircuit.reduced_purity(10, site_one_fraction=0.01),
        r"site_one_fraction.*\(0\.25, 1\].*0\.01",
    ),
    "reduced_purity f 1/4": (
        lambda: haarcircuit.reduced_purity(10, site_one_fraction=0.25),
        r"site_one_fraction.*0\.25$",
    ),
    "reduced_purity f nan": (
        lambda: haarcircuit.reduced_purity(10, site_one_fraction=NAN),
        r"site_one_fraction.*nan",
    ),
    "haar_unitary d 0": (
        lambda: haarcircuit.haar_unitary(_rng(), 0),
        r"d must be an integer >= 1, got d=0",
    ),
    "averaged_map bulk nan": (
        lambda: haarcircuit.averaged_map(3, bulk=np.full((4, 4), NAN)),
        r"bulk.*non-finite",
    ),
    "twirl nan": (lambda: haarcircuit.twirl(np.full((4, 4), NAN)), r"X.*non-finite"),
    # 3. index sets: duplicates, non-integers, out of range, empty
    "entropy A repeat": (
        lambda: gaussian.entropy(np.eye(8) / 2, A=[0, 0]),
        r"A must be distinct integers in \[0, 7\], got \[0, 0\]: 0 repeats",
    ),
    "entropy A 1.5": (lambda: gaussian.entropy(np.eye(8) / 2, A=[1.5]), r"A.*\[1\.5\]"),
    "entropy A range": (
        lambda: gaussian.entropy(np.eye(8) / 2, A=[2, 8]),
        r"A.*\[0, 7\].*8 is out of range",
    ),
    "entropy A bool": (
        lambda: gaussian.entropy(np.eye(2) / 2, A=np.array([True, False])),
        r"A.*True",
    ),
    "negativity A repeat": (
        lambda: gaussian.negativity(np.eye(4) / 2, [0, 0], [2]),
        r"A must be distinct.*\[0, 0\]",
    ),
    "negativity A empty": (
        lambda: gaussian.negativity(np.eye(4) / 2, [], [2]),
        r"A must be.*got \[\]: empty",
    ),
    "negativity overlap": (
        lambda: gaussian.negativity(np.eye(4) / 2, [0, 1], [1, 2]),
        r"A and B must be disjoint.*\[1\]",
    ),
    "negativity_lower_bound B 2.5": (
        lambda: gaussian.negativity_lower_bound(np.eye(4) / 2, [0], [2.5]),
        r"B.*2\.5",
    ),
    "partial_trace A repeat": (
        lambda: quantum.partial_trace(np.eye(8) / 8, [1, 1]),
        r"A.*\[1, 1\]: 1 repeats",
    ),
    "partial_trace A 0.5": (lambda: quantum.partial_trace(np.eye(8) / 8, [0.5]), r"A.*0\.5"),
    "log_negativity A repeat": (
        lambda: quantum.log_negativity(np.eye(8) / 8, [0, 0]),
        r"A.*\[0, 0\]",
    ),
    "freecircuit cuts 2.7": (
        lambda: freecircuit.neas_samples(_rng(), 20, 1.0, 0.5, 5, cuts=[2.7]),
        r"cuts.*2\.7",
    ),
    "freecircuit cuts repeat": (
        lambda: freecircuit.neas_samples(_rng(), 20, 1.0, 0.5, 5, cuts=[3, 3]),
        r"cuts.*\[3, 3\]",
    ),
    "gaussian_model_negativity cuts": (
        lambda: freecircuit.gaussian_model_negativity(_rng(), 10, 0.5, 2, cuts=[10]),
        r"cuts.*\[1, 9\].*10",
    ),
    "circuit bonds 1.5": (
        lambda: circuit.apply_gates(np.eye(4) / 4, [1.5], [np.eye(4)], 0.1),
        r"bonds.*1\.5",
    ),
    "freecircuit bonds nan": (
        lambda: freecircuit.apply_gates(np.eye(4) / 2, [NAN], [np.eye(2)], 0.1),
        r"bonds.*nan",
    ),
    "anderson pairs 1.5": (
        lambda: anderson.loop_statistics(_rng(), 4, 2, 2, 1.0, pairs=[(1.5, 2)]),
        r"pairs.*1\.5",
    ),
    "abc A repeat": (
        lambda: abcmodel.average_purity(3, 0.3, 0.3, 0.2, A=[1, 1]),
        r"A.*\[1, 1\]",
    ),
    # 5. density matrices: finite, Hermitian, unit trace, positive
    "entropy negative eigenvalue": (
        lambda: quantum.entropy(np.diag([1.5, -0.5])),
        r"rho.*positive semidefinite.*-0\.5",
    ),
    "entropy trace 4": (lambda: quantum.entropy(np.eye(4)), r"rho.*unit trace.*tr rho = 4"),
    "entropy nan": (lambda: quantum.entropy(np.diag([NAN, 1.0])), r"rho.*non-finite"),
    "purity negative": (lambda: quantum.purity(np.diag([1.5, -0.5])), r"rho.*-0\.5"),
    "number_conserving_entropy negative": (
        lambda: quantum.number_conserving_entropy(np.diag([1.5, -0.5, 0.0, 0.0])),
        r"rho.*-0\.5",
    ),
    "mutual_information trace": (
        lambda: quantum.mutual_information(np.eye(4) / 2, [0]),
        r"rho.*tr rho = 2",
    ),
    "log_negativity negative": (
        lambda: quantum.log_negativity(np.diag([1.5, -0.5, 0.0, 0.0]), [0]),
        r"rho.*-0\.5",
    ),
    "correlation_matrix nan": (
        lambda: quantum.correlation_matrix(np.full((4, 4), NAN)),
        r"rho.*non-finite",
    ),
    "partial_trace nan": (
        lambda: quantum.partial_trace(np.full((4, 4), NAN), [0]),
        r"rho.*non-finite",
    ),
    "correlation matrix nan": (
        lambda: gaussian.check_correlation_matrix(np.diag([NAN, 0.5])),
        r"C.*non-finite",
    ),
    "probe nan": (lambda: probe.fringe(np.diag([NAN, 0.5]), 0, 1, [0.0]), r"C.*non-finite"),
    # 6. NaN passes range checks; inf burn-in overflowed
    "product_state nan": (lambda: circuit.product_state([NAN, 0.5]), r"occupations.*nan"),
    "mean_occupations nan": (
        lambda: quench.mean_occupations([NAN, 0.5, 0.5], [1], 0.5, 0.5),
        r"initial.*nan",
    ),
    "binary_entropy nan": (lambda: gaussian.binary_entropy(NAN), r"nu.*nan"),
    "binary_entropy 1.5": (lambda: gaussian.binary_entropy([0.5, 1.5]), r"nu.*1\.5"),
    "binary_entropy -1e-6": (lambda: gaussian.binary_entropy(-1e-6), r"nu.*-1e-06"),
    "reduced_boundary delta nan": (
        lambda: abcmodel.reduced_boundary(0.3, 0.3, NAN, "left"),
        r"delta.*nan",
    ),
    "reduced_boundary delta 2": (
        lambda: abcmodel.reduced_boundary(0.3, 0.3, 2.0, "right"),
        r"delta.*\[-1, 1\].*2\.0",
    ),
    "gaussian_model coherence nan": (
        lambda: freecircuit.gaussian_model(_rng(), 3, 0.5, coherence=np.full((3, 3), NAN)),
        r"coherence.*NaN",
    ),
    "freecircuit burn_in inf": (
        lambda: freecircuit.neas_samples(_rng(), 8, 1.0, 0.5, 2, burn_in=INF),
        r"burn_in.*inf",
    ),
    "circuit burn_in inf": (
        lambda: circuit.neas_samples(_rng(), 3, 0.5, 0.2, 0.5, 2, burn_in=INF),
        r"burn_in.*inf",
    ),
    "ssep burn_in inf": (lambda: ssep.sample(_rng(), 5, 0.5, 2, burn_in=INF), r"burn_in.*inf"),
    "qssep time inf": (lambda: qssep.evolve(np.eye(3) / 2, INF, 0.1, _rng()), r"time.*inf"),
    "qssep burn_in nan": (
        lambda: qssep.qssep_loop_moments(_rng(), 4, LOOPS, 2, 1.0, burn_in=NAN),
        r"burn_in.*nan",
    ),
    "circuit_loop_moments sweeps inf": (
        lambda: freecircuit.loop_moments(_rng(), 4, 1.0, 0.5, LOOPS, 2, sweeps_between=INF),
        r"sweeps_between.*inf",
    ),
    # 7. size guards: refuse before allocating, with the estimate in GiB
    "freecircuit memory": (
        lambda: freecircuit.neas_samples(_rng(), 25000, 1.0, 0.5, 5),
        r"L=25000.*\d+\.\d GiB",
    ),
    "local_equilibrium memory": (
        lambda: freecircuit.local_equilibrium(30000, 0.5),
        r"L=30000.*GiB",
    ),
    "product_moments memory": (
        lambda: ssep.product_moments(1000, 0.5, 3),
        r"L=1000, order=3.*\d+\.\d GiB",
    ),
    "disorder_moments memory": (
        lambda: anderson.disorder_moments(_rng(), 10, 200, 200, 1.0, energies=(0.1,)),
        r"Ny=200, Nz=200.*\d+\.\d GiB",
    ),
    "lead_modes memory": (lambda: anderson.lead_modes(0.1, 200, 200), r"Ny=200, Nz=200.*GiB"),
    "scattering_states memory": (
        lambda: anderson.scattering_states(np.zeros((3, 150, 150)), 0.1, "L"),
        r"Ny=150, Nz=150.*GiB",
    ),
}


@pytest.mark.parametrize("call, message", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_with_a_message_naming_argument_and_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# 4. a realization function refuses before any work: the random stream is left untouched
REALIZATIONS = {
    "freecircuit cut 0": (
        lambda rng: freecircuit.neas_samples(rng, 200, 1.0, 0.5, 5, cuts=[0]),
        r"cuts.*\[0\]",
    ),
    "freecircuit negativity": (
        lambda rng: freecircuit.neas_samples(rng, 30, 1.0, 0.5, 5, negativity="yes"),
        r"negativity.*'yes'",
    ),
    "circuit delta nan": (
        lambda rng: circuit.neas_samples(rng, 4, 0.5, 0.2, NAN, 2),
        r"delta.*nan",
    ),
    "time_traces p2 nan": (lambda rng: circuit.time_traces(rng, 4, 0.5, NAN, 0.5, 2), r"p2.*nan"),
    "qssep dt": (lambda rng: qssep.qssep_loop_moments(rng, 6, LOOPS, 2, 1.0, dt=0.9), r"dt.*0\.9"),
    "circuit_loop_moments burn_in": (
        lambda rng: freecircuit.loop_moments(rng, 6, 1.0, 0.5, LOOPS, 2, burn_in=-1.0),
        r"burn_in.*-1\.0",
    ),
    "neas_purity burn_in": (
        lambda rng: haarcircuit.neas_purity(rng, 3, 4, burn_in=-5),
        r"burn_in.*-5",
    ),
    "dense_trace p1 nan": (
        lambda rng: quench.dense_trace(rng, [1.0, 0.0, 1.0, 0.0], NAN, 0.0, 0.5, [0, 1]),
        r"p1.*nan",
    ),
    "gaussian_trace delta": (
        lambda rng: quench.gaussian_trace(rng, [1.0, 0.0, 1.0, 0.0], 0.5, 3.0, [0, 1]),
        r"delta.*3\.0",
    ),
    "disorder_moments second energy": (
        lambda rng: anderson.disorder_moments(
            rng, 4, 3, 3, 1.0, leads="RL", energies=(0.1, NAN), weights=(1, -1)
        ),
        r"E.*nan",
    ),
    "disorder_moments band edge": (
        lambda rng: anderson.disorder_moments(
            rng, 4, 3, 3, 1.0, leads="RL", energies=(0.1, 7.0), weights=(1, -1)
        ),
        r"E=7\.0.*no open channel",
    ),
    "energy_correlation second energy": (
        lambda rng: anderson.energy_correlation(rng, 4, 3, 3, 1.0, energies=(0.1, INF)),
        r"E.*inf",
    ),
    "u1_maps weights": (
        lambda rng: anderson.u1_maps(rng, 4, 2, 2, 1.0, 1, weights=(1.0, NAN)),
        r"weights.*nan",
    ),
    "sample_chain rng": (lambda rng: spreading.sample_chain(7, 11, 0.5, 0.5, [1.0], 1), r"rng.*7"),
}


@pytest.mark.parametrize("call, message", REALIZATIONS.values(), ids=REALIZATIONS.keys())
def test_realization_functions_refuse_before_drawing(call, message):
    rng = _rng()
    before = rng.bit_generator.state
    with pytest.raises(ValueError, match=message):
        call(rng)
    assert rng.bit_generator.state == before


# valid inputs stay accepted, with the same results
@pytest.mark.parametrize(
    "modes",
    [
        [1, 3, 4],
        (1, 3, 4),
        np.array([1, 3, 4]),
        np.array([1, 3, 4], dtype=np.int32),
        np.array([1.0, 3.0, 4.0]),
        [np.int64(1), 3, 4],
    ],
)
def test_index_sets_accept_integer_sequences_and_arrays(modes):
    C = freecircuit.evolve(
        freecircuit.local_equilibrium(6, 0.6), 200, np.random.default_rng(2), 1.0, 0.6
    )
    assert gaussian.entropy(C, modes) == gaussian.entropy(C, [1, 3, 4])
    assert gaussian.negativity(C, modes, range(5, 6)) == gaussian.negativity(C, [1, 3, 4], [5])
    rho = _state(5)
    assert np.array_equal(quantum.partial_trace(rho, modes), quantum.partial_trace(rho, [1, 3, 4]))
    assert gaussian.entropy(C, np.int64(2)) == gaussian.entropy(C, [2])
    assert gaussian.entropy(C, []) == 0.0


def test_cuts_accept_numpy_integers_and_empty():
    base = freecircuit.neas_samples(
        np.random.default_rng(3), 8, 1.0, 0.5, 2, cuts=[2, 4], burn_in=2
    )
    again = freecircuit.neas_samples(
        np.random.default_rng(3), 8, 1.0, 0.5, 2, cuts=np.array([2, 4]), burn_in=2
    )
    assert np.array_equal(base["I"], again["I"])
    assert freecircuit.neas_samples(np.random.default_rng(3), 8, 1.0, 0.5, 2, cuts=[], burn_in=2)[
        "I"
    ].shape == (2, 0)


def test_occupations_within_rounding_of_0_and_1_have_zero_entropy():
    """mean_occupations reconstructs 0 and 1 only to rounding (-7e-16 at L = 8): no error."""
    n = quench.mean_occupations(np.arange(8) % 2.0, [0, 1], 0.5, 0.5)
    assert n.min() < 0 or n.max() > 1  # the case this guards
    assert np.array_equal(gaussian.binary_entropy(n), gaussian.binary_entropy(np.clip(n, 0, 1)))
    assert gaussian.binary_entropy([-1e-12, 1 + 1e-12]).tolist() == [0.0, 0.0]


def test_states_within_tolerance_are_accepted():
    """Rounding-level negative eigenvalues and trace errors (below 1e-10 * dim) pass."""
    p = np.array([0.5, 0.5 + 1e-12, -1e-12, 0.0])
    assert quantum.entropy(np.diag(p)) == pytest.approx(np.log(2), abs=1e-10)
    assert quantum.purity(np.diag(p)) == pytest.approx(0.5, abs=1e-10)
    rho = _state(3)
    assert quantum.number_conserving_entropy(rho) == pytest.approx(quantum.entropy(rho), abs=1e-10)
    assert quantum.log_negativity(rho, [0, 2]) >= -1e-12


def test_index_helper_messages():
    with pytest.raises(
        ValueError, match=r"^x must be distinct integers in \[0, 7\], got \[0, 0\]: 0 repeats$"
    ):
        _checks.indices("x", [0, 0], 0, 7)
    with pytest.raises(ValueError, match=r"20 entries\): 8 is out of range"):
        _checks.indices("x", range(20), 0, 7)
    with pytest.raises(ValueError, match=r"x must be distinct integers in \[0, 7\], got x='01'"):
        _checks.indices("x", "01", 0, 7)
    assert _checks.indices("x", [3, 3], 0, 7, distinct=False).tolist() == [3, 3]
    assert _checks.indices("x", [], 0, 7, empty=True).dtype == np.int64


def test_memory_budget_is_the_machine_or_the_variable(monkeypatch):
    monkeypatch.delenv(_checks.MEMORY_VARIABLE, raising=False)
    ram = _checks.memory_budget()
    assert 2**30 < ram < 2**50  # this machine's physical memory
    monkeypatch.setenv(_checks.MEMORY_VARIABLE, "0.5")
    assert _checks.memory_budget() == 2**29
    with pytest.raises(ValueError, match=r"budget of 0\.5 GiB.*NQLIB_MAX_GIB"):
        _checks.memory("a test call", 2**30)
    _checks.memory("a test call", 2**28)
    for bad in ("nan", "-1", "lots"):
        monkeypatch.setenv(_checks.MEMORY_VARIABLE, bad)
        with pytest.raises(
            ValueError, match=f"NQLIB_MAX_GIB must be a positive number of GiB, got.*{bad}"
        ):
            _checks.memory_budget()


def test_one_pass_hermitian_check_is_at_least_as_strict_as_allclose():
    """_checks.hermitian (numba, no temporaries) never accepts what allclose(C, C^H) refuses,
    refuses a perturbation above atol, and names NaN as non-finite."""
    rng = np.random.default_rng(5)
    atol = 1e-9
    for L in (1, 2, 63, 64, 65, 130):
        X = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
        H = X + X.conj().T
        assert _checks.hermitian("C", H, atol) is H
        for f in (0.0, 0.5, 0.9, 1.1, 3.0):  # perturbation in units of the entry's tolerance
            P = H.copy()
            i, j = rng.integers(0, L, size=2)
            P[i, j] += f * (atol + 1e-5 * abs(H[i, j]))
            try:
                accepted = _checks.hermitian("C", P, atol) is P
            except ValueError as error:
                assert "C must be Hermitian" in str(error)
                accepted = False
            assert accepted == (f < 1 or i == j and abs(P[i, i].imag) <= atol), (L, f, i, j)
            assert not accepted or np.allclose(P, P.conj().T, atol=atol)
        N = H.copy()
        N[-1, 0] = np.nan
        with pytest.raises(ValueError, match="C must hold finite numbers"):
            _checks.hermitian("C", N, atol)


def test_unitarity_deviation_matches_the_matrix_product():
    rng = np.random.default_rng(6)
    for n in (1, 2, 4):
        U = rng.normal(size=(7, n, n)) + 1j * rng.normal(size=(7, n, n))
        direct = np.abs(np.swapaxes(U.conj(), -1, -2) @ U - np.eye(n)).max(axis=(-1, -2))
        assert np.allclose(_checks._unitarity_deviation(U), direct, rtol=1e-12, atol=1e-12)
