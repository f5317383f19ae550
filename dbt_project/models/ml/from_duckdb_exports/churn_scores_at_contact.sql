{#- Spark only: ml.churn_scores_at_contact as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('churn_scores_at_contact') }}
