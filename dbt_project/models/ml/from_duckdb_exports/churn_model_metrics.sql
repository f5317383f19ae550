{#- Spark only: ml.churn_model_metrics as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('churn_model_metrics') }}
