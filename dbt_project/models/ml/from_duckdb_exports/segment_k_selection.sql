{#- Spark only: ml.segment_k_selection as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('segment_k_selection') }}
