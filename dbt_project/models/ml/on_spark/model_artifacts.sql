{#- Spark only: ml.model_artifacts as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'model_artifacts') }}
