{#- The point-in-time features of every customer with an order before each contact day of a past
    campaign, from activity strictly before that day (the same SQL as the training and scoring
    cutoffs: macro customer_features_at_cutoffs). -#}
{{ customer_features_at_cutoffs(ref('int_campaign_contact_dates'), with_snapshot_index=false) }}
