"""Latent truth and the apparent views sources see of it.

Every entity has a :class:`Latent` record (its truth: quality, local esteem, tourist exposure,
zone, timing, decoy status, what it is really good for) and an :class:`Apparent` record (what a
source can see: noisy views of those variables, tied to them by the scenario's
:class:`~underfoot_lab.world.scenario.Links`). The grade reads only the former; everything the
world renders (reviews, ratings, text, coordinates, dates, engine positions) is computed from
the latter. With every link at 0 the two are independent, which is what the ``null`` scenario
relies on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from .scenario import Logit, Scenario

Zone = Literal["core", "band", "far"]
Timing = Literal["past", "current", "future"]
ZONES: tuple[Zone, ...] = ("core", "band", "far")

_N = NormalDist()


@dataclass(frozen=True, slots=True)
class Latent:
    """The truth about one entity (never rendered)."""

    quality: float
    """0..1 (the normal CDF of ``z_quality``)."""
    z_quality: float
    esteem: float
    """Local esteem, a standard-normal score."""
    exposure: float
    """Tourist exposure, a standard-normal score (tourist spots and decoys are boosted)."""
    hidden: bool
    """Exposure below the scenario's hidden cut."""
    zone: Zone
    timing: Timing
    """Places: "past" = closed, "current" = open; events: over, upcoming within 60 days, later."""
    decoy: bool
    fit_category: str
    """The category whose intent groups the entity truly serves (topical fit)."""


@dataclass(frozen=True, slots=True)
class Apparent:
    """What sources can see of an entity's latent variables."""

    quality: float
    esteem: float
    exposure: float
    zone: Zone
    timing: Timing
    looks_trap: bool


def sigmoid(x: float) -> float:
    """The logistic function (overflow-safe)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def mix(rng: random.Random, latent: float, link: float) -> float:
    """A standard-normal view with correlation ``link`` to a standard-normal latent score."""
    return link * latent + math.sqrt(max(0.0, 1.0 - link * link)) * rng.gauss(0.0, 1.0)


def pick(
    rng: random.Random, latent: str, link: float, choices: Sequence[str], w: Sequence[float]
) -> str:
    """A categorical view: the latent value with probability ``link``, else a fresh draw."""
    if rng.random() < link:
        return latent
    return rng.choices(list(choices), list(w))[0]


def correlated(rng: random.Random, base: float, corr: float) -> float:
    """A standard-normal score with correlation ``corr`` to ``base``."""
    return corr * base + math.sqrt(max(0.0, 1.0 - corr * corr)) * rng.gauss(0.0, 1.0)


def logit_p(spec: Logit, view: Apparent) -> float:
    """P(an event) from a logit over an apparent view (never over the truth)."""
    x = (
        spec.base
        + spec.esteem * view.esteem
        + spec.exposure * view.exposure
        + spec.quality * view.quality
        + spec.trap * (1.0 if view.looks_trap else 0.0)
    )
    return sigmoid(x)


class LatentDrawer:
    """Draws latent truths and their apparent views from one RNG and one scenario."""

    def __init__(self, rng: random.Random, scenario: Scenario) -> None:
        self.rng = rng
        self.s = scenario
        lat = scenario.latent
        self.hidden_cut = _N.inv_cdf(lat.hidden_share)
        self.zone_w = (lat.zones.core, lat.zones.band, lat.zones.far)

    def zone(self) -> Zone:
        """A latent zone drawn from the scenario's shares."""
        z: Zone = self.rng.choices(ZONES, self.zone_w)[0]
        return z

    def latent(
        self,
        *,
        role: str,
        fit_category: str,
        timing: Timing,
    ) -> Latent:
        """One entity's truth. ``role``: "gem", "tourist", "decoy" or "ordinary"."""
        rng, lat = self.rng, self.s.latent
        zq = rng.gauss(0.0, 1.0)
        zone = self.zone()
        if role == "gem":
            # A genuine hidden gem: good, loved by locals, unknown to tourists, in town.
            zq = 0.6 + 1.4 * rng.random()
            esteem = max(
                self.s.grade.gem_esteem + 0.2, correlated(rng, zq, lat.esteem_quality_corr)
            )
            exposure = self.hidden_cut - 0.2 - abs(rng.gauss(0.0, 1.0))
            zone = "core"
        elif role == "decoy":
            # A tourist trap: mediocre, not loved locally, very exposed, near town.
            zq = -1.0 - 0.8 * rng.random()
            esteem = -1.0 - abs(rng.gauss(0.0, 0.7))
            exposure = lat.tourist_exposure_boost + abs(rng.gauss(0.0, 0.7))
            zone = "core"
        else:
            esteem = correlated(rng, zq, lat.esteem_quality_corr)
            exposure = correlated(rng, zq, lat.exposure_quality_corr)
            if role == "tourist":
                exposure += lat.tourist_exposure_boost
        quality = _N.cdf(zq)
        if role == "decoy":
            quality = min(quality, self.s.grade.good_quality - 0.05)
        return Latent(
            quality=round(quality, 4),
            z_quality=zq,
            esteem=round(esteem, 4),
            exposure=round(exposure, 4),
            hidden=exposure < self.hidden_cut,
            zone=zone,
            timing=timing,
            decoy=role == "decoy",
            fit_category=fit_category,
        )

    def view(self, truth: Latent, looks_trap: bool, timing_w: Sequence[float]) -> Apparent:
        """The apparent view of ``truth`` (``looks_trap`` is decided per town, see places)."""
        rng, links = self.rng, self.s.links
        # Exposure is standardised around the hidden cut so a boosted decoy stays "exposed".
        return Apparent(
            quality=mix(rng, truth.z_quality, links.quality),
            esteem=mix(rng, truth.esteem, links.esteem),
            exposure=mix(rng, _squash(truth.exposure), links.exposure),
            zone=pick(rng, truth.zone, links.zone, ZONES, self.zone_w),  # type: ignore[arg-type]
            timing=pick(rng, truth.timing, links.timing, ("past", "current", "future"), timing_w),  # type: ignore[arg-type]
            looks_trap=looks_trap,
        )


def _squash(x: float) -> float:
    """Keep a boosted exposure score on a roughly standard-normal scale (so a view of it with
    link 0 is indistinguishable from any other)."""
    return 2.0 * math.tanh(x / 2.0)
