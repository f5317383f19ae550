{#- The model a column_checks test is attached to, from the test's own name (`this`: the test's
    relation, whose identifier is the test node's alias). -#}
{% macro column_checks_model_node(test_alias) %}
    {%- set tests = graph.nodes.values() | selectattr('resource_type', 'equalto', 'test')
                    | selectattr('alias', 'equalto', test_alias) | list %}
    {%- if tests | length != 1 or not tests[0].attached_node %}
        {{ exceptions.raise_compiler_error("column_checks: cannot tell which model test " ~ test_alias ~ " is on") }}
    {%- endif %}
    {{ return(graph.nodes[tests[0].attached_node]) }}
{% endmacro %}
