{#
  The values of the accepted_values test on `column_name` of model `model_name`, in their order:
  where a list of the input contract (product types, counterparty types, reject reasons) is declared
  once (models/staging/_staging__models.yml; python/regcalc/contract.py reads the same YAML). Read
  from the graph, so only at execution (an empty list while parsing); a model using it declares
  `-- depends_on:` the model. Raises a compiler error if there is no such test.
#}
{% macro accepted_values_of(model_name, column_name) %}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% set attached = 'model.' ~ project_name ~ '.' ~ model_name %}
  {% for node in graph.nodes.values()
        if node.resource_type == 'test' and node.attached_node == attached and node.column_name == column_name
        and node.test_metadata and node.test_metadata.name == 'accepted_values' %}
    {{ return(node.test_metadata.kwargs['values']) }}
  {% endfor %}
  {% do exceptions.raise_compiler_error('no accepted_values test on ' ~ model_name ~ '.' ~ column_name) %}
{% endmacro %}
