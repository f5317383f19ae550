{#- Every non-null value lies in [min_value, max_value] (either bound optional), or strictly
    between them with inclusive=false. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- set low, high = ('<', '>') if inclusive else ('<=', '>=') %}
select *
from {{ model }}
where {{ column_name }} is not null
    and (
        false
        {%- if min_value is not none %} or {{ column_name }} {{ low }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} {{ high }} {{ max_value }}{% endif %}
    )
{% endtest %}
