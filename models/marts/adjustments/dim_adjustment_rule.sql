-- One row per adjustment rule with its approval status and its conditions and actions as text.
-- Loading the rules here also runs their validation: an invalid rule set fails this model.
{% set rule_set = load_adjustment_rules() %}
with rules as (

    select * from {{ ref('adjustment_rules') }}

),

conditions as (

    select * from {{ ref('adjustment_conditions') }}

),

actions as (

    select * from {{ ref('adjustment_actions') }}

),

condition_text as (

    select
        conditions.rule_id,
        {{ dbt.listagg(
            dbt.concat(["conditions.field", "' '", "conditions.operator", "' '", "coalesce(conditions.value, '')"]),
            "' and '") }} as conditions_text
    from conditions
    group by conditions.rule_id

),

action_text as (

    select
        actions.rule_id,
        {{ dbt.listagg(
            dbt.concat(["actions.field", "' '", "actions.operation", "' '", "coalesce(actions.value, '')"]),
            "'; '") }} as actions_text
    from actions
    group by actions.rule_id

),

final as (

    select
        {{ dbt.hash('rules.rule_id') }} as adjustment_key,
        rules.rule_id,
        rules.description,
        rules.injection_point,
        coalesce(rules.scenario, 'base') as scenario,
        cast(rules.effective_from as date) as effective_from,
        cast(rules.expiry as date) as expiry,
        cast(rules.priority as integer) as priority,
        rules.author,
        rules.approver,
        cast(rules.approved_at as date) as approved_at,
        rules.reference,
        {{ adjustment_approval_status('rules') }} as approval_status,
        condition_text.conditions_text,
        action_text.actions_text
    from rules
    left join condition_text on rules.rule_id = condition_text.rule_id
    left join action_text on rules.rule_id = action_text.rule_id

)

select * from final
