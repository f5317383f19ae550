{#- Spark only: ml.segment_profiles as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('segment_profiles') }}
