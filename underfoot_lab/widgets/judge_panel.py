"""``JudgePanel``: grade a region set's judging pool, one document at a time.

The pool is :func:`~underfoot_lab.evaluation.judging.pooling.build_judging_pool` (the union
of the top ``k`` under several weights files, in a rank-blind deterministic order). The panel
shows one item with its context (query, town, title, description, sources, distance, link; all
escaped), takes a grade 0-3 (or a skip and an optional note) and writes a
:class:`~underfoot_lab.evaluation.judging.judgments.Judgment` by ``human:<rater>`` to the
:class:`~underfoot_lab.evaluation.judging.judgments.JudgmentStore` (``<home>/judgments.sqlite3``) at
once, so closing the notebook loses nothing. Starting again with the same name **resumes**: the
items this rater already graded are skipped.

Keyboard use. ipywidgets cannot bind raw keys, so the panel offers two keyboard paths:

* **undo** (``u`` in the grade box) takes back the last grade (the store forgets it, and so
  does a bundle's ``judgments/`` when grading one; the grade before it, if any, comes back)
  and shows that item again; **back** (``b``) shows the
  previous item without changing anything (grading it again replaces its grade). The button
  of an item's current grade is highlighted; no button looks selected otherwise;
* the **grade box**: type ``0``-``3`` (or ``s`` to skip) and press Enter; the box keeps focus
  and clears itself, so grading is digit, Enter, digit, Enter...;
* the **buttons** are tabbable (``Tab`` / ``Shift+Tab``, then Space or Enter), labelled
  "0 (not relevant)" ... "3 (hidden gem)".

Agreement: after every grade the panel shows this rater's agreement (linear weighted Cohen's
kappa, exact share, ordinal Krippendorff's alpha) with every other judge on the pool: other
people and the reference judge. The reference judge is the LLM judge
(:mod:`~underfoot_lab.evaluation.judging.llm_judge`) or, offline, the world's truth standing in for
it, labelled as such; "Run reference judge" grades the whole pool with it (per-region
agreement: :meth:`JudgePanel.region_agreement`).
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import ConfigError, UnderfootError
from . import html as h

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..evaluation.judging.judgments import Agreement, Judgment, JudgmentStore
    from ..evaluation.judging.llm_judge import JudgeRun, ReferenceJudge
    from ..evaluation.judging.pooling import JudgingPool, PoolItem
    from ..evaluation.regions import RegionSet
    from ..pipeline.run import Pipeline
    from ..pipeline.score.weights import ScoringWeights
    from ..settings import Settings
    from ..world import World

__all__ = ["GRADE_LABELS", "JudgePanel", "rater_judge"]

GRADE_LABELS: dict[int, str] = {
    0: "not relevant",
    1: "marginal",
    2: "relevant",
    3: "hidden gem",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def rater_judge(name: str) -> str:
    """``"human:<name>"`` for a rater name (letters, digits, ``. _ @ -``; spaces become ``-``)."""
    clean = "-".join(name.strip().split())
    if not _NAME.match(clean):
        raise ConfigError(
            f"rater name {name!r}: use letters, digits, '.', '_', '@' or '-' (at most 64)"
        )
    return f"human:{clean}"


class JudgePanel:
    """An ipywidgets judging panel (see the module docstring).

    ``region_set``: a set name, a YAML path or a :class:`RegionSet` (default: ``smoke``).
    ``pool``: a ready :class:`JudgingPool` (skips building one). ``weights``/``k``: what to
    pool (default: ``baseline-seed``, the default scorer, and ``tuned-default-world``, top 10:
    a pooling choice, the two rankings compared most, not a default scorer). ``store``: default
    ``<home>/judgments.sqlite3``. ``reference``: a reference judge, ``"auto"`` (default:
    :func:`make_reference_judge`) or None (no reference judge). ``world``: the offline world
    the stand-in reference judge grades against (default: the panel's own harness's, else the
    settings' world).

    Public widgets: ``rater``, ``start_button``, ``grade_buttons`` (0..3), ``skip_button``,
    ``note``, ``grade_box``, ``reference_button``, ``progress``, and the views ``card``,
    ``status``, ``agreement_view``, ``reference_view``, ``help``; ``widget`` is the layout.
    """

    def __init__(
        self,
        region_set: RegionSet | str | Path = "smoke",
        rater: str | None = None,
        *,
        pipeline: Pipeline | None = None,
        settings: Settings | None = None,
        store: JudgmentStore | None = None,
        pool: JudgingPool | None = None,
        weights: list[ScoringWeights | str | Path] | None = None,
        k: int = 10,
        reference: ReferenceJudge | str | None = "auto",
        world: World | None = None,
        bundle: str | Path | None = None,
    ) -> None:
        from ..evaluation.judging.judgments import JudgmentStore
        from ..evaluation.judging.pooling import build_judging_pool
        from ..harness import build_harness
        from ..settings import Settings

        self._own_pipeline = pipeline is None and pool is None
        self.pipeline: Pipeline | None = pipeline
        self.settings = pipeline.settings if pipeline is not None else settings or Settings()
        self.store = store or JudgmentStore(settings=self.settings)
        self.bundle = Path(bundle) if bundle is not None else None
        if self.bundle is not None and pool is None:
            # A bundle's pool is replayed (no network); grades are also written into it.
            from ..bundles import bundle_pool, read_bundle_judgments

            pool = bundle_pool(self.bundle, self.settings, weights=weights, k=k)
            self.store.add(read_bundle_judgments(self.bundle))
            if reference == "auto" and self.settings.openai_api_key is None:
                reference = None  # the world's truth cannot stand in for real data
        if pool is None:
            harness = build_harness(self.settings) if self.pipeline is None else None
            if harness is not None:
                self.pipeline = harness.pipeline
            pool = build_judging_pool(region_set, weights=weights, k=k, pipeline=self.pipeline)
            if harness is not None and world is None:
                world = harness.world  # built by the searches already when simulated
        self.pool: JudgingPool = pool
        self.reference: ReferenceJudge | None = None
        self.reference_error: str | None = None
        if reference == "auto":
            from ..evaluation.judging.llm_judge import make_reference_judge

            try:
                self.reference = make_reference_judge(self.settings, world)
            except ConfigError as exc:
                self.reference_error = str(exc)
        elif reference is not None and not isinstance(reference, str):
            self.reference = reference
        self.judge: str | None = None
        self.position: int | None = None
        self.skipped: set[tuple[str, str]] = set()
        self.last_run: JudgeRun | None = None
        self.history: list[tuple[int, Judgment | None]] = []
        """Grades of this session, newest last: (pool index, the judgment it replaced)."""
        self.visited: list[int] = []
        """Pool indexes shown before the current one (for back)."""

        # ---- controls
        self.rater = widgets.Text(
            value=rater or "", placeholder="your name", description="Rater", continuous_update=False
        )
        self.rater.add_class("uf-rater")
        # Buttons size to their labels and never shrink (a flex row would cut "Run reference
        # judge" and the grade labels short).
        fit = {"width": "auto", "flex": "0 0 auto"}
        self.start_button = widgets.Button(
            description="Start / resume", button_style="primary", layout=widgets.Layout(**fit)
        )
        self.start_button.on_click(lambda _b: self.start())
        self.grade_buttons: list[widgets.Button] = []
        for grade, label in GRADE_LABELS.items():
            b = widgets.Button(
                description=f"{grade} ({label})",
                tooltip=f"grade {grade}: {label} (or type {grade} + Enter in the grade box)",
                tabbable=True,
                layout=widgets.Layout(**fit),
            )
            b.add_class(f"uf-grade-{grade}")
            b.on_click(lambda _b, g=grade: self.grade(g))
            self.grade_buttons.append(b)
        self.skip_button = widgets.Button(
            description="skip (s)",
            tooltip="come back to it later",
            tabbable=True,
            layout=widgets.Layout(**fit),
        )
        self.skip_button.on_click(lambda _b: self.skip())
        self.undo_button = widgets.Button(
            description="undo (u)",
            tooltip="take back the last grade and show that item again",
            tabbable=True,
            layout=widgets.Layout(**fit),
        )
        self.undo_button.add_class("uf-undo")
        self.undo_button.on_click(lambda _b: self.undo())
        self.back_button = widgets.Button(
            description="◀ back (b)",
            tooltip="show the previous item (grading it again replaces its grade)",
            tabbable=True,
            layout=widgets.Layout(**fit),
        )
        self.back_button.add_class("uf-back")
        self.back_button.on_click(lambda _b: self.back())
        self.note = widgets.Text(
            placeholder="optional note (saved with the grade)", description="Note"
        )
        self.grade_box = widgets.Text(
            placeholder="0-3, s, u or b, Enter",
            description="Grade",
            continuous_update=False,
            layout=widgets.Layout(width="200px"),
        )
        self.grade_box.add_class("uf-grade-box")
        self.grade_box.observe(self._on_grade_box, names="value")
        self.progress = widgets.IntProgress(value=0, min=0, max=max(1, len(self.pool)))
        ref_label = self.reference.label if self.reference is not None else "no reference judge"
        self.reference_button = widgets.Button(
            description="Run reference judge",
            tooltip=f"grade the whole pool: {ref_label}",
            disabled=self.reference is None,
            layout=widgets.Layout(**fit),
        )
        self.reference_button.on_click(lambda _b: self.run_reference())

        # ---- views
        self.card = widgets.HTML()
        self.card.add_class("uf-card-view")
        self.status = widgets.HTML()
        self.progress_label = widgets.HTML()
        self.agreement_view = widgets.HTML()
        self.reference_view = widgets.HTML()
        self.help = widgets.HTML(
            h.message_html(
                "Keyboard: type 0-3 (s skip, u undo, b back) in the Grade box and press Enter; "
                "or Tab to a "
                "grade button and press Space. 0 not relevant · 1 marginal (loosely related, "
                "tourist trap, far-off event) · 2 relevant but well known or a drive away · "
                "3 a real hidden gem for this query."
            )
        )
        self.log = widgets.Output()
        self._render_reference_label()
        self.rater.observe(lambda _c: self.start(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.rater, self.start_button, self.progress, self.progress_label]),
                self.help,
                self.card,
                widgets.HBox(
                    [self.back_button, *self.grade_buttons, self.skip_button, self.undo_button],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                widgets.HBox([self.grade_box, self.note]),
                self.status,
                self.agreement_view,
                widgets.HBox([self.reference_button, self.reference_view]),
                self.log,
            ]
        )
        self.widget.add_class("uf-judge-panel")
        self._set_grading_enabled(False)
        if self.pool.errors:
            self.status.value = h.message_html(
                "left out of the pool: " + "; ".join(f"{q}: {why}" for q, why in self.pool.errors),
                "warn",
            )
        if rater:
            self.start()
        else:
            self.card.value = h.message_html(
                f"Pool: {len(self.pool)} items over {len(self.pool.queries)} queries of "
                f"{self.pool.region_set} (top {self.pool.k} of {len(self.pool.weights)} weight "
                "settings). Enter your name and press Start."
            )

    # ------------------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close the widgets and the pipeline the panel built."""
        from .explorer import _close_tree

        _close_tree(self.widget)
        if self._own_pipeline and self.pipeline is not None:
            self.pipeline.close()

    # ------------------------------------------------------------------------------ state
    @property
    def current(self) -> PoolItem | None:
        """The item on screen (None before Start and when everything is graded)."""
        return None if self.position is None else self.pool.items[self.position]

    def judged_keys(self) -> set[tuple[str, str]]:
        """Pool keys this rater has graded (read from the store)."""
        if self.judge is None:
            return set()
        keys = set(self.pool.keys)
        return {
            (j.query_id, j.doc_id)
            for j in self.store.for_queries(self.pool.query_ids, [self.judge])
            if (j.query_id, j.doc_id) in keys
        }

    # ------------------------------------------------------------------------------ actions
    def start(self, rater: str | None = None) -> None:
        """Start (or resume) as ``rater`` (default: the name in the box)."""
        if rater is not None and rater != self.rater.value:
            self.rater.value = rater  # observing the box calls start() again
            return
        name = self.rater.value
        if not name.strip():
            self.status.value = h.message_html("enter your name first", "warn")
            return
        try:
            self.judge = rater_judge(name)
        except ConfigError as exc:
            self.status.value = h.message_html(str(exc), "error")
            return
        self.skipped.clear()
        self.position = None
        self._advance(from_index=-1)
        done = len(self.judged_keys())
        self.status.value = h.message_html(
            f"{self.judge}: {done} of {len(self.pool)} already graded"
            + (", resuming" if done else ""),
            "ok",
        )
        self._refresh()

    def grade(self, grade: int, note: str | None = None) -> None:
        """Store ``grade`` for the current item (with the note box's text) and move on."""
        from ..evaluation.judging.judgments import Judgment

        item = self.current
        if item is None or self.judge is None:
            self.status.value = h.message_html("nothing to grade: press Start", "warn")
            return
        if grade not in GRADE_LABELS:
            self.status.value = h.message_html(f"grades are 0-3, not {grade}", "error")
            return
        text = (note if note is not None else self.note.value).strip() or None
        assert self.position is not None
        self.history.append((self.position, self._stored(item)))
        judgment = Judgment(item.query_id, item.doc_id, grade, self.judge, note=text)
        self.store.add([judgment])
        if self.bundle is not None:
            from ..bundles import add_judgments

            add_judgments(self.bundle, [judgment])
        self.note.value = ""
        self.skipped.discard(item.key)
        self.status.value = h.message_html(
            f"saved {grade} ({GRADE_LABELS[grade]}) for {item.doc_id}", "ok"
        )
        self._move(from_index=self.position)
        self._refresh()

    def undo(self) -> None:
        """Take back this session's last grade (restoring the grade it replaced, if any) and
        show that item again."""
        if not self.history or self.judge is None:
            self.status.value = h.message_html("nothing to undo", "warn")
            return
        index, previous = self.history.pop()
        item = self.pool.items[index]
        self.store.delete(item.query_id, item.doc_id, self.judge)
        if previous is not None:
            self.store.add([previous])
        if self.bundle is not None:  # the grade went into the bundle too: take it back there
            from ..bundles import remove_judgment

            remove_judgment(self.bundle, item.query_id, item.doc_id, self.judge, previous)
        self.position = index
        again = f" (back to {previous.grade})" if previous is not None else ""
        self.status.value = h.message_html(f"undid the grade of {item.doc_id}{again}", "ok")
        self._refresh()

    def back(self) -> None:
        """Show the previously shown item (grades unchanged)."""
        while self.visited and self.visited[-1] == self.position:
            self.visited.pop()  # already on screen (after an undo)
        if not self.visited:
            self.status.value = h.message_html("no previous item", "warn")
            return
        self.position = self.visited.pop()
        item = self.current
        assert item is not None
        stored = self._stored(item)
        was = f"graded {stored.grade}" if stored is not None else "not graded"
        self.status.value = h.message_html(
            f"back to {item.doc_id} ({was}); grade it to change, or skip to move on"
        )
        self._refresh()

    def _stored(self, item: PoolItem) -> Judgment | None:
        """This rater's stored judgment of ``item`` (None when ungraded)."""
        if self.judge is None:
            return None
        found = [
            j
            for j in self.store.for_queries([item.query_id], [self.judge])
            if j.doc_id == item.doc_id
        ]
        return found[0] if found else None

    def _move(self, from_index: int | None) -> None:
        """Advance from ``from_index`` remembering it for :meth:`back`."""
        if from_index is not None:
            self.visited.append(from_index)
        self._advance(from_index=from_index if from_index is not None else -1)

    def skip(self) -> None:
        """Leave the current item for later (it comes back after the others)."""
        item = self.current
        if item is None:
            return
        self.skipped.add(item.key)
        self._move(from_index=self.position)
        self.status.value = h.message_html(f"skipped {item.doc_id}")
        self._refresh()

    def run_reference(self) -> JudgeRun | None:
        """Grade the whole pool with the reference judge and store the judgments."""
        if self.reference is None:
            self.reference_view.value = h.message_html(
                self.reference_error or "no reference judge", "warn"
            )
            return None
        self.reference_button.disabled = True
        self.reference_view.value = h.message_html(f"grading {len(self.pool)} items…")
        total = len(self.pool)

        def progress(done: int, _total: int) -> None:
            if done == total or done % 10 == 0:  # a few updates, not one message per item
                self.reference_view.value = h.message_html(f"grading… {done} / {total}")

        try:
            run = self.reference.grade(list(self.pool.items), progress, today=self.pool.now)
        except Exception as exc:
            self.reference_view.value = h.message_html(
                f"reference judge failed: {type(exc).__name__}: {exc}", "error"
            )
            self.log.append_stderr(traceback.format_exc())
            return None
        finally:
            self.reference_button.disabled = False
        self.store.add(run.judgments)
        if self.bundle is not None:
            from ..bundles import add_judgments

            add_judgments(self.bundle, run.judgments)
        self.last_run = run
        extra = f", {run.cached} from cache" if run.cached else ""
        failed = f", {len(run.failures)} failed" if run.failures else ""
        self.reference_view.value = h.message_html(
            f"{run.label}: {len(run.judgments)} graded{extra}{failed}",
            "warn" if run.failures else "ok",
        )
        self._refresh()
        return run

    # ------------------------------------------------------------------------------ agreement
    def _world(self) -> World | None:
        ref = self.reference
        world = getattr(ref, "world", None) if ref is not None and ref.stand_in else None
        return world

    def agreement(self) -> list[Agreement]:
        """This rater against every other judge, over the pool (reference judge first)."""
        from ..evaluation.judging.llm_judge import agreement_over, pool_grades

        if self.judge is None:
            return []
        grades = pool_grades(self.store, self.pool, world=self._world())
        mine = grades.get(self.judge, {})
        ref = self.reference.judge if self.reference is not None else None
        others = sorted((j for j in grades if j != self.judge), key=lambda j: (j != ref, j))
        return [agreement_over(mine, grades[j], self.judge, j) for j in others]

    def region_agreement(self, other: str | None = None) -> dict[str, Agreement]:
        """Per-region agreement of this rater with ``other`` (default: the reference judge)."""
        from ..evaluation.judging.llm_judge import agreement_by_region

        target = other or (self.reference.judge if self.reference is not None else None)
        if self.judge is None or target is None:
            return {}
        return agreement_by_region(self.store, self.pool, self.judge, target, world=self._world())

    def agreement_frame(self) -> pd.DataFrame:
        """:meth:`agreement` as a DataFrame."""
        import pandas as pd

        return pd.DataFrame([a.to_dict() for a in self.agreement()])

    # ------------------------------------------------------------------------------ internals
    def _advance(self, from_index: int) -> None:
        """Move to the next item this rater has not graded, after ``from_index`` (wrapping);
        skipped items come last."""
        judged = self.judged_keys()
        n = len(self.pool)
        order = [(from_index + 1 + i) % n for i in range(n)] if n else []
        fresh = [
            i
            for i in order
            if self.pool.items[i].key not in judged and self.pool.items[i].key not in self.skipped
        ]
        later = [
            i
            for i in order
            if self.pool.items[i].key not in judged and self.pool.items[i].key in self.skipped
        ]
        nxt = fresh or later
        self.position = nxt[0] if nxt else None

    def _on_grade_box(self, change: dict[str, Any]) -> None:
        text = str(change.get("new", "")).strip().lower()
        if not text:
            return
        self.grade_box.value = ""  # clear for the next digit (this call sees "" and returns)
        if text in ("s", "skip"):
            self.skip()
        elif text in ("u", "undo"):
            self.undo()
        elif text in ("b", "back"):
            self.back()
        elif text in ("0", "1", "2", "3"):
            self.grade(int(text))
        else:
            self.status.value = h.message_html(
                f"type 0, 1, 2, 3, s, u or b (got {text[:10]!r})", "warn"
            )

    def _set_grading_enabled(self, on: bool) -> None:
        for b in (*self.grade_buttons, self.skip_button):
            b.disabled = not on
        self.grade_box.disabled = not on
        self.undo_button.disabled = not self.history
        self.back_button.disabled = not self.visited

    def _render_reference_label(self) -> None:
        if self.reference is None:
            self.reference_view.value = h.message_html(
                self.reference_error or "no reference judge", "warn"
            )
        elif self.reference.stand_in:
            self.reference_view.value = h.message_html(
                f"reference judge: {self.reference.label} (judge “{self.reference.judge}”)", "warn"
            )
        else:
            self.reference_view.value = h.message_html(f"reference judge: {self.reference.label}")

    def _refresh(self) -> None:
        try:
            self._render()
        except UnderfootError as exc:
            self.status.value = h.message_html(str(exc), "error")

    def _render(self) -> None:
        done = len(self.judged_keys())
        total = len(self.pool)
        self.progress.max = max(1, total)
        self.progress.value = done
        self.progress_label.value = h.message_html(f"{done} / {total} judged")
        item = self.current
        self._set_grading_enabled(item is not None)
        if self.judge is None:
            return
        if item is None:
            self.card.value = h.message_html(
                f"All {total} items of the pool are graded by {self.judge}. Thank you!", "ok"
            )
        else:
            assert self.position is not None
            self.card.value = h.judge_card_html(
                item, position=f"item {self.position + 1} of {total}"
            )
        # Highlight the current item's stored grade only (no button looks selected otherwise).
        stored = self._stored(item) if item is not None else None
        for grade, b in enumerate(self.grade_buttons):
            b.button_style = "info" if stored is not None and stored.grade == grade else ""
        title = f"Agreement of {self.judge} on this pool (weighted κ, linear)"
        rows = self.agreement()
        table = h.agreement_table(rows, title=title)
        if self.reference is not None and self.reference.stand_in:
            table += h.message_html(
                f"“{self.reference.judge}” is the {self.reference.label}.", "warn"
            )
        self.agreement_view.value = table
