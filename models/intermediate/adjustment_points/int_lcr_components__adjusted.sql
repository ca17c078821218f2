-- Adjustment point `lcr_components`: the final components, before the caps and the ratio.
{{ apply_adjustments('lcr_components') }}
