{#- Spark only: ml.model_artifacts as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('model_artifacts') }}
