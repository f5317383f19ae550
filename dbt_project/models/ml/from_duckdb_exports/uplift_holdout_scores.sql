{#- Spark only: ml.uplift_holdout_scores as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('uplift_holdout_scores') }}
