{#- Spark only: ml.segment_k_selection as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'segment_k_selection') }}
