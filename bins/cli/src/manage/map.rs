//! `map add | list | options | preview | publish | remove`: a watched file's target pages, and
//! publishing one of them.

use clap::Subcommand;
use serde_json::{Value, json};
use wikiscriptsync_core::app::{App, MapFile};
use wikiscriptsync_core::publish::{FailureClass, PublishFailure, PublishReport};
use wikiscriptsync_core::store::{Mapping, MappingId, MappingOptions, WatchedFileId};

use super::{Printed, Who, failure, removed, user};
use crate::{Exit, Failure};

#[derive(Debug, Subcommand)]
pub(crate) enum MapCommand {
    /// Map a watched file to a wiki page.
    Add {
        #[command(flatten)]
        who: Who,
        /// The watched file's id.
        #[arg(long, value_name = "ID")]
        file: i64,
        /// The wiki (host such as en.wikipedia.org, or an api.php URL).
        #[arg(long)]
        wiki: String,
        /// The page title.
        #[arg(long)]
        page: String,
        /// Allow publishing to create the page.
        #[arg(long)]
        allow_create: bool,
        /// Put a "published from" banner comment at the top.
        #[arg(long)]
        banner: bool,
        /// Add the mapping with publishing switched off.
        #[arg(long)]
        disabled: bool,
        /// Also monitor the page for edits made on the wiki, so that they show as drift
        /// (`check-wiki-updates` then checks it). Mapping and monitor are saved together.
        #[arg(long)]
        monitor: bool,
    },
    /// List the mappings of a watched file.
    List {
        #[command(flatten)]
        who: Who,
        /// The watched file's id.
        #[arg(long, value_name = "ID")]
        file: i64,
    },
    /// Change a mapping's options (only what is given changes).
    Options {
        #[command(flatten)]
        who: Who,
        /// The mapping's id (see `map list`).
        id: i64,
        /// Switch publishing on or off.
        #[arg(long, value_name = "BOOL")]
        publish: Option<bool>,
        /// Allow (or forbid) publishing to create the page.
        #[arg(long, value_name = "BOOL")]
        allow_create: Option<bool>,
        /// Put (or stop putting) a "published from" banner comment at the top.
        #[arg(long, value_name = "BOOL")]
        banner: Option<bool>,
    },
    /// Show what publishing a mapping would change (the diff; an on-wiki change since the last
    /// publish too). Edits nothing. Uses the stored BotPassword.
    Preview {
        #[command(flatten)]
        who: Who,
        /// The mapping's id.
        id: i64,
    },
    /// Publish a mapping: its file at the commit of the last check, with the stored
    /// BotPassword. Exit 0 published or no change, 3 refused (drift, missing right, ...), 1
    /// other failures or an attempt that could not be recorded; SIGINT/SIGTERM let the publish
    /// finish and be recorded, then exit 130/143.
    Publish {
        #[command(flatten)]
        who: Who,
        /// The mapping's id.
        id: i64,
        /// Publish even though the page changed on-wiki since the last publish.
        #[arg(long)]
        overwrite_drift: bool,
    },
    /// Remove a mapping (and the page monitor it created, unless you monitor the page
    /// yourself).
    Remove {
        #[command(flatten)]
        who: Who,
        /// The mapping's id.
        id: i64,
    },
}

impl MapCommand {
    pub(super) fn sends_requests(&self) -> bool {
        matches!(self, Self::Preview { .. } | Self::Publish { .. })
    }
}

pub(super) async fn run(app: &App, command: MapCommand) -> Result<Printed, Failure> {
    match command {
        MapCommand::Add {
            who,
            file,
            wiki,
            page,
            allow_create,
            banner,
            disabled,
            monitor,
        } => {
            let user = user(app, &who, true).await?;
            let input = MapFile {
                file: WatchedFileId(file),
                wiki,
                title: page,
                options: MappingOptions {
                    publish_enabled: !disabled,
                    allow_create,
                    add_banner: banner,
                },
                monitor,
            };
            let mapping = app.map_file(user.id, &input).await.map_err(failure)?;
            let names = app.wiki_names().await.map_err(failure)?;
            Ok(Printed::ok(
                &who,
                json!({"ok": true, "id": mapping.id.0, "wiki": mapping.wiki,
                    "page": mapping.page_title, "monitored": monitor}),
                format!(
                    "mapped file {file} to {} on {} (mapping {})",
                    mapping.page_title,
                    names.get(&mapping.wiki).unwrap_or(&mapping.wiki),
                    mapping.id
                ),
            ))
        }
        MapCommand::List { who, file } => {
            let user = user(app, &who, false).await?;
            let mappings = app
                .mappings(user.id, WatchedFileId(file))
                .await
                .map_err(failure)?;
            let rows: Vec<Value> = mappings.iter().map(mapping_json).collect();
            // The text names wikis by name and host; the JSON keeps the stored key.
            let names = app.wiki_names().await.map_err(failure)?;
            let mut text: String = mappings
                .iter()
                .map(|m| {
                    let off = if m.options.publish_enabled {
                        ""
                    } else {
                        " (off)"
                    };
                    let wiki = names.get(&m.wiki).unwrap_or(&m.wiki);
                    format!("{:>5}  {wiki} {}{off}\n", m.id, m.page_title)
                })
                .collect();
            text.push_str(&format!("{} mapping(s)", mappings.len()));
            Ok(Printed::ok(&who, Value::Array(rows), text))
        }
        MapCommand::Options {
            who,
            id,
            publish,
            allow_create,
            banner,
        } => {
            let user = user(app, &who, false).await?;
            let current = app
                .mapping(user.id, MappingId(id))
                .await
                .map_err(failure)?
                .options;
            let options = MappingOptions {
                publish_enabled: publish.unwrap_or(current.publish_enabled),
                allow_create: allow_create.unwrap_or(current.allow_create),
                add_banner: banner.unwrap_or(current.add_banner),
            };
            let mapping = app
                .set_mapping_options(user.id, MappingId(id), options)
                .await
                .map_err(failure)?;
            Ok(Printed::ok(
                &who,
                mapping_json(&mapping),
                format!(
                    "mapping {id}: publishing {}, create {}, banner {}",
                    on_off(options.publish_enabled),
                    on_off(options.allow_create),
                    on_off(options.add_banner)
                ),
            ))
        }
        MapCommand::Preview { who, id } => {
            let user = user(app, &who, false).await?;
            let preview = app.preview(user.id, MappingId(id)).await.map_err(failure)?;
            match preview.result {
                Ok(diff) => {
                    let mut text = if diff.identical {
                        "no change: the page already has the file's text".to_owned()
                    } else if diff.creates {
                        format!(
                            "would create the page from {} at {}",
                            diff.path, diff.commit
                        )
                    } else {
                        format!(
                            "would update the page from {} at {}",
                            diff.path, diff.commit
                        )
                    };
                    if let Some(drift) = &diff.drift {
                        text.push_str(
                            "\nthe page changed on-wiki since your last publish (publish needs \
                             --overwrite-drift):\n",
                        );
                        text.push_str(drift);
                    }
                    if !diff.diff.is_empty() {
                        text.push('\n');
                        text.push_str(diff.diff.trim_end());
                    }
                    Ok(Printed::ok(
                        &who,
                        json!({"ok": true, "mapping": id, "creates": diff.creates,
                            "identical": diff.identical, "commit": diff.commit, "path": diff.path,
                            "diff": diff.diff, "drift": diff.drift}),
                        text,
                    ))
                }
                Err(failure) => {
                    let exit = worst_exit([Some(failure.class())]);
                    Ok(Printed::ok(
                        &who,
                        failure_json(&preview.mapping, &failure),
                        format!("error: {}", failure.user_message()),
                    )
                    .exit(exit))
                }
            }
        }
        MapCommand::Publish {
            who,
            id,
            overwrite_drift,
        } => {
            let user = user(app, &who, false).await?;
            let (target, stopped) =
                crate::finish_despite_signal(app.publish(user.id, MappingId(id), overwrite_drift))
                    .await;
            let target = target.map_err(failure)?;
            let printed = match &target.result {
                Ok(report) => Printed::ok(
                    &who,
                    report_json(&target.mapping, report),
                    report_line(report),
                ),
                Err(failure) => Printed::ok(
                    &who,
                    failure_json(&target.mapping, failure),
                    format!("error: {}", failure.user_message()),
                )
                .exit(worst_exit([Some(failure.class())])),
            };
            let printed = match record_error(&target.result) {
                Some(_) => printed.exit(Exit::Other),
                None => printed,
            };
            Ok(match stopped {
                Some(signal) => printed.exit(signal),
                None => printed,
            })
        }
        MapCommand::Remove { who, id } => {
            let user = user(app, &who, false).await?;
            app.unmap(user.id, MappingId(id)).await.map_err(failure)?;
            Ok(removed(&who, "mapping", id))
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn mapping_json(m: &Mapping) -> Value {
    json!({
        "id": m.id.0, "wiki": m.wiki, "page": m.page_title,
        "publish_enabled": m.options.publish_enabled,
        "allow_create": m.options.allow_create, "banner": m.options.add_banner,
        "last_published_revision": m.last_published.as_ref().map(|p| p.revid),
    })
}

/// Why a publish's record could not be written, when it could not (the exit code is then
/// never 0).
pub(super) fn record_error(result: &Result<PublishReport, PublishFailure>) -> Option<&str> {
    match result {
        Ok(report) => report.record_error.as_deref(),
        Err(failure) => failure.record_error.as_deref(),
    }
}

/// A publish that went through, in one line (with what could not be recorded).
pub(super) fn report_line(report: &PublishReport) -> String {
    let line = match &report.diff_url {
        Some(link) => format!("{} ({link})", report.message),
        None => report.message.clone(),
    };
    match &report.record_error {
        Some(error) => {
            format!("{line}; error: this attempt could not be recorded completely: {error}")
        }
        None => line,
    }
}

/// A publish that went through, as JSON.
pub(super) fn report_json(mapping: &Mapping, report: &PublishReport) -> Value {
    json!({
        "mapping": mapping.id.0, "page": mapping.page_title, "wiki": mapping.wiki,
        "ok": true, "outcome": report.outcome.as_str(), "message": report.message,
        "new_revision": report.new_revision(), "diff_url": report.diff_url,
        "commit": report.target.commit, "overwrote_drift": report.overwrote_drift,
        "record_error": report.record_error,
    })
}

/// A publish that did not go through, as JSON.
pub(super) fn failure_json(mapping: &Mapping, failure: &PublishFailure) -> Value {
    json!({
        "mapping": mapping.id.0, "page": mapping.page_title, "wiki": mapping.wiki,
        "ok": false,
        "outcome": match failure.class() {
            FailureClass::Refused => "refused",
            FailureClass::Busy => "busy",
            FailureClass::Other => "failed",
        },
        "message": failure.user_message(),
        "error": {"code": failure.error.code(), "step": failure.step.as_str()},
        "record_error": failure.record_error,
    })
}

/// The exit code of several targets: 0 when none failed, 3 when the worst was a refusal (drift,
/// missing right, ...), 1 when any failed otherwise.
pub(super) fn worst_exit(classes: impl IntoIterator<Item = Option<FailureClass>>) -> Exit {
    classes
        .into_iter()
        .flatten()
        .map(|class| match class {
            FailureClass::Refused => Exit::Refused,
            FailureClass::Busy | FailureClass::Other => Exit::Other,
        })
        .max_by_key(|exit| match exit {
            Exit::Other => 2,
            Exit::Refused => 1,
            _ => 0,
        })
        .unwrap_or(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_decides_the_exit_code() {
        assert_eq!(worst_exit([None, None]), Exit::Ok);
        assert_eq!(
            worst_exit([None, Some(FailureClass::Refused)]),
            Exit::Refused
        );
        assert_eq!(
            worst_exit([Some(FailureClass::Refused), Some(FailureClass::Other), None]),
            Exit::Other
        );
        assert_eq!(worst_exit([Some(FailureClass::Busy)]), Exit::Other);
    }
}
