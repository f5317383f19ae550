{#- Spark only: ml.uplift_qini as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('uplift_qini') }}
