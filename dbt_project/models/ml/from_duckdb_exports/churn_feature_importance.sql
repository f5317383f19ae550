{#- Spark only: ml.churn_feature_importance as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('churn_feature_importance') }}
