"""The ids and URLs the offline world emits, and how to read them back.

Every id or URL the world hands out can be turned back into the latent entity it is about in a
fresh process, without having rendered anything before (see ``docs/offline-world.md``):

* Numeric ids (SerpAPI ``place_id`` of the ``google`` engine, ``data_cid``, the second half of
  ``data_id``, the ``ChIJ...`` Maps ``place_id``) carry a 64-bit number: a seed-keyed Feistel
  permutation of ``(gazetteer index of the town << 8) | entity index``. Decoding checks that the
  high bits are zero, so an id minted under another seed almost never decodes.
* Reddit ids (``t3_xxxxxxx``) carry a 36-bit permutation of ``(town index << 8) | post index``,
  written in base 36 like Reddit's own.
* ``.example`` URLs carry readable slugs: ``https://<site>.example/<town-slug>/<entity-slug>`` or
  ``https://<entity-slug>.<town-slug>.example/`` (an entity's own website).

Town slugs are ``<name>-<st>`` ("pikeville-ky"), with ``-<county>`` appended when the state has
more than one town of that name ("springfield-oh-clark-county").
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..geo.gazetteer import Gazetteer, Town, normalize_name

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
TOWN_BITS = 15
"""Enough for the ~17k US gazetteer towns (and some headroom)."""
ITEM_BITS = 8
"""Up to 256 entities (or posts) per town."""
_PAYLOAD_BITS = TOWN_BITS + ITEM_BITS


def slugify(text: str) -> str:
    """ "The Rusty Spur" -> "the-rusty-spur" (ASCII, lower case, dashes)."""
    return normalize_name(text).replace(" ", "-")


def _round_fn(value: int, key: bytes, i: int, bits: int) -> int:
    digest = hashlib.blake2b(value.to_bytes(8, "big") + bytes([i]), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << bits) - 1)


def feistel(x: int, bits: int, key: bytes, *, decode: bool = False, rounds: int = 4) -> int:
    """A keyed permutation of ``bits``-bit integers (``bits`` even); ``decode`` inverts it."""
    half = bits // 2
    mask = (1 << half) - 1
    left, right = x >> half, x & mask
    if decode:
        for i in reversed(range(rounds)):
            left, right = right ^ _round_fn(left, key, i, half), left
    else:
        for i in range(rounds):
            left, right = right, left ^ _round_fn(right, key, i, half)
    return (left << half) | right


def to_base36(n: int, width: int) -> str:
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out)).rjust(width, "0")


def from_base36(text: str) -> int | None:
    try:
        return int(text, 36)
    except ValueError:
        return None


class IdCodec:
    """Mints and reads the world's numeric and Reddit ids for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cid_key = f"underfoot-world|cid|{seed}".encode()
        self._t3_key = f"underfoot-world|t3|{seed}".encode()
        self._tag_key = f"underfoot-world|tag|{seed}".encode()

    # ------------------------------------------------------------------ places (64-bit cid)
    def cid(self, town_index: int, item: int) -> int:
        return feistel((town_index << ITEM_BITS) | item, 64, self._cid_key)

    def decode_cid(self, cid: int) -> tuple[int, int] | None:
        if not 0 <= cid < 1 << 64:
            return None
        x = feistel(cid, 64, self._cid_key, decode=True)
        if x >> _PAYLOAD_BITS:
            return None
        return x >> ITEM_BITS, x & ((1 << ITEM_BITS) - 1)

    def data_id(self, cid: int, town_key: str) -> str:
        """Maps' ``data_id``: "0x<area>:0x<cid>" (the real one also ends in the cid)."""
        area = hashlib.blake2b(town_key.encode(), key=self._tag_key, digest_size=8).digest()
        return f"0x{int.from_bytes(area, 'big'):016x}:0x{cid:016x}"

    def maps_place_id(self, cid: int) -> str:
        """A 27-character "ChIJ..." id (Google's Maps place ids look like this)."""
        tag = hashlib.blake2b(cid.to_bytes(8, "big"), key=self._tag_key, digest_size=9).digest()
        raw = base64.urlsafe_b64encode(cid.to_bytes(8, "big") + tag).decode().rstrip("=")
        return "ChIJ" + raw

    def decode_maps_place_id(self, text: str) -> int | None:
        if not text.startswith("ChIJ") or len(text) != 27:
            return None
        try:
            raw = base64.urlsafe_b64decode(text[4:] + "=")
        except (ValueError, TypeError):
            return None
        if len(raw) != 17:
            return None
        return int.from_bytes(raw[:8], "big")

    # ------------------------------------------------------------------ reddit (36-bit)
    def reddit_id(self, town_index: int, post: int) -> str:
        return to_base36(feistel((town_index << ITEM_BITS) | post, 36, self._t3_key), 7)

    def decode_reddit_id(self, text: str) -> tuple[int, int] | None:
        if not re.fullmatch(r"[0-9a-z]{7}", text):
            return None
        n = from_base36(text)
        if n is None or n >= 1 << 36:
            return None
        x = feistel(n, 36, self._t3_key, decode=True)
        if x >> _PAYLOAD_BITS:
            return None
        return x >> ITEM_BITS, x & ((1 << ITEM_BITS) - 1)


SHIPPED_SLUGS = Path(__file__).with_name("town_slugs.json")
"""For the installed gazetteer: the towns whose slug is not their base slug (numbered ones),
recorded with the gazetteer's fingerprint and this module's sha256. When both match, a town's
slug is computed alone (a search needs one; building all ~17k cost a cold search ~20 ms).
Regenerate after changing the gazetteer or this module: ``python -m underfoot_lab.world.ids``."""


def _code_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def _shipped_slugs() -> dict[str, Any]:
    try:
        data = json.loads(SHIPPED_SLUGS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _certified_numbered_for(gazetteer: Gazetteer) -> dict[str, str] | None:
    """The shipped numbered slugs, when recorded for this gazetteer and this code."""
    shipped = _shipped_slugs()
    if gazetteer.fingerprint is None or shipped.get("gazetteer") != gazetteer.fingerprint:
        return None
    numbered = shipped.get("numbered")
    if shipped.get("code") != _code_hash() or not isinstance(numbered, dict):
        return None
    return numbered


class TownIndex:
    """Town <-> gazetteer position and town <-> URL slug, built lazily once per gazetteer."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._lock = threading.Lock()
        self._slug: dict[str, str] | None = None
        self._by_slug: dict[str, int] | None = None
        self._numbered: dict[str, str] | None = None

    def _build(self) -> None:
        # From the gazetteer's columns: its normalised names are the slugs' names (slugify is
        # normalize_name with dashes), and no Town need be made for the ~17k rows.
        with self._lock:
            if self._slug is not None:
                return
            cols = self.gazetteer.columns
            names = [n.replace(" ", "-") for n in cols.normalized]
            pairs = list(zip(names, cols.codes, strict=True))
            counts = Counter(pairs)
            bases = [
                f"{name}-{code.lower()}"
                if counts[(name, code)] == 1
                else f"{name}-{code.lower()}-{slugify(county or '') or 'x'}"
                for (name, code), county in zip(pairs, cols.counties, strict=True)
            ]
            if len(set(bases)) == len(bases):  # no two alike: nothing to number (the usual case)
                slug = dict(zip(cols.keys, bases, strict=True))
                by_slug = {s: i for i, s in enumerate(bases)}
            else:
                slug, by_slug = {}, {}
                for i, (key, s) in enumerate(zip(cols.keys, bases, strict=True)):
                    base, n = s, 2
                    while s in by_slug:  # same name and county twice: number the later one
                        s, n = f"{base}-{n}", n + 1
                    slug[key] = s
                    by_slug[s] = i
            keyed = zip(cols.keys, bases, strict=True)
            self._numbered = {k: slug[k] for k, b in keyed if slug[k] != b}
            self._by_slug = by_slug
            self._slug = slug

    def _base(self, town: Town) -> str:
        """The town's slug before numbering: its name and state, and its county when the state
        has another town of that (normalised) name."""
        name = slugify(town.name)
        s = f"{name}-{town.state_code.lower()}"
        if len(self.gazetteer.lookup(town.name, town.state_code)) > 1:
            s += "-" + (slugify(town.county or "") or "x")
        return s

    def index(self, town: Town) -> int:
        return self.gazetteer.position(town)

    def town_at(self, i: int) -> Town | None:
        try:
            return self.gazetteer.at(i)
        except IndexError:
            return None

    def slug(self, town: Town) -> str:
        if self._slug is None:
            numbered = _certified_numbered_for(self.gazetteer)
            if numbered is not None:
                self.gazetteer.position(town)  # KeyError for a town of another gazetteer
                return str(numbered.get(town.key) or self._base(town))
            self._build()
        assert self._slug is not None
        return self._slug[town.key]

    def by_slug(self, slug: str) -> Town | None:
        if self._by_slug is None:
            self._build()
        assert self._by_slug is not None
        i = self._by_slug.get(slug)
        return None if i is None else self.gazetteer.at(i)


def write_shipped_slugs() -> Path:
    """(Re)write :data:`SHIPPED_SLUGS` for the installed gazetteer."""
    from ..geo.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    index = TownIndex(gazetteer)
    index._build()
    payload = {
        "gazetteer": gazetteer.fingerprint,
        "code": _code_hash(),
        "numbered": index._numbered,
    }
    SHIPPED_SLUGS.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return SHIPPED_SLUGS


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(f"wrote {write_shipped_slugs()}")
