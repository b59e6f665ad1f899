"""nqlib.plotting: the style helpers and the circuit explorer's curves against the simulator."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nqlib import circuit, freecircuit, plotting, probe  # noqa: E402


def test_circuit_traces_draws_the_deficit_and_the_mutual_information_of_time_traces():
    ax = Figure().subplots()
    plotting.circuit_traces(0.5, 0.5, 0.6, 4, 3, ax=ax)
    direct = circuit.time_traces(np.random.default_rng(3), 4, 0.5, 0.5, 0.6, 2 * 5**2)
    deficit, mutual = ax.lines
    np.testing.assert_array_equal(deficit.get_xdata(), direct["t"] / 25)
    np.testing.assert_allclose(
        deficit.get_ydata(),
        circuit.local_equilibrium_entropy(4, 0.6) - direct["S"],
        rtol=0,
        atol=1e-12,
    )
    np.testing.assert_allclose(mutual.get_ydata(), direct["I"], rtol=0, atol=1e-12)
    assert mutual.get_color() == deficit.get_color() and "p_1=0.5" in deficit.get_label()


def test_circuit_traces_in_phase_one_has_no_mutual_information_and_refuses_p1_plus_p2_above_1(
    capsys,
):
    ax = Figure().subplots()
    plotting.circuit_traces(0.0, 0.5, 0.6, 5, 1, ax=ax)
    assert np.abs(ax.lines[1].get_ydata()).max() < 1e-10  # phase I: products of reservoir states
    plotting.circuit_traces(0.7, 0.6, ax=ax)
    assert "p1 + p2 must be <= 1" in capsys.readouterr().out and len(ax.lines) == 2


def test_probe_explorer_draws_the_centred_pair_it_is_given():
    C = freecircuit.gaussian_model(np.random.default_rng(2), 12, 0.5)[0]
    view = probe.centred_pair(C, 0.5, 4, 1.0, np.linspace(0, 2 * np.pi, 7))
    fringe_ax, reps_ax = Figure().subplots(1, 2)
    plotting.probe_explorer((fringe_ax, reps_ax), view)
    curve, mark = fringe_ax.lines
    np.testing.assert_array_equal(curve.get_ydata(), view.fringe.difference)
    assert (mark.get_xdata()[0], mark.get_ydata()[0]) == (1.0, view.difference)
    assert curve.get_label() == "sites 4–8"
    np.testing.assert_array_equal(reps_ax.lines[0].get_ydata(), view.repetitions)
    assert reps_ax.lines[1].get_xdata()[0] == 4  # the chosen separation marked
    flat = probe.centred_pair(C, 0.0, 4, 1.0, np.linspace(0, 2 * np.pi, 7))
    fringe_ax, reps_ax = Figure().subplots(1, 2)
    plotting.probe_explorer((fringe_ax, reps_ax), flat)
    assert len(reps_ax.lines) == 1  # no coherence: nothing to mark


def test_figsize_refuses_bad_columns():
    assert plotting.figsize(2, 0.5) == (plotting.WIDTH, plotting.WIDTH / 4)
    with pytest.raises(ValueError, match="columns"):
        plotting.figsize(0)
