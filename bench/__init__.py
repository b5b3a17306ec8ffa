"""Benchmarks of Tasksync against the ceilings of this machine (`python -m bench`).

See bench/README.md for what each figure means and how it is measured.
"""
