-- Actions a user may take only so often (a BotPassword check logs in to a wiki from the tool's
-- shared address): one row per action taken, kept for the length of the window it counts in.
-- Taking an action counts the user's rows of that kind inside the window and adds one only
-- below the operator's limit; rows older than the window are deleted as new ones are taken.
CREATE TABLE IF NOT EXISTS user_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    action VARCHAR(32) NOT NULL,
    taken_at BIGINT NOT NULL,
    CONSTRAINT user_actions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS user_actions_user_action ON user_actions (user_id, action, taken_at);
