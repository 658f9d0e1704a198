-- The repository's path on its forge (`namespace/name`: GitHub's full_name, GitLab's
-- path_with_namespace), kept next to `forge` and `host` so a stored repository is located
-- from typed parts instead of re-parsing its URL. Rows whose URL is the canonical
-- `https://<host>/<full_name>` get it derived here; any other shape keeps '' (core then parses
-- the URL once).
ALTER TABLE sync_trackedrepository ADD COLUMN full_name VARCHAR(500) NOT NULL DEFAULT '';
UPDATE sync_trackedrepository
SET full_name = SUBSTRING(repo_url, CHAR_LENGTH(CONCAT('https://', host, '/')) + 1)
WHERE LEFT(repo_url, CHAR_LENGTH(CONCAT('https://', host, '/'))) = CONCAT('https://', host, '/')
  AND LOCATE('/', SUBSTRING(repo_url, CHAR_LENGTH(CONCAT('https://', host, '/')) + 1)) > 1
  AND RIGHT(repo_url, 1) <> '/'
  AND LOCATE('//', SUBSTRING(repo_url, CHAR_LENGTH(CONCAT('https://', host, '/')) + 1)) = 0
  AND LOCATE('?', repo_url) = 0
  AND LOCATE('#', repo_url) = 0;
