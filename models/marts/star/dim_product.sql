-- One row per (product type, LCR category) with the category's parameters (type 1).
{{ star_type1_dimension(
    source=ref('int_star__product_categories'),
    natural_key=['product_type', 'category_code'],
    attributes=['lcr_section', 'hqla_level', 'haircut', 'run_off_rate', 'inflow_rate', 'bcbs_paragraph'],
    key='product_key',
) }}
