"""Approximate IANA time zones for US towns (state, with longitude splits for split states).

Good enough for the offline world's event times and Geoapify's ``timezone`` block; a few border
counties will be off by an hour.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_NY, _CHI, _DEN, _LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
)

_STATE_TZ: dict[str, str] = {
    "AL": _CHI, "AK": "America/Anchorage", "AZ": "America/Phoenix", "AR": _CHI, "CA": _LA,
    "CO": _DEN, "CT": _NY, "DE": _NY, "DC": _NY, "FL": _NY, "GA": _NY, "HI": "Pacific/Honolulu",
    "ID": "America/Boise", "IL": _CHI, "IN": "America/Indiana/Indianapolis", "IA": _CHI,
    "KS": _CHI, "KY": _NY, "LA": _CHI, "ME": _NY, "MD": _NY, "MA": _NY, "MI": "America/Detroit",
    "MN": _CHI, "MS": _CHI, "MO": _CHI, "MT": _DEN, "NE": _CHI, "NV": _LA, "NH": _NY, "NJ": _NY,
    "NM": _DEN, "NY": _NY, "NC": _NY, "ND": _CHI, "OH": _NY, "OK": _CHI, "OR": _LA, "PA": _NY,
    "RI": _NY, "SC": _NY, "SD": _CHI, "TN": _CHI, "TX": _CHI, "UT": _DEN, "VT": _NY, "VA": _NY,
    "WA": _LA, "WV": _NY, "WI": _CHI, "WY": _DEN, "PR": "America/Puerto_Rico", "GU": "Pacific/Guam",
    "VI": "America/St_Thomas", "AS": "Pacific/Pago_Pago", "MP": "Pacific/Saipan",
}  # fmt: skip


def timezone_name(state_code: str, lat: float, lon: float) -> str:
    """The IANA zone a town is (very probably) in."""
    st = state_code.upper()
    # Split states, by rough longitude (and latitude) lines.
    if st == "FL" and lon < -85.0 and lat > 29.6:
        return _CHI
    if st == "KY" and lon < -86.0:
        return _CHI
    if st == "TN" and lon > -85.4:
        return _NY
    if st == "IN" and ((lat > 41.0 and lon < -86.8) or (lat < 38.5 and lon < -86.9)):
        return _CHI
    if st == "MI" and lon < -87.6 and lat > 45.0:
        return "America/Menominee"
    if st == "TX" and lon < -104.9:
        return _DEN
    if st in {"KS", "NE"} and lon < -101.3:
        return _DEN
    if st in {"ND", "SD"} and lon < -100.6:
        return _DEN
    if st == "ID" and lat > 45.6:
        return _LA
    if st == "OR" and lon > -117.8 and lat < 44.5:
        return "America/Boise"
    if st == "AK" and lon < -169.5:
        return "America/Adak"
    return _STATE_TZ.get(st, _NY)


def _fmt_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    s = abs(seconds)
    return f"{sign}{s // 3600:02d}:{(s % 3600) // 60:02d}"


@lru_cache(maxsize=64)
def timezone_block(name: str, year: int) -> dict[str, Any]:
    """Geoapify's ``timezone`` object for a zone: offsets and abbreviations, standard and DST."""
    tz = ZoneInfo(name)
    winter = datetime(year, 1, 15, 12, tzinfo=tz)
    summer = datetime(year, 7, 15, 12, tzinfo=tz)
    std_off = winter.utcoffset()
    dst_off = summer.utcoffset()
    std = int(std_off.total_seconds()) if std_off is not None else 0
    dst = int(dst_off.total_seconds()) if dst_off is not None else 0
    return {
        "name": name,
        "offset_STD": _fmt_offset(std),
        "offset_STD_seconds": std,
        "offset_DST": _fmt_offset(dst),
        "offset_DST_seconds": dst,
        "abbreviation_STD": winter.tzname() or "",
        "abbreviation_DST": summer.tzname() or "",
    }
