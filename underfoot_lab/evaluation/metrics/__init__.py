"""Metrics: from judged runs to numbers, and from two systems' numbers to a verdict.

* :mod:`.trec` -- TREC qrels / run files (read, write, rank order).
* :mod:`.measure_names` -- what a ranking measure is: ``nDCG@10`` parsed, the registry.
* :mod:`.kernel` -- trec_eval-exact measures of qrels + a run (:func:`.kernel.evaluate`).
* :mod:`.dense` -- the same kernel for fixed candidates and many score vectors (sweeps).
* :mod:`.domain` -- Underfoot's own metrics (hiddenness, geo precision, expired events, ...).
* :mod:`.latency` -- stage latencies and cache statistics.
* :mod:`.catalog` -- a report's metric names, display names and directions.
* :mod:`.significance` -- paired tests, bootstrap intervals, Holm, Cohen's d.
* :mod:`.paired` -- the one paired comparison of two systems (:func:`.paired.paired_comparison`).

Submodules are imported on demand so ``import underfoot_lab`` stays light.
"""
