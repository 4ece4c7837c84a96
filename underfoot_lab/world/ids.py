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
import re
import threading
from collections.abc import Sequence
from typing import Protocol

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


def town_slugs(towns: Sequence[Town]) -> list[str]:
    """Each town's URL slug, in order: ``<name>-<st>``, plus ``-<county>`` when the state has
    more than one town of that name, plus ``-2``, ``-3``... for a later town with the same name
    and county."""
    names = [slugify(t.name) for t in towns]
    counts: dict[tuple[str, str], int] = {}
    for t, name in zip(towns, names, strict=True):
        counts[(name, t.state_code)] = counts.get((name, t.state_code), 0) + 1
    out: list[str] = []
    taken: set[str] = set()
    for t, name in zip(towns, names, strict=True):
        s = f"{name}-{t.state_code.lower()}"
        if counts[(name, t.state_code)] > 1:
            s += "-" + (slugify(t.county or "") or "x")
        base, n = s, 2
        while s in taken:  # same name and county twice: number the later one
            s, n = f"{base}-{n}", n + 1
        taken.add(s)
        out.append(s)
    return out


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


class SlugCache(Protocol):
    """Where a :class:`TownIndex` may keep its town slugs between processes (the world's
    universe store: its folder is keyed by the gazetteer and the world's code)."""

    def load_slugs(self, n: int) -> list[str] | None: ...

    def save_slugs(self, slugs: list[str]) -> None: ...


class TownIndex:
    """Town <-> gazetteer position and town <-> URL slug, built lazily once per gazetteer.

    ``cache`` (optional) keeps the slugs, one per town in gazetteer order, between processes:
    computing them normalises every town name (~0.2 s), and a judged evaluation needs them to
    read the world's URLs back.
    """

    def __init__(self, gazetteer: Gazetteer, cache: SlugCache | None = None) -> None:
        self.gazetteer = gazetteer
        self._cache = cache
        self._lock = threading.Lock()
        self._index: dict[str, int] | None = None
        self._slug: dict[str, str] | None = None
        self._by_slug: dict[str, Town] | None = None

    def _build(self) -> None:
        with self._lock:
            if self._index is not None:
                return
            towns = self.gazetteer.towns
            index = {t.key: i for i, t in enumerate(towns)}
            slugs = self._cache.load_slugs(len(towns)) if self._cache is not None else None
            if slugs is None:
                slugs = town_slugs(towns)
                if self._cache is not None:
                    self._cache.save_slugs(slugs)
            self._slug = {t.key: s for t, s in zip(towns, slugs, strict=True)}
            self._by_slug = dict(zip(slugs, towns, strict=True))
            self._index = index

    def index(self, town: Town) -> int:
        if self._index is None:
            self._build()
        assert self._index is not None
        return self._index[town.key]

    def town_at(self, i: int) -> Town | None:
        towns = self.gazetteer.towns
        return towns[i] if 0 <= i < len(towns) else None

    def slug(self, town: Town) -> str:
        if self._slug is None:
            self._build()
        assert self._slug is not None
        return self._slug[town.key]

    def by_slug(self, slug: str) -> Town | None:
        if self._by_slug is None:
            self._build()
        assert self._by_slug is not None
        return self._by_slug.get(slug)
