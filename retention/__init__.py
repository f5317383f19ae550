"""The retention warehouse application: the `retention` command and the steps around dbt."""

__version__ = "0.2.0"
