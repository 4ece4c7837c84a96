"""Ranking measures: what a measure *is* -- its canonical name, parsing, the registry.

No computation here: :func:`~underfoot_lab.evaluation.metrics.kernel.evaluate` computes
measures for qrels + a run, :mod:`~underfoot_lab.evaluation.metrics.dense` for sweeps where
only the scores change. ``nDCG@10``, ``ndcg_cut_10`` and ``ndcg_cut.10`` all parse to the same
:class:`Measure`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from ...errors import UnderfootError

if TYPE_CHECKING:  # pragma: no cover
    pass

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
OnMissing: TypeAlias = Literal["zero", "skip"]


class EvaluationError(UnderfootError, ValueError):
    """Inputs that cannot be evaluated: duplicates, NaN scores, bad grades, no queries."""


class MeasureError(EvaluationError):
    """A measure name that does not parse, or a measure used with options it does not take."""


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """One family of measures in the registry."""

    name: str
    """Canonical family name, e.g. ``nDCG``."""
    aliases: tuple[str, ...]
    """Lower-case names that parse to this family (trec_eval and ir_measures spellings)."""
    cutoff: Literal["required", "optional"]
    options: tuple[tuple[str, tuple[str, ...]], ...]
    """Allowed options and their values; the first value is the default."""
    trec_eval: str | None
    """trec_eval/pytrec_eval measure name (``P`` -> ``P_5`` for a cutoff), when there is one."""
    description: str


REGISTRY: dict[str, MeasureSpec] = {
    spec.name: spec
    for spec in (
        MeasureSpec(
            "nDCG",
            ("ndcg", "ndcg_cut"),
            "optional",
            (("gain", ("linear", "exp")),),
            "ndcg_cut",
            "normalised discounted cumulative gain at k (trec_eval ndcg_cut)",
        ),
        MeasureSpec("P", ("p", "precision"), "required", (), "P", "precision at k"),
        MeasureSpec("R", ("r", "recall"), "required", (), "recall", "recall at k"),
        MeasureSpec(
            "RR",
            ("rr", "mrr", "recip_rank"),
            "optional",
            (),
            "recip_rank",
            "reciprocal rank of the first relevant document",
        ),
        MeasureSpec(
            "AP",
            ("ap", "map", "map_cut"),
            "optional",
            (),
            "map",
            "average precision (trec_eval map; AP@k is map_cut)",
        ),
    )
}

_ALIASES: dict[str, str] = {
    alias: spec.name for spec in REGISTRY.values() for alias in (spec.name.lower(), *spec.aliases)
}
_CUT_ALIASES = frozenset({"ndcg_cut", "map_cut"})
_BODY = re.compile(r"(?P<name>[A-Za-z][A-Za-z_]*?)(?:[@._](?P<cutoff>\d+))?")
_WHOLE = re.compile(r"(?P<body>[^()\s]+)\s*(?:\((?P<options>[^()]*)\))?")


@dataclass(frozen=True, slots=True, order=True)
class Measure:
    """A parsed measure: family ``name``, optional ``cutoff`` and non-default ``options``.

    ``str(measure)`` is the canonical spelling (``nDCG@10``, ``nDCG@10(gain=exp)``, ``P@5``,
    ``R@100``, ``RR``, ``AP``); results are keyed by it.
    """

    name: str
    cutoff: int | None = None
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        spec = REGISTRY.get(self.name)
        if spec is None:
            raise MeasureError(f"unknown measure family {self.name!r}; known: {_known()}")
        if self.cutoff is None and spec.cutoff == "required":
            raise MeasureError(f"{self.name} needs a cutoff, e.g. {self.name}@10")
        if self.cutoff is not None and (
            isinstance(self.cutoff, bool) or not isinstance(self.cutoff, int) or self.cutoff < 1
        ):
            raise MeasureError(f"cutoff must be a positive integer, got {self.cutoff!r}")
        allowed = dict(spec.options)
        normalised: list[tuple[str, str]] = []
        for key, value in self.options:
            if key not in allowed:
                raise MeasureError(
                    f"{self.name} takes no option {key!r}"
                    + (f"; options: {', '.join(allowed)}" if allowed else "")
                )
            if value not in allowed[key]:
                raise MeasureError(
                    f"{self.name} option {key}={value!r} not one of {', '.join(allowed[key])}"
                )
            if value != allowed[key][0]:  # defaults are dropped so equal measures compare equal
                normalised.append((key, value))
        object.__setattr__(self, "options", tuple(sorted(normalised)))

    def option(self, key: str) -> str:
        """The value of option ``key`` (its default when not given)."""
        given = dict(self.options)
        if key in given:
            return given[key]
        return dict(REGISTRY[self.name].options)[key][0]

    @property
    def trec_eval_name(self) -> str | None:
        """The pytrec_eval result key for this measure, or None if trec_eval has no equivalent.

        ``nDCG@10`` -> ``ndcg_cut_10``, ``nDCG`` -> ``ndcg``, ``P@5`` -> ``P_5``,
        ``R@100`` -> ``recall_100``, ``RR`` -> ``recip_rank``, ``AP`` -> ``map``,
        ``AP@10`` -> ``map_cut_10``; exponential gain and ``RR@k`` have none.
        """
        if self.options or (self.name == "RR" and self.cutoff is not None):
            return None
        if self.name == "nDCG":
            return "ndcg" if self.cutoff is None else f"ndcg_cut_{self.cutoff}"
        if self.name == "AP":
            return "map" if self.cutoff is None else f"map_cut_{self.cutoff}"
        base = REGISTRY[self.name].trec_eval
        return base if self.cutoff is None else f"{base}_{self.cutoff}"

    def __str__(self) -> str:
        text = self.name if self.cutoff is None else f"{self.name}@{self.cutoff}"
        if self.options:
            text += "(" + ",".join(f"{k}={v}" for k, v in self.options) + ")"
        return text


def _known() -> str:
    return "nDCG@k, P@k, R@k, RR, AP (also nDCG, RR@k, AP@k, nDCG@k(gain=exp))"


def parse_measure(text: str | Measure) -> Measure:
    """Parse a measure name, case-insensitively.

    Accepts canonical names (``nDCG@10``, ``P@5``, ``R@100``, ``RR``, ``AP``), trec_eval names
    (``ndcg_cut_10``, ``ndcg_cut.10``, ``P_5``, ``recall_100``, ``recip_rank``, ``map``,
    ``map_cut_10``) and aliases (``MRR`` -> RR, ``MAP`` -> AP, ``precision@5``, ``recall@10``),
    plus options in parentheses: ``nDCG@10(gain=exp)``. Raises :class:`MeasureError`.
    """
    if isinstance(text, Measure):
        return text
    whole = _WHOLE.fullmatch(text.strip())
    body = _BODY.fullmatch(whole.group("body")) if whole else None
    if whole is None or body is None:
        raise MeasureError(f"cannot parse measure {text!r}; known: {_known()}")
    alias = body.group("name").lower()
    family = _ALIASES.get(alias)
    if family is None:
        raise MeasureError(f"unknown measure {text!r}; known: {_known()}")
    cutoff = int(body.group("cutoff")) if body.group("cutoff") is not None else None
    if cutoff is None and alias in _CUT_ALIASES:
        raise MeasureError(f"{alias} needs a cutoff, e.g. {alias}_10")
    options: list[tuple[str, str]] = []
    if whole.group("options") is not None:
        for item in whole.group("options").split(","):
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise MeasureError(f"measure options must be key=value, got {item!r} in {text!r}")
            options.append((key.strip().lower(), value.strip().lower()))
    return Measure(family, cutoff, tuple(options))


def parse_measures(measures: Sequence[str | Measure] | str | Measure) -> tuple[Measure, ...]:
    """Parse several measures, dropping repeats (``map`` and ``AP`` are the same measure)."""
    if isinstance(measures, str | Measure):
        measures = [measures]
    parsed: dict[Measure, None] = {}
    for item in measures:
        parsed[parse_measure(item)] = None
    if not parsed:
        raise MeasureError("no measures given")
    return tuple(parsed)
