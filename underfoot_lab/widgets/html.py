"""HTML for the notebook widgets: escaping helpers and small renderers (table, map, waterfall).

Everything an upstream sends (titles, descriptions, URLs, place names, error messages) is
**untrusted**: a Reddit post title can be ``<script>alert(1)</script>``. Every renderer here
passes such text through :func:`esc` (``html.escape`` with quotes) before it reaches markup, and
links go through :func:`safe_href`, which only lets ``http``/``https`` URLs become ``href`` (a
``javascript:`` URL is shown as text). The renderers return strings for ``ipywidgets.HTML``; they
use inline styles only, so nothing leaks into the rest of the notebook page, and they need no
network (the map is an inline SVG, not tiles).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.judging.judgments import Agreement
    from ..evaluation.judging.pooling import PoolItem
    from ..records import Answer, CacheInfo, Place, RankedResult, SourceStatus, StageTrace

__all__ = [
    "agreement_table",
    "answer_html",
    "banner_html",
    "cache_html",
    "esc",
    "judge_card_html",
    "link",
    "map_svg",
    "message_html",
    "results_table",
    "safe_href",
    "sources_html",
    "truncate",
    "waterfall_html",
]

STATUS_COLOURS: dict[str, str] = {
    "ok": "#2e7d32",
    "empty": "#78909c",
    "partial": "#f9a825",
    "fallback": "#f9a825",
    "skipped": "#90a4ae",
    "error": "#c62828",
    "timeout": "#ef6c00",
}
CATEGORY_COLOURS: dict[str, str] = {"primary": "#1b7f5f", "nearby": "#6a5acd"}
_FONT = "font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 13px;"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def esc(value: object) -> str:
    """``value`` as text safe inside HTML element content and quoted attributes.

    ``None`` is the empty string; everything else is ``str()``-ed, control characters are
    dropped (they have no business in a title and can confuse terminals and screen readers)
    and ``& < > " '`` are escaped.
    """
    if value is None:
        return ""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis); escape *after* cutting."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def safe_href(url: object) -> str | None:
    """The escaped URL when it is an absolute ``http(s)`` URL with a host, else None."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or _CONTROL.search(text) or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return esc(text)


def link(url: object, text: object | None = None) -> str:
    """An ``<a>`` opening in a new tab (no referrer, no opener), or escaped text when the URL is
    not a safe http(s) URL."""
    label = esc(url if text is None else text)
    href = safe_href(url)
    if href is None:
        return f'<span title="link not shown: not an http(s) URL">{label}</span>'
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{label}</a>'


def message_html(text: str, kind: str = "info") -> str:
    """One escaped line of status (``info``, ``ok``, ``warn`` or ``error``)."""
    colour = {"ok": "#2e7d32", "warn": "#8d6e00", "error": "#c62828"}.get(kind, "#37474f")
    return f'<div style="{_FONT} color: {colour};">{esc(text)}</div>'


def banner_html(simulated: bool, detail: str = "") -> str:
    """Which world the results come from; the simulated world is always labelled."""
    if simulated:
        label = "OFFLINE WORLD — simulated data (no real places, no network)"
        style = "background: #fff3cd; border: 1px solid #e0c36a; color: #5c4400;"
    else:
        label = "LIVE — results from the real upstreams"
        style = "background: #e3f2fd; border: 1px solid #90caf9; color: #0d3c61;"
    extra = f" · {esc(detail)}" if detail else ""
    return (
        f'<div class="uf-banner" style="{_FONT} {style} padding: 4px 8px; border-radius: 4px;">'
        f"<b>{esc(label)}</b>{extra}</div>"
    )


def _badges(sources: Iterable[str]) -> str:
    return " ".join(
        f'<span style="background: #eceff1; border-radius: 3px; padding: 0 4px; '
        f'white-space: nowrap;">{esc(s)}</span>'
        for s in sources
    )


def results_table(
    results: Sequence[RankedResult],
    *,
    caption: str = "",
    description_chars: int = 220,
) -> str:
    """The ranked results as an HTML table (every upstream field escaped).

    Rows carry ``class="uf-row"`` and ``data-rank`` so browser tests can find them.
    """
    head = (
        "<tr>"
        + "".join(
            f'<th style="text-align: left; padding: 2px 6px; border-bottom: 1px solid #b0bec5;">'
            f"{h}</th>"
            for h in ("#", "result", "score", "where", "sources", "description")
        )
        + "</tr>"
    )
    rows = []
    for rank, r in enumerate(results, start=1):
        dist = "?" if r.distance_km is None else f"{r.distance_km:.1f} km"
        colour = CATEGORY_COLOURS.get(r.category, "#455a64")
        rows.append(
            f'<tr class="uf-row" data-rank="{rank}" style="vertical-align: top;">'
            f'<td style="padding: 2px 6px;">{rank}</td>'
            f'<td style="padding: 2px 6px; max-width: 260px;">{link(r.url, r.title)}'
            f'<div style="color: #78909c; font-size: 11px;">{esc(r.id)}</div></td>'
            f'<td style="padding: 2px 6px;">{r.score:.3f}</td>'
            f'<td style="padding: 2px 6px; white-space: nowrap;">'
            f'<span style="color: {colour};">{esc(r.category)}</span><br>{esc(dist)}</td>'
            f'<td style="padding: 2px 6px;">{_badges(r.sources)}'
            f'<div style="color: #78909c; font-size: 11px;">{len(r.mentions)} mention'
            f"{'s' if len(r.mentions) != 1 else ''}</div></td>"
            f'<td style="padding: 2px 6px; max-width: 420px;">'
            f"{esc(truncate(r.description, description_chars))}</td>"
            "</tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="6" style="padding: 4px 6px;">no results</td></tr>')
    cap = (
        f'<caption style="text-align: left; padding: 2px 0; color: #37474f;">{esc(caption)}'
        "</caption>"
        if caption
        else ""
    )
    return (
        f'<table class="uf-results" style="{_FONT} border-collapse: collapse; width: 100%;">'
        f"{cap}<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def map_svg(
    place: Place,
    results: Sequence[RankedResult],
    *,
    radius_km: float,
    outer_radius_km: float | None = None,
    size: int = 380,
    simulated: bool = False,
) -> str:
    """An offline map: the town, the primary radius and every located result, as inline SVG.

    Equirectangular around the town with longitude scaled by cos(latitude), so one kilometre is
    the same length in both directions (equal aspect). Points are numbered by rank and coloured
    by category; each carries a ``<title>`` tooltip (escaped).
    """
    located = [
        (rank, r, r.lat, r.lon)
        for rank, r in enumerate(results, start=1)
        if r.lat is not None and r.lon is not None
    ]
    ky = 111.32
    kx = 111.32 * max(0.05, math.cos(math.radians(place.lat)))
    far = max(
        (math.hypot((lon - place.lon) * kx, (lat - place.lat) * ky) for _, _, lat, lon in located),
        default=0.0,
    )
    extent = max(radius_km, far) * 1.12 or 1.0
    pad = 14
    half = size / 2
    scale = (half - pad) / extent
    out = [
        f'<svg class="uf-map" xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" role="img" aria-label="map of results around '
        f'{esc(place.label)}" style="background: #f7f9f6; border: 1px solid #cfd8dc;">'
    ]

    def circle(r_km: float, dash: str, label: str) -> None:
        rad = r_km * scale
        out.append(
            f'<circle cx="{half:.1f}" cy="{half:.1f}" r="{rad:.1f}" fill="none" '
            f'stroke="#90a4ae" stroke-dasharray="{dash}"><title>{esc(label)}</title></circle>'
        )
        out.append(
            f'<text x="{half + rad * 0.71 + 2:.1f}" y="{half - rad * 0.71 - 2:.1f}" '
            f'font-size="10" fill="#607d8b">{esc(label)}</text>'
        )

    circle(radius_km, "4 3", f"{radius_km:g} km")
    if outer_radius_km is not None and outer_radius_km * scale <= half * 1.5:
        circle(outer_radius_km, "1 4", f"{outer_radius_km:g} km")
    # scale bar: a round number of kilometres about a fifth of the width
    bar_km = _nice(extent * 0.4)
    bar = bar_km * scale
    out.append(
        f'<line x1="{pad}" y1="{size - pad}" x2="{pad + bar:.1f}" y2="{size - pad}" '
        f'stroke="#455a64" stroke-width="2"/><text x="{pad}" y="{size - pad - 4}" '
        f'font-size="10" fill="#455a64">{bar_km:g} km</text>'
    )
    out.append(
        f'<rect class="uf-town" x="{half - 5:.1f}" y="{half - 5:.1f}" width="10" height="10" '
        f'fill="#263238"><title>{esc(place.label)} (search centre)</title></rect>'
        f'<text x="{half + 8:.1f}" y="{half + 4:.1f}" font-size="11" font-weight="bold" '
        f'fill="#263238">{esc(place.name)}</text>'
    )
    for rank, r, lat, lon in reversed(located):  # draw the best on top
        x = half + (lon - place.lon) * kx * scale
        y = half - (lat - place.lat) * ky * scale
        colour = CATEGORY_COLOURS.get(r.category, "#455a64")
        dist = "?" if r.distance_km is None else f"{r.distance_km:.1f} km"
        out.append(
            f'<g class="uf-point"><circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}" '
            f'fill-opacity="0.85"><title>#{rank} {esc(r.title)} ({esc(r.category)}, '
            f"{esc(dist)})</title></circle>"
            f'<text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="9" text-anchor="middle" '
            f'fill="#fff" pointer-events="none">{rank}</text></g>'
        )
    if simulated:
        out.append(
            f'<text x="{size - pad}" y="{pad + 2}" font-size="10" text-anchor="end" '
            'fill="#8d6e00">offline world (simulated)</text>'
        )
    out.append("</svg>")
    missing = len(results) - len(located)
    note = (
        f'<div style="{_FONT} color: #607d8b;">{missing} of {len(results)} shown results have no '
        "coordinates (posts, pages) and are not on the map</div>"
        if missing
        else ""
    )
    return "".join(out) + note


def _nice(value: float) -> float:
    """A round number (1, 2 or 5 times a power of ten) not above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (5, 2, 1):
        if step * power <= value:
            return float(step * power)
    return float(power)


def waterfall_html(
    trace: Sequence[StageTrace], *, width_px: int = 240, original: bool = False
) -> str:
    """Stage latencies as a waterfall of HTML bars.

    Top-level stages run one after another, so each starts where the previous ended; the
    per-source rows (``sources.<name>``) ran concurrently and all start with the sources stage.
    ``total`` is the heading. ``original``: the timings are those of the search a cache hit
    replayed (the heading says so). Labels and details wrap instead of being clipped.
    """
    total = next((t.elapsed_ms for t in trace if t.stage == "total"), None)
    rows: list[tuple[str, float, float, StageTrace]] = []
    clock = 0.0
    sources_start = 0.0
    for t in trace:
        if t.stage == "total":
            continue
        if "." in t.stage:
            rows.append((t.stage, sources_start, t.elapsed_ms, t))
            continue
        if t.stage == "sources":
            sources_start = clock
        rows.append((t.stage, clock, t.elapsed_ms, t))
        clock += t.elapsed_ms
    span = max([total or 0.0, clock, *(s + e for _, s, e, _ in rows)]) or 1.0
    lines = []
    for stage, start, elapsed, t in rows:
        left = start / span * width_px
        width = max(1.5, elapsed / span * width_px)
        colour = STATUS_COLOURS.get(t.status, "#546e7a")
        if t.stage == "cache" and t.detail == "hit":
            colour = "#1565c0"
        detail = " · ".join(
            esc(x) for x in (t.provider, t.cache_layer, t.detail) if x not in (None, "")
        )
        indent = "padding-left: 12px;" if "." in stage else ""
        lines.append(
            f'<tr class="uf-stage"><td style="padding: 1px 6px; white-space: nowrap; {indent}">'
            f"{esc(stage)}</td>"
            f'<td style="padding: 1px 0;"><div style="position: relative; width: {width_px}px; '
            f'height: 12px; background: #f1f3f4;"><div title="{esc(t.status)}" '
            f'style="position: absolute; left: {left:.1f}px; width: {width:.1f}px; height: 12px; '
            f'background: {colour};"></div></div></td>'
            f'<td style="padding: 1px 6px; text-align: right; white-space: nowrap;">'
            f"{elapsed:.1f} ms</td>"
            f'<td class="uf-stage-detail" style="padding: 1px 6px; color: #607d8b; '
            f'white-space: normal; overflow-wrap: anywhere; min-width: 120px; max-width: 360px;" '
            f'title="{detail}">{esc(t.status)}{" · " + detail if detail else ""}</td></tr>'
        )
    head = f"total {total:.1f} ms" if total is not None else f"{clock:.1f} ms"
    title = "Stage latency of the original search (cached)" if original else "Stage latency"
    cls = "uf-waterfall uf-waterfall-original" if original else "uf-waterfall"
    return (
        f'<div style="{_FONT}"><b>{esc(title)}</b> ({esc(head)})'
        f'<table class="{cls}" style="border-collapse: collapse;">{"".join(lines)}'
        "</table></div>"
    )


_LAYER_TEXT: dict[str, tuple[str, str]] = {
    # cache status -> (memory layer, sqlite layer)
    "hit-memory": ("hit", "not consulted"),
    "hit-sqlite": ("miss", "hit (copied to memory)"),
    "miss": ("miss", "miss (answer stored in both layers)"),
    "bypass": ("bypassed", "bypassed"),
}


def cache_html(cache: CacheInfo, *, extra: Mapping[str, str] | None = None) -> str:
    """Per-layer cache status of one search (memory LRU, then SQLite) and its key."""
    memory, sqlite = _LAYER_TEXT.get(cache.status, (cache.status, cache.status))
    rows = [("memory (TTL LRU)", memory), ("SQLite", sqlite)]
    if cache.key:
        rows.append(("key", cache.key))
    rows.extend((extra or {}).items())
    body = "".join(
        f'<tr><td style="padding: 1px 6px; color: #607d8b;">{esc(k)}</td>'
        f'<td style="padding: 1px 6px;">{esc(v)}</td></tr>'
        for k, v in rows
    )
    return (
        f'<div style="{_FONT}"><b>Cache</b>: {esc(cache.status)}'
        f'<table class="uf-cache" style="border-collapse: collapse;">{body}</table></div>'
    )


def answer_html(answer: Answer, *, note: str = "") -> str:
    """The written answer (escaped), which responder wrote it and any unsupported names."""
    parts = [
        f'<div class="uf-answer" style="{_FONT}"><b>Answer</b> '
        f'<span style="color: #607d8b;">({esc(answer.responder)}'
        f"{', ' + esc(answer.prompt_version) if answer.prompt_version else ''})</span>"
        f'<p style="margin: 4px 0;">{esc(answer.text)}</p>'
    ]
    if answer.unsupported_names:
        parts.append(
            '<p style="margin: 4px 0; color: #c62828;">names not in the results: '
            f"{esc(', '.join(answer.unsupported_names))}</p>"
        )
    if note:
        parts.append(f'<p style="margin: 4px 0; color: #607d8b;">{esc(note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def sources_html(statuses: Sequence[SourceStatus], enabled: Iterable[str] | None = None) -> str:
    """Each source's outcome for the search (status, item count, latency, reason)."""
    on = None if enabled is None else set(enabled)
    rows = []
    for s in statuses:
        colour = STATUS_COLOURS.get(s.status, "#546e7a")
        used = "" if on is None or s.source in on else " (hidden by toggle)"
        rows.append(
            f'<tr><td style="padding: 1px 6px;">{esc(s.source)}{esc(used)}</td>'
            f'<td style="padding: 1px 6px; color: {colour};">{esc(s.status)}</td>'
            f'<td style="padding: 1px 6px; text-align: right;">{s.count}</td>'
            f'<td style="padding: 1px 6px; text-align: right;">{s.elapsed_ms:.1f} ms</td>'
            f'<td style="padding: 1px 6px; color: #607d8b;">{esc(s.message or "")}</td></tr>'
        )
    return (
        f'<div style="{_FONT}"><b>Sources</b><table class="uf-sources" '
        f'style="border-collapse: collapse;">{"".join(rows)}</table></div>'
    )


def judge_card_html(item: PoolItem, *, position: str = "", description_chars: int = 900) -> str:
    """One pool item to judge: the query and place, then the document (all escaped)."""
    r = item.result
    dist = "unknown distance" if r.distance_km is None else f"{r.distance_km:.1f} km from centre"
    lead = r.mentions[0] if r.mentions else None
    facts = []
    if lead is not None:
        if lead.place_type:
            facts.append(lead.place_type)
        if lead.rating is not None:
            facts.append(f"rated {lead.rating:g}")
        if lead.reviews is not None:
            facts.append(f"{lead.reviews} reviews")
        if lead.starts_at is not None:
            facts.append(f"starts {lead.starts_at:%Y-%m-%d %H:%M}")
        if lead.address:
            facts.append(lead.address)
    mentions = "".join(
        f"<li>{esc(m.source)}: {link(m.url, truncate(m.title, 120))}</li>" for m in r.mentions[:6]
    )
    more = f"<li>… {len(r.mentions) - 6} more</li>" if len(r.mentions) > 6 else ""
    return (
        f'<div class="uf-card" style="{_FONT} border: 1px solid #cfd8dc; border-radius: 6px; '
        'padding: 8px 12px; max-width: 760px;">'
        f'<div style="color: #607d8b;">{esc(position)} · query <code>{esc(item.query_id)}</code>'
        f"{' · region ' + esc(item.query.region) if item.query.region else ''}</div>"
        f'<div style="margin: 4px 0;"><b>Query:</b> {esc(item.query.text)} '
        f'<span style="color: #607d8b;">(looking for: {esc(item.intent)}; in '
        f"{esc(item.place.label)})</span></div>"
        f'<div style="font-size: 16px; margin: 8px 0 2px 0;"><b>{esc(r.title)}</b></div>'
        f'<div style="color: #607d8b;">{esc(dist)} · sources: {_badges(r.sources)}'
        f"{' · ' + esc(' · '.join(facts)) if facts else ''}</div>"
        f'<p style="margin: 6px 0;">{esc(truncate(r.description, description_chars))}</p>'
        f"<div>link: {link(r.url)}</div>"
        f'<details style="margin-top: 4px;"><summary>mentions ({len(r.mentions)})</summary>'
        f"<ul style='margin: 2px 0;'>{mentions}{more}</ul></details>"
        f'<div style="color: #90a4ae; font-size: 11px;">doc id {esc(r.id)}'
        f"{' · simulated' if item.simulated else ''}</div></div>"
    )


def agreement_table(rows: Sequence[Agreement], *, title: str = "Agreement") -> str:
    """Agreement rows (judge pair, pairs, exact share, weighted kappa, alpha) as a table."""

    def num(x: float) -> str:
        return "–" if x != x else f"{x:.2f}"  # NaN: undefined (no pairs, or no variation)

    body = "".join(
        f'<tr><td style="padding: 1px 6px;">{esc(a.judge_b)}</td>'
        f'<td style="padding: 1px 6px; text-align: right;">{a.n}</td>'
        f'<td style="padding: 1px 6px; text-align: right;">{num(a.exact)}</td>'
        f'<td style="padding: 1px 6px; text-align: right;">{num(a.kappa)}</td>'
        f'<td style="padding: 1px 6px; text-align: right;">{num(a.alpha)}</td></tr>'
        for a in rows
    )
    if not rows:
        body = '<tr><td colspan="5" style="padding: 1px 6px;">no other judge yet</td></tr>'
    head = "".join(
        f'<th style="text-align: left; padding: 1px 6px;">{h}</th>'
        for h in ("other judge", "pairs", "exact", "κ (linear)", "α (ordinal)")
    )
    return (
        f'<div style="{_FONT}"><b>{esc(title)}</b><table class="uf-agreement" '
        f'style="border-collapse: collapse;"><tr>{head}</tr>{body}</table></div>'
    )
