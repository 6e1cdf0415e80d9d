-- 0003: time-series tables: readings, events, communication log, command audit,
-- collection runs. The contract for downstream consumers is docs/storage.md.
--
-- Keys are natural: a re-collected or replayed reading lands on the same key and the
-- writer's INSERT ... ON CONFLICT makes the write idempotent. References to the
-- archive (meter_id, terminal_id) are not enforced by foreign keys, on purpose: the
-- ingest path must not wait on archive locks, and the archive layer owns the archive.

-- Daily frozen readings (日冻结数据): the register value the meter froze at 00:00 of
-- the day after `day` (Std-2013 §5.13.1.3), one row per meter, register and day, the
-- total in `value` and the time-of-use tariffs 1-4 beside it.
CREATE TABLE reading_daily (
    meter_id     bigint       NOT NULL,
    item_id      smallint     NOT NULL,
    day          date         NOT NULL,
    value        numeric(14,4),            -- the total (NULL: reported absent, EE)
    tariff1      numeric(14,4),            -- 尖 (sharp)   for energy registers, else NULL
    tariff2      numeric(14,4),            -- 峰 (peak)
    tariff3      numeric(14,4),            -- 平 (flat)
    tariff4      numeric(14,4),            -- 谷 (valley)
    read_at      timestamptz,              -- when the terminal read the meter (A.15)
    received_at  timestamptz  NOT NULL,
    terminal_id  integer      NOT NULL,
    source       smallint     NOT NULL,    -- 1 scheduled, 2 re-collection, 3 on-demand, 4 report
    PRIMARY KEY (meter_id, item_id, day)
) {{partition_by(day)}};
{{timeseries(reading_daily, day, '1 month', '5 years')}}

-- Monthly frozen readings (月冻结数据): `month` is the first day of the month frozen.
CREATE TABLE reading_monthly (
    meter_id     bigint       NOT NULL,
    item_id      smallint     NOT NULL,
    month        date         NOT NULL,
    value        numeric(14,4),
    tariff1      numeric(14,4),
    tariff2      numeric(14,4),
    tariff3      numeric(14,4),
    tariff4      numeric(14,4),
    read_at      timestamptz,
    received_at  timestamptz  NOT NULL,
    terminal_id  integer      NOT NULL,
    source       smallint     NOT NULL,
    PRIMARY KEY (meter_id, item_id, month)
) {{partition_by(month)}};
{{timeseries(reading_monthly, month, '1 year', '10 years')}}

-- Instantaneous / real-time readings (实时数据, AFN0C): the value at `ts`, the meter
-- read time the terminal reported (or the receive time when it reported none).
CREATE TABLE reading_instant (
    meter_id     bigint       NOT NULL,
    item_id      smallint     NOT NULL,
    ts           timestamptz  NOT NULL,
    value        numeric(14,4),
    tariff1      numeric(14,4),
    tariff2      numeric(14,4),
    tariff3      numeric(14,4),
    tariff4      numeric(14,4),
    received_at  timestamptz  NOT NULL,
    terminal_id  integer      NOT NULL,
    source       smallint     NOT NULL,
    PRIMARY KEY (meter_id, item_id, ts)
) {{partition_by(ts)}};
{{timeseries(reading_instant, ts, '7 days', '1 year')}}

-- Interval curves (曲线数据, AFN0D F81-F110...): one row per point of the curve.
CREATE TABLE reading_curve (
    meter_id     bigint       NOT NULL,
    item_id      smallint     NOT NULL,
    ts           timestamptz  NOT NULL,
    value        numeric(14,4),
    density_min  smallint     NOT NULL,    -- 15, 30, 60, 5 or 1 minutes (appendix C)
    received_at  timestamptz  NOT NULL,
    terminal_id  integer      NOT NULL,
    source       smallint     NOT NULL,
    PRIMARY KEY (meter_id, item_id, ts)
) {{partition_by(ts)}};
{{timeseries(reading_curve, ts, '7 days', '2 years')}}

-- Terminal events (事件记录, AFN0E, ERC codes of appendix B).
CREATE TABLE event_record (
    terminal_id  integer      NOT NULL,
    importance   smallint     NOT NULL,    -- 1 important (重要事件), 2 normal (一般事件)
    erc          smallint     NOT NULL,
    occurred_at  timestamptz  NOT NULL,    -- the event's own time (or received_at)
    pointer      smallint     NOT NULL,    -- position in the terminal's event queue (0..255)
    body         bytea        NOT NULL,    -- the record as sent (Le bytes)
    detail       jsonb,                    -- decoded fields, when the ERC is known
    received_at  timestamptz  NOT NULL,
    PRIMARY KEY (terminal_id, importance, erc, occurred_at, pointer)
) {{partition_by(occurred_at)}};
{{timeseries(event_record, occurred_at, '1 month', '5 years')}}

-- Communication log (通信日志): logins, logouts, replaced sessions (SIM IP changes),
-- offline periods, rejected terminals.
CREATE TABLE comm_log (
    ts           timestamptz  NOT NULL,
    event_id     uuid         NOT NULL,    -- makes a replayed entry idempotent
    kind         text         NOT NULL,    -- connected|login|login_unknown|login_by_heartbeat|logout|replaced|rejected|offline|events_pending
    terminal     text,                     -- "A1-A2", e.g. "4403-00001"
    terminal_id  integer,                  -- archive id, when the archive knows it
    peer         text         NOT NULL,    -- ip:port (or serial:/dev/...)
    worker       text         NOT NULL,    -- which head-end worker saw it
    detail       jsonb        NOT NULL DEFAULT '{}',
    PRIMARY KEY (ts, event_id)
) {{partition_by(ts)}};
{{timeseries(comm_log, ts, '7 days', '1 year')}}
CREATE INDEX comm_log_terminal ON comm_log (terminal, ts DESC);

-- Command audit (命令审计): every control / parameter / time-sync command, its
-- operator and its life (queued -> sent -> confirmed | denied | timed_out -> verified).
CREATE TABLE command_audit (
    ts           timestamptz  NOT NULL,
    command_id   uuid         NOT NULL,
    state        text         NOT NULL,
    operator     text         NOT NULL,
    terminal     text         NOT NULL,
    afn          smallint     NOT NULL,
    fn           smallint     NOT NULL,
    pn           integer      NOT NULL,
    params       jsonb        NOT NULL DEFAULT '{}',
    detail       jsonb        NOT NULL DEFAULT '{}',
    PRIMARY KEY (ts, command_id, state)
) {{partition_by(ts)}};
{{timeseries(command_audit, ts, '1 month', '10 years')}}
CREATE INDEX command_audit_command ON command_audit (command_id);

-- Collection runs (采集执行记录): one row per task window and terminal.
CREATE TABLE collection_run (
    started_at   timestamptz  NOT NULL,
    run_id       uuid         NOT NULL,
    task_id      integer      NOT NULL,
    terminal_id  integer      NOT NULL,
    target_day   date,                     -- the data day collected (frozen tasks)
    finished_at  timestamptz,
    expected     integer      NOT NULL,    -- readings asked for
    received     integer      NOT NULL,    -- readings stored
    result       text         NOT NULL,    -- ok|partial|failed|offline
    detail       jsonb        NOT NULL DEFAULT '{}',
    PRIMARY KEY (started_at, run_id, terminal_id)
) {{partition_by(started_at)}};
{{timeseries(collection_run, started_at, '1 month', '2 years')}}
