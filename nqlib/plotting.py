"""One figure style for the whole book.

Every chapter calls :func:`use_style` once and draws with matplotlib as usual. The style fixes
figure sizes, font sizes readable on a projector, and a colour cycle that stays distinguishable
for colour-blind readers (the Okabe–Ito palette).
"""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from nqlib import circuit
from nqlib.anderson import cut_pairs
from nqlib.cumulants import cyclic_cumulant

__all__ = [
    "COLORS",
    "WIDTH",
    "use_style",
    "figsize",
    "loop_cuts",
    "anderson_imbalances",
    "probe_explorer",
    "circuit_traces",
]

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


# --------------------------------------------------------------------------- QSSEP chapter figures
def loop_cuts(cut, x, title, cuts_y2, cuts_yz, dn3=1.0, exact_pair=None):
    """Measured g2 cuts at y in ``cuts_y2`` and g3 cuts at (y, z) in ``cuts_yz`` with error bars,
    against QSSEP's g2 and g3 (imbalance ``dn3`` for g3); crosses: ``(N+1) exact_pair`` if given.
    ``cut`` is a :class:`nqlib.cumulants.CutCumulants`, ``x`` the site coordinates. Returns
    (fig, axes); the chapter shows it."""
    N = len(x)
    fig, axes = plt.subplots(1, 2, figsize=figsize(2, 0.8))
    xx = np.linspace(0, 1, 200)
    for y, color in zip(cuts_y2, COLORS):
        j = int(np.argmin(np.abs(x - y)))
        axes[0].errorbar(
            x, cut.g2[:, j], cut.g2_err[:, j], fmt="o", ms=3, color=color, label=f"$y = {x[j]:.2f}$"
        )
        axes[0].plot(xx, cyclic_cumulant([xx, x[j]]), color=color, lw=1)
        if exact_pair is not None:
            axes[0].plot(x, (N + 1) * exact_pair[:, j].real, "x", color=color, ms=4)
    axes[0].set(
        xlabel="$x$", ylabel=r"$(N+1)\,\mathbb{E}[G_{ij}G_{ji}]^c$", title=f"{title}: $g_2$"
    )
    for k, ((y, z), color) in enumerate(zip(cuts_yz, COLORS)):
        axes[1].errorbar(
            x, cut.g3[k], cut.g3_err[k], fmt="o", ms=3, color=color, label=f"$y = {y}$, $z = {z}$"
        )
        axes[1].plot(xx, cyclic_cumulant([xx, y, z], dn=dn3), color=color, lw=1)
    axes[1].set(
        xlabel="$x$", ylabel=r"$(N+1)^2\,\mathbb{E}[G_{ij}G_{jk}G_{ki}]^c$", title=f"{title}: $g_3$"
    )
    for ax in axes:
        ax.legend(fontsize=8)
    return fig, axes


def anderson_imbalances(fitted, title, cuts_y2, cuts_yz, dn=None):
    """g1 profiles, g2 cuts at y in ``cuts_y2`` and the first g3 cut of ``cuts_yz`` for every size
    of ``fitted`` ({N: :class:`nqlib.anderson.Imbalances`}), with QSSEP curves at the imbalances
    fitted at the largest size (or those given in ``dn``, {order: value}, for orders 1 and 2).
    Returns (fig, axes); the chapter shows it."""
    fig, axes = plt.subplots(1, 3, figsize=figsize(3, 1.2))
    N_big = max(fitted)
    xx = np.linspace(0, 1, 200)
    for (N, f), color in zip(fitted.items(), COLORS):
        axes[0].errorbar(f.x, f.g1, f.g1_err, fmt="o", ms=3, color=color, label=f"N = {N}")
        for y, ls in zip(cuts_y2, ("-", "--")):
            j = int(np.argmin(np.abs(f.x - y)))
            axes[1].errorbar(
                f.x,
                f.g2[:, j],
                f.g2_err[:, j],
                fmt="o" if ls == "-" else "s",
                ms=3,
                color=color,
                label=f"N = {N}, y = {f.x[j]:.2f}" if N == N_big else None,
            )
        axes[2].errorbar(f.x, f.g3[0], f.g3_err[0], fmt="o", ms=3, color=color, label=f"N = {N}")
    f = fitted[N_big]
    d1, d2, d3 = (dn or {}).get(1, f.dn1[0]), (dn or {}).get(2, f.dn2[0]), f.dn3[0]
    axes[0].plot(xx, d1 * (xx - 0.5) + f.g1.mean(), color=COLORS[7], lw=1, label=rf"slope {d1:.2f}")
    for y in cuts_y2:
        j = int(np.argmin(np.abs(f.x - y)))
        axes[1].plot(xx, cyclic_cumulant([xx, f.x[j]], dn=d2), color=COLORS[7], lw=1)
    j, k = cut_pairs(N_big, cuts_yz)[0]
    axes[2].plot(
        xx,
        cyclic_cumulant([xx, f.x[j], f.x[k]], dn=d3),
        color=COLORS[7],
        lw=1,
        label=rf"$g_3^Q$, $\Delta n = {d3:.2f}$",
    )
    axes[2].plot(
        xx,
        cyclic_cumulant([xx, f.x[j], f.x[k]], dn=d2),
        color=COLORS[7],
        lw=1,
        ls=":",
        label=r"$g_3^Q$, $\Delta n = \Delta n^{(2)}$",
    )
    span = max(np.abs(f.g3[0]).max() for f in fitted.values())
    axes[2].set_ylim(-2.5 * span, 2.5 * span)
    axes[0].set(xlabel="$x$", ylabel="$g_1^A$", title=f"{title}: density")
    axes[1].set(xlabel="$x$", ylabel="$g_2^A$", title="$g_2^A(x, y)$; line: $g_2^Q$")
    axes[2].set(
        xlabel="$x$",
        ylabel="$g_3^A$",
        title=f"$g_3^A(x, y, z)$, $y = {cuts_yz[0][0]}$, $z = {cuts_yz[0][1]}$",
    )
    for ax in axes:
        ax.legend(fontsize=7)
    return fig, axes


def probe_explorer(axes, view):
    """Draw the probe chapter's explorer from a :class:`nqlib.probe.CentredPair`: (a) the
    pair's fringe with the chosen phase marked, (b) the repetitions per phase against the
    separation, the chosen one marked when delta != 0.

    ``axes`` is a pair of matplotlib axes, or None for a new figure.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=figsize(2, 0.7))
    axes[0].plot(view.phases, view.fringe.difference, label=f"sites {view.i}–{view.j}")
    axes[0].plot([view.phase], [view.difference], "ko")
    axes[0].set(
        xlabel=r"splitter phase $\phi$",
        ylabel=r"$I_L - I_R$",
        title=rf"one state, $\delta = {view.delta}$",
    )
    axes[0].legend(fontsize=8)
    axes[1].semilogy(view.separations, view.repetitions)
    if view.delta != 0:
        nearest = np.argmin(np.abs(view.separations - view.separation))
        axes[1].semilogy([view.separation], [view.repetitions[nearest]], "ko")
    axes[1].set(
        xlabel="separation $j - i$ (sites)",
        ylabel="repetitions per phase ($s = 3$)",
        title=rf"$L = {view.L}$, pair centred",
    )


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
    ax.plot(
        t,
        circuit.local_equilibrium_entropy(L, delta) - trace["S"],
        label=rf"$\Delta S$, $p_1={p1}, p_2={p2}$",
    )
    ax.plot(t, trace["I"], "--", color=ax.lines[-1].get_color(), label=r"$I(L{:}R)$")
    ax.set(xlabel="$t/(L+1)^2$", ylabel="nats", title=rf"one circuit, $L={L}$, $\delta={delta}$")
    ax.legend(fontsize=8)
    if show:
        plt.show()
