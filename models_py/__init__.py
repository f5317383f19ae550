"""Pure, deterministic ML functions for the customer-retention warehouse (no I/O, no dbt)."""
