"""Plotly figures for reports and notebooks (:mod:`.figures`; plotly is imported lazily)."""
