"""Performance benchmark of UPAIR Explorer (``make bench`` / ``python -m bench.run``)."""
