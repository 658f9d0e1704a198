//! Change events: what a check found that a user may want to hear about. The notifier turns
//! them into talk-page messages; the commands print them.

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

    /// A short heading for a talk-page section about this one event.
    pub fn subject(&self) -> String {
        match self {
            Self::FileChanged(f) => format!("WikiScriptSync: {} changed", f.path),
            Self::FileMissing(f) => format!("WikiScriptSync: {} was removed", f.path),
            Self::PageChanged(p) => format!("WikiScriptSync: [[{}]] was edited", p.title),
            Self::PageDeleted(p) => format!("WikiScriptSync: [[{}]] was deleted", p.title),
            Self::PageMoved(p) => format!("WikiScriptSync: [[{}]] was moved", p.title),
        }
    }

    /// One line of wikitext describing the change (never file content).
    pub fn wikitext_line(&self) -> String {
        match self {
            Self::FileChanged(f) => format!(
                "<code>{}</code> in {} ({}) changed: blob <code>{}</code> → <code>{}</code> at [{} {}].",
                f.path,
                f.repository_url,
                f.branch,
                short(f.old_blob_sha.as_deref()),
                short(f.new_blob_sha.as_deref()),
                f.commit_url,
                short(Some(&f.commit_sha)),
            ),
            Self::FileMissing(f) => format!(
                "<code>{}</code> is no longer in {} ({}) at [{} {}].",
                f.path,
                f.repository_url,
                f.branch,
                f.commit_url,
                short(Some(&f.commit_sha)),
            ),
            Self::PageChanged(p) => {
                let mut line = format!("[[{}]] on {} was edited", p.title, p.wiki);
                if let Some(editor) = &p.editor {
                    line.push_str(&format!(" by [[User:{editor}|{editor}]]"));
                }
                if let Some(at) = &p.timestamp {
                    line.push_str(&format!(" at {at}"));
                }
                if let Some(summary) = p.summary.as_deref().filter(|s| !s.is_empty()) {
                    line.push_str(&format!(
                        " (<nowiki>{}</nowiki>)",
                        summary.replace('<', "&lt;")
                    ));
                }
                if let Some(diff) = &p.diff_url {
                    line.push_str(&format!(" — [{diff} diff]"));
                }
                line.push('.');
                line
            }
            Self::PageDeleted(p) => format!("[[{}]] on {} was deleted.", p.title, p.wiki),
            Self::PageMoved(p) => format!(
                "[[{}]] on {} was moved to [[{}]].",
                p.title,
                p.wiki,
                p.new_title.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// The first seven characters of a SHA, or `none`.
fn short(sha: Option<&str>) -> &str {
    match sha {
        Some(sha) => sha.get(..7).unwrap_or(sha),
        None => "none",
    }
}
