//! The publish log: every attempt, newest first, paginated; all of the user's or one mapping's.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use wikiscriptsync_core::store::{MappingId, PageRequest};

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::SharedState;
use crate::views::{Layout, WikiNames, outcome_words, plain_message, short_sha, when};

use super::{LOG_PAGE_SIZE, record_usage, render};

/// `?mapping=&before=`.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    mapping: Option<i64>,
    before: Option<i64>,
}

struct Row {
    at: String,
    outcome: &'static str,
    dry_run: bool,
    wiki: String,
    title: String,
    source: String,
    revision: String,
    message: String,
}

#[derive(Template)]
#[template(path = "publishes.html")]
struct LogPage {
    layout: Layout,
    rows: Vec<Row>,
    mapping: Option<i64>,
    older: Option<i64>,
}

/// `GET /publishes`.
pub async fn publishes(
    State(state): State<SharedState>,
    user: CurrentUser,
    Query(query): Query<LogQuery>,
) -> AppResult<Html<String>> {
    // Another user's mapping is a 404, not an empty log.
    let log = state
        .app
        .publish_log(
            user.id,
            query.mapping.map(MappingId),
            PageRequest {
                before_id: query.before,
                limit: LOG_PAGE_SIZE,
            },
        )
        .await?;
    record_usage(&state, "publish_log");
    let names = WikiNames::load(&state.app).await?;
    let rows = log
        .items
        .iter()
        .map(|e| {
            let e = &e.entry;
            Row {
                at: when(&e.at),
                outcome: outcome_words(e.outcome),
                dry_run: e.dry_run,
                wiki: names.show(&e.wiki),
                title: e.page_title.clone(),
                source: match (&e.file_path, &e.commit_sha) {
                    (Some(path), Some(commit)) => format!("{path} @ {}", short_sha(commit)),
                    (Some(path), None) => path.clone(),
                    _ => String::new(),
                },
                revision: e.new_revid.map(|r| format!("r{r}")).unwrap_or_default(),
                message: e.message.as_deref().map(plain_message).unwrap_or_default(),
            }
        })
        .collect();
    render(&LogPage {
        layout: Layout::user(&state, &user, "Publish log"),
        rows,
        mapping: query.mapping,
        older: log.next.and_then(|n| n.before_id),
    })
}
