{#- Spark only: ml.customer_uplift as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'customer_uplift') }}
