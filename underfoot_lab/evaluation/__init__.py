"""Offline evaluation: TREC qrels/run IO, ranking metrics, significance tests, agreement.

Submodules are imported on demand (``from underfoot_lab.evaluation import measures``) so that
``import underfoot_lab`` never pulls in numpy, scipy or pandas.
"""
