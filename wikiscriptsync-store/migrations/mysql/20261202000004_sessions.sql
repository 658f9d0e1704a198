-- Web sessions kept on the server, so they can be ended: the encrypted session cookie names a
-- row here by its random id, and a request is logged in only while that row exists and has not
-- expired. Logging out deletes the row; "log out everywhere" deletes every row of the user;
-- deleting a user deletes their sessions.
CREATE TABLE IF NOT EXISTS user_sessions (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT user_sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX IF NOT EXISTS user_sessions_user ON user_sessions (user_id);
