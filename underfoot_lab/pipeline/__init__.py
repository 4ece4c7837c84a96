"""The search pipeline, one subpackage per stage, in the order data flows::

    parse -> geocode -> sources -> score (merge, rank) -> respond

:class:`~underfoot_lab.pipeline.run.Pipeline` runs them behind the two-layer cache
(:mod:`.cache`) and records a trace of every stage; :mod:`.providers` decides which provider
runs each stage (offline, live, auto) and why.
"""
