{#- Spark only: ml.churn_feature_importance as the Spark target's Python step wrote it (retention.targets.spark_ml). -#}
select * from {{ source('ml_steps', 'churn_feature_importance') }}
