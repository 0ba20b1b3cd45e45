"""Thermal sessions: time series of radiometric frames (spec ``datasets/SESSION.md``).

``read_session(path) -> Session``, ``SessionWriter(path, meta=..., start=...)``; importers of
other tools' recordings in :mod:`tinyheat.session.importers`, replay in
:mod:`tinyheat.session.replay`.
"""
from .store import Session, SessionError, SessionWriter, read_session, timing_stats

__all__ = ["Session", "SessionError", "SessionWriter", "read_session", "timing_stats"]
