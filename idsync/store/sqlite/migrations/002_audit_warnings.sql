-- schema version 2: an audit row keeps the warnings of the pending export it sent (values a flow removed that name
-- no object of the connector space), a JSON list of texts; rows written before it have none.
ALTER TABLE audit ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
