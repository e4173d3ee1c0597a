"""Engines that run the passes over every document of a large corpus (`labeler.scale`).

The local engine lives in `labeler.scale`; `labeler.engines.ray` runs the same batch steps on a Ray
cluster and is only imported for `--engine ray`, so Ray stays an optional dependency.
"""
