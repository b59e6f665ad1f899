"""One figure style for the whole book.

Every chapter calls :func:`use_style` once and draws with matplotlib as usual. The style fixes
figure sizes, font sizes readable on a projector, and a colour cycle that stays distinguishable
for colour-blind readers (the Okabe–Ito palette).
"""

import matplotlib as mpl
import numpy as np

__all__ = ["COLORS", "WIDTH", "use_style", "figsize", "probe_explorer"]

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


def probe_explorer(axes, phases, difference, phase, at_phase, separations, repetitions, *,
                   separation, delta, label, L):
    """Draw the probe chapter's explorer: (a) one fringe with the chosen phase marked, (b) the
    repetitions per phase against the separation, the chosen one marked when delta > 0.

    ``axes`` is a pair of matplotlib axes, or None for a new figure that is shown at once.
    """
    show = axes is None
    if show:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=figsize(2, 0.7))
    axes[0].plot(phases, difference, label=label)
    axes[0].plot([phase], [at_phase], "ko")
    axes[0].set(xlabel=r"splitter phase $\phi$", ylabel=r"$I_L - I_R$",
                title=rf"one state, $\delta = {delta}$")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(separations, repetitions)
    if delta > 0:
        nearest = np.argmin(np.abs(separations - separation))
        axes[1].semilogy([separation], [repetitions[nearest]], "ko")
    axes[1].set(xlabel="separation $j - i$ (sites)", ylabel="repetitions per phase ($s = 3$)",
                title=rf"$L = {L}$, pair centred")
    if show:
        plt.show()
