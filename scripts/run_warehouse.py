#!/usr/bin/env python3
"""The build, as before the `retention` command existed: `retention build` with the same flags."""
import sys

from retention.cli import main

sys.exit(main(["build", *sys.argv[1:]]))
