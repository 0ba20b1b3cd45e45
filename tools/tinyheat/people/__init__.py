"""People in thermal sessions: one detection per body per frame, tracking across frames, one
temperature series per track with outlier marking and reference-region drift correction."""
