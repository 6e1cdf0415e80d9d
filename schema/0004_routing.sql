-- 0004: where each online terminal's link is held — which head-end node and worker —
-- so that a request reaching any worker of any machine goes to the one that can send
-- it (headend/routing.py). A row exists while the link is up: written at login,
-- removed when the link closes, and a worker that starts clears what a previous run
-- of it left behind.

CREATE TABLE terminal_link (
    terminal    text        PRIMARY KEY,   -- "A1-A2" as printed, e.g. 4403-00001
    node        text        NOT NULL,      -- the head-end machine (setting `node`)
    worker      smallint    NOT NULL,      -- the worker process on it (0..N-1)
    peer        text        NOT NULL,      -- the terminal's IP:port as seen by the worker
    since       timestamptz NOT NULL,      -- login time of this link
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX terminal_link_holder ON terminal_link (node, worker);
