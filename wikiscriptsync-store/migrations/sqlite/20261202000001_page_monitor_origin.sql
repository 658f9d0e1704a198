-- Why a page monitor exists: 'user' (the user asked for it) or 'mapping' (created with a
-- mapping to the page, removed again with the user's last mapping to it). Monitors that
-- existed before are the user's own.
ALTER TABLE wiki_monitor_pagemonitor ADD COLUMN origin VARCHAR(16) NOT NULL DEFAULT 'user';
