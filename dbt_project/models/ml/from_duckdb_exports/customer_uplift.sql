{#- Spark only: ml.customer_uplift as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('customer_uplift') }}
