"""Occupancy heat maps over time (spec: ``datasets/HEATMAP.md``).

Dependencies run one way: ``recording`` (input) <- ``background`` / ``activation`` (per-frame
foreground, per-second activation maps) <- ``rollup`` / ``store`` (minute/hour/day/week/month aggregates in
Parquet, range queries) <- ``zones``, ``pictures``, ``events``, ``distributed``, ``live``
<- ``commands`` (the ``tinyheat heatmap*`` and ``occupancy`` commands). ``synth`` makes scenes
with known answers for tests and the shipped demo session.
"""
