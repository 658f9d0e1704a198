//! Text a publish compares, shows and writes: MediaWiki's save-time normalisation, the unified
//! diff a user reviews, the published-from banner and the edit summary.

use similar::TextDiff;

/// What MediaWiki does to page text on save (`TextContent::normalizeLineEndings`): CRLF and CR
/// become LF, and trailing whitespace is stripped (PHP `rtrim`: space, tab, newlines, NUL, VT).
/// Two texts are "the same page" when their normalised forms are equal.
pub fn normalize(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    unified
        .trim_end_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
        .to_owned()
}

/// Whether publishing `file` over `live` would change the page.
pub fn same_page_text(live: &str, file: &str) -> bool {
    normalize(live) == normalize(file)
}

/// A unified diff from `old` to `new` with three lines of context, both normalised first so
/// that line-ending noise never shows. Empty when there is no difference.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let (old, new) = (normalize(old), normalize(new));
    if old == new {
        return String::new();
    }
    // Diff line by line with a trailing newline on both sides, so the last line compares equal
    // when only earlier lines changed; an empty side stays empty (no lines, not one blank line).
    let lines = |text: String| if text.is_empty() { text } else { text + "\n" };
    let (old, new) = (lines(old), lines(new));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// The kind of file being published, which decides how a banner comment is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// JavaScript: `//` comments.
    JavaScript,
    /// CSS: `/* */` comments.
    Css,
    /// JSON: no comments at all, so no banner.
    Json,
}

impl FileKind {
    /// The kind implied by a path's extension, if it is one we publish.
    pub fn from_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".js") {
            Some(Self::JavaScript)
        } else if lower.ends_with(".css") {
            Some(Self::Css)
        } else if lower.ends_with(".json") {
            Some(Self::Json)
        } else {
            None
        }
    }
}

/// The published-from comment put at the top of a page, or `None` for JSON (which has no
/// comment syntax). It tells on-wiki readers where to make changes so that they are not lost.
pub fn banner(kind: FileKind, source: &str) -> Option<String> {
    // Every JavaScript line terminator (LF, CR, U+2028, U+2029) ends a `//` comment, and NEL
    // and the other separators end a line in editors; "*/" would close the CSS comment early.
    let source = source.replace(is_line_break, " ").replace("*/", "* /");
    let text = format!(
        "Published by WikiScriptSync from {source}. Edit the file in its repository: changes made \
         here are overwritten by the next publish."
    );
    match kind {
        FileKind::JavaScript => Some(format!("// {text}\n")),
        FileKind::Css => Some(format!("/* {text} */\n")),
        FileKind::Json => None,
    }
}

/// Whether `c` ends a line anywhere the banner is read: JavaScript's line terminators plus the
/// other Unicode line breaks (NEL, VT, FF).
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `Publish <repo>@<short SHA>: <path> (<commit URL>)`. The MediaWiki client trims it to the
/// wiki's summary limit without breaking a character.
pub fn edit_summary(repo: &str, commit: &str, path: &str, commit_url: Option<&str>) -> String {
    let short: String = commit.chars().take(7).collect();
    match commit_url {
        Some(url) => format!("Publish {repo}@{short}: {path} ({url})"),
        None => format!("Publish {repo}@{short}: {path}"),
    }
}

/// `Publish <file name> (local file, blob <short blob SHA>)`: the summary of a publish from a
/// local file (CI jobs), which has no commit to link to.
pub fn local_edit_summary(file_name: &str, blob_sha: &str) -> String {
    let short: String = blob_sha.chars().take(7).collect();
    format!("Publish {file_name} (local file, blob {short})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_what_mediawiki_stores() {
        assert_eq!(normalize("a\r\nb\rc  \n\n\t"), "a\nb\nc");
        assert_eq!(normalize("  lead stays"), "  lead stays");
        assert!(same_page_text("x = 1;\n", "x = 1;\r\n\r\n"));
        assert!(!same_page_text("x = 1;", "x = 2;"));
    }

    #[test]
    fn the_diff_shows_only_real_changes() {
        assert_eq!(unified_diff("a\r\nb\n", "a\nb", "live", "file"), "");
        let diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "live", "file");
        assert!(diff.starts_with("--- live\n+++ file\n"), "{diff}");
        assert!(diff.contains("-b\n+B\n"), "{diff}");
    }

    #[test]
    fn a_new_page_diffs_from_nothing_not_from_a_blank_line() {
        let changed = |diff: &str, sign: char| {
            diff.lines()
                .filter(|line| {
                    line.starts_with(sign) && !line.starts_with(&sign.to_string().repeat(3))
                })
                .count()
        };
        let diff = unified_diff("", "a\nb", "live", "file");
        assert!(diff.contains("@@ -0,0 +1,2 @@\n+a\n+b\n"), "{diff}");
        assert_eq!(changed(&diff, '-'), 0, "{diff}");
        let removed = unified_diff("a", "", "live", "file");
        assert!(removed.contains("@@ -1 +0,0 @@\n-a\n"), "{removed}");
        assert_eq!(changed(&removed, '+'), 0, "{removed}");
    }

    #[test]
    fn banners_use_each_languages_comment_syntax() {
        let js = banner(FileKind::JavaScript, "o/r@abc1234:gadget.js").unwrap();
        assert!(js.starts_with("// Published by WikiScriptSync from o/r@abc1234:gadget.js."));
        let css = banner(FileKind::Css, "o/r@abc:x*/y.css").unwrap();
        assert!(css.starts_with("/* ") && css.ends_with(" */\n"));
        assert_eq!(css.matches("*/").count(), 1, "{css}");
        assert_eq!(banner(FileKind::Json, "o/r@abc:x.json"), None);
        assert_eq!(
            FileKind::from_path("src/Gadget.JS"),
            Some(FileKind::JavaScript)
        );
        assert_eq!(FileKind::from_path("README.md"), None);
    }

    #[test]
    fn no_line_terminator_in_the_source_can_end_the_banner_comment() {
        // In JavaScript U+2028 and U+2029 end a `//` comment like LF and CR do: the rest of the
        // banner would run as code.
        for terminator in [
            "\n", "\r", "\r\n", "\u{2028}", "\u{2029}", "\u{85}", "\u{0B}", "\u{0C}",
        ] {
            let source = format!("o/r@abc:a{terminator}alert(1)//.js");
            for kind in [FileKind::JavaScript, FileKind::Css] {
                let text = banner(kind, &source).unwrap();
                let body = text.strip_suffix('\n').unwrap();
                assert!(
                    !body.contains(|c| terminator.contains(c)),
                    "{kind:?} banner for {terminator:?} breaks the line: {text:?}"
                );
            }
        }
    }

    #[test]
    fn the_summary_names_repository_short_commit_path_and_link() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            edit_summary(
                "o/r",
                sha,
                "src/a.js",
                Some("https://github.com/o/r/commit/0123456")
            ),
            "Publish o/r@0123456: src/a.js (https://github.com/o/r/commit/0123456)"
        );
        assert_eq!(
            edit_summary("o/r", sha, "a.js", None),
            "Publish o/r@0123456: a.js"
        );
        assert_eq!(
            local_edit_summary("gadget.js", sha),
            "Publish gadget.js (local file, blob 0123456)"
        );
    }
}
