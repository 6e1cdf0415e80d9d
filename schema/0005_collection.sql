-- 0005: collection tasks (采集任务). A task names what to read (its kind and data
-- items), from which meters (its target), when (a cron schedule or an interval,
-- inside an optional time-of-day window) and how hard to try: retries of what is
-- still missing (补采次数), their spacing, and how many days back gaps are filled.
-- Written by `headend task …` and /api/v1/tasks; read by every worker's scheduler
-- (headend/collection/). One row of collection_run (0003) records each task window
-- per terminal.

CREATE TABLE collection_task (
    id                serial       PRIMARY KEY,
    name              text         NOT NULL UNIQUE CHECK (name ~ '^[0-9A-Za-z_.-]{1,64}$'),
    -- realtime: AFN0C (current data); daily / monthly: AFN0D frozen values (日冻结 /
    -- 月冻结); curve: AFN0D curves of the previous day; events: AFN0E (事件).
    kind              text         NOT NULL
                      CHECK (kind IN ('realtime', 'daily', 'monthly', 'curve', 'events')),
    -- 1376.1 Fn numbers of the kind's AFN, or DL/T 645 data identifiers (8 hex digits,
    -- read through AFN10 F1 forwarding): at least one of the two.
    fns               smallint[]   NOT NULL DEFAULT '{}',
    dis               text[]       NOT NULL DEFAULT '{}',
    -- Target set: {"all": true}, {"regions": [code...]}, {"areas": [code...]},
    -- {"terminals": ["4403-00001", ...]} or {"meters": [{"terminal": "4403-00001", "pn": 3}]}.
    target            jsonb        NOT NULL DEFAULT '{"all": true}',
    -- A cron expression (5 fields, local time) or an interval in seconds.
    schedule          text,
    interval_s        integer      CHECK (interval_s >= 60),
    -- Optional time-of-day window (local): windows outside it are skipped and a
    -- task window still running at its end stops dispatching.
    window_start      time,
    window_end        time,
    priority          smallint     NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 3),
    retries           smallint     NOT NULL DEFAULT 3 CHECK (retries BETWEEN 0 AND 20),
    retry_interval_s  integer      NOT NULL DEFAULT 600 CHECK (retry_interval_s BETWEEN 1 AND 86400),
    lookback_days     smallint     NOT NULL DEFAULT 3 CHECK (lookback_days BETWEEN 0 AND 62),
    enabled           boolean      NOT NULL DEFAULT true,
    -- Set by "run now" (`headend task run`, POST /api/v1/tasks/{id}/run): every
    -- worker that sees it change runs a window for the terminals it holds.
    run_requested_at  timestamptz,
    created_at        timestamptz  NOT NULL DEFAULT now(),
    updated_at        timestamptz  NOT NULL DEFAULT now(),
    CHECK (schedule IS NOT NULL OR interval_s IS NOT NULL),
    CHECK (cardinality(fns) + cardinality(dis) > 0 OR kind = 'events')
);

CREATE INDEX collection_run_task ON collection_run (task_id, target_day);

-- Batch inspections (批量巡测): an operator's read of many terminals or meters at once.
-- The worker that accepted it runs it; any worker answers progress from these rows.
CREATE TABLE inspection (
    id           uuid         PRIMARY KEY,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    operator     text         NOT NULL,
    spec         jsonb        NOT NULL,    -- what is read (afn, fn, di, timeout...)
    total        integer      NOT NULL,
    done         integer      NOT NULL DEFAULT 0,
    ok           integer      NOT NULL DEFAULT 0,
    state        text         NOT NULL DEFAULT 'running'
                 CHECK (state IN ('running', 'finished', 'interrupted'))
);

CREATE TABLE inspection_result (
    inspection_id  uuid         NOT NULL REFERENCES inspection ON DELETE CASCADE,
    target         text         NOT NULL,  -- "4403-00001" or "4403-00001/p3"
    ok             boolean      NOT NULL,
    error          text,                   -- timeout | offline | denied | no_data | ...
    value          jsonb,                  -- the decoded answer
    finished_at    timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (inspection_id, target)
);
