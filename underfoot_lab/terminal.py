"""Plain-text rendering of results for the terminal (no pandas, so the CLI starts fast)."""

from __future__ import annotations

from collections.abc import Sequence

from .records import SearchResult

_SHORT_SOURCE = {
    "serpapi_web": "web",
    "serpapi_local": "maps",
    "serpapi_events": "events",
    "reddit": "reddit",
}


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A fixed-width table; ``align`` has one of "l"/"r" per column (default: left)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    aligns = align or "l" * len(headers)
    out = []
    for n, r in enumerate(cells):
        out.append(
            "  ".join(
                c.rjust(w) if a == "r" else c.ljust(w)
                for c, w, a in zip(r, widths, aligns, strict=True)
            ).rstrip()
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_search(result: SearchResult, limit: int = 15, *, world: str | None = None) -> str:
    """The search as text; ``world`` names the offline world in the banner (a header such as
    ``offline world 'null' (a1b2c3d4), simulated``) when the result is simulated."""
    p = result.place
    lines = []
    simulated = f" [{world}]" if world else " [offline world: simulated data]"
    banner = simulated if result.simulated else " [live]"
    lines.append(f'Query: "{result.query}"{banner}')
    lines.append(
        f"Parsed: location={result.parsed.location!r} intent={result.parsed.intent!r} "
        f"confidence={result.parsed.confidence:.2f} ({result.parsed.parser})"
    )
    alt = f"; also {', '.join(a.label for a in p.alternatives[:3])}" if p.alternatives else ""
    lines.append(
        f"Place: {p.label} ({p.lat:.4f}, {p.lon:.4f}) pop {p.population:,} "
        f"confidence {p.confidence:.2f} via {p.geocoder}{alt}"
    )
    rows = []
    for i, r in enumerate(result.results[:limit], start=1):
        srcs = ",".join(_SHORT_SOURCE.get(s, s) for s in r.sources)
        dist = "" if r.distance_km is None else f"{r.distance_km:.1f}"
        rows.append([i, _cut(r.title, 46), srcs, dist, f"{r.score:.3f}", r.category])
    lines.append("")
    lines.append(table(["#", "title", "sources", "km", "score", "category"], rows, align="rllrrl"))
    more = len(result.results) - limit
    if more > 0:
        lines.append(f"… {more} more results")
    lines.append("")
    lines.append(f"Answer: {result.answer.text}")
    lines.append("")
    stage_rows = [
        [
            t.stage,
            f"{t.elapsed_ms:.1f}",
            t.status,
            "" if t.count is None else t.count,
            t.cache_layer or "",
            _cut(t.detail or "", 40),
        ]
        for t in result.trace
    ]
    lines.append(table(["stage", "ms", "status", "n", "cache", "detail"], stage_rows, "lrlrll"))
    lines.append(f"cache: {result.cache.status}   scorer: {result.scorer}")
    return "\n".join(lines)
