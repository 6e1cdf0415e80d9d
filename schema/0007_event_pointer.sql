-- 0007: how far each terminal's event records (事件记录, AFN0E) have been stored, per
-- class: 1 important (重要事件, F1) and 2 normal (一般事件, F2). `ec` is a value of the
-- terminal's event counter EC1/EC2 (Std-2013 §4.3.4.6.3, 0..255, wrapping): every
-- record at the pointers before it is in event_record (0003). The head-end asks for
-- the records from `ec` up to the counter the terminal reports next, and writes the
-- new value only after the writer has taken those records
-- (headend/collection/events.py).
--
-- `last_record` keeps the record at pointer ec - 1 as sent (ERC, Le and content).
-- The next fetch reads that pointer again and compares it: a different record means
-- the terminal's 256-record ring was overwritten (or cleared) in the meantime, which
-- the counter alone cannot show (a gap, logged and counted).

CREATE TABLE terminal_event_state (
    terminal_id  integer      NOT NULL,    -- archive id (terminal.id), not enforced: see 0003
    importance   smallint     NOT NULL CHECK (importance IN (1, 2)),
    ec           smallint     NOT NULL CHECK (ec BETWEEN 0 AND 255),
    last_record  bytea,                    -- NULL: not known (that pointer held no record)
    updated_at   timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (terminal_id, importance)
);
