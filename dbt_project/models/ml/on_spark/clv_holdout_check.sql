{#- Spark only: ml.clv_holdout_check as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'clv_holdout_check') }}
