"""The code steps of the five seed documents (../shared/seeds) and what they run against.

`steps.py` holds the steps, `substitutions.py` the import, data and model tables; the runner is
`benchmarks/seed_steps.py`.
"""
