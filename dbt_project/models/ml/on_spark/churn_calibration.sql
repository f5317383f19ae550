{#- Spark only: ml.churn_calibration as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'churn_calibration') }}
