{#- Spark only: ml.value_model_metrics as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('value_model_metrics') }}
