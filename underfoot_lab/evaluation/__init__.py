"""Offline evaluation, in the order data flows through it.

region set (:mod:`.regions`) -> runs (:mod:`.runner`) -> judgments (:mod:`.judging`) ->
metrics (:mod:`.metrics`) -> results (:mod:`.results`) -> MLflow (``underfoot_lab.tracking``).
:mod:`.candidate_pools` freezes a region set's candidates for offline re-scoring (sweeps).

Submodules are imported on demand (``from underfoot_lab.evaluation.metrics import kernel``) so
that ``import underfoot_lab`` never pulls in numpy, scipy or pandas.
"""
