"""``--plot FILE`` for the examples: save a curve with Matplotlib (the ``plot`` extra) on the headless Agg backend."""
import argparse


def plot_path(argv, description):
    """The FILE of ``--plot FILE`` in ``argv`` (None without it)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--plot", metavar="FILE", default=None, help="save the curve as a PNG (needs matplotlib)")
    return ap.parse_args(argv).plot


def save_curve(path, ys, title, ylabel, xlabel="step", log=False):
    """Write ``ys`` against their index to ``path``; say where."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(len(ys)), ys, marker="." if len(ys) < 60 else None)
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print("saved %s" % path)
