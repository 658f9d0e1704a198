//! Change events: what a check found that a user may want to hear about. The notifier turns
//! them into talk-page messages; the commands print them.

use crate::notify::wikitext::{external_link, inert, page_link, user_link};
use crate::store::{PageMonitorId, UserId, WatchedFileId};

/// One change found by a check, for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeEvent {
    /// A watched file's blob SHA changed.
    FileChanged(FileChange),
    /// A watched file is no longer in the branch.
    FileMissing(FileChange),
    /// A monitored page has a new latest revision.
    PageChanged(PageChange),
    /// A monitored page was deleted.
    PageDeleted(PageChange),
    /// A monitored page was moved (its old title now redirects).
    PageMoved(PageChange),
}

/// A change of a watched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Owner of the repository.
    pub user: UserId,
    /// The watched file.
    pub watched_file_id: WatchedFileId,
    /// The repository's web URL.
    pub repository_url: String,
    /// The branch.
    pub branch: String,
    /// The file's path.
    pub path: String,
    /// The blob SHA known before.
    pub old_blob_sha: Option<String>,
    /// The blob SHA now (None when the file is missing).
    pub new_blob_sha: Option<String>,
    /// The branch head the change was seen at.
    pub commit_sha: String,
    /// Web link to that commit.
    pub commit_url: String,
}

/// A change of a monitored page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageChange {
    /// Who monitors the page.
    pub user: UserId,
    /// The monitor.
    pub page_monitor_id: PageMonitorId,
    /// The wiki, as stored (host or API URL).
    pub wiki: String,
    /// The monitored title.
    pub title: String,
    /// The revision known before.
    pub old_revid: Option<i64>,
    /// The latest revision now (None when deleted).
    pub new_revid: Option<i64>,
    /// Who made the latest revision.
    pub editor: Option<String>,
    /// When (ISO 8601, as the wiki said).
    pub timestamp: Option<String>,
    /// The edit summary.
    pub summary: Option<String>,
    /// Link to the diff from the known revision to the latest one.
    pub diff_url: Option<String>,
    /// For a move: the title the page lives at now.
    pub new_title: Option<String>,
}

impl ChangeEvent {
    /// The event kind, as used in notification preferences (`file_changed`, `file_missing`,
    /// `page_changed`, `page_deleted`, `page_moved`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FileChanged(_) => "file_changed",
            Self::FileMissing(_) => "file_missing",
            Self::PageChanged(_) => "page_changed",
            Self::PageDeleted(_) => "page_deleted",
            Self::PageMoved(_) => "page_moved",
        }
    }

    /// Every event kind, for help texts and validation of preferences.
    pub const KINDS: [&'static str; 5] = [
        "file_changed",
        "file_missing",
        "page_changed",
        "page_deleted",
        "page_moved",
    ];

    /// Whom the event concerns.
    pub fn user(&self) -> UserId {
        match self {
            Self::FileChanged(f) | Self::FileMissing(f) => f.user,
            Self::PageChanged(p) | Self::PageDeleted(p) | Self::PageMoved(p) => p.user,
        }
    }

    /// Identifies the change across runs, so it is never notified twice: the item and the
    /// state it changed to.
    pub fn dedup_key(&self) -> String {
        match self {
            Self::FileChanged(f) => format!(
                "file:{}:{}",
                f.watched_file_id,
                f.new_blob_sha.as_deref().unwrap_or("-")
            ),
            Self::FileMissing(f) => format!("file-missing:{}:{}", f.watched_file_id, f.commit_sha),
            Self::PageChanged(p) => format!(
                "page:{}:{}",
                p.page_monitor_id,
                p.new_revid
                    .map_or_else(|| "-".to_owned(), |r| r.to_string())
            ),
            Self::PageDeleted(p) => format!(
                "page-deleted:{}:{}",
                p.page_monitor_id,
                p.old_revid
                    .map_or_else(|| "-".to_owned(), |r| r.to_string())
            ),
            Self::PageMoved(p) => format!(
                "page-moved:{}:{}",
                p.page_monitor_id,
                p.new_title.as_deref().unwrap_or("-")
            ),
        }
    }

    /// A short plain-text heading for this one event, for commands to print (not wikitext:
    /// see [`ChangeEvent::heading_wikitext`]).
    pub fn subject(&self) -> String {
        match self {
            Self::FileChanged(f) => format!("WikiScriptSync: {} changed", f.path),
            Self::FileMissing(f) => format!("WikiScriptSync: {} was removed", f.path),
            Self::PageChanged(p) => format!("WikiScriptSync: [[{}]] was edited", p.title),
            Self::PageDeleted(p) => format!("WikiScriptSync: [[{}]] was deleted", p.title),
            Self::PageMoved(p) => format!("WikiScriptSync: [[{}]] was moved", p.title),
        }
    }

    /// The talk-page section heading about this one event, as wikitext: the path or title is
    /// inert (no links in headings), so it cannot add markup or a second heading.
    pub fn heading_wikitext(&self) -> String {
        match self {
            Self::FileChanged(f) => format!("WikiScriptSync: {} changed", inert(&f.path)),
            Self::FileMissing(f) => format!("WikiScriptSync: {} was removed", inert(&f.path)),
            Self::PageChanged(p) => format!("WikiScriptSync: {} was edited", inert(&p.title)),
            Self::PageDeleted(p) => format!("WikiScriptSync: {} was deleted", inert(&p.title)),
            Self::PageMoved(p) => format!("WikiScriptSync: {} was moved", inert(&p.title)),
        }
    }

    /// One line of wikitext describing the change (never file content). Every value from a
    /// repository or a wiki is inert text, a `[[:Title]]` link to a title that parsed, or an
    /// encoded external link: a hostile file name, branch or edit summary cannot post links,
    /// templates, signatures or sections on the recipient's talk page.
    pub fn wikitext_line(&self) -> String {
        match self {
            Self::FileChanged(f) => format!(
                "<code>{}</code> in {} ({}) changed: blob <code>{}</code> → <code>{}</code> at {}.",
                inert(&f.path),
                inert(&f.repository_url),
                inert(&f.branch),
                short(f.old_blob_sha.as_deref()),
                short(f.new_blob_sha.as_deref()),
                external_link(&f.commit_url, first7(&f.commit_sha)),
            ),
            Self::FileMissing(f) => format!(
                "<code>{}</code> is no longer in {} ({}) at {}.",
                inert(&f.path),
                inert(&f.repository_url),
                inert(&f.branch),
                external_link(&f.commit_url, first7(&f.commit_sha)),
            ),
            Self::PageChanged(p) => {
                let mut line = format!("{} on {} was edited", page_link(&p.title), inert(&p.wiki));
                if let Some(editor) = &p.editor {
                    line.push_str(&format!(" by {}", user_link(editor)));
                }
                if let Some(at) = &p.timestamp {
                    line.push_str(&format!(" at {}", inert(at)));
                }
                if let Some(summary) = p.summary.as_deref().filter(|s| !s.is_empty()) {
                    line.push_str(&format!(" ({})", inert(summary)));
                }
                if let Some(diff) = &p.diff_url {
                    line.push_str(&format!(" — {}", external_link(diff, "diff")));
                }
                line.push('.');
                line
            }
            Self::PageDeleted(p) => {
                format!("{} on {} was deleted.", page_link(&p.title), inert(&p.wiki))
            }
            Self::PageMoved(p) => format!(
                "{} on {} was moved to {}.",
                page_link(&p.title),
                inert(&p.wiki),
                p.new_title
                    .as_deref()
                    .map_or_else(|| "?".to_owned(), page_link)
            ),
        }
    }
}

/// The first seven characters of a SHA, or `none`; anything but hex digits is shown inert.
fn short(sha: Option<&str>) -> String {
    match sha {
        Some(sha) => {
            let short = first7(sha);
            if short.bytes().all(|b| b.is_ascii_hexdigit()) {
                short.to_owned()
            } else {
                inert(short)
            }
        }
        None => "none".to_owned(),
    }
}

/// The first seven characters of `sha` (all of it when shorter or not ASCII there).
fn first7(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile file name of issue 13, and friends for every other field.
    const HOSTILE: &str = "[[User:A]] {{subst:X}} ~~~~\n== spam ==.js";

    /// Wikitext outside every `<nowiki>…</nowiki>`.
    fn outside_nowiki(wikitext: &str) -> String {
        let mut outside = String::new();
        let mut rest = wikitext;
        while let Some(start) = rest.find("<nowiki>") {
            outside.push_str(&rest[..start]);
            let after = &rest[start + "<nowiki>".len()..];
            let end = after.find("</nowiki>").expect("every nowiki is closed");
            rest = &after[end + "</nowiki>".len()..];
        }
        outside + rest
    }

    fn assert_inert(wikitext: &str) {
        assert!(
            !wikitext.contains(['\n', '\r', '\u{2028}', '\u{2029}']),
            "{wikitext:?}"
        );
        let outside = outside_nowiki(wikitext);
        for active in ["[[User", "{{", "~~~", "[[Category"] {
            assert!(!outside.contains(active), "{active} in {outside:?}");
        }
        // One line: `==` can only make a heading at its start.
        assert!(!wikitext.starts_with('='), "{wikitext}");
    }

    fn file(path: &str) -> FileChange {
        FileChange {
            user: UserId(1),
            watched_file_id: WatchedFileId(2),
            repository_url: "https://github.com/o/r/{{x}}\n== r ==".to_owned(),
            branch: "{{x}}\u{2028}== b ==~~~~".to_owned(),
            path: path.to_owned(),
            old_blob_sha: Some("[[A]]{{B}}~~~~".to_owned()),
            new_blob_sha: Some("0123456789abcdef".to_owned()),
            commit_sha: "~~~~~~~\n== c ==".to_owned(),
            commit_url: "https://github.com/o/r/commit/~~~~ [[User:A]] {{X}}\n== u ==".to_owned(),
        }
    }

    fn page(title: &str) -> PageChange {
        PageChange {
            user: UserId(1),
            page_monitor_id: PageMonitorId(3),
            wiki: "{{x}}.example.org\r\n== w ==".to_owned(),
            title: title.to_owned(),
            old_revid: Some(1),
            new_revid: Some(2),
            editor: Some("A]] [[Category:B".to_owned()),
            timestamp: Some("~~~~~\n== t ==".to_owned()),
            summary: Some("</nowiki>[[User:A]] {{subst:X}} ~~~~\n== s ==".to_owned()),
            diff_url: Some("https://example.org/w/index.php?diff=2&oldid=1''__NOTOC__".to_owned()),
            new_title: Some("[[Category:Spam]]".to_owned()),
        }
    }

    #[test]
    fn hostile_repository_and_wiki_values_render_inert_in_lines_and_headings() {
        let events = [
            ChangeEvent::FileChanged(file(HOSTILE)),
            ChangeEvent::FileMissing(file(HOSTILE)),
            ChangeEvent::PageChanged(page(HOSTILE)),
            ChangeEvent::PageDeleted(page(HOSTILE)),
            ChangeEvent::PageMoved(page(HOSTILE)),
        ];
        for event in &events {
            assert_inert(&event.wikitext_line());
            assert_inert(&event.heading_wikitext());
        }
        let line = events[0].wikitext_line();
        assert!(
            line.contains("<code><nowiki>[[User:A]] {{subst:X}} &#126;&#126;&#126;&#126; == spam ==.js</nowiki></code>"),
            "{line}"
        );
        // The commit link stays a link, with its URL encoded.
        assert!(
            line.contains(
                "[https://github.com/o/r/commit/%7E%7E%7E%7E%20%5B%5BUser:A%5D%5D%20%7B%7BX%7D%7D"
            ),
            "{line}"
        );
        // Hex SHAs are shown as they are.
        assert!(line.contains("<code>0123456</code>"), "{line}");
        assert!(
            line.contains("<code><nowiki>[[A]]{{</nowiki></code>"),
            "{line}"
        );
    }

    #[test]
    fn parsed_titles_and_user_names_stay_links() {
        let mut change = page("MediaWiki:Gadget-x.js");
        change.editor = Some("Some_body".to_owned());
        change.new_title = Some("Category:Moved here".to_owned());
        let edited = ChangeEvent::PageChanged(change.clone()).wikitext_line();
        assert!(
            edited.starts_with("[[:MediaWiki:Gadget-x.js]] on "),
            "{edited}"
        );
        assert!(
            edited.contains(" by [[:User:Some body|Some body]] "),
            "{edited}"
        );
        let moved = ChangeEvent::PageMoved(change).wikitext_line();
        assert!(
            moved.ends_with(" was moved to [[:Category:Moved here]]."),
            "{moved}"
        );
        assert_inert(&moved);
    }
}
