{#
  BCBS 238 Annex 1 para 6: the caps on Level 2 and Level 2B assets, computed on the amounts
  adjusted for the unwind of short-term secured funding / lending (para 48). With the caps as
  parameters (c15 = 0.15, c40 = 0.40 in param_lcr_caps):
    15/85 = c15 / (1 - c15),  15/60 = c15 / (1 - c40),  2/3 = c40 / (1 - c40).
#}
{% macro lcr_adjustment_15_cap(adjusted_level1, adjusted_level2a, adjusted_level2b, l2b_cap, l2_cap) %}
    greatest(
        {{ adjusted_level2b }} - {{ l2b_cap }} / (1 - {{ l2b_cap }}) * ({{ adjusted_level1 }} + {{ adjusted_level2a }}),
        {{ adjusted_level2b }} - {{ l2b_cap }} / (1 - {{ l2_cap }}) * {{ adjusted_level1 }},
        0
    )
{% endmacro %}

{% macro lcr_adjustment_40_cap(adjusted_level1, adjusted_level2a, adjusted_level2b, adjustment_15_cap, l2_cap) %}
    greatest(
        {{ adjusted_level2a }} + {{ adjusted_level2b }} - {{ adjustment_15_cap }}
            - {{ l2_cap }} / (1 - {{ l2_cap }}) * {{ adjusted_level1 }},
        0
    )
{% endmacro %}
