-- Spend per user (`user_id` on a key): each request's cost is added to its key's user too.
CREATE TABLE llm_tower_users (
    user_id TEXT PRIMARY KEY,
    spend DOUBLE PRECISION NOT NULL DEFAULT 0
);

CREATE INDEX llm_tower_keys_user ON llm_tower_keys (user_id);
