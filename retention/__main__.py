"""python -m retention: the same as the `retention` command."""
import sys

from retention.cli import main

sys.exit(main())
