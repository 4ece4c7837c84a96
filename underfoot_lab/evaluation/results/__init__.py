"""A run's results: the :class:`~.model.EvaluationReport`, how it is built, how two compare.

* :mod:`.model` -- :class:`~.model.RunConfig`, :class:`~.model.EvaluationReport` (views,
  save / load, text summary).
* :mod:`.build` -- :func:`~.build.build_report`: outcomes + qrels -> a report.
* :mod:`.compare` -- :func:`~.compare.compare_reports` and its text table.
"""
