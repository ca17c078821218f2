{#
  BCBS 238 Annex 1 para 6: the caps on Level 2 and Level 2B assets, computed on the amounts adjusted
  for the unwind of short-term secured funding / lending (para 48). With the caps as parameters
  (c15 = 0.15, c40 = 0.40 in param_lcr_caps): 15/85 = c15 / (1 - c15), 15/60 = c15 / (1 - c40),
  2/3 = c40 / (1 - c40). Each term x - c / (1 - d) * y is computed as (x (1 - d) - c y) / (1 - d): one
  division, its products and its quotient rounded to the money scale (macro money), so the adjustments
  are exact decimals with the same digits on every target and a level exactly at its cap gives 0.
#}
{% macro lcr_adjustment_15_cap(adjusted_level1, adjusted_level2a, adjusted_level2b, l2b_cap, l2_cap) %}
    greatest(
        {{ lcr_cap_excess(adjusted_level2b, '(' ~ adjusted_level1 ~ ' + ' ~ adjusted_level2a ~ ')', l2b_cap, l2b_cap) }},
        {{ lcr_cap_excess(adjusted_level2b, adjusted_level1, l2b_cap, l2_cap) }},
        0
    )
{% endmacro %}

{% macro lcr_adjustment_40_cap(adjusted_level1, adjusted_level2a, adjusted_level2b, adjustment_15_cap, l2_cap) %}
    greatest(
        {{ lcr_cap_excess('(' ~ adjusted_level2a ~ ' + ' ~ adjusted_level2b ~ ' - ' ~ adjustment_15_cap ~ ')',
                          adjusted_level1, l2_cap, l2_cap) }},
        0
    )
{% endmacro %}

{# x - c / (1 - d) * y as money: (x (1 - d) - c y) / (1 - d), products and quotient rounded HALF_UP. #}
{% macro lcr_cap_excess(x, y, c, d) %}
  {{- money('(' ~ money(x ~ ' * (1 - ' ~ d ~ ')') ~ ' - ' ~ money(c ~ ' * ' ~ y) ~ ') / (1 - ' ~ d ~ ')') -}}
{% endmacro %}
