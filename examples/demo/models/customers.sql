-- One row per customer: what the crm_customers sync keeps the CRM in step with.
select
    customer_id,
    lower(nullif(trim(email), '')) as email,
    first_name,
    last_name,
    country,
    plan,
    lifetime_value,
    updated_at
from {{ ref('raw_customers') }}
