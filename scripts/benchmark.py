#!/usr/bin/env python3
"""The warehouse against the pandas peer (../shared/peers) on the same file: `retention bench`.
See retention/bench.py for what is measured; results go to BENCHMARKS.md."""
import sys

from retention.bench import main

sys.exit(main(sys.argv[1:]))
