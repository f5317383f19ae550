{#- Spark only: ml.clv_parameters as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'clv_parameters') }}
