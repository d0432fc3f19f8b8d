"""Arena benchmarks (`make bench`, `python -m bench`): figures printed and written to bench/RESULTS.md, never timed
assertions. See bench/harness.py for what is measured and bench/RESULTS.md for the latest figures."""
