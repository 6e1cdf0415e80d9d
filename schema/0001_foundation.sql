-- 0001: foundations shared by the later migrations.

-- Time-series tables and how they are stored. Filled by the {{timeseries(...)}}
-- directive of each table (headend/storage/migrate.py); read by the maintenance job
-- that creates partitions ahead of time (plain PostgreSQL) and applies retention.
CREATE TABLE timeseries_table (
    name            text PRIMARY KEY,
    time_column     text NOT NULL,
    chunk_interval  interval NOT NULL,
    retention       interval NOT NULL
);

-- The data items (数据项) readings are stored under: a small dictionary so that the
-- time-series rows carry a 2-byte id. Downstream systems join on it by code.
CREATE TABLE data_item (
    id          smallint PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    unit        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT ''
);

INSERT INTO data_item (id, code, name, unit, description) VALUES
    (1,  'forward_active',    'forward active energy (正向有功电能示值)',            'kWh',   'A.14; total and tariffs 1-4'),
    (2,  'reverse_active',    'reverse active energy (反向有功电能示值)',            'kWh',   'A.14; total and tariffs 1-4'),
    (3,  'forward_reactive',  'forward reactive energy, combined 1 (正向无功/组合无功1)', 'kvarh', 'A.11; total and tariffs 1-4'),
    (4,  'reverse_reactive',  'reverse reactive energy, combined 2 (反向无功/组合无功2)', 'kvarh', 'A.11; total and tariffs 1-4'),
    (5,  'q1_reactive',       'quadrant I reactive energy (一象限无功)',              'kvarh', 'A.11; total and tariffs 1-4'),
    (6,  'q2_reactive',       'quadrant II reactive energy (二象限无功)',             'kvarh', 'A.11; total and tariffs 1-4'),
    (7,  'q3_reactive',       'quadrant III reactive energy (三象限无功)',            'kvarh', 'A.11; total and tariffs 1-4'),
    (8,  'q4_reactive',       'quadrant IV reactive energy (四象限无功)',             'kvarh', 'A.11; total and tariffs 1-4'),
    (30, 'active_power_total',   'active power, total (总有功功率)',                 'kW',    'A.9'),
    (31, 'active_power_a',       'active power, phase A',                         'kW',    'A.9'),
    (32, 'active_power_b',       'active power, phase B',                         'kW',    'A.9'),
    (33, 'active_power_c',       'active power, phase C',                         'kW',    'A.9'),
    (34, 'reactive_power_total', 'reactive power, total (总无功功率)',               'kvar',  'A.9'),
    (35, 'power_factor_total',   'power factor, total (总功率因数)',                 '%',     'A.5'),
    (36, 'voltage_a',            'voltage, phase A (A相电压)',                       'V',     'A.7'),
    (37, 'voltage_b',            'voltage, phase B (B相电压)',                       'V',     'A.7'),
    (38, 'voltage_c',            'voltage, phase C (C相电压)',                       'V',     'A.7'),
    (39, 'current_a',            'current, phase A (A相电流)',                       'A',     'A.25'),
    (40, 'current_b',            'current, phase B (B相电流)',                       'A',     'A.25'),
    (41, 'current_c',            'current, phase C (C相电流)',                       'A',     'A.25'),
    (42, 'apparent_power_total', 'apparent power, total (总视在功率)',               'kVA',   'A.9'),
    (50, 'relay_closed',         'meter relay state: 1 closed, 0 open (通断电状态)',   '',      'AFN0C F161'),
    (51, 'meter_clock_offset',   'meter clock minus terminal clock (电表时钟偏差)',   's',     'AFN0C F162');
