-- The peer's SQLite schema: what a Node developer would design for the CMF data.
-- Used by bench/generate.ts (to load the same data cmfd gets) and by server.js.
CREATE TABLE IF NOT EXISTS customers (
  id INTEGER PRIMARY KEY,
  active INTEGER,
  firstname TEXT,
  lastname TEXT,
  gender TEXT,
  birthdate INTEGER,
  customerLanguage TEXT,
  street TEXT,
  zip TEXT,
  city TEXT,
  countryCode TEXT,
  email TEXT,
  phone TEXT,
  idEncoded TEXT NOT NULL,
  modificationDate INTEGER NOT NULL,
  creationDate INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_mod ON customers (modificationDate, id);
CREATE TABLE IF NOT EXISTS customer_segments (
  segment_id INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  PRIMARY KEY (segment_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS customer_segments_customer ON customer_segments (customer_id, segment_id);
CREATE TABLE IF NOT EXISTS activities (
  id INTEGER PRIMARY KEY,
  customerId INTEGER NOT NULL,
  activityDate INTEGER NOT NULL,
  type TEXT NOT NULL,
  implementationClass TEXT NOT NULL,
  a_id TEXT,
  attributes TEXT NOT NULL,
  md5 TEXT NOT NULL,
  creationDate INTEGER NOT NULL,
  modificationDate INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_type ON activities (type, activityDate, id);
CREATE INDEX IF NOT EXISTS activities_customer ON activities (customerId, activityDate, id);
CREATE TABLE IF NOT EXISTS api_keys (
  hash TEXT PRIMARY KEY,
  user TEXT NOT NULL
) WITHOUT ROWID;
