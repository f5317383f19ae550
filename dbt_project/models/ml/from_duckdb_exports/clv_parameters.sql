{#- Spark only: ml.clv_parameters as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('clv_parameters') }}
