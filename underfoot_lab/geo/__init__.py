"""Places on the map, shared by the pipeline and the offline world (the GeoNames gazetteer)."""
