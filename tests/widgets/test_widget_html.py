"""The HTML renderers: escaping of untrusted text, safe links, map, waterfall, cache."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from widget_support import SCRIPT_TITLE

from underfoot_lab.records import (
    Answer,
    CacheInfo,
    Candidate,
    Place,
    RankedResult,
    SourceStatus,
    StageTrace,
)
from underfoot_lab.widgets import html as h

PLACE = Place(
    name="Pikeville", admin1="Kentucky", admin1_code="KY", county="Pike", country="US",
    lat=37.479, lon=-82.519, population=7000, confidence=1.0, geocoder="gazetteer",
)  # fmt: skip


def result(
    rid: str, title: str, *, lat: float | None, lon: float | None, **kw: object
) -> RankedResult:
    mention = Candidate(
        source="reddit", source_type="reddit", native_id="t3_x", title=title, name=title,
        description=str(kw.get("description", "")), url=str(kw.get("url", "https://a.example/")),
        rank=1, simulated=True,
    )  # fmt: skip
    return RankedResult(
        id=rid,
        title=title,
        url=str(kw.get("url", "https://a.example/")),
        sources=("reddit", "serpapi_web"),
        score=0.5,
        category="primary",
        distance_km=None if lat is None else 3.0,
        lat=lat,
        lon=lon,
        description=str(kw.get("description", "")),
        mentions=(mention,),
        simulated=True,
    )


def test_esc_and_links() -> None:
    assert h.esc(SCRIPT_TITLE) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert h.esc(None) == "" and h.esc("a\"b'c") == "a&quot;b&#x27;c"
    assert h.esc("bell\x07 and\x1b[31m") == "bell and[31m"
    assert h.safe_href("https://x.example/a?b=1&c=2") == "https://x.example/a?b=1&amp;c=2"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "//x.example", "http:///x",
                "https://x.example/a b", "  ", None, 3):  # fmt: skip
        assert h.safe_href(bad) is None, bad
    assert h.link("javascript:alert(1)", "t").startswith("<span")
    assert 'rel="noopener noreferrer nofollow"' in h.link("https://x.example/", "x")
    assert '"><script>' not in h.link('https://x.example/"><script>', "x")
    assert h.truncate("a  b " * 100, 10) == "a b a b a…"


def test_results_table_escapes_every_field() -> None:
    evil = result(
        "evil", SCRIPT_TITLE, lat=None, lon=None,
        url="javascript:alert(1)", description="<b onmouseover=alert(2)>hi</b>",
    )  # fmt: skip
    table = h.results_table(
        [evil, result("ok", "Fine & Dandy", lat=37.5, lon=-82.5)], caption="<i>"
    )
    assert "<script" not in table and "<b " not in table and "<i>" not in table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert 'href="javascript' not in table
    assert "Fine &amp; Dandy" in table and table.count('class="uf-row"') == 2
    assert "reddit" in table and "serpapi_web" in table
    assert "no results" in h.results_table([])


def test_map_is_valid_svg_with_equal_aspect() -> None:
    north = result("n", "North <x>", lat=37.479 + 0.1, lon=-82.519)
    east = result("e", "East", lat=37.479, lon=-82.519 + 0.1 / 0.7935)  # cos(37.479) ~ 0.7935
    svg = h.map_svg(PLACE, [north, east, result("p", "post", lat=None, lon=None)],
                    radius_km=25, outer_radius_km=80, simulated=True)  # fmt: skip
    svg_part, _, note = svg.partition("</svg>")
    root = ET.fromstring(svg_part + "</svg>")  # well-formed: escaping did not break the markup
    ns = "{http://www.w3.org/2000/svg}"
    points = root.findall(f"{ns}g")
    assert len(points) == 2
    centres: dict[str, ET.Element] = {}
    for g in points:
        circle = g.find(f"{ns}circle")
        assert circle is not None
        tooltip = circle.findtext(f"{ns}title") or ""
        centres[tooltip.split()[0]] = circle
    cx = cy = 190.0
    n, e = centres["#1"], centres["#2"]
    dn = cy - float(n.get("cy", "0"))
    de = float(e.get("cx", "0")) - cx
    assert abs(dn - de) < 1.0  # 11.1 km north and 11.1 km east are the same length
    assert "North &lt;x&gt;" in svg
    assert "1 of 3 shown results have no coordinates" in note
    assert "offline world (simulated)" in svg


def test_waterfall_cache_answer_sources() -> None:
    trace = [
        StageTrace("validate", 0.1, "ok"),
        StageTrace("cache", 2.0, "ok", detail="miss"),
        StageTrace("parse", 1.0, "ok", provider="heuristic"),
        StageTrace("sources", 100.0, "partial"),
        StageTrace("sources.reddit", 90.0, "error", provider="reddit", detail="<boom>"),
        StageTrace("sources.serpapi_web", 40.0, "ok", provider="serpapi_web"),
        StageTrace("total", 110.0, "ok"),
    ]
    wf = h.waterfall_html(trace)
    assert wf.count('class="uf-stage"') == 6 and "total 110.0 ms" in wf
    assert "&lt;boom&gt;" in wf and "<boom>" not in wf
    # per-source bars start where the sources stage starts (left offset 3.1 ms of 110)
    assert wf.count(f"left: {3.1 / 110 * 240:.1f}px") == 3
    for status, memory in (("hit-memory", "hit"), ("hit-sqlite", "miss"), ("bypass", "bypassed")):
        assert memory in h.cache_html(CacheInfo(status=status, key="k"))  # type: ignore[arg-type]
    ans = h.answer_html(
        Answer(text="Go to <Joe's>", responder="template", unsupported_names=("X",))
    )
    assert "Go to &lt;Joe&#x27;s&gt;" in ans and "names not in the results" in ans
    src = h.sources_html(
        [SourceStatus("reddit", "error", 0, 5.0, "http_error", "<bad>")], enabled=[]
    )
    assert "&lt;bad&gt;" in src and "hidden by toggle" in src
    assert "OFFLINE WORLD" in h.banner_html(True) and "LIVE" in h.banner_html(False)
