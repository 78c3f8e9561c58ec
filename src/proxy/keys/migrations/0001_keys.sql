-- Virtual keys, teams and the spend log. Portable SQL: the same text runs on PostgreSQL
-- and SQLite. Times are Unix seconds (start_ms: milliseconds); lists and maps are JSON text.

CREATE TABLE llm_tower_teams (
    team_id TEXT PRIMARY KEY,
    team_alias TEXT,
    models TEXT NOT NULL,
    max_budget DOUBLE PRECISION,
    spend DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_duration TEXT,
    budget_duration_secs BIGINT,
    budget_reset_at BIGINT,
    rpm_limit BIGINT,
    tpm_limit BIGINT,
    max_parallel_requests BIGINT,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- `token` is the SHA-256 (hex) of the key, as LiteLLM stores it; the key itself is never kept.
CREATE TABLE llm_tower_keys (
    token TEXT PRIMARY KEY,
    key_name TEXT NOT NULL,
    key_alias TEXT,
    models TEXT NOT NULL,
    max_budget DOUBLE PRECISION,
    spend DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_duration TEXT,
    budget_duration_secs BIGINT,
    budget_reset_at BIGINT,
    rpm_limit BIGINT,
    tpm_limit BIGINT,
    max_parallel_requests BIGINT,
    expires BIGINT,
    metadata TEXT NOT NULL,
    team_id TEXT,
    user_id TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX llm_tower_keys_team ON llm_tower_keys (team_id);

-- One row per request of a virtual key: who, which model, tokens, cost, when. Never content.
CREATE TABLE llm_tower_spend_logs (
    request_id TEXT NOT NULL,
    api_key TEXT NOT NULL,
    key_alias TEXT,
    team_id TEXT,
    user_id TEXT,
    model TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    spend DOUBLE PRECISION NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL
);

CREATE INDEX llm_tower_spend_logs_key ON llm_tower_spend_logs (api_key, start_ms);
CREATE INDEX llm_tower_spend_logs_time ON llm_tower_spend_logs (start_ms);
