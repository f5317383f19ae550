{#- Spark only: ml.uplift_model_metrics as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'uplift_model_metrics') }}
