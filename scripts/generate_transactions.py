#!/usr/bin/env python3
"""The demo-data generator, as before the `retention` command existed: `retention demo-data`."""
import sys

from retention.demo import main

sys.exit(main())
