"""Everything checked before any SQL runs: the input files, their columns and the vars."""
