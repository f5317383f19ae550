{#- Behaviour of every customer with at least one order before each cutoff of int_cutoffs,
    computed only from activity strictly before that cutoff (point in time: removing later
    transactions cannot change a row). The SQL is the macro customer_features_at_cutoffs
    (macros/customer_features.sql), which also gives the features at campaign contact days. -#}
{{ customer_features_at_cutoffs(ref('int_cutoffs')) }}
