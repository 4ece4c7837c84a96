"""Text the renderers read and write without the stdlib helpers a search no longer imports: a
page's date is read as ``datetime.strptime(text, "%b %d, %Y")`` reads it, and Atom text is
escaped as ``xml.sax.saxutils.escape`` escapes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from underfoot_lab.world.render_serpapi import _parse_page_date


def _strptime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%b %d, %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def test_every_day_of_three_decades_reads_as_strptime_reads_it() -> None:
    day = date(2001, 1, 1)
    while day.year < 2031:
        text = day.strftime("%b %d, %Y")
        assert _parse_page_date(text) == _strptime(text) is not None
        day += timedelta(days=1)


def test_odd_spellings_read_as_strptime_reads_them() -> None:
    odd = [
        "Feb 3, 2026", "feb 03, 2026", "FEB 3, 2026", "Feb 30, 2026", "Feb 29, 2024",
        "Feb 29, 2026", "Feb 00, 2026", "Feb 0, 2026", "Feb 32, 2026", "Feb  3, 2026",
        " Feb 3, 2026", "Feb 3, 2026 ", "Feb 3,2026", "Feb 3, 26", "Sept 3, 2026",
        "February 3, 2026", "Xyz 3, 2026", "Feb 3, 02026", "", "Dec 31, 9999", "Jan 1, 0001",
    ]  # fmt: skip
    for text in odd:
        assert _parse_page_date(text) == _strptime(text), text


def test_atom_escaping_is_saxutils_escaping() -> None:
    from xml.sax.saxutils import escape  # nosec B406 -- the reference, escaping only

    from underfoot_lab.world.render_reddit import xml_escape

    for text in ["a & b < c > d \"e\" 'f'", "&amp; already", "", "plain", '<<&&>>""']:
        assert xml_escape(text) == escape(text, {'"': "&quot;"})
