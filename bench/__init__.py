"""The SignBridge benchmark: `python -m bench` (make bench). See bench/run.py and docs/benchmarks.md."""
