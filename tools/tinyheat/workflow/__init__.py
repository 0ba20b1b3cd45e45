"""Steps chained into user workflows: ``run`` (train -> quantize -> export) and ``bench``; their click commands."""
