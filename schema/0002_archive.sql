-- 0002: the archive (档案): regions, transformer areas (台区), tariffs, customers,
-- SIM cards, terminals (采集终端 / 集中器) and measuring points / meters (测量点 / 电能表).
-- Documented in docs/archive.md; written by headend/archive, read by the ingest path
-- (headend/storage/directory.py relies on terminal (id, a1, a2, status) and meter
-- (id, terminal_id, pn, address, status)).
--
-- Every change to these tables is recorded in archive_audit by one trigger function:
-- who (the `headend.actor` setting of the transaction, else the session user), when,
-- and the row before and after.

-- Regions (供电单位 / 行政区划): the administrative unit a terminal's A1 names.
CREATE TABLE region (
    id          serial       PRIMARY KEY,
    code        text         NOT NULL UNIQUE CHECK (code ~ '^[0-9A-Za-z_-]{1,32}$'),
    name        text         NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    updated_at  timestamptz  NOT NULL DEFAULT now()
);

-- Transformer areas (台区): the low-voltage network behind one distribution transformer;
-- collection success is reported per area (台区抄表率).
CREATE TABLE transformer_area (
    id            serial        PRIMARY KEY,
    code          text          NOT NULL UNIQUE CHECK (code ~ '^[0-9A-Za-z_-]{1,32}$'),
    name          text          NOT NULL,
    region_id     integer       REFERENCES region ON DELETE SET NULL,
    capacity_kva  numeric(10,2) CHECK (capacity_kva >= 0),
    supply_line   text,                      -- 10 kV feeder (供电线路)
    created_at    timestamptz   NOT NULL DEFAULT now(),
    updated_at    timestamptz   NOT NULL DEFAULT now()
);

-- Tariff codes known to the marketing system (电价代码). Customers name theirs by code
-- without a foreign key: an unknown code is a finding of `headend archive check`,
-- not a reason to refuse the customer.
CREATE TABLE tariff (
    code        text         PRIMARY KEY CHECK (code ~ '^[0-9A-Za-z_-]{1,32}$'),
    name        text         NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    updated_at  timestamptz  NOT NULL DEFAULT now()
);

-- Customers (用户 / 用电户), keyed by the marketing account number (用户编号).
CREATE TABLE customer (
    id                     serial        PRIMARY KEY,
    account_no             text          NOT NULL UNIQUE CHECK (account_no ~ '^[0-9A-Za-z_-]{1,32}$'),
    name                   text          NOT NULL,          -- 户名
    category               text,                            -- 用电类别 (居民生活, 一般工商业 ...)
    contract_capacity_kva  numeric(12,2) CHECK (contract_capacity_kva >= 0),  -- 合同容量
    voltage_level          text,                            -- 电压等级 (交流220V, 交流10kV ...)
    supply_line            text,                            -- 供电线路
    tariff_code            text,                            -- 电价代码 (see tariff)
    address                text,                            -- 用电地址
    phone                  text,                            -- 联系电话
    transformer_area_id    integer       REFERENCES transformer_area ON DELETE SET NULL,
    created_at             timestamptz   NOT NULL DEFAULT now(),
    updated_at             timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX customer_area ON customer (transformer_area_id);

-- SIM cards (SIM卡) of the terminals' GPRS/4G modems.
CREATE TABLE sim_card (
    id          serial       PRIMARY KEY,
    iccid       text         NOT NULL UNIQUE CHECK (iccid ~ '^[0-9]{19,20}$'),
    imsi        text         CHECK (imsi ~ '^[0-9]{15}$'),
    msisdn      text         CHECK (msisdn ~ '^[0-9]{11,13}$'),  -- 11 digits, 13 for IoT numbers
    apn         text,
    static_ip   inet,                                       -- private APNs give fixed IPs
    status      text         NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'suspended', 'cancelled')),
    created_at  timestamptz  NOT NULL DEFAULT now(),
    updated_at  timestamptz  NOT NULL DEFAULT now()
);

-- Terminals (采集终端: concentrators 集中器, special transformer terminals 专变终端),
-- addressed by A1 (administrative code, 4 BCD digits) and A2 (terminal number).
-- 'discovered' rows are created by the ingest path when an unknown terminal logs in.
CREATE TABLE terminal (
    id                    serial       PRIMARY KEY,
    a1                    text         NOT NULL CHECK (a1 ~ '^[0-9]{4}$'),
    a2                    integer      NOT NULL CHECK (a2 BETWEEN 0 AND 65535),
    status                text         NOT NULL DEFAULT 'active'
                                       CHECK (status IN ('active', 'inactive', 'discovered')),
    vendor                text,                         -- 生产厂家
    model                 text,                         -- 终端型号
    firmware_version      text,                         -- 软件版本
    protocol              text         NOT NULL DEFAULT 'gdw1376-2013'
                                       CHECK (protocol IN ('gdw1376-2013', 'gdw1376-2009')),
    sim_id                integer      REFERENCES sim_card ON DELETE SET NULL,
    expected_apn          text,                         -- what AFN04 F3 should read back
    expected_master_ip    inet,
    expected_master_port  integer      CHECK (expected_master_port BETWEEN 1 AND 65535),
    install_place         text,                         -- 安装地点
    install_date          date,                         -- 安装日期
    region_id             integer      REFERENCES region ON DELETE SET NULL,
    transformer_area_id   integer      REFERENCES transformer_area ON DELETE SET NULL,
    created_at            timestamptz  NOT NULL DEFAULT now(),
    updated_at            timestamptz  NOT NULL DEFAULT now(),
    UNIQUE (a1, a2)
);
CREATE INDEX terminal_sim ON terminal (sim_id);
CREATE INDEX terminal_area ON terminal (transformer_area_id);

-- Measuring points / meters (测量点 / 电能表): point `pn` of a terminal (AFN04 F10).
-- A replaced meter (换表) keeps its row with status 'removed'; only one live row per
-- point. protocol and baud_rate use the codes and rates AFN04 F10 can carry.
CREATE TABLE meter (
    id                   bigserial    PRIMARY KEY,
    terminal_id          integer      NOT NULL REFERENCES terminal,
    pn                   integer      NOT NULL CHECK (pn BETWEEN 1 AND 2040),
    address              text         NOT NULL CHECK (address ~ '^[0-9]{12}$'),  -- 通信地址
    status               text         NOT NULL DEFAULT 'active'
                                      CHECK (status IN ('active', 'removed', 'discovered')),
    -- 1 DL/T 645-1997, 2 AC sampling (交流采样), 30 DL/T 645-2007, 31 carrier module
    protocol             smallint     NOT NULL DEFAULT 30 CHECK (protocol IN (1, 2, 30, 31)),
    port                 smallint     CHECK (port BETWEEN 1 AND 31),  -- 31: carrier (载波)
    baud_rate            integer      CHECK (baud_rate IN (600, 1200, 2400, 4800, 7200, 9600, 19200)),  -- NULL: default
    ct_ratio             integer      NOT NULL DEFAULT 1 CHECK (ct_ratio BETWEEN 1 AND 65535),
    pt_ratio             integer      NOT NULL DEFAULT 1 CHECK (pt_ratio BETWEEN 1 AND 65535),
    customer_id          integer      REFERENCES customer ON DELETE SET NULL,
    transformer_area_id  integer      REFERENCES transformer_area ON DELETE SET NULL,
    asset_no             text,                          -- 资产编号
    created_at           timestamptz  NOT NULL DEFAULT now(),
    updated_at           timestamptz  NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX meter_point ON meter (terminal_id, pn) WHERE status <> 'removed';
CREATE INDEX meter_address ON meter (address);
CREATE INDEX meter_customer ON meter (customer_id);
CREATE INDEX meter_area ON meter (transformer_area_id);

-- The audit trail (档案变更记录): one row per inserted, updated or deleted archive row.
CREATE TABLE archive_audit (
    id          bigserial    PRIMARY KEY,
    ts          timestamptz  NOT NULL DEFAULT now(),
    actor       text         NOT NULL,
    table_name  text         NOT NULL,
    row_id      text         NOT NULL,
    action      text         NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    before      jsonb,
    after       jsonb
);
CREATE INDEX archive_audit_row ON archive_audit (table_name, row_id, id);
CREATE INDEX archive_audit_ts ON archive_audit USING brin (ts);  -- append-only: BRIN is enough

-- updated_at follows real changes only (an upsert that changes nothing writes nothing).
CREATE FUNCTION archive_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

-- One audit function for every archive table, run once per statement over its
-- transition tables: a 100,000-row import writes its audit in one INSERT (about
-- half the cost of a row trigger, measured). PostgreSQL allows transition tables
-- on single-event triggers only, hence three triggers per table, one function.
-- TG_ARGV[0] names the key column kept in row_id. The actor is set per transaction
-- by the application (set_config('headend.actor', name, true)); a session that set
-- none (psql, the ingest path) is recorded under its database user.
-- current_setting() returns '' rather than NULL once a SET LOCAL has expired in the
-- session, hence NULLIF. An UPDATE that changes nothing but updated_at is not
-- recorded.
CREATE FUNCTION archive_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('headend.actor', true), ''), session_user);
    key text := TG_ARGV[0];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_audit (actor, table_name, row_id, action, before, after)
        SELECT who, TG_TABLE_NAME, n.j ->> key, 'insert', NULL, n.j
        FROM (SELECT to_jsonb(r) AS j FROM new_rows r) n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO archive_audit (actor, table_name, row_id, action, before, after)
        SELECT who, TG_TABLE_NAME, o.j ->> key, 'delete', o.j, NULL
        FROM (SELECT to_jsonb(r) AS j FROM old_rows r) o;
    ELSE
        INSERT INTO archive_audit (actor, table_name, row_id, action, before, after)
        SELECT who, TG_TABLE_NAME, coalesce(n.j, o.j) ->> key, 'update', o.j, n.j
        FROM (SELECT to_jsonb(r) AS j FROM old_rows r) o
        FULL JOIN (SELECT to_jsonb(r) AS j FROM new_rows r) n ON o.j ->> key = n.j ->> key
        WHERE o.j IS NULL OR n.j IS NULL OR o.j - 'updated_at' <> n.j - 'updated_at';
    END IF;
    RETURN NULL;
END
$$;

-- Attach both functions to the archive tables (row_id: the id, a tariff's code).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('region', 'id'), ('transformer_area', 'id'), ('tariff', 'code'),
        ('customer', 'id'), ('sim_card', 'id'), ('terminal', 'id'), ('meter', 'id')
    ) AS v (name, key) LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION archive_touch()',
                       t.name || '_touch', t.name);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I '
                       'REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION archive_audit(%L)',
                       t.name || '_audit_insert', t.name, t.key);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I '
                       'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION archive_audit(%L)',
                       t.name || '_audit_update', t.name, t.key);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I '
                       'REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION archive_audit(%L)',
                       t.name || '_audit_delete', t.name, t.key);
    END LOOP;
END
$$;
