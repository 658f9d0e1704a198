-- What each user's forge requests cost, per forge host: one row per use case or repository
-- check that spent quota. Each user gets a fair share of a host's hourly quota; what they spent
-- in the current hour is the sum of their rows since the hour began. Rows older than two hours
-- serve no share and are deleted as new ones are written; deleting a user deletes theirs.
CREATE TABLE IF NOT EXISTS sync_forgequotause (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    host VARCHAR(255) NOT NULL,
    spent BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    CONSTRAINT sync_forgequotause_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS sync_forgequotause_user_host ON sync_forgequotause (user_id, host, recorded_at);
