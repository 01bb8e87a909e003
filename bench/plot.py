#!/usr/bin/env python3
"""Draws every benchmark result in bench/results/*.csv as SVG charts in docs/plots/.

Python 3 standard library only: the SVG is written by hand. Each known CSV (written by a
benchmark in bench/) becomes one or more grouped bar charts, evert next to its baseline:

  latency.csv   write-to-subscriber latency p50 and p99 (log scale), per table size
  lookup.csv    point-lookup queries/s and p99 latency, per number of clients
  ingest.csv    rows/s by COPY and batched INSERT
  create.csv    CREATE MATERIALIZED VIEW time per view, empty and loaded inputs (log scale)
  storage.csv   group commit writes/s per number of clients
  nexmark.csv   events/s per NEXMark query, evert vs hand-written, 1 and 2 workers

Usage: python3 bench/plot.py [--results DIR] [--out DIR]
"""

import argparse
import csv
import math
import os
import sys
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Colour-blind-safe palette (Okabe–Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fmt(value):
    """A short label for a value: 3 significant digits, k/M suffixes."""
    if value is None:
        return ""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.3g}M"
    if a >= 1e4:
        return f"{value / 1e3:.3g}k"
    if a >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def nice_ticks(top, count=5):
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= raw:
            break
    step *= magnitude
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def bar_chart(title, groups, series, ylabel, log=False, subtitle=None):
    """An SVG grouped bar chart.

    groups: labels along the x axis; series: [(name, [value or None per group])].
    """
    width, height = 760, 420
    left, right, top, bottom = 80, 20, 60, 80
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None and (v > 0 or not log)]
    if not values:
        values = [1.0]
    if log:
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        if hi <= lo:
            hi = lo * 10
        ticks = []
        t = lo
        while t <= hi * 1.0001:
            ticks.append(t)
            t *= 10

        def y(v):
            v = max(v, lo)
            return top + plot_h - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * plot_h
    else:
        ticks = nice_ticks(max(values) * 1.08)
        hi = ticks[-1]

        def y(v):
            return top + plot_h - (v / hi) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="{width / 2}" y="42" text-anchor="middle" fill="#555">{escape(subtitle)}</text>')
    # Axes and grid.
    for t in ticks:
        ty = y(t)
        out.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="black"/>')
    out.append(
        f'<text x="18" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + plot_h / 2})">{escape(ylabel + (" (log scale)" if log else ""))}</text>'
    )
    # Bars.
    n_groups, n_series = max(len(groups), 1), max(len(series), 1)
    group_w = plot_w / n_groups
    bar_w = group_w * 0.8 / n_series
    for g, label in enumerate(groups):
        gx = left + g * group_w + group_w * 0.1
        for s, (_, vs) in enumerate(series):
            v = vs[g] if g < len(vs) else None
            if v is None or (log and v <= 0):
                continue
            x = gx + s * bar_w
            by = y(v)
            base = top + plot_h
            out.append(
                f'<rect x="{x:.1f}" y="{by:.1f}" width="{bar_w * 0.92:.1f}" height="{max(base - by, 0.5):.1f}" '
                f'fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(series[s][0])}: {fmt(v)}</title></rect>'
            )
            if bar_w >= 22:
                out.append(f'<text x="{x + bar_w * 0.46:.1f}" y="{by - 3:.1f}" text-anchor="middle" font-size="10">{fmt(v)}</text>')
        out.append(
            f'<text x="{gx + group_w * 0.4:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    # Legend, below the axis.
    lx, ly = left, height - 30
    for s, (name, _) in enumerate(series):
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">{escape(name)}</text>')
        lx += 24 + 7 * len(name)
        if lx > width - 120:
            lx, ly = left, ly + 16
    out.append("</svg>")
    return "\n".join(out) + "\n"


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def ordered(values):
    """Distinct values in first-seen order."""
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def pivot(rows, group_key, series_key, value_key, group_sort=None):
    groups = ordered(r[group_key] for r in rows)
    if group_sort:
        groups.sort(key=group_sort)
    names = ordered(r[series_key] for r in rows)
    series = []
    for name in names:
        vs = []
        for g in groups:
            match = [number(r[value_key]) for r in rows if r[group_key] == g and r[series_key] == name]
            vs.append(match[-1] if match else None)
        series.append((name, vs))
    return groups, series


def rows_label(n):
    return f"{fmt(float(n))} rows"


def plot_latency(rows):
    groups = ordered(r["rows"] for r in rows)
    groups.sort(key=float)
    systems = ordered(r["system"] for r in rows)
    series = []
    for metric in ("p50_ms", "p99_ms"):
        for s in systems:
            vs = []
            for g in groups:
                m = [number(r[metric]) for r in rows if r["rows"] == g and r["system"] == s]
                vs.append(m[-1] if m else None)
            series.append((f"{s} {metric[:3]}", vs))
    return {
        "latency": bar_chart(
            "Write-to-subscriber latency (join + aggregate view)",
            [rows_label(g) for g in groups],
            series,
            "milliseconds",
            log=True,
            subtitle="time from a write's acknowledgement to its change reaching a reader",
        )
    }


def plot_lookup(rows):
    key = lambda c: float(c)
    groups, qps = pivot(rows, "clients", "system", "qps", key)
    _, p99 = pivot(rows, "clients", "system", "p99_ms", key)
    labels = [f"{g} clients" for g in groups]
    return {
        "lookup_qps": bar_chart("Point lookups on an indexed view: throughput", labels, qps, "queries/s"),
        "lookup_p99": bar_chart("Point lookups on an indexed view: p99 latency", labels, p99, "milliseconds"),
    }


def plot_ingest(rows):
    groups = ordered(r["method"] for r in rows)
    series = []
    for s in ordered(r["system"] for r in rows):
        ack = [next((number(r["acknowledged_rows_per_s"]) for r in rows if r["system"] == s and r["method"] == g), None) for g in groups]
        if s == "evert":
            series.append(("evert (acknowledged)", ack))
            vis = [next((number(r["visible_rows_per_s"]) for r in rows if r["system"] == s and r["method"] == g), None) for g in groups]
            series.append(("evert (visible in 3 views)", vis))
        else:
            series.append((s, ack))
    labels = ["COPY FROM STDIN" if g == "copy" else "batched INSERT" if g == "insert" else g for g in groups]
    return {"ingest": bar_chart("Ingest into a table feeding 3 views", labels, series, "rows/s")}


def plot_create(rows):
    groups = ordered(r["view"] for r in rows)
    series = []
    for s in ordered(r["system"] for r in rows):
        for n in ordered(r["input_rows"] for r in rows if r["system"] == s):
            vs = [next((number(r["seconds"]) * 1000 for r in rows if r["system"] == s and r["input_rows"] == n and r["view"] == g), None) for g in groups]
            series.append((f"{s}, {rows_label(n)}", vs))
    return {"create": bar_chart("CREATE MATERIALIZED VIEW until it answers", groups, series, "milliseconds", log=True)}


def plot_storage(rows):
    commit = [r for r in rows if r.get("benchmark") == "group_commit"]
    if not commit:
        return {}
    groups, series = pivot(commit, "clients", "system", "per_s", float)
    return {
        "storage_group_commit": bar_chart(
            "Acknowledged single-row INSERTs (fsync per commit)",
            [f"{g} clients" for g in groups],
            series,
            "writes/s",
        )
    }


def plot_nexmark(rows):
    groups = ordered(r["query"] for r in rows)
    series = []
    for s in ordered(r["system"] for r in rows):
        for w in ordered(r["workers"] for r in rows if r["system"] == s):
            vs = [next((number(r["events_per_s"]) for r in rows if r["system"] == s and r["workers"] == w and r["query"] == g), None) for g in groups]
            series.append((f"{s}, {w} worker{'s' if w != '1' else ''}", vs))
    return {"nexmark": bar_chart("Nexmark: events/s per query", groups, series, "events/s", log=True)}


PLOTTERS = {
    "latency": plot_latency,
    "lookup": plot_lookup,
    "ingest": plot_ingest,
    "create": plot_create,
    "storage": plot_storage,
    "nexmark": plot_nexmark,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "plots"))
    args = parser.parse_args()
    if not os.path.isdir(args.results):
        print(f"no results in {args.results}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    written = 0
    for name in sorted(os.listdir(args.results)):
        if not name.endswith(".csv"):
            continue
        stem = name[:-4]
        plotter = PLOTTERS.get(stem)
        if plotter is None:
            print(f"skipped {name}: no plot for it")
            continue
        rows = read(os.path.join(args.results, name))
        if not rows:
            print(f"skipped {name}: empty")
            continue
        for chart, svg in plotter(rows).items():
            path = os.path.join(args.out, f"{chart}.svg")
            with open(path, "w") as f:
                f.write(svg)
            print(f"wrote {os.path.relpath(path, ROOT)}")
            written += 1
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
