//! The dashboard: one screen that answers "is everything in sync?". It shows counts per
//! repository and only what needs the user (mappings not in sync, failing files, edited
//! pages), so it costs the same for 5 files as for 5,000; each repository's page lists
//! everything.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Html;

use wikiscriptsync_core::store::{Dashboard, DashboardLimits, PageCheckStatus, RepositorySummary};

use crate::dashboard_cache::CachedDashboard;
use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::SharedState;
use crate::views::{
    Layout, MappingView, WikiNames, file_check, outcome_words, plain_message, short_sha, when,
    when_or_never,
};

use super::record_usage;

/// Publishes and notifications shown, and the most items of each attention list.
const LIMITS: DashboardLimits = DashboardLimits {
    recent: 10,
    items: 25,
};

struct RepoRow {
    summary: RepositorySummary,
    head: String,
    checked: String,
}

struct FailingFileRow {
    id: i64,
    repository_url: String,
    path: String,
    check: String,
    check_class: &'static str,
}

struct PageRow {
    id: i64,
    wiki: String,
    title: String,
    revid: String,
    checked: String,
    status: String,
    notable: bool,
}

struct PublishRow {
    at: String,
    outcome: &'static str,
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

/// The page: the layout (user name, form nonce) around the cached content.
#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    layout: Layout,
    content: &'a str,
}

/// Everything below the title; the same for every session of the user.
#[derive(Template)]
#[template(path = "dashboard_content.html")]
struct DashboardContent {
    repositories: Vec<RepoRow>,
    attention: Vec<MappingView>,
    attention_total: u64,
    failing_files: Vec<FailingFileRow>,
    files_failing: u64,
    pages: Vec<PageRow>,
    pages_total: u64,
    credentials: Vec<(String, String, String)>,
    publishes: Vec<PublishRow>,
    notifications: Vec<NotificationRow>,
    files: u64,
    mappings: u64,
    in_sync: u64,
    off: u64,
}

fn build(dashboard: &Dashboard, names: &WikiNames) -> DashboardContent {
    let repositories: Vec<RepoRow> = dashboard
        .repositories
        .iter()
        .map(|summary| RepoRow {
            head: (summary.repository.head_sha.as_deref())
                .map(short_sha)
                .unwrap_or_default(),
            checked: when_or_never(summary.repository.last_checked_at.as_ref()),
            summary: summary.clone(),
        })
        .collect();
    let total = |count: fn(&RepositorySummary) -> u64| {
        dashboard.repositories.iter().map(count).sum::<u64>()
    };
    DashboardContent {
        files: total(|r| r.files),
        files_failing: total(|r| r.files_failing),
        mappings: total(|r| r.mappings),
        in_sync: total(|r| r.in_sync),
        off: total(|r| r.off),
        attention: dashboard
            .attention
            .iter()
            .map(|status| MappingView::from(status).named(names))
            .collect(),
        attention_total: dashboard.attention_total(),
        failing_files: dashboard
            .failing_files
            .iter()
            .map(|failing| {
                let (check, check_class) = file_check(&failing.file);
                FailingFileRow {
                    id: failing.file.id.0,
                    repository_url: failing.repository_url.clone(),
                    path: failing.file.path.clone(),
                    check,
                    check_class,
                }
            })
            .collect(),
        pages: dashboard
            .pages
            .iter()
            .map(|p| PageRow {
                id: p.id.0,
                wiki: names.show(&p.wiki),
                title: p.page_title.clone(),
                revid: p.last_revid.map(|r| format!("r{r}")).unwrap_or_default(),
                checked: when_or_never(p.last_checked_at.as_ref()),
                status: p
                    .last_status
                    .map_or_else(|| "not checked yet".to_owned(), |s| s.to_string()),
                notable: p
                    .last_status
                    .is_some_and(|s| s != PageCheckStatus::Unchanged),
            })
            .collect(),
        pages_total: dashboard.pages_total,
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
                outcome: outcome_words(p.entry.outcome),
                dry_run: p.entry.dry_run,
                wiki: names.show(&p.entry.wiki),
                title: p.entry.page_title.clone(),
                message: p
                    .entry
                    .message
                    .as_deref()
                    .map(plain_message)
                    .unwrap_or_default(),
            })
            .collect(),
        notifications: dashboard
            .recent_notifications
            .iter()
            .map(|n| NotificationRow {
                at: when(&n.created_at),
                subject: wikiscriptsync_core::notify::heading_text(&n.subject),
                status: n.status.to_string(),
            })
            .collect(),
        repositories,
    }
}

/// `GET /`: the dashboard, built from the store unless a fresh one is cached (see
/// [`crate::dashboard_cache`]).
pub async fn show(State(state): State<SharedState>, user: CurrentUser) -> AppResult<Html<Bytes>> {
    let cached = match state.dashboards.get(user.id) {
        Ok(cached) => cached,
        Err(ticket) => {
            let dashboard = state.app.dashboard(user.id, LIMITS).await?;
            let names = WikiNames::load(&state.app).await?;
            let cached = Arc::new(CachedDashboard::new(build(&dashboard, &names).render()?));
            state.dashboards.put(user.id, ticket, Arc::clone(&cached));
            cached
        }
    };
    record_usage(&state, "dashboard");
    if let Some(page) = cached.page_for(&user.nonce, &user.username) {
        return Ok(Html(page));
    }
    let page = DashboardPage {
        layout: Layout::user(&state, &user, "Dashboard"),
        content: cached.content(),
    };
    // Sized for the content up front: growing a ~20 KB string by doubling copies it over and
    // over.
    let mut html = String::with_capacity(cached.content().len() + LAYOUT_BYTES);
    page.render_into(&mut html)?;
    let page = Bytes::from(html);
    cached.keep_page(&user.nonce, &user.username, page.clone());
    Ok(Html(page))
}

/// Room for the layout around the dashboard's content.
const LAYOUT_BYTES: usize = 4096;
