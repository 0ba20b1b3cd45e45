"""Heads and faces in thermal sessions: detection per frame, tracking across frames, one
temperature series per track with outlier marking and reference-region drift correction."""
