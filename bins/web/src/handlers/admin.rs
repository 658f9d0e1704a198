//! Usage metrics for the tool's maintainers: uses per day and feature, no personal data,
//! visible only to the users whose central ids (OAuth `sub`) are in `WIKISCRIPTSYNC_ADMIN_USERS`
//! (others get a 404).

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::{Duration, Utc};

use wikiscriptsync_core::store::UsageCount;

use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::state::SharedState;
use crate::views::Layout;

use super::render;

/// Days shown.
const DAYS: i64 = 30;

#[derive(Template)]
#[template(path = "metrics.html")]
struct MetricsPage {
    layout: Layout,
    counts: Vec<UsageCount>,
    days: i64,
}

/// `GET /admin/metrics`.
pub async fn metrics(
    State(state): State<SharedState>,
    user: CurrentUser,
) -> AppResult<Html<String>> {
    if !state.is_admin(&user.central_id) {
        return Err(AppError::NotFound);
    }
    // Counts still in memory first, so the page is up to date.
    state.usage.flush(&state.app).await?;
    let to = Utc::now().date_naive();
    let counts = state
        .app
        .usage_metrics(to - Duration::days(DAYS), to)
        .await?;
    render(&MetricsPage {
        layout: Layout::user(&state, &user, "Usage metrics"),
        counts,
        days: DAYS,
    })
}
