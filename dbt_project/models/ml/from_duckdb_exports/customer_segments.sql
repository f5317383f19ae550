{#- Spark only: ml.customer_segments as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('customer_segments') }}
