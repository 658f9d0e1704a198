//! `monitor add | list | remove`: wiki pages watched for edits made on the wiki.

use clap::Subcommand;
use serde_json::{Value, json};
use wikiscriptsync_core::app::App;
use wikiscriptsync_core::store::PageMonitorId;

use super::{Printed, Who, failure, removed, user, when};
use crate::Failure;

#[derive(Debug, Subcommand)]
pub(crate) enum MonitorCommand {
    /// Monitor wiki pages for new revisions.
    Add {
        #[command(flatten)]
        who: Who,
        /// The wiki (host such as en.wikipedia.org, or an api.php URL).
        #[arg(long)]
        wiki: String,
        /// Page titles.
        #[arg(required = true)]
        titles: Vec<String>,
    },
    /// List monitored pages.
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Stop monitoring a page.
    Remove {
        #[command(flatten)]
        who: Who,
        /// The monitor's id (see `monitor list`).
        id: i64,
    },
}

pub(super) async fn run(app: &App, command: MonitorCommand) -> Result<Printed, Failure> {
    match command {
        MonitorCommand::Add { who, wiki, titles } => {
            let user = user(app, &who, true).await?;
            let monitored = app
                .monitor_pages(user.id, &wiki, &titles)
                .await
                .map_err(failure)?;
            let rows: Vec<Value> = monitored
                .added
                .iter()
                .map(|m| json!({"id": m.id.0, "wiki": m.wiki, "title": m.page_title}))
                .collect();
            let names = app.wiki_names().await.map_err(failure)?;
            let mut text = format!(
                "monitoring {} page(s) on {}",
                monitored.added.len(),
                names.get(&monitored.wiki).unwrap_or(&monitored.wiki)
            );
            if !monitored.already.is_empty() {
                text.push_str(&format!(
                    "; monitored already: {}",
                    monitored.already.join(", ")
                ));
            }
            Ok(Printed::ok(
                &who,
                json!({"ok": true, "added": rows, "already": monitored.already}),
                text,
            ))
        }
        MonitorCommand::List { who } => {
            let user = user(app, &who, false).await?;
            let monitors = app.page_monitors(user.id).await.map_err(failure)?;
            let rows: Vec<Value> = monitors
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id.0, "wiki": m.wiki, "title": m.page_title, "revision": m.last_revid,
                        "last_status": m.last_status.map(|s| s.as_str()),
                        "last_checked_at": m.last_checked_at.map(|t| t.to_rfc3339()),
                    })
                })
                .collect();
            // The text names wikis by name and host; the JSON keeps the stored key.
            let names = app.wiki_names().await.map_err(failure)?;
            let mut text: String = monitors
                .iter()
                .map(|m| {
                    format!(
                        "{:>5}  {} {}  r{}  last check {}\n",
                        m.id,
                        names.get(&m.wiki).unwrap_or(&m.wiki),
                        m.page_title,
                        m.last_revid
                            .map_or_else(|| "?".to_owned(), |r| r.to_string()),
                        when(m.last_checked_at)
                    )
                })
                .collect();
            text.push_str(&format!("{} monitored page(s)", monitors.len()));
            Ok(Printed::ok(&who, Value::Array(rows), text))
        }
        MonitorCommand::Remove { who, id } => {
            let user = user(app, &who, false).await?;
            app.unmonitor_page(user.id, PageMonitorId(id))
                .await
                .map_err(failure)?;
            Ok(removed(&who, "monitored page", id))
        }
    }
}
