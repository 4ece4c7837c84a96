"""Judging: who says which results are relevant, and how far the judges agree.

* :mod:`.pooling` -- TREC-style pooling: which (query, document) pairs a judge should grade.
* :mod:`.world_judge` -- the offline world's ground truth as judgments (judge ``world``).
* :mod:`.llm_judge` -- an LLM grading pooled pairs.
* :mod:`.judgments` -- the judgment store (SQLite) and the qrels it yields.
* :mod:`.agreement` -- inter-judge agreement (Cohen's / Fleiss' kappa, ...).
"""
