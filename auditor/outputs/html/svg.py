"""Small inline SVG charts made on the server: no chart library, no script, prints as drawn.

Colours come from CSS classes (`sev-high`, `enc-none`, ...) defined in reports/report.css, so a
practice's stylesheet can restyle them. Every label is escaped here: locations are hostile input.
Each chart carries a `<title>` and an aria-label, and its numbers are printed on it, so it reads
without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = 12
ROW = 26
LABEL_CHARS = 34  # labels longer than this are shortened in the middle (the full text is in <title>)
CHAR_WIDTH = 7.0  # a generous average advance of the 12 px sans-serif labels, in px


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    css: str = "bar"
    filter: tuple[str, str] | None = None  # (filter name, value): clicking narrows the findings table


@dataclass(frozen=True)
class Segment:
    label: str
    css: str


@dataclass(frozen=True)
class Marker:
    at: float  # position in bins (2.0 = the edge between bin 1 and bin 2)
    label: str


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 3] + "…" + text[-(keep - keep // 3) :]


def _fmt(value: int) -> str:
    return f"{value:,}"


def _value_room(peak: int) -> int:
    """Room right of the longest bar for its number (bold, so wider than a label's characters):
    '1,627,000' must not run past the chart's edge."""
    return max(40, int(14 + 1.15 * CHAR_WIDTH * len(_fmt(peak))))


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def bar_chart(bars: Sequence[Bar], *, label: str, width: int = 460, label_width: int = 150) -> Markup:
    """Horizontal bars, one per row, value printed at the end of each bar."""
    if not bars:
        return _empty(label, width)
    peak = max((b.value for b in bars), default=0) or 1
    room = width - label_width - _value_room(peak)
    body = []
    for i, bar in enumerate(bars):
        y = 6 + i * ROW
        length = 0 if bar.value == 0 else max(2.0, room * bar.value / peak)
        attrs = ""
        if bar.filter:
            attrs = (
                f' class="clickable" tabindex="0" data-filter="{escape(bar.filter[0])}" '
                f'data-value="{escape(bar.filter[1])}"'
            )
        body.append(
            f"<g{attrs}><title>{escape(bar.label)}: {_fmt(bar.value)}</title>"
            f'<text class="label" x="{label_width - 8}" y="{y + 14}" text-anchor="end">{escape(shorten(bar.label, 22))}</text>'
            f'<rect class="track" x="{label_width}" y="{y + 2}" width="{room}" height="16" rx="3"/>'
            f'<rect class="{escape(bar.css)}" x="{label_width}" y="{y + 2}" width="{length:.1f}" height="16" rx="3"/>'
            f'<text class="value" x="{label_width + length + 6:.1f}" y="{y + 14}">{_fmt(bar.value)}</text></g>'
        )
    return _svg(width, 12 + len(bars) * ROW, label, body)


def stacked_bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]],
    segments: Sequence[Segment],
    *,
    label: str,
    width: int = 620,
    label_width: int | None = None,
) -> Markup:
    """One bar per row split into segments (e.g. a location's recordings by encryption state).

    The label column is as wide as the longest label needs, up to half the chart; a label that
    still does not fit is shortened in the middle, never cut at the chart's edge."""
    if not rows:
        return _empty(label, width)
    longest = max(len(row_label) for row_label, _ in rows)
    if label_width is None:
        label_width = int(min(max(12 + CHAR_WIDTH * longest, 90), width / 2))
    fits = max(int((label_width - 12) / CHAR_WIDTH), 8)
    peak = max((sum(values) for _, values in rows), default=0) or 1
    room = width - label_width - _value_room(peak)
    legend_h = 26
    body = [_legend(segments, 8, 4)]
    for i, (row_label, values) in enumerate(rows):
        y = legend_h + 6 + i * ROW
        x = float(label_width)
        parts = [
            f'<text class="label" x="{label_width - 8}" y="{y + 14}" text-anchor="end">'
            f"<title>{escape(row_label)}</title>{escape(shorten(row_label, fits))}</text>",
            f'<rect class="track" x="{label_width}" y="{y + 2}" width="{room}" height="16" rx="3"/>',
        ]
        for segment, value in zip(segments, values, strict=True):
            if not value:
                continue
            length = room * value / peak
            parts.append(
                f'<rect class="{escape(segment.css)}" x="{x:.1f}" y="{y + 2}" width="{length:.1f}" height="16">'
                f"<title>{escape(row_label)}: {_fmt(value)} {escape(segment.label)}</title></rect>"
            )
            x += length
        parts.append(f'<text class="value" x="{x + 6:.1f}" y="{y + 14}">{_fmt(sum(values))}</text>')
        body.append("<g>" + "".join(parts) + "</g>")
    return _svg(width, legend_h + 12 + len(rows) * ROW, label, body)


def histogram(
    bins: Sequence[Bar],
    *,
    label: str,
    markers: Sequence[Marker] = (),
    width: int = 620,
    height: int = 220,
) -> Markup:
    """Vertical columns with bin labels below; markers draw dashed limit lines between bins."""
    if not bins:
        return _empty(label, width)
    left, bottom, top = 40, 44, 30
    plot_h = height - bottom - top
    slot = (width - left - 10) / len(bins)
    peak = max((b.value for b in bins), default=0) or 1
    body = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}"/>',
    ]
    for i, bar in enumerate(bins):
        h = 0 if bar.value == 0 else max(2.0, plot_h * bar.value / peak)
        x = left + i * slot + slot * 0.12
        w = slot * 0.76
        body.append(
            f"<g><title>{escape(bar.label)}: {_fmt(bar.value)}</title>"
            f'<rect class="{escape(bar.css)}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" rx="2"/>'
            f'<text class="value" x="{x + w / 2:.1f}" y="{top + plot_h - h - 5:.1f}" text-anchor="middle">{_fmt(bar.value)}</text>'
            f'<text class="label" x="{x + w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(bar.label)}</text></g>'
        )
    for n, marker in enumerate(markers):
        x = left + marker.at * slot
        y = top - 8 - (n % 2) * 12
        body.append(
            f'<g class="marker"><line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h + 4}"/>'
            f'<text x="{x + 3:.1f}" y="{y + 12}">{escape(marker.label)}</text></g>'
        )
    body.append(
        f'<text class="label" x="{left + (width - left) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        "age of recording (days since recorded, as of the audit day)</text>"
    )
    return _svg(width, height, label, body)


def stacked_columns(
    columns: Sequence[tuple[str, Sequence[int]]],
    segments: Sequence[Segment],
    *,
    label: str,
    width: int = 620,
    height: int = 220,
) -> Markup:
    """One column per audit (the trend), split by severity, total printed on top. A column label may
    hold two lines ("day\ntime")."""
    if not columns:
        return _empty(label, width)
    left, bottom, top = 40, 48, 34
    plot_h = height - bottom - top
    slot = (width - left - 10) / max(len(columns), 1)
    peak = max((sum(v) for _, v in columns), default=0) or 1
    body = [
        _legend(segments, left, 4),
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}"/>',
    ]
    every = max(1, -(-70 // int(max(slot, 1))))  # label every n-th column so labels never overlap
    for i, (col_label, values) in enumerate(columns):
        x = left + i * slot + slot * 0.2
        w = min(slot * 0.6, 48)
        y = float(top + plot_h)
        parts = []
        for segment, value in zip(segments, values, strict=True):
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect class="{escape(segment.css)}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}">'
                f"<title>{escape(col_label)}: {_fmt(value)} {escape(segment.label)}</title></rect>"
            )
        lines = col_label.split("\n")
        below = "".join(
            f'<tspan x="{x + w / 2:.1f}" dy="{0 if n == 0 else 13}">{escape(text)}</tspan>'
            for n, text in enumerate(lines)
        )
        parts.append(
            f"<title>{escape(' '.join(lines))}: {_fmt(sum(values))} open</title>"
            f'<text class="value" x="{x + w / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle">{_fmt(sum(values))}</text>'
        )
        if i % every == 0 or i == len(columns) - 1:
            parts.append(
                f'<text class="label" x="{x + w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{below}</text>'
            )
        body.append("<g>" + "".join(parts) + "</g>")
    return _svg(width, height, label, body)


def _legend(segments: Sequence[Segment], x0: float, y0: float) -> str:
    parts = []
    x = x0
    for segment in segments:
        parts.append(
            f'<rect class="{escape(segment.css)}" x="{x:.0f}" y="{y0 + 2}" width="12" height="12" rx="2"/>'
            f'<text class="legend" x="{x + 17:.0f}" y="{y0 + 12}">{escape(segment.label)}</text>'
        )
        x += 30 + 6.6 * len(segment.label)
    return '<g class="legend">' + "".join(parts) + "</g>"


def _empty(label: str, width: int) -> Markup:
    return _svg(
        width,
        40,
        label,
        [f'<text class="label" x="8" y="24">{escape(label)}: nothing to show</text>'],
    )
