//! The notifier: tells users about changes on their own talk page, on the home wiki they chose,
//! through one notification bot account (a BotPassword from the settings, talk-page rights
//! only).
//!
//! - Preferences per user: on/off per event kind, home wiki, and digest (one section per run
//!   summarising every change) or one section per change.
//! - Every message has a dedup key in the notification log and is claimed before it is posted,
//!   so the same change is never notified twice, also by overlapping runners.
//! - Failures are logged and retried at the start of the next run.
//! - Notices are only ever addressed through [`UserTalkTitle::for_user`]: the bot cannot post
//!   anywhere but a user's own talk page. Flow boards are handled by the MediaWiki client.
//! - Without a bot configured, [`Notifier::notify`] does nothing and says so in its report.

pub(crate) mod wikitext;

pub use wikitext::heading_text;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;

use crate::monitor::ChangeEvent;
use crate::mw::{BotPassword, TalkNotice, TalkNoticeOutcome, UserTalkTitle, WikiApi, WikiSession};
use crate::store::{
    NewNotification, NotificationClaim, NotificationResult, Store, StoreError, UserId,
};

/// The notification bot's login name (`User@BotName`).
pub const NOTIFY_BOT_USER_ENV: &str = "WIKISCRIPTSYNC_NOTIFY_BOT_USER";
/// The notification bot's BotPassword.
pub const NOTIFY_BOT_PASSWORD_ENV: &str = "WIKISCRIPTSYNC_NOTIFY_BOT_PASSWORD";

/// How the notifier runs.
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// This runner's id in notification claims.
    pub owner: String,
    /// How long a claimed notification is ours before another runner may retry it.
    pub lease: chrono::Duration,
    /// Failed notifications retried per run.
    pub retry_limit: u32,
}

impl NotifierSettings {
    /// A 10-minute lease and up to 200 retries per run.
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease: chrono::Duration::minutes(10),
            retry_limit: 200,
        }
    }
}

/// A notification that could not be posted (it is retried next run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationFailure {
    /// The recipient.
    pub user: UserId,
    /// The section heading.
    pub subject: String,
    /// Why.
    pub detail: String,
}

/// What one notification pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Whether a notification bot is configured (false: nothing was posted).
    pub enabled: bool,
    /// Messages posted now (new ones and retries).
    pub sent: u64,
    /// ... of which were retries of earlier failures.
    pub retried: u64,
    /// Messages whose dedup key had already been sent (nothing posted).
    pub already_sent: u64,
    /// Messages another runner is posting right now.
    pub in_progress: u64,
    /// Changes not notified because the user switched that kind off.
    pub disabled_kind: u64,
    /// Changes not notified because the user has no home wiki.
    pub no_home_wiki: u64,
    /// Messages that failed (retried next run).
    pub failures: Vec<NotificationFailure>,
}

impl NotifyReport {
    /// The one-line summary the commands print.
    pub fn summary(&self) -> String {
        if !self.enabled {
            return format!(
                "notifications are off: no notification bot configured (set \
                 {NOTIFY_BOT_USER_ENV} and {NOTIFY_BOT_PASSWORD_ENV})"
            );
        }
        format!(
            "notifications: {} sent ({} retries), {} failed (retried next run), {} already sent, \
             {} switched off, {} without a home wiki",
            self.sent,
            self.retried,
            self.failures.len(),
            self.already_sent,
            self.disabled_kind,
            self.no_home_wiki
        )
    }
}

/// Posts change notices to users' talk pages.
pub struct Notifier {
    store: Arc<dyn Store>,
    wiki: Arc<dyn WikiApi>,
    bot: Option<BotPassword>,
    settings: NotifierSettings,
    /// The bot's session per home wiki for the life of the notifier (one run), or why it
    /// could not log in there: a failed login is not retried for every message, which could
    /// get the bot throttled.
    sessions: tokio::sync::Mutex<HashMap<String, BotLogin>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("bot", &self.bot.as_ref().map(BotPassword::login_name))
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The bot's session on one wiki, or why it could not log in there.
type BotLogin = Result<Arc<dyn WikiSession>, String>;

/// A message ready to claim and post.
struct Outgoing {
    notification: NewNotification,
    home_wiki: String,
    username: String,
}

impl Notifier {
    /// A notifier posting as `bot` (None: notifications off).
    pub fn new(
        store: Arc<dyn Store>,
        wiki: Arc<dyn WikiApi>,
        bot: Option<BotPassword>,
        settings: NotifierSettings,
    ) -> Self {
        Self {
            store,
            wiki,
            bot,
            settings,
            sessions: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether a notification bot is configured.
    pub fn is_enabled(&self) -> bool {
        self.bot.is_some()
    }

    /// Retries earlier failures, then notifies each user of `events` per their preferences.
    /// Only the database failing is an error; a failed post is recorded and retried next run.
    pub async fn notify(&self, events: &[ChangeEvent]) -> Result<NotifyReport, StoreError> {
        let mut report = NotifyReport {
            enabled: self.bot.is_some(),
            ..NotifyReport::default()
        };
        if self.bot.is_none() {
            return Ok(report);
        }
        self.retry_failed(&mut report).await?;
        let mut by_user: BTreeMap<UserId, Vec<&ChangeEvent>> = BTreeMap::new();
        for event in events {
            by_user.entry(event.user()).or_default().push(event);
        }
        for (user, events) in by_user {
            let preferences = self.store.notification_preferences(user).await?;
            let Some(home_wiki) = preferences.home_wiki.clone() else {
                report.no_home_wiki += events.len() as u64;
                continue;
            };
            let wanted: Vec<&ChangeEvent> = events
                .into_iter()
                .filter(|e| {
                    let on = preferences.is_enabled(e.kind());
                    report.disabled_kind += u64::from(!on);
                    on
                })
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let Some(account) = self.store.user(user).await? else {
                continue;
            };
            let notifications = if preferences.digest && wanted.len() > 1 {
                vec![digest(user, &wanted)]
            } else {
                wanted.iter().map(|e| single(user, e)).collect()
            };
            for notification in notifications {
                let outgoing = Outgoing {
                    notification,
                    home_wiki: home_wiki.clone(),
                    username: account.username.clone(),
                };
                self.deliver(&outgoing, false, &mut report).await?;
            }
        }
        Ok(report)
    }

    /// Claims and posts the notifications that failed in earlier runs.
    async fn retry_failed(&self, report: &mut NotifyReport) -> Result<(), StoreError> {
        for entry in self
            .store
            .failed_notifications(self.settings.retry_limit)
            .await?
        {
            let preferences = self.store.notification_preferences(entry.user_id).await?;
            let (Some(home_wiki), Some(account)) =
                (preferences.home_wiki, self.store.user(entry.user_id).await?)
            else {
                continue;
            };
            let outgoing = Outgoing {
                notification: NewNotification {
                    user_id: entry.user_id,
                    dedup_key: entry.dedup_key,
                    event_kind: entry.event_kind,
                    subject: entry.subject,
                    body: entry.body,
                },
                home_wiki,
                username: account.username,
            };
            self.deliver(&outgoing, true, report).await?;
        }
        Ok(())
    }

    async fn deliver(
        &self,
        outgoing: &Outgoing,
        retry: bool,
        report: &mut NotifyReport,
    ) -> Result<(), StoreError> {
        let claim = self
            .store
            .claim_notification(
                &outgoing.notification,
                &self.settings.owner,
                Utc::now(),
                self.settings.lease,
            )
            .await?;
        let id = match claim {
            NotificationClaim::Claimed(id) => id,
            NotificationClaim::AlreadySent => {
                report.already_sent += 1;
                return Ok(());
            }
            NotificationClaim::InProgress => {
                report.in_progress += 1;
                return Ok(());
            }
        };
        let result = match self.post(outgoing).await {
            Ok((wiki, revid)) => {
                report.sent += 1;
                report.retried += u64::from(retry);
                NotificationResult::Sent { wiki, revid }
            }
            Err(detail) => {
                tracing::warn!(user = %outgoing.username, wiki = %outgoing.home_wiki, error = %detail, "notification failed; retried next run");
                report.failures.push(NotificationFailure {
                    user: outgoing.notification.user_id,
                    subject: outgoing.notification.subject.clone(),
                    detail: detail.clone(),
                });
                NotificationResult::Failed(detail)
            }
        };
        self.store
            .finish_notification(id, &self.settings.owner, &result, Utc::now())
            .await
    }

    /// Posts one notice on the user's own talk page; the error text is for the log.
    async fn post(&self, outgoing: &Outgoing) -> Result<(String, Option<i64>), String> {
        let page = UserTalkTitle::for_user(&outgoing.username).map_err(|e| e.to_string())?;
        let session = self.session(&outgoing.home_wiki).await?;
        let notice = TalkNotice {
            page,
            heading: outgoing.notification.subject.clone(),
            text: outgoing.notification.body.clone(),
            // Edit summaries know no nowiki: a fixed text, never the (escaped) heading.
            summary: Some(edit_summary(&outgoing.notification.event_kind).to_owned()),
        };
        match session.post_talk_notice(&notice).await {
            Ok(TalkNoticeOutcome::Section { revision }) => {
                Ok((outgoing.home_wiki.clone(), i64::try_from(revision).ok()))
            }
            Ok(TalkNoticeOutcome::FlowTopic { .. }) => Ok((outgoing.home_wiki.clone(), None)),
            Err(err) => Err(err.to_string()),
        }
    }

    /// The bot's session on a wiki, logging in on first use.
    async fn session(&self, wiki: &str) -> Result<Arc<dyn WikiSession>, String> {
        let mut sessions = self.sessions.lock().await;
        if let Some(known) = sessions.get(wiki) {
            return known.clone();
        }
        let result =
            match &self.bot {
                None => Err("no notification bot configured".to_owned()),
                Some(bot) => match self.wiki.parse_wiki(wiki) {
                    Err(err) => Err(err.to_string()),
                    Ok(url) => self.wiki.login(&url, bot.clone()).await.map_err(|e| {
                        format!("the notification bot could not log in to {wiki}: {e}")
                    }),
                },
            };
        sessions.insert(wiki.to_owned(), result.clone());
        result
    }
}

/// One section about one change.
fn single(user: UserId, event: &ChangeEvent) -> NewNotification {
    NewNotification {
        user_id: user,
        dedup_key: event.dedup_key(),
        event_kind: event.kind().to_owned(),
        subject: event.heading_wikitext(),
        body: format!("{}\n\n{}", event.wikitext_line(), FOOTER),
    }
}

/// One section summarising several changes. Its key is derived from the changes' keys, so
/// the same set is never posted twice.
fn digest(user: UserId, events: &[&ChangeEvent]) -> NewNotification {
    let mut keys: Vec<String> = events.iter().map(|e| e.dedup_key()).collect();
    keys.sort();
    let mut body = String::new();
    for event in events {
        body.push_str("* ");
        body.push_str(&event.wikitext_line());
        body.push('\n');
    }
    body.push('\n');
    body.push_str(FOOTER);
    NewNotification {
        user_id: user,
        dedup_key: format!("digest:{}:{:016x}", keys.len(), fnv1a(&keys.join("\n"))),
        event_kind: "digest".to_owned(),
        subject: format!("WikiScriptSync: {} changes", events.len()),
        body,
    }
}

/// The edit summary of a notice: fixed per event kind, since a summary renders `[[links]]`
/// and knows no `<nowiki>`, so no path or title may go into it.
fn edit_summary(event_kind: &str) -> &'static str {
    match event_kind {
        "file_changed" => "WikiScriptSync: a watched file changed",
        "file_missing" => "WikiScriptSync: a watched file was removed",
        "page_changed" => "WikiScriptSync: a monitored page was edited",
        "page_deleted" => "WikiScriptSync: a monitored page was deleted",
        "page_moved" => "WikiScriptSync: a monitored page was moved",
        "digest" => "WikiScriptSync: changes to what you watch",
        _ => "WikiScriptSync: notice",
    }
}

/// Why the user gets this message and how to stop it.
const FOOTER: &str = "<small>You get this message because you asked WikiScriptSync to watch \
    this; change or switch off notifications in your WikiScriptSync preferences.</small>";

/// FNV-1a (64 bit): a stable hash for digest keys (std's hasher may change between releases).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_changed(watched_file: i64, new_blob: &str) -> ChangeEvent {
        ChangeEvent::FileChanged(crate::monitor::FileChange {
            user: UserId(7),
            watched_file_id: crate::store::WatchedFileId(watched_file),
            repository_url: "https://github.com/o/r".to_owned(),
            branch: "main".to_owned(),
            path: format!("src/file{watched_file}.js"),
            old_blob_sha: Some("a".repeat(40)),
            new_blob_sha: Some(new_blob.to_owned()),
            commit_sha: "c".repeat(40),
            commit_url: "https://github.com/o/r/commit/cccc".to_owned(),
        })
    }

    #[test]
    fn digest_keys_depend_on_the_set_of_changes_not_their_order() {
        let (one, two, three) = (
            file_changed(1, &"b".repeat(40)),
            file_changed(2, &"d".repeat(40)),
            file_changed(2, &"e".repeat(40)),
        );
        let forward = digest(UserId(7), &[&one, &two]);
        let backward = digest(UserId(7), &[&two, &one]);
        let other_set = digest(UserId(7), &[&one, &three]);
        let more = digest(UserId(7), &[&one, &two, &three]);

        assert_eq!(forward.dedup_key, backward.dedup_key);
        assert_ne!(forward.dedup_key, other_set.dedup_key);
        assert_ne!(forward.dedup_key, more.dedup_key);
        // The key is stable across builds: a fixed hash of the sorted event keys.
        let keys = format!("{}\n{}", one.dedup_key(), two.dedup_key());
        assert_eq!(forward.dedup_key, format!("digest:2:{:016x}", fnv1a(&keys)));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);

        assert_eq!(forward.user_id, UserId(7));
        assert_eq!(forward.event_kind, "digest");
        assert_eq!(forward.subject, "WikiScriptSync: 2 changes");
        assert_eq!(more.subject, "WikiScriptSync: 3 changes");
        // One bullet per change, in the order given, then the footer.
        let bullets: Vec<&str> = forward
            .body
            .lines()
            .filter(|l| l.starts_with("* "))
            .collect();
        assert_eq!(
            bullets,
            [
                format!("* {}", one.wikitext_line()),
                format!("* {}", two.wikitext_line())
            ]
        );
        assert!(forward.body.ends_with(FOOTER));
    }
}
