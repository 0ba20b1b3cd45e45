"""Getting samples into a dataset: SD-card/folder ingest (``card``) and foreign degC recordings (``frames``)."""
