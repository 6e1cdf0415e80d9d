-- 0006: data anomalies (数据异常): what the collected data says is wrong with a meter,
-- a terminal or the archive, one row per finding, for operators to work through and
-- close. Written by headend/collection/anomalies.py: set-based detectors over one
-- data day of reading_daily, and clock drift found at read time.
--
-- An ordinary table, not a time-series one: it stays small (findings, not readings)
-- and operators update it. Like the readings, it references the archive by id without
-- foreign keys: a finding outlives an archive edit (a placeholder meter deleted once
-- it is filed properly), and detection never waits on archive locks.

CREATE TABLE data_anomaly (
    id                   bigserial    PRIMARY KEY,
    kind                 text         NOT NULL CHECK (kind IN (
                             'zero_energy',           -- reads 0 while its area advances (零电量: 接线错误)
                             'stalled_energy',        -- register stopped while its area advances (停走)
                             'negative_increment',    -- register went down (示值下降 / 倒走)
                             'energy_jump',           -- more energy in a day than the capacity allows (飞走)
                             'meter_clock_drift',     -- meter clock off (电能表时钟超差)
                             'terminal_clock_drift',  -- terminal clock off (终端时钟超差)
                             'meter_not_in_archive',  -- the field reports a point the archive lacks (待建档)
                             'meter_not_reporting'    -- the archive has a meter the field does not report
                         )),
    terminal_id          integer,                 -- terminal.id
    meter_id             bigint,                  -- meter.id (NULL: a terminal finding)
    transformer_area_id  integer,                 -- 台区 of the meter (or of its terminal)
    day                  date         NOT NULL,   -- the data day the finding concerns
    detected_at          timestamptz  NOT NULL DEFAULT now(),
    detail               jsonb        NOT NULL DEFAULT '{}',  -- the values behind it
    status               text         NOT NULL DEFAULT 'open'
                                      CHECK (status IN ('open', 'closed')),
    closed_at            timestamptz,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- One finding per kind, day and device: detection run twice for a day inserts
-- nothing twice (INSERT ... ON CONFLICT DO NOTHING), and a closed finding is not
-- reopened by the next run.
CREATE UNIQUE INDEX data_anomaly_once
    ON data_anomaly (kind, day, coalesce(terminal_id, 0), coalesce(meter_id, 0));
-- The operators' lists: open findings by day and kind, or by transformer area.
CREATE INDEX data_anomaly_list ON data_anomaly (status, day DESC, kind);
CREATE INDEX data_anomaly_area ON data_anomaly (transformer_area_id, status, day DESC);
CREATE INDEX data_anomaly_meter ON data_anomaly (meter_id) WHERE meter_id IS NOT NULL;
