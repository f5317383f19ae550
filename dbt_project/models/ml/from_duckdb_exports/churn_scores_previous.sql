{#- Spark only: ml.churn_scores_previous as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('churn_scores_previous') }}
