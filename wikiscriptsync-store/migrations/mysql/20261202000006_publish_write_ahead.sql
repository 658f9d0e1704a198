-- A publish writes its log row ahead of the edit (outcome 'pending', with the SHA-1 of the text
-- it sends) and settles that row once with the result, so that a process that dies between the
-- edit and the record leaves a row saying an edit was being sent, and a later publish can
-- recognise the page's revision as our own edit by its content.
ALTER TABLE publish_log ADD COLUMN content_sha1 VARCHAR(40) NULL;
