<?php
// Router for PHP's built-in server in front of the test MediaWiki (scripts/mediawiki-test-server).
// It appends one line per request to the access log named by WIKISCRIPTSYNC_ACCESS_LOG, so tests
// can count on the server side the requests their client sent (keyed by a per-test User-Agent):
//     <User-Agent> TAB <method> TAB <URI>
// No bodies are logged, and the values of query parameters that could carry a secret (tokens,
// passwords) are replaced by "***". Then the built-in server serves the request as usual.
$log = getenv('WIKISCRIPTSYNC_ACCESS_LOG');
if ($log !== false && $log !== '') {
    $clean = static fn (string $value): string => preg_replace('/[\t\r\n]+/', ' ', $value);
    $uri = preg_replace(
        '/([?&][^=&]*(?:token|password|secret)[^=&]*=)[^&]*/i',
        '$1***',
        $_SERVER['REQUEST_URI'] ?? ''
    );
    $line = $clean($_SERVER['HTTP_USER_AGENT'] ?? '') . "\t"
        . $clean($_SERVER['REQUEST_METHOD'] ?? '') . "\t"
        . $clean($uri) . "\n";
    // Several workers append at once: one locked write per line keeps lines whole.
    file_put_contents($log, $line, FILE_APPEND | LOCK_EX);
}
return false;
