"""PNG plots of a run (matplotlib, Agg backend): CDF, stage breakdown, timeline, RSS."""

import math
from typing import Mapping, Sequence

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

STAGE_COLUMNS = (('embed_ms', 'embed'), ('retrieve_ms', 'retrieve'),
                 ('generate_ms', 'generate'), ('validate_ms', 'validate'),
                 ('server_other_ms', 'server other'), ('transport_ms', 'transport'))


def latency_cdf(path: str, series: Mapping[str, Sequence[float]], deadline_ms: float,
                title: str = 'End-to-end latency (round trip)') -> None:
    """Plot the empirical CDF of each planner's latencies, log x axis."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, values in series.items():
        arr = np.sort(np.asarray([v for v in values if math.isfinite(v) and v > 0]))
        if arr.size == 0:
            continue
        y = np.arange(1, arr.size + 1) / arr.size
        ax.step(arr, y, where='post', label=f'{label} (n={arr.size})')
    ax.axvline(deadline_ms, color='red', linestyle='--', linewidth=1,
               label=f'deadline {deadline_ms:g} ms')
    ax.set_xscale('log')
    ax.set_xlabel('latency [ms]')
    ax.set_ylabel('fraction of requests')
    ax.set_ylim(0, 1.01)
    ax.grid(True, which='both', alpha=0.3)
    ax.set_title(title)
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def stage_breakdown(path: str, breakdowns: Mapping[str, Mapping[str, Mapping]],
                    title: str = 'Where the time goes (mean ms per request)') -> None:
    """
    Plot stacked mean milliseconds per stage for every planner (horizontal, linear).

    A planner far slower than the others (the LLM) is drawn cut at the edge
    of the axis with its total written next to it.
    """
    labels = list(breakdowns)
    totals = np.asarray([sum(v.get('mean', 0.0) for v in breakdowns[lbl].values())
                         for lbl in labels])
    small = totals[totals > 0]
    ref = float(np.median(small)) if small.size else 1.0
    limit = max(1.0, 1.35 * max((t for t in totals if t <= 20 * ref), default=1.0))
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(labels) + 1.8))
    left = np.zeros(len(labels))
    for key, name in STAGE_COLUMNS:
        vals = np.asarray([breakdowns[lbl].get(key, {}).get('mean', 0.0) for lbl in labels])
        if not vals.any():
            continue
        ax.barh(labels, np.minimum(vals, np.maximum(0.0, limit - left)), left=left,
                label=name)
        left += vals
    for i, total in enumerate(totals):
        text = f'{total:.1f} ms' if total <= limit else f'{total:,.0f} ms (cut) \u2192'
        ax.text(limit * 0.98 if total > limit else total, i, ' ' + text, va='center',
                ha='right' if total > limit else 'left', fontsize=8,
                color='white' if total > limit else 'black')
    ax.set_xlim(0, limit)
    ax.invert_yaxis()
    ax.set_xlabel('mean ms per request')
    ax.set_title(title)
    ax.legend(fontsize=8, loc='upper center', bbox_to_anchor=(0.5, -0.18), ncol=6,
              frameon=False)
    ax.grid(True, axis='x', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_timeline(path: str, series: Mapping[str, tuple], faults: Sequence,
                     deadline_ms: float, grace_ms: float = 10.0, time_label: str = 'time [s]',
                     title: str = 'Latency over time (faults shaded)') -> None:
    """
    Scatter latency against time per planner; fault windows shaded and labelled.

    ``series`` maps label -> (times, latencies, fallback flags); ``faults`` are
    objects with ``start_s``, ``end_s`` and ``label`` on the same time axis.
    """
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for label, (times, lat, fb) in series.items():
        t = np.asarray(times, dtype=float)
        y = np.asarray(lat, dtype=float)
        f = np.asarray(fb, dtype=bool)
        if t.size == 0:
            continue
        p = ax.scatter(t[~f], y[~f], s=3, alpha=0.5, label=f'{label}')
        if f.any():
            ax.scatter(t[f], y[f], s=6, marker='x', color=p.get_facecolor()[0],
                       label=f'{label} fallback chain / degraded stage')
    ymax = ax.get_ylim()[1]
    for event in faults:
        ax.axvspan(event.start_s, event.end_s, color='orange', alpha=0.2)
        ax.text(event.start_s, ymax, event.label, fontsize=7, rotation=90, va='top')
    ax.axhline(deadline_ms, color='red', linestyle='--', linewidth=1, label='deadline')
    ax.axhline(deadline_ms + grace_ms, color='red', linestyle=':', linewidth=1,
               label=f'deadline + {grace_ms:g} ms')
    ax.set_yscale('log')
    ax.set_xlabel(time_label)
    ax.set_ylabel('latency [ms]')
    ax.set_title(title)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7, loc='upper right', markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rss_over_time(path: str, series: Mapping[str, tuple],
                  title: str = 'Resident memory of the planner processes') -> None:
    """Plot RSS (MiB) over time, one line per process; ``series`` label -> (t, bytes)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for label, (times, rss) in series.items():
        if len(times):
            ax.plot(times, np.asarray(rss, dtype=float) / 2**20, label=label)
    ax.set_xlabel('time [s]')
    ax.set_ylabel('RSS [MiB]')
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
