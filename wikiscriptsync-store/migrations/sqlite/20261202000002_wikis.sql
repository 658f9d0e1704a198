-- Wikis known by what they are: each wiki resolved once (one siteinfo request) is stored under
-- its key (the canonical API URL, written as the host for https://HOST/w/api.php) with its
-- identity and namespaces (JSON, for validating titles without a request); every spelling a
-- user typed that resolved to it is remembered, so a known wiki costs no request again.
CREATE TABLE IF NOT EXISTS wikis (
    wiki VARCHAR(100) NOT NULL PRIMARY KEY,
    api_url VARCHAR(255) NOT NULL,
    wiki_id VARCHAR(100) NOT NULL,
    server VARCHAR(255) NOT NULL,
    sitename VARCHAR(255) NOT NULL,
    language VARCHAR(35) NOT NULL,
    namespaces TEXT NOT NULL,
    resolved_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS wiki_spellings (
    spelling VARCHAR(255) NOT NULL PRIMARY KEY,
    wiki VARCHAR(100) NOT NULL,
    CONSTRAINT wiki_spellings_wiki_fk FOREIGN KEY (wiki) REFERENCES wikis (wiki) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS wiki_spellings_wiki ON wiki_spellings (wiki);

-- Rows that spelled a wiki as https://HOST/w/api.php are the same wiki as HOST (decidable
-- without a request): rewrite them to HOST, except where that would duplicate a row that
-- already says HOST (those stay, and the first use resolves them).
UPDATE sync_filemapping SET wiki = SUBSTR(wiki, 9, LENGTH(wiki) - 18)
WHERE wiki LIKE 'https://%/w/api.php' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) NOT LIKE '%/%' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) <> ''
  AND NOT EXISTS (SELECT 1 FROM sync_filemapping o WHERE o.watched_file_id = sync_filemapping.watched_file_id AND o.page_title = sync_filemapping.page_title AND o.wiki = SUBSTR(sync_filemapping.wiki, 9, LENGTH(sync_filemapping.wiki) - 18));
UPDATE wiki_monitor_pagemonitor SET wiki = SUBSTR(wiki, 9, LENGTH(wiki) - 18)
WHERE wiki LIKE 'https://%/w/api.php' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) NOT LIKE '%/%' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) <> ''
  AND NOT EXISTS (SELECT 1 FROM wiki_monitor_pagemonitor o WHERE o.user_id = wiki_monitor_pagemonitor.user_id AND o.page_title = wiki_monitor_pagemonitor.page_title AND o.wiki = SUBSTR(wiki_monitor_pagemonitor.wiki, 9, LENGTH(wiki_monitor_pagemonitor.wiki) - 18));
UPDATE publish_botcredential SET wiki = SUBSTR(wiki, 9, LENGTH(wiki) - 18)
WHERE wiki LIKE 'https://%/w/api.php' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) NOT LIKE '%/%' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) <> ''
  AND NOT EXISTS (SELECT 1 FROM publish_botcredential o WHERE o.user_id = publish_botcredential.user_id AND o.wiki = SUBSTR(publish_botcredential.wiki, 9, LENGTH(publish_botcredential.wiki) - 18));
UPDATE publish_log SET wiki = SUBSTR(wiki, 9, LENGTH(wiki) - 18) WHERE wiki LIKE 'https://%/w/api.php' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) NOT LIKE '%/%' AND SUBSTR(wiki, 9, LENGTH(wiki) - 18) <> '';
UPDATE notifications_notificationlog SET posted_wiki = SUBSTR(posted_wiki, 9, LENGTH(posted_wiki) - 18) WHERE posted_wiki LIKE 'https://%/w/api.php' AND SUBSTR(posted_wiki, 9, LENGTH(posted_wiki) - 18) NOT LIKE '%/%' AND SUBSTR(posted_wiki, 9, LENGTH(posted_wiki) - 18) <> '';
UPDATE notifications_userpreference SET home_wiki = SUBSTR(home_wiki, 9, LENGTH(home_wiki) - 18) WHERE home_wiki LIKE 'https://%/w/api.php' AND SUBSTR(home_wiki, 9, LENGTH(home_wiki) - 18) NOT LIKE '%/%' AND SUBSTR(home_wiki, 9, LENGTH(home_wiki) - 18) <> '';
