-- "What did we lose?": every record the pipeline gave up on, with the stage and the reason, from three places:
--   * raw.recording_rejections (manifest, media, submit, fetch, ... rejections written by the pipeline),
--   * Symbl jobs whose ledger entry is currently `failed`, unless the pipeline already recorded that rejection,
--   * Semarize Kits whose latest run for a conversation failed, unless already recorded.
-- is_recovered flags a recording that was rejected once but has since completed (it is not lost).
with pipeline_rejections as (
    select
        'recording_rejections' as origin,
        -- raw stages may carry a detail after a colon (`fetch:messages`, `parse:topics`): the stage is before it
        split_part(stage, ':', 1) as stage,
        reason,
        recording_id,
        cast(null as varchar) as conversation_id,
        cast(null as varchar) as kit_code,
        source_file,
        partition_date,
        rejected_at
    from {{ ref('stg_recordings__rejections') }}
),

failed_symbl_jobs as (
    select
        'symbl_conversations' as origin,
        'symbl_job' as stage,
        coalesce(c.failure_reason, 'Symbl job failed (no reason given)') as reason,
        c.recording_id,
        c.conversation_id,
        cast(null as varchar) as kit_code,
        r.source_file,
        c.partition_date,
        c.updated_at as rejected_at
    from {{ ref('stg_symbl__conversations') }} as c
    left join {{ ref('stg_recordings__recordings') }} as r on c.recording_id = r.recording_id
    where c.status = 'failed'
),

latest_semarize_runs as (
    select *
    from {{ ref('stg_semarize__runs') }}
    qualify row_number() over (partition by conversation_id, kit_code order by updated_at desc) = 1
),

failed_semarize_runs as (
    select
        'semarize_runs' as origin,
        'semarize' as stage,
        'Semarize run ' || run.status || ' for Kit ' || run.kit_code
        || coalesce(': ' || nullif(concat_ws(' - ', run.error_code, run.error_message), ''), '') as reason,
        run.recording_id,
        run.conversation_id,
        run.kit_code,
        r.source_file,
        run.partition_date,
        run.updated_at as rejected_at
    from latest_semarize_runs as run
    left join {{ ref('stg_recordings__recordings') }} as r on run.recording_id = r.recording_id
    where run.status in ('failed', 'cancelled', 'error')
),

all_rejections as (
    select * from pipeline_rejections
    union all
    select * from failed_symbl_jobs as f
    where
        not exists (
            select 1 from pipeline_rejections as p
            where p.recording_id = f.recording_id and p.stage = 'symbl_job'
        )
    union all
    select * from failed_semarize_runs as f
    where not exists (
        select 1 from pipeline_rejections as p
        where p.recording_id = f.recording_id and p.stage = 'semarize'
    )
),

completed_recordings as (
    select recording_id from {{ ref('stg_symbl__conversations') }}
    where status = 'completed'
)

select
    md5(concat_ws(
        '|', a.origin, a.stage, a.reason, coalesce(a.recording_id, ''),
        coalesce(a.conversation_id, ''), coalesce(a.kit_code, ''), coalesce(a.source_file, '')
    )) as rejection_key,
    a.origin,
    a.stage,
    a.reason,
    a.recording_id,
    a.conversation_id,
    a.kit_code,
    a.source_file,
    a.partition_date,
    a.rejected_at,
    -- Semarize failures are never "recovered" by Symbl completing: the brick scores are still missing.
    coalesce(
        a.stage <> 'semarize' and a.recording_id in (select cr.recording_id from completed_recordings as cr), false
    ) as is_recovered
from all_rejections as a
