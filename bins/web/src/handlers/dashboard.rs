//! The dashboard: one screen that answers "is everything in sync?".

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use wikiscriptsync_core::store::{Dashboard, FileCheckStatus, Mapping, WatchedFile};

use crate::app::AppState;
use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::views::{Layout, short_sha, when, when_or_never};

use super::{record_usage, render};

/// Publishes and notifications shown.
const RECENT: u32 = 10;

/// How a mapping stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// The page has the file as last checked, and nobody edited it on-wiki since.
    InSync,
    /// Never published.
    NeverPublished,
    /// The file changed since the last publish.
    FileChanged,
    /// The page was edited on-wiki since our last publish (seen by a page monitor).
    ChangedOnWiki,
    /// Publishing is switched off.
    Off,
}

impl SyncState {
    /// Words for the user.
    pub fn label(self) -> &'static str {
        match self {
            Self::InSync => "in sync",
            Self::NeverPublished => "never published",
            Self::FileChanged => "file changed since the last publish",
            Self::ChangedOnWiki => "changed on-wiki since the last publish",
            Self::Off => "publishing off",
        }
    }

    /// The CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::InSync => "status-ok",
            Self::NeverPublished | Self::FileChanged | Self::Off => "status-warn",
            Self::ChangedOnWiki => "status-bad",
        }
    }

    /// How `mapping` of `file` stands, given the latest revisions page monitors saw.
    pub fn of(
        file: &WatchedFile,
        mapping: &Mapping,
        monitored: &HashMap<(&str, &str), i64>,
    ) -> Self {
        if !mapping.options.publish_enabled {
            return Self::Off;
        }
        let Some(published) = &mapping.last_published else {
            return Self::NeverPublished;
        };
        let seen = monitored.get(&(mapping.wiki.as_str(), mapping.page_title.as_str()));
        if seen.is_some_and(|revid| *revid > published.revid) {
            Self::ChangedOnWiki
        } else if file.last_blob_sha.as_deref() != Some(published.blob_sha.as_str()) {
            Self::FileChanged
        } else {
            Self::InSync
        }
    }
}

struct MappingRow {
    id: i64,
    wiki: String,
    title: String,
    last_published: String,
    state: SyncState,
}

struct FileRow {
    id: i64,
    path: String,
    check: String,
    check_class: &'static str,
    mappings: Vec<MappingRow>,
}

struct RepoRow {
    id: i64,
    url: String,
    branch: String,
    head: String,
    checked: String,
    files: Vec<FileRow>,
}

struct PageRow {
    id: i64,
    wiki: String,
    title: String,
    revid: String,
    checked: String,
    status: String,
}

struct PublishRow {
    at: String,
    outcome: String,
    dry_run: bool,
    wiki: String,
    title: String,
    message: String,
}

struct NotificationRow {
    at: String,
    subject: String,
    status: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    repositories: Vec<RepoRow>,
    pages: Vec<PageRow>,
    credentials: Vec<(String, String, String)>,
    publishes: Vec<PublishRow>,
    notifications: Vec<NotificationRow>,
    mappings: usize,
    in_sync: usize,
    attention: usize,
    files: usize,
}

fn file_check(file: &WatchedFile) -> (String, &'static str) {
    match file.last_status {
        None => ("not checked yet".into(), "status-warn"),
        Some(FileCheckStatus::Unchanged) => (
            format!(
                "unchanged, {}",
                when_or_never(file.last_checked_at.as_ref())
            ),
            "status-ok",
        ),
        Some(FileCheckStatus::Changed) => (
            format!("changed, {}", when_or_never(file.last_checked_at.as_ref())),
            "status-warn",
        ),
        Some(FileCheckStatus::Missing) => ("missing from the branch".into(), "status-bad"),
        Some(FileCheckStatus::Error) => ("check failed".into(), "status-bad"),
    }
}

fn build(user: &CurrentUser, state: &AppState, dashboard: &Dashboard) -> DashboardPage {
    let monitored: HashMap<(&str, &str), i64> = dashboard
        .pages
        .iter()
        .filter_map(|p| Some(((p.wiki.as_str(), p.page_title.as_str()), p.last_revid?)))
        .collect();
    let (mut mappings, mut in_sync, mut files) = (0, 0, 0);
    let repositories = dashboard
        .repositories
        .iter()
        .map(|overview| {
            let repo = &overview.repository;
            RepoRow {
                id: repo.id.0,
                url: repo.url.clone(),
                branch: repo.branch.clone(),
                head: repo.head_sha.as_deref().map(short_sha).unwrap_or_default(),
                checked: when_or_never(repo.last_checked_at.as_ref()),
                files: overview
                    .files
                    .iter()
                    .map(|f| {
                        files += 1;
                        let (check, check_class) = file_check(&f.file);
                        FileRow {
                            id: f.file.id.0,
                            path: f.file.path.clone(),
                            check,
                            check_class,
                            mappings: f
                                .mappings
                                .iter()
                                .map(|m| {
                                    let state = SyncState::of(&f.file, m, &monitored);
                                    mappings += 1;
                                    if state == SyncState::InSync {
                                        in_sync += 1;
                                    }
                                    MappingRow {
                                        id: m.id.0,
                                        wiki: m.wiki.clone(),
                                        title: m.page_title.clone(),
                                        last_published: m.last_published.as_ref().map_or_else(
                                            || "never".to_owned(),
                                            |p| format!("r{} on {}", p.revid, when(&p.at)),
                                        ),
                                        state,
                                    }
                                })
                                .collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    DashboardPage {
        layout: Layout::user(state, user, "Dashboard"),
        repositories,
        pages: dashboard
            .pages
            .iter()
            .map(|p| PageRow {
                id: p.id.0,
                wiki: p.wiki.clone(),
                title: p.page_title.clone(),
                revid: p.last_revid.map(|r| format!("r{r}")).unwrap_or_default(),
                checked: when_or_never(p.last_checked_at.as_ref()),
                status: p
                    .last_status
                    .map_or_else(|| "not checked yet".to_owned(), |s| s.to_string()),
            })
            .collect(),
        credentials: dashboard
            .credentials
            .iter()
            .map(|c| (c.wiki.clone(), c.bot_username.clone(), when(&c.saved_at)))
            .collect(),
        publishes: dashboard
            .recent_publishes
            .iter()
            .map(|p| PublishRow {
                at: when(&p.entry.at),
                outcome: p.entry.outcome.to_string(),
                dry_run: p.entry.dry_run,
                wiki: p.entry.wiki.clone(),
                title: p.entry.page_title.clone(),
                message: p.entry.message.clone().unwrap_or_default(),
            })
            .collect(),
        notifications: dashboard
            .recent_notifications
            .iter()
            .map(|n| NotificationRow {
                at: when(&n.created_at),
                subject: n.subject.clone(),
                status: n.status.to_string(),
            })
            .collect(),
        attention: mappings - in_sync,
        mappings,
        in_sync,
        files,
    }
}

/// `GET /`: the dashboard.
pub async fn show(State(state): State<AppState>, user: CurrentUser) -> AppResult<Html<String>> {
    let dashboard = state.store.dashboard(user.id, RECENT).await?;
    record_usage(&state, "dashboard");
    render(&build(&user, &state, &dashboard))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use wikiscriptsync_core::store::{
        MappingId, MappingOptions, PublishedState, RepositoryId, WatchedFileId,
    };

    use super::*;

    fn file(blob: Option<&str>) -> WatchedFile {
        WatchedFile {
            id: WatchedFileId(1),
            repository_id: RepositoryId(1),
            path: "a.js".into(),
            last_blob_sha: blob.map(str::to_owned),
            last_checked_at: None,
            last_status: None,
            created_at: Utc::now(),
        }
    }

    fn mapping(published: Option<(&str, i64)>, enabled: bool) -> Mapping {
        Mapping {
            id: MappingId(1),
            watched_file_id: WatchedFileId(1),
            wiki: "en.wikipedia.org".into(),
            page_title: "User:A/a.js".into(),
            options: MappingOptions {
                publish_enabled: enabled,
                ..MappingOptions::default()
            },
            last_published: published.map(|(blob, revid)| PublishedState {
                blob_sha: blob.into(),
                commit_sha: "c".into(),
                revid,
                at: Utc::now(),
            }),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_mapping_is_in_sync_only_when_the_page_has_the_checked_file_and_no_later_edit() {
        let none = HashMap::new();
        let seen_later = HashMap::from([(("en.wikipedia.org", "User:A/a.js"), 11)]);
        let seen_same = HashMap::from([(("en.wikipedia.org", "User:A/a.js"), 10)]);
        let f = file(Some("b1"));
        assert_eq!(
            SyncState::of(&f, &mapping(None, true), &none),
            SyncState::NeverPublished
        );
        assert_eq!(
            SyncState::of(&f, &mapping(Some(("b1", 10)), false), &none),
            SyncState::Off
        );
        assert_eq!(
            SyncState::of(&f, &mapping(Some(("b1", 10)), true), &none),
            SyncState::InSync
        );
        assert_eq!(
            SyncState::of(&f, &mapping(Some(("b1", 10)), true), &seen_same),
            SyncState::InSync
        );
        assert_eq!(
            SyncState::of(&f, &mapping(Some(("b0", 10)), true), &none),
            SyncState::FileChanged
        );
        assert_eq!(
            SyncState::of(&f, &mapping(Some(("b1", 10)), true), &seen_later),
            SyncState::ChangedOnWiki
        );
    }
}
