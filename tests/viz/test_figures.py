"""Figures: offline-safe map geometry, Pareto fronts, escaping of untrusted text, inline HTML."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from underfoot_lab.records import (
    Answer,
    CacheInfo,
    ParsedQuery,
    Place,
    RankedResult,
    SearchResult,
)
from underfoot_lab.viz import figures

EVIL = '<img src=x onerror="alert(1)">Joe\'s </script> & Bar'


def _result(title: str = EVIL) -> SearchResult:
    place = Place(
        name="Pikeville", admin1="Kentucky", admin1_code="KY", county="Pike", country="US",
        lat=37.479, lon=-82.519, population=7000, confidence=0.9, geocoder="gazetteer",
    )  # fmt: skip

    def ranked(i: int, lat: float | None, lon: float | None, category: str) -> RankedResult:
        return RankedResult(
            id=f"r{i}", title=title if i == 1 else f"Place {i}", url="https://x.example",
            sources=("reddit",), score=1.0 / i, category=category,  # type: ignore[arg-type]
            distance_km=3.0 * i, lat=lat, lon=lon, description="", mentions=(), simulated=True,
        )  # fmt: skip

    results = (
        ranked(1, 37.49, -82.50, "primary"),
        ranked(2, 37.60, -82.30, "nearby"),
        ranked(3, None, None, "nearby"),
    )
    return SearchResult(
        query=f"hidden gems {EVIL}",
        parsed=ParsedQuery(text="q", location="Pikeville KY", intent="general", confidence=1.0,
                           parser="heuristic"),
        place=place,
        results=results,
        answer=Answer(text="", responder="template"),
        trace=(),
        sources=(),
        cache=CacheInfo(status="miss", key="k"),
        scorer="seed-v1",
        simulated=True,
    )  # fmt: skip


def _texts(fig: object) -> str:
    """Every string of the figure's JSON (hover text, titles, trace names)."""
    return fig.to_json()  # type: ignore[attr-defined, no-any-return]


def test_results_map_is_offline_and_round() -> None:
    result = _result()
    fig = figures.results_map(result, radius_km=25.0)
    types = {t.type for t in fig.data}
    assert types == {"scatter"}  # no scattermap / scattergeo: nothing needs tiles
    # Equal-distance aspect: one degree of latitude is 1/cos(lat) degrees of longitude long.
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.yaxis.scaleratio == pytest.approx(1 / math.cos(math.radians(37.479)))
    circle = fig.data[0]
    lat0, lon0 = math.radians(37.479), math.radians(-82.519)
    for lon, lat in zip(circle.x, circle.y, strict=True):
        la, lo = math.radians(lat), math.radians(lon)
        h = (
            math.sin((la - lat0) / 2) ** 2
            + math.cos(la) * math.cos(lat0) * math.sin((lo - lon0) / 2) ** 2
        )
        assert 6371.0 * 2 * math.asin(math.sqrt(h)) == pytest.approx(25.0, rel=0.01)
    names = [t.name for t in fig.data]
    assert "primary" in names and "nearby" in names and "Pikeville, Kentucky" in names
    star = fig.data[1]  # drawn under the results
    assert (star.x[0], star.y[0]) == (-82.519, 37.479)
    assert any("have no coordinates" in a.text for a in fig.layout.annotations)
    assert any("simulated" in a.text for a in fig.layout.annotations)


def test_untrusted_text_is_escaped_everywhere() -> None:
    fig = figures.results_map(_result())
    text = _texts(fig)
    assert "<img" not in text and "</script>" not in text
    hover = " ".join(h for t in fig.data if t.hovertext is not None for h in t.hovertext)
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Joe&#x27;s" in hover
    assert "&lt;img" in fig.layout.title.text

    per_query = pd.DataFrame(
        {
            "query_id": ["q1", "q2"],
            "region": ["<b>r</b>", "ozarks"],
            "text": [EVIL, "ok"],
            "place": ["P", "Q"],
            "ndcg_at_10": [0.5, 0.7],
            "hiddenness_at_10": [0.4, 0.2],
        }
    )
    scatter = figures.hiddenness_vs_relevance(per_query)
    assert "<img" not in _texts(scatter) and "<b>r</b>" not in {t.name for t in scatter.data}

    page = figures.figures_html({"map <x>": fig, "scatter": scatter}, title=EVIL, note=EVIL)
    assert EVIL not in page and '<img src=x onerror="alert(1)">' not in page
    assert page.count("<script src=") == 0
    assert page.count("plotly.js v") == 1  # plotly.js inline, once
    assert "&lt;img src=x" in page and "map &lt;x&gt;" in page


def test_report_figures_from_frames() -> None:
    per_region = pd.DataFrame(
        {
            "region": ["appalachia", "ozarks"],
            "n": [2, 3],
            "errors": [0, 0],
            "ndcg_at_10": [0.3, 0.6],
            "p_at_5": [0.4, 0.8],
            "mrr": [0.5, 1.0],
            "hiddenness_at_10": [0.2, 0.3],
            "geo_precision_at_10": [0.9, 0.7],
        }
    )
    fig = figures.metrics_by_region(per_region)
    assert [t.name for t in fig.data] == ["nDCG@10", "P@5", "MRR", "Hiddenness@10", "GeoP@10"]
    assert list(fig.data[0].y) == [0.3, 0.6]
    assert fig.layout.barmode == "group"

    latency = pd.DataFrame(
        {
            "stage": ["parse", "sources.reddit", "total"],
            "n": [3, 3, 3],
            "p50": [1.0, 50.0, 80.0],
            "p95": [2.0, 90.0, 120.0],
        }
    )
    lat = figures.latency_by_stage(latency)
    assert [t.name for t in lat.data] == ["p50", "p95"]
    assert list(lat.data[1].x) == ["parse", "sources.reddit", "total"]
    no_sources = figures.latency_by_stage(latency, sources=False)
    assert list(no_sources.data[0].x) == ["parse", "total"]


def test_pareto_mask_and_front() -> None:
    frame = pd.DataFrame(
        {
            "rel": [0.9, 0.8, 0.5, 0.5, 0.3, 0.9, np.nan, 0.1],
            "hid": [0.1, 0.5, 0.5, 0.4, 0.9, 0.1, 1.0, 0.2],
        },
        index=list("abcdefgh"),
    )
    mask = figures.pareto_mask(frame, "rel", "hid")
    # a and f are identical and undominated; b dominates c and d; e is the hiddenest; g is NaN.
    assert set(frame.index[mask]) == {"a", "f", "b", "e"}
    front = figures.pareto_front(frame, "rel", "hid")
    assert list(front["rel"]) == [0.3, 0.8, 0.9, 0.9]

    # Brute force agrees on random data, in every direction combination.
    rng = np.random.default_rng(7)
    data = pd.DataFrame(rng.integers(0, 6, size=(60, 2)).astype(float), columns=["x", "y"])
    for maximize in ((True, True), (True, False), (False, True), (False, False)):
        got = figures.pareto_mask(data, "x", "y", maximize=maximize).to_numpy()
        sx = data["x"].to_numpy() * (1 if maximize[0] else -1)
        sy = data["y"].to_numpy() * (1 if maximize[1] else -1)
        want = [
            not any(
                sx[j] >= sx[i] and sy[j] >= sy[i] and (sx[j] > sx[i] or sy[j] > sy[i])
                for j in range(len(data))
            )
            for i in range(len(data))
        ]
        assert list(got) == want, maximize

    fig = figures.pareto_figure(frame.assign(name=list("abcdefgh")), "rel", "hid", label="name")
    assert [t.name for t in fig.data] == ["dominated", "Pareto front"]
    assert len(fig.data[1].x) == 4
    nothing = figures.pareto_figure(pd.DataFrame(columns=["run_id"]), "metrics.a", "metrics.b")
    assert "nothing to plot" in nothing.layout.annotations[0].text


def test_comparison_and_runs_figures() -> None:
    table = pd.DataFrame(
        [
            {"metric": "ndcg_at_10", "display": "nDCG@10", "n": 13, "mean_a": 0.4, "mean_b": 0.5,
             "diff": 0.1, "p_t": 0.01, "p_rand": 0.01, "p_t_holm": 0.02, "p_rand_holm": 0.02,
             "ci_low": 0.05, "ci_high": 0.15, "higher_is_better": True},
            {"metric": "expired_event_rate_at_10", "display": "Expired@10", "n": 13,
             "mean_a": 0.1, "mean_b": 0.2, "diff": 0.1, "p_t": 0.5, "p_rand": 0.5,
             "p_t_holm": 0.5, "p_rand_holm": 0.5, "ci_low": -0.1, "ci_high": 0.3,
             "higher_is_better": False},
        ]
    )  # fmt: skip
    fig = figures.comparison_figure(table)
    bar = fig.data[0]
    assert list(bar.y) == ["nDCG@10", "Expired@10"]
    assert bar.marker.color[0] == "#2ca02c"  # better and significant: solid green
    assert bar.marker.color[1] == "#d62728" + "66"  # worse, not significant: faded red
    assert list(bar.error_x.array) == pytest.approx([0.05, 0.2])
    assert list(bar.error_x.arrayminus) == pytest.approx([0.05, 0.2])
    empty = figures.comparison_figure(table.iloc[0:0])
    assert empty.layout.annotations[0].text == "nothing to compare"

    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r2", "r3"],
            "run_name": ["a", EVIL, "c"],
            "start_time": pd.to_datetime(
                [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)], utc=True
            ),
            "tags.region_set": ["smoke", "smoke", "ozarks"],
            "params.weights": ["seed", "default", "seed"],
            "params.k": ["10", "10", "10"],
            "metrics.ndcg_at_10": [0.4, 0.5, 0.6],
        }
    )
    over = figures.runs_figure(runs, "ndcg_at_10")
    assert sorted(t.name for t in over.data) == ["ozarks", "smoke"]
    assert "<img" not in _texts(over)
    assert json.loads(over.to_json())["layout"]["yaxis"]["title"]["text"] == "nDCG@10"


# ------------------------------------------------------------------------------ issue 18
def test_region_bars_show_n_and_bootstrap_intervals() -> None:
    from types import SimpleNamespace

    per_query = pd.DataFrame(
        {
            "region": ["a", "a", "a", "b"],
            "ndcg_at_10": [0.2, 0.4, 0.9, 0.5],
        }
    )
    per_region = pd.DataFrame({"region": ["a", "b"], "n": [3, 1], "ndcg_at_10": [0.5, 0.5]})
    report = SimpleNamespace(per_region=per_region, per_query=per_query, k=10, simulated=False)
    fig = figures.metrics_by_region(report, ["ndcg_at_10"])  # type: ignore[arg-type]
    bar = fig.data[0]
    assert list(bar.x) == ["a<br>n=3", "b<br>n=1"]
    lo, hi = figures.region_ci(per_query, "a", "ndcg_at_10")
    assert 0.2 <= lo < 0.5 < hi <= 0.9
    assert bar.error_y.array[0] == pytest.approx(hi - 0.5)
    assert bar.error_y.arrayminus[0] == pytest.approx(0.5 - lo)
    # One query: no interval.
    assert bar.error_y.array[1] == 0 and bar.error_y.arrayminus[1] == 0
    assert "bootstrap" in fig.layout.xaxis.title.text


def test_plotly_js_once_per_directory(tmp_path: Path) -> None:
    from underfoot_lab.viz import offline

    fig = figures.metrics_by_region(pd.DataFrame({"region": ["a"], "n": [1], "ndcg_at_10": [0.5]}))
    page = figures.figures_html({"one": fig, "two": fig}, title="t", plotlyjs="directory")
    assert page.count('src="plotly.min.js"') == 1 and "plotly.js v" not in page
    js = offline.write_plotly_js(tmp_path)
    mtime = js.stat().st_mtime_ns
    assert offline.write_plotly_js(tmp_path).stat().st_mtime_ns == mtime  # not rewritten
    assert js.name == "plotly.min.js" and js.stat().st_size > 1_000_000
    # The notebook renderer's HTML loads it relatively: no inline plotly.js, no CDN script.
    import plotly.io as pio

    bundle = pio.renderers[offline.register_renderer()].to_mimebundle(fig.to_dict())
    html_out = bundle["text/html"]
    assert 'src="plotly.min.js"' in html_out and len(html_out) < 100_000
    assert 'src="http' not in html_out and "cdn.plot.ly" not in html_out


def test_latency_chart_makes_room_for_its_labels() -> None:
    latency = pd.DataFrame(
        {"stage": ["parse", "sources.serpapi_events"], "n": [1, 1], "p50": [1.0, 2.0],
         "p95": [1.0, 3.0]}
    )  # fmt: skip
    fig = figures.latency_by_stage(latency)
    assert fig.layout.xaxis.automargin is True and fig.layout.yaxis.automargin is True
    assert fig.layout.xaxis.tickangle == -30
