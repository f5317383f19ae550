{#- Spark only: ml.segment_profiles as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'segment_profiles') }}
