{#- Spark only: ml.clv_holdout_check as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('clv_holdout_check') }}
