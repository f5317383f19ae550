{#- Spark only: ml.churn_backtest as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('churn_backtest') }}
