{#- Spark only: ml.customer_value_at_contact as the DuckDB build computed and exported it. -#}
select * from {{ duckdb_ml_export('customer_value_at_contact') }}
