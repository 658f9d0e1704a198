-- The whole WikiScriptSync schema, first version.
-- Timestamps are BIGINT milliseconds since the Unix epoch, UTC by construction, so both
-- backends compare them as integers and share one set of queries.
-- Tables keep the seed tool's names; `users` is keyed by the OAuth central id (`sub`).

CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    central_id VARCHAR(64) NOT NULL,
    username VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    CONSTRAINT users_central_id_unique UNIQUE (central_id)
);
CREATE INDEX IF NOT EXISTS users_username ON users (username);

CREATE TABLE IF NOT EXISTS sync_trackedrepository (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    forge VARCHAR(16) NOT NULL,
    host VARCHAR(255) NOT NULL,
    repo_url VARCHAR(500) NOT NULL,
    branch VARCHAR(200) NOT NULL,
    head_sha VARCHAR(64) NULL,
    etag VARCHAR(255) NULL,
    last_checked_at BIGINT NULL,
    last_status VARCHAR(16) NULL,
    next_check_at BIGINT NOT NULL,
    lease_owner VARCHAR(64) NULL,
    lease_expires_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT sync_trackedrepository_unique UNIQUE (user_id, repo_url, branch),
    CONSTRAINT sync_trackedrepository_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS sync_trackedrepository_due ON sync_trackedrepository (next_check_at, lease_expires_at);

CREATE TABLE IF NOT EXISTS sync_watchedfile (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository_id BIGINT NOT NULL,
    path VARCHAR(700) NOT NULL,
    last_blob_sha VARCHAR(64) NULL,
    last_checked_at BIGINT NULL,
    last_status VARCHAR(16) NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT sync_watchedfile_unique UNIQUE (repository_id, path),
    CONSTRAINT sync_watchedfile_repository_fk FOREIGN KEY (repository_id) REFERENCES sync_trackedrepository (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS sync_filemapping (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    watched_file_id BIGINT NOT NULL,
    wiki VARCHAR(100) NOT NULL,
    page_title VARCHAR(255) NOT NULL,
    publish_enabled BOOLEAN NOT NULL DEFAULT 1,
    allow_create BOOLEAN NOT NULL DEFAULT 0,
    add_banner BOOLEAN NOT NULL DEFAULT 0,
    last_published_blob_sha VARCHAR(64) NULL,
    last_published_commit_sha VARCHAR(64) NULL,
    last_published_revid BIGINT NULL,
    last_published_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT sync_filemapping_unique UNIQUE (watched_file_id, wiki, page_title),
    CONSTRAINT sync_filemapping_watchedfile_fk FOREIGN KEY (watched_file_id) REFERENCES sync_watchedfile (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS sync_filechecklog (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    watched_file_id BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    old_blob_sha VARCHAR(64) NULL,
    new_blob_sha VARCHAR(64) NULL,
    commit_sha VARCHAR(64) NULL,
    detail VARCHAR(1000) NULL,
    CONSTRAINT sync_filechecklog_watchedfile_fk FOREIGN KEY (watched_file_id) REFERENCES sync_watchedfile (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS sync_filechecklog_file ON sync_filechecklog (watched_file_id, id);
CREATE INDEX IF NOT EXISTS sync_filechecklog_age ON sync_filechecklog (checked_at);

CREATE TABLE IF NOT EXISTS sync_apiquotalog (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host VARCHAR(255) NOT NULL,
    resource VARCHAR(64) NOT NULL,
    quota_limit BIGINT NOT NULL,
    remaining BIGINT NOT NULL,
    reset_at BIGINT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_apiquotalog_host ON sync_apiquotalog (host, id);
CREATE INDEX IF NOT EXISTS sync_apiquotalog_age ON sync_apiquotalog (recorded_at);

CREATE TABLE IF NOT EXISTS wiki_monitor_pagemonitor (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    wiki VARCHAR(100) NOT NULL,
    page_title VARCHAR(255) NOT NULL,
    last_revid BIGINT NULL,
    last_checked_at BIGINT NULL,
    last_status VARCHAR(16) NULL,
    next_check_at BIGINT NOT NULL,
    lease_owner VARCHAR(64) NULL,
    lease_expires_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT wiki_monitor_pagemonitor_unique UNIQUE (user_id, wiki, page_title),
    CONSTRAINT wiki_monitor_pagemonitor_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS wiki_monitor_pagemonitor_due ON wiki_monitor_pagemonitor (next_check_at, lease_expires_at);

CREATE TABLE IF NOT EXISTS wiki_monitor_wikipage_checklog (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page_monitor_id BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    old_revid BIGINT NULL,
    new_revid BIGINT NULL,
    detail VARCHAR(1000) NULL,
    CONSTRAINT wiki_monitor_wikipage_checklog_monitor_fk FOREIGN KEY (page_monitor_id) REFERENCES wiki_monitor_pagemonitor (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS wiki_monitor_wikipage_checklog_monitor ON wiki_monitor_wikipage_checklog (page_monitor_id, id);
CREATE INDEX IF NOT EXISTS wiki_monitor_wikipage_checklog_age ON wiki_monitor_wikipage_checklog (checked_at);

-- One BotPassword per user per wiki; only the Fernet ciphertext is stored.
CREATE TABLE IF NOT EXISTS publish_botcredential (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    wiki VARCHAR(100) NOT NULL,
    bot_username VARCHAR(255) NOT NULL,
    ciphertext TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    CONSTRAINT publish_botcredential_unique UNIQUE (user_id, wiki),
    CONSTRAINT publish_botcredential_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- The per-user publish mutex. `running_user_id` equals `user_id` exactly while the task is
-- RUNNING and is NULL otherwise; its UNIQUE constraint is what makes "at most one RUNNING task
-- per user" hold across processes on both backends.
CREATE TABLE IF NOT EXISTS publish_task (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    reason VARCHAR(255) NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT NULL,
    finished_at BIGINT NULL,
    running_user_id BIGINT NULL,
    CONSTRAINT publish_task_one_running UNIQUE (running_user_id),
    CONSTRAINT publish_task_running_slot CHECK (
        (status = 'RUNNING' AND running_user_id = user_id)
        OR (status <> 'RUNNING' AND running_user_id IS NULL)
    ),
    CONSTRAINT publish_task_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS publish_task_user ON publish_task (user_id, id);

-- Permanent audit log of every publish attempt; the store never updates or deletes it.
CREATE TABLE IF NOT EXISTS publish_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    mapping_id BIGINT NULL,
    task_id BIGINT NULL,
    created_at BIGINT NOT NULL,
    outcome VARCHAR(32) NOT NULL,
    dry_run BOOLEAN NOT NULL,
    wiki VARCHAR(100) NOT NULL,
    page_title VARCHAR(255) NOT NULL,
    repo_url VARCHAR(500) NULL,
    branch VARCHAR(200) NULL,
    file_path VARCHAR(700) NULL,
    commit_sha VARCHAR(64) NULL,
    blob_sha VARCHAR(64) NULL,
    base_revid BIGINT NULL,
    new_revid BIGINT NULL,
    message VARCHAR(1000) NULL,
    CONSTRAINT publish_log_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT publish_log_mapping_fk FOREIGN KEY (mapping_id) REFERENCES sync_filemapping (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS publish_log_user ON publish_log (user_id, id);
CREATE INDEX IF NOT EXISTS publish_log_mapping ON publish_log (mapping_id, id);

CREATE TABLE IF NOT EXISTS notifications_notificationlog (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    dedup_key VARCHAR(255) NOT NULL,
    event_kind VARCHAR(32) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    body TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    posted_wiki VARCHAR(100) NULL,
    posted_revid BIGINT NULL,
    error VARCHAR(1000) NULL,
    lease_owner VARCHAR(64) NULL,
    lease_expires_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT notifications_notificationlog_dedup UNIQUE (user_id, dedup_key),
    CONSTRAINT notifications_notificationlog_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS notifications_notificationlog_status ON notifications_notificationlog (status, updated_at);
CREATE INDEX IF NOT EXISTS notifications_notificationlog_age ON notifications_notificationlog (created_at);

CREATE TABLE IF NOT EXISTS notifications_userpreference (
    user_id BIGINT NOT NULL PRIMARY KEY,
    home_wiki VARCHAR(100) NULL,
    digest BOOLEAN NOT NULL DEFAULT 0,
    disabled_event_kinds VARCHAR(1000) NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    CONSTRAINT notifications_userpreference_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- Aggregated usage metrics: a count per day and feature, no personal data.
CREATE TABLE IF NOT EXISTS accounts_toolvisit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day CHAR(10) NOT NULL,
    feature VARCHAR(64) NOT NULL,
    visit_count BIGINT NOT NULL,
    CONSTRAINT accounts_toolvisit_unique UNIQUE (day, feature)
);
