"""One figure style for the whole book.

Every chapter calls :func:`use_style` once and draws with matplotlib as usual. The style fixes
figure sizes, font sizes readable on a projector, and a colour cycle that stays distinguishable
for colour-blind readers (the Okabe–Ito palette).
"""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from nqlib import circuit

__all__ = ["COLORS", "WIDTH", "use_style", "figsize", "circuit_traces"]

#: Okabe & Ito (2008) colour-blind-safe palette, black last.
COLORS = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: width of a full-width figure in inches
WIDTH = 7.0


def use_style():
    """Apply the book's matplotlib style (idempotent)."""
    mpl.rcParams.update(
        {
            "figure.figsize": figsize(),
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "figure.constrained_layout.use": True,
            "font.size": 11,
            "axes.titlesize": 11,
            "axes.labelsize": 11,
            "legend.fontsize": 9.5,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "axes.prop_cycle": mpl.cycler(color=COLORS),
            "axes.grid": True,
            "grid.alpha": 0.25,
            "lines.linewidth": 1.8,
            "lines.markersize": 5,
            "errorbar.capsize": 2,
            "legend.frameon": False,
            "image.cmap": "cividis",
        }
    )


def figsize(columns=1, aspect=0.62):
    """(width, height) in inches for a row of ``columns`` panels, each ``aspect`` high/wide."""
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got columns={columns!r}")
    if aspect <= 0:
        raise ValueError(f"aspect must be > 0, got aspect={aspect!r}")
    return (WIDTH, WIDTH / columns * aspect)


def circuit_traces(p1=0.3, p2=0.3, delta=0.6, L=6, seed=1, ax=None):
    """Entropy deficit and half-chain mutual information of one circuit against time.

    Runs :func:`nqlib.circuit.time_traces` for 2 (L+1)**2 time units from local equilibrium
    (seed ``seed``) and draws Delta S = S_LE - S (solid) and I(L:R) (dashed, same colour) on
    ``ax``, or on a new figure that is shown. The chapter's explorer: with p1 + p2 > 1 it prints
    a note and draws nothing (a slider position, not an error).

    References
    ----------
    GH Fig. 2 (the phases in time); chapter {doc}`circuit_phases`.
    """
    if p1 + p2 > 1:
        print("p1 + p2 must be <= 1")
        return
    trace = circuit.time_traces(np.random.default_rng(seed), L, p1, p2, delta, 2 * (L + 1) ** 2)
    show = ax is None
    if ax is None:
        _, ax = plt.subplots()
    t = trace["t"] / (L + 1) ** 2
    ax.plot(t, circuit.local_equilibrium_entropy(L, delta) - trace["S"],
            label=rf"$\Delta S$, $p_1={p1}, p_2={p2}$")
    ax.plot(t, trace["I"], "--", color=ax.lines[-1].get_color(), label=r"$I(L{:}R)$")
    ax.set(xlabel="$t/(L+1)^2$", ylabel="nats", title=rf"one circuit, $L={L}$, $\delta={delta}$")
    ax.legend(fontsize=8)
    if show:
        plt.show()
