"""Corpus to run folder, for every corpus size.

fit.py (`run_pipeline`: fit in memory, write the run), large.py (fit on a sample, assign
and count the rest in streaming batches), ray.py (the same batch steps on a Ray cluster, imported
only for `--engine ray`, so Ray stays optional).
"""
