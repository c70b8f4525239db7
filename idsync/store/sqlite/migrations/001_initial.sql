-- idsync store, schema version 1. Hand-written SQL kept to what SQLite and PostgreSQL share.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT
);

CREATE TABLE cs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  connector       TEXT    NOT NULL,
  object_type     TEXT    NOT NULL,
  anchor          TEXT,
  identifier      TEXT    NOT NULL,
  identifier_key  TEXT    NOT NULL,
  hologram        TEXT    NOT NULL DEFAULT '{}',
  link_state      TEXT    NOT NULL DEFAULT 'disconnector',
  mv_id           INTEGER,
  link_rule       TEXT,
  pending_import  TEXT,
  pending_export  TEXT,
  export_op       TEXT,
  unconfirmed     TEXT,
  error           TEXT,
  last_seen       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cs_anchor ON cs (connector, anchor) WHERE anchor IS NOT NULL;
CREATE INDEX cs_identifier ON cs (connector, identifier_key);
CREATE INDEX cs_mv ON cs (mv_id) WHERE mv_id IS NOT NULL;
CREATE INDEX cs_pending_import ON cs (connector, id) WHERE pending_import IS NOT NULL;
CREATE INDEX cs_pending_export ON cs (connector, id) WHERE pending_export IS NOT NULL;
CREATE INDEX cs_export_op ON cs (connector, export_op) WHERE export_op IS NOT NULL;
CREATE INDEX cs_disconnector ON cs (connector, id) WHERE link_state = 'disconnector';
CREATE INDEX cs_error ON cs (connector, id) WHERE error IS NOT NULL;
CREATE INDEX cs_unconfirmed ON cs (connector, id) WHERE unconfirmed IS NOT NULL;

CREATE TABLE mv (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  object_type TEXT NOT NULL,
  attributes  TEXT NOT NULL DEFAULT '{}',
  provenance  TEXT NOT NULL DEFAULT '{}',
  created_run INTEGER
);
CREATE INDEX mv_type ON mv (object_type, id);

CREATE TABLE mv_keys (
  object_type TEXT    NOT NULL,
  attribute   TEXT    NOT NULL,
  value       TEXT    NOT NULL,
  mv_id       INTEGER NOT NULL
);
CREATE INDEX mv_keys_lookup ON mv_keys (object_type, attribute, value);
CREATE INDEX mv_keys_owner ON mv_keys (mv_id);

CREATE TABLE cs_keys (
  connector TEXT    NOT NULL,
  attribute TEXT    NOT NULL,
  value     TEXT    NOT NULL,
  cs_id     INTEGER NOT NULL
);
CREATE INDEX cs_keys_lookup ON cs_keys (connector, attribute, value);
CREATE INDEX cs_keys_owner ON cs_keys (cs_id);

CREATE TABLE watermarks (
  connector TEXT PRIMARY KEY,
  value     TEXT,
  updated   REAL
);

CREATE TABLE unresolved (
  direction TEXT    NOT NULL,
  mv_id     INTEGER NOT NULL,
  attribute TEXT    NOT NULL,
  connector TEXT    NOT NULL,
  ref       TEXT    NOT NULL
);
CREATE INDEX unresolved_owner ON unresolved (mv_id, attribute, direction);
CREATE INDEX unresolved_ref ON unresolved (direction, connector, ref);

CREATE TABLE runs (
  id      INTEGER PRIMARY KEY,
  profile TEXT    NOT NULL,
  status  TEXT    NOT NULL,
  staging INTEGER NOT NULL DEFAULT 0,
  started REAL    NOT NULL,
  ended   REAL
);

CREATE TABLE steps (
  id        INTEGER PRIMARY KEY,
  run_id    INTEGER NOT NULL,
  idx       INTEGER NOT NULL,
  connector TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  status    TEXT    NOT NULL,
  counters  TEXT    NOT NULL DEFAULT '{}',
  started   REAL    NOT NULL,
  ended     REAL,
  message   TEXT
);
CREATE INDEX steps_run ON steps (run_id, idx);

CREATE TABLE errors (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER,
  step_id    INTEGER NOT NULL,
  connector  TEXT    NOT NULL,
  cs_id      INTEGER,
  mv_id      INTEGER,
  identifier TEXT,
  attribute  TEXT,
  code       TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  detail     TEXT
);
CREATE INDEX errors_step ON errors (step_id);
CREATE INDEX errors_run ON errors (run_id);
CREATE INDEX errors_cs ON errors (cs_id);

CREATE TABLE approvals (
  connector TEXT PRIMARY KEY,
  count     INTEGER NOT NULL,
  approved  REAL    NOT NULL
);

CREATE TABLE locks (
  name    TEXT PRIMARY KEY,
  owner   TEXT NOT NULL,
  expires REAL NOT NULL
);

CREATE TABLE audit (
  id         INTEGER PRIMARY KEY,
  at         REAL    NOT NULL,
  run_id     INTEGER,
  step_id    INTEGER,
  connector  TEXT    NOT NULL,
  cs_id      INTEGER,
  identifier TEXT,
  op         TEXT    NOT NULL,
  rule       TEXT,
  result     TEXT    NOT NULL,
  changes    TEXT    NOT NULL
);
CREATE INDEX audit_cs ON audit (cs_id);
CREATE INDEX audit_run ON audit (run_id);
