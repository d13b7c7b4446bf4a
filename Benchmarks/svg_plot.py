"""Small hand-written SVG charts for the benchmark report (no plotting library needed)."""

import html
import math

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _esc(s):
    return html.escape(str(s), quote=True)


def _fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}"


def _log_ticks(lo, hi):
    ticks, e = [], math.floor(math.log10(lo))
    while 10 ** e <= hi * 1.0001:
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo * 0.9999 <= v <= hi * 1.0001:
                ticks.append(v)
        e += 1
    return ticks or [lo, hi]


def grouped_bars(title, categories, series, unit, log=True):
    """Horizontal grouped bars: one group per category, one bar per series (dict name -> values,
    None = no figure). Log scale by default: peers differ by orders of magnitude."""
    names = list(series)
    vals = [v for s in series.values() for v in s if v is not None and v > 0]
    if not vals:
        vals = [1.0]
    lo, hi = min(vals), max(vals)
    if log:
        lo = 10 ** math.floor(math.log10(lo))
        hi = 10 ** math.ceil(math.log10(hi))
    else:
        lo = 0.0
    bar_h, gap, left, right, top = 12, 10, 260, 90, 50
    group_h = bar_h * len(names) + gap
    width = 900
    height = top + group_h * len(categories) + 50
    plot_w = width - left - right

    def x(v):
        if log:
            return left + plot_w * (math.log10(v) - math.log10(lo)) / max(1e-9, math.log10(hi) - math.log10(lo))
        return left + plot_w * v / (hi or 1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" {FONT}>{_esc(title)}</text>']
    ticks = _log_ticks(lo, hi) if log else [hi * i / 5 for i in range(6)]
    axis_y = top + group_h * len(categories)
    for t in ticks:
        tx = x(t) if (t > 0 or not log) else left
        out.append(f'<line x1="{tx:.1f}" y1="{top - 5}" x2="{tx:.1f}" y2="{axis_y}" stroke="#ddd"/>')
        out.append(f'<text x="{tx:.1f}" y="{axis_y + 15}" text-anchor="middle" font-size="10" {FONT}>{_esc(_fmt(t))}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{axis_y + 32}" text-anchor="middle" font-size="11" {FONT}>'
               f'{_esc(unit)}{" (log scale)" if log else ""}</text>')
    for gi, cat in enumerate(categories):
        gy = top + gi * group_h
        out.append(f'<text x="{left - 8}" y="{gy + group_h / 2}" text-anchor="end" font-size="11" {FONT}>{_esc(cat)}</text>')
        for si, name in enumerate(names):
            v = series[name][gi]
            by = gy + si * bar_h
            if v is None or (log and v <= 0):
                out.append(f'<text x="{left + 4}" y="{by + bar_h - 2}" font-size="9" fill="#888" {FONT}>{_esc(name)}: n/a</text>')
                continue
            w = max(1.0, x(v) - left)
            out.append(f'<rect x="{left}" y="{by}" width="{w:.1f}" height="{bar_h - 2}" fill="{PALETTE[si % len(PALETTE)]}">'
                       f'<title>{_esc(name)}: {_esc(_fmt(v))} {_esc(unit)}</title></rect>')
            out.append(f'<text x="{left + w + 3:.1f}" y="{by + bar_h - 3}" font-size="9" {FONT}>{_esc(_fmt(v))}</text>')
    for si, name in enumerate(names):
        lx = left + si * 120
        out.append(f'<rect x="{lx}" y="30" width="10" height="10" fill="{PALETTE[si % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 14}" y="39" font-size="11" {FONT}>{_esc(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def line_chart(title, series, xlabel, ylabel, logx=True, logy=True):
    """series: dict name -> list of (x, y). Points with y None or <= 0 (on a log axis) are skipped."""
    pts = [(px, py) for s in series.values() for px, py in s if py is not None and py > 0]
    if not pts:
        pts = [(1, 1), (2, 2)]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if logy:
        y0, y1 = 10 ** math.floor(math.log10(y0)), 10 ** math.ceil(math.log10(y1))
    else:
        y0, y1 = 0, y1 * 1.1
    if x0 == x1:
        x1 = x0 * 2
    width, height, left, right, top, bottom = 760, 440, 80, 170, 40, 60
    pw, ph = width - left - right, height - top - bottom

    def fx(v):
        if logx:
            return left + pw * (math.log2(v) - math.log2(x0)) / (math.log2(x1) - math.log2(x0))
        return left + pw * (v - x0) / (x1 - x0)

    def fy(v):
        if logy:
            return top + ph - ph * (math.log10(v) - math.log10(y0)) / max(1e-9, math.log10(y1) - math.log10(y0))
        return top + ph - ph * (v - y0) / ((y1 - y0) or 1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left + pw / 2}" y="22" text-anchor="middle" font-size="15" {FONT}>{_esc(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for t in (_log_ticks(y0, y1) if logy else [y0 + (y1 - y0) * i / 5 for i in range(6)]):
        ty = fy(t)
        out.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + pw}" y2="{ty:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="10" {FONT}>{_esc(_fmt(t))}</text>')
    for t in sorted(set(xs)):
        tx = fx(t)
        out.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{tx:.1f}" y="{top + ph + 15}" text-anchor="middle" font-size="10" {FONT}>{_esc(t)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 20}" text-anchor="middle" font-size="11" {FONT}>{_esc(xlabel)}</text>')
    out.append(f'<text x="18" y="{top + ph / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 18 {top + ph / 2})" {FONT}>'
               f'{_esc(ylabel)}{" (log scale)" if logy else ""}</text>')
    for si, (name, s) in enumerate(series.items()):
        color = PALETTE[si % len(PALETTE)]
        good = [(px, py) for px, py in sorted(s) if py is not None and py > 0]
        if len(good) > 1:
            d = " ".join(f"{'M' if i == 0 else 'L'}{fx(px):.1f},{fy(py):.1f}" for i, (px, py) in enumerate(good))
            out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        for px, py in good:
            out.append(f'<circle cx="{fx(px):.1f}" cy="{fy(py):.1f}" r="3.5" fill="{color}">'
                       f'<title>{_esc(name)}: {_esc(px)} → {_esc(_fmt(py))}</title></circle>')
        ly = top + 10 + si * 18
        out.append(f'<line x1="{left + pw + 12}" y1="{ly}" x2="{left + pw + 30}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 35}" y="{ly + 4}" font-size="11" {FONT}>{_esc(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
