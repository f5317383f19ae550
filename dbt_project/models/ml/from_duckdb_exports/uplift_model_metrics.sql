{#- Spark only: ml.uplift_model_metrics as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('uplift_model_metrics') }}
