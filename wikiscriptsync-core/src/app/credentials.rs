//! BotPasswords, one per user and wiki, write-only: saving one always logs in once to check it
//! and reports the rights it carries against what the user's mapped pages on that wiki need;
//! verifying a stored one does the same; deleting one. The password is never returned. Each
//! check's login counts against the user's hourly limit of checks ([`super::limits`]).

use std::collections::BTreeSet;

use chrono::Utc;
use secrecy::SecretString;

use super::{App, Field, UseCaseError, UseCaseResult};
use crate::mw::{
    BotPassword, Title, UserInfo, WikiUrl, carried_grants, check_rights, required_rights,
};
use crate::store::{CredentialSummary, MappingScope, UserId};
use crate::vault::CredentialOwner;

/// Grants every BotPassword has, whatever is ticked.
const ALWAYS_GRANTED: &[&str] = &["basic"];

/// What one check login found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialReport {
    /// The wiki, as stored.
    pub wiki: String,
    /// `User@BotName`.
    pub bot_username: String,
    /// The grants the session carries (derived from its rights).
    pub grants: Vec<String>,
    /// Each of the user's mapped pages on this wiki, with what is missing to publish there
    /// (`None`: the BotPassword suffices).
    pub pages: Vec<(String, Option<String>)>,
    /// Grants carried that none of the mapped pages needs (least privilege: untick them).
    pub broader: Vec<String>,
}

impl CredentialReport {
    /// Whether every mapped page can be published with this BotPassword.
    pub fn suffices(&self) -> bool {
        self.pages.iter().all(|(_, missing)| missing.is_none())
    }
}

/// A BotPassword login name (`User@BotName`), checked before any request.
pub fn parse_bot_login(input: &str) -> UseCaseResult<String> {
    let login = input.trim();
    let refuse = || {
        UseCaseError::invalid(
            Field::BotUser,
            format!(
                "`{}` is not a BotPassword login name: use `YourName@BotName`, as shown on the \
                 wiki's Special:BotPasswords after creating the bot password.",
                login.escape_debug()
            ),
        )
    };
    let (user, bot) = login.split_once('@').ok_or_else(refuse)?;
    let bad = |part: &str| {
        part.trim().is_empty()
            || part.trim() != part
            || part
                .chars()
                .any(|c| c.is_control() || "@#<>[]|{}/:".contains(c))
    };
    if bad(user) || bad(bot) || login.chars().count() > 255 {
        return Err(refuse());
    }
    Ok(login.to_owned())
}

impl App {
    /// Logs in once with a BotPassword and, when that works, saves it encrypted for the wiki
    /// (replacing the one stored before) and reports its rights. A login that fails saves
    /// nothing. The password is dropped (zeroized) before this returns.
    pub async fn save_credential(
        &self,
        user: UserId,
        wiki: &str,
        bot_login: &str,
        password: SecretString,
    ) -> UseCaseResult<CredentialReport> {
        let login = parse_bot_login(bot_login)?;
        if secrecy::ExposeSecret::expose_secret(&password)
            .trim()
            .is_empty()
        {
            return Err(UseCaseError::invalid(
                Field::Password,
                "The password is empty: paste the generated password from Special:BotPasswords.",
            ));
        }
        let vault = self.vault()?;
        let wiki = self.resolve_wiki(Field::Wiki, wiki).await?.api;
        self.take_credential_check(user).await?;
        let credentials = BotPassword::new(login.clone(), password.clone());
        let info = self
            .check_login(&wiki, credentials, "so it was not saved")
            .await?;
        let key = wiki.key();
        let ciphertext = vault.encrypt(CredentialOwner { user, wiki: &key }, &password);
        drop(password);
        self.store
            .set_credential(user, &key, &login, &ciphertext, Utc::now())
            .await?;
        self.rights_report(user, key, login, &info).await
    }

    /// Logs in once with the stored BotPassword for a wiki and reports its rights (nothing is
    /// changed).
    pub async fn verify_credential(
        &self,
        user: UserId,
        wiki: &str,
    ) -> UseCaseResult<CredentialReport> {
        let wiki = self.resolve_wiki(Field::Wiki, wiki).await?.api;
        let key = wiki.key();
        let stored = self.store.credential(user, &key).await?.ok_or_else(|| {
            UseCaseError::invalid(
                Field::Wiki,
                format!("No BotPassword is stored for {key}: save one first."),
            )
        })?;
        // Sealed for this user and the row's wiki: a row altered in the database is refused
        // here, before the login.
        let owner = CredentialOwner {
            user,
            wiki: &stored.wiki,
        };
        let password = self.vault()?.decrypt(owner, &stored.ciphertext)?;
        self.take_credential_check(user).await?;
        let credentials = BotPassword::new(stored.bot_username.clone(), password);
        let info = self
            .check_login(&wiki, credentials, "check it on the wiki")
            .await?;
        self.rights_report(user, key, stored.bot_username, &info)
            .await
    }

    /// What the user has stored (wiki, bot user name, time saved), by wiki.
    pub async fn credentials(&self, user: UserId) -> UseCaseResult<Vec<CredentialSummary>> {
        Ok(self.store.list_credentials(user).await?)
    }

    /// Deletes the user's BotPassword for a wiki. Returns the wiki as stored.
    pub async fn delete_credential(&self, user: UserId, wiki: &str) -> UseCaseResult<String> {
        // A stored key may predate today's allow-list: match it as stored first.
        let wiki = wiki.trim();
        if self.store.delete_credential(user, wiki).await? {
            return Ok(wiki.to_owned());
        }
        let key = self.resolve_wiki(Field::Wiki, wiki).await?.key();
        if self.store.delete_credential(user, &key).await? {
            return Ok(key);
        }
        Err(UseCaseError::invalid(
            Field::Wiki,
            format!("No BotPassword is stored for {key}."),
        ))
    }

    /// One login and the rights it carries; a refusal names the wiki and says what happens.
    async fn check_login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
        consequence: &str,
    ) -> UseCaseResult<UserInfo> {
        let session = self
            .wiki
            .login(wiki, credentials)
            .await
            .map_err(|source| match source {
                // The wiki said no: the user's to fix.
                crate::mw::Error::Login(_) => UseCaseError::invalid(
                    Field::Password,
                    format!(
                        "Logging in to {} with this BotPassword failed, {consequence}: {source}",
                        wiki.host()
                    ),
                ),
                source => UseCaseError::Wiki {
                    context: format!("logging in to {} ({consequence})", wiki.api_url()),
                    cause: source,
                },
            })?;
        session.user_info().await.map_err(|source| UseCaseError::Wiki {
            context: format!(
                "logged in to {}, but the wiki did not say which rights the BotPassword carries",
                wiki.host()
            ),
            cause: source,
        })
    }

    /// The session's grants against what the user's mapped pages on this wiki need.
    async fn rights_report(
        &self,
        user: UserId,
        wiki: String,
        bot_username: String,
        info: &UserInfo,
    ) -> UseCaseResult<CredentialReport> {
        let acting_user = bot_username
            .split_once('@')
            .map_or(bot_username.as_str(), |(u, _)| u)
            .to_owned();
        let mapped = self
            .store
            .mapping_statuses(user, &MappingScope::Wiki(wiki.clone()))
            .await?;
        let mut needed: BTreeSet<&'static str> = ALWAYS_GRANTED.iter().copied().collect();
        let mut pages = Vec::new();
        for mapping in mapped.iter().map(|status| &status.mapping) {
            let Ok(title) = Title::parse(&mapping.page_title) else {
                continue;
            };
            let creating = mapping.options.allow_create;
            needed.extend(
                required_rights(&title, &acting_user, creating)
                    .iter()
                    .map(|r| r.grant),
            );
            let verdict = check_rights(&title, &acting_user, &info.rights, creating)
                .err()
                .map(|missing| missing.to_string());
            pages.push((mapping.page_title.clone(), verdict));
        }
        // The fewest grants explaining the rights: a right carried by a broader grant given
        // (editinterface by editsiteconfig) does not name a narrower grant never ticked.
        let carried: BTreeSet<&'static str> = carried_grants(&info.rights)
            .into_iter()
            .chain(ALWAYS_GRANTED.iter().copied())
            .collect();
        let broader = if pages.is_empty() {
            Vec::new()
        } else {
            carried
                .difference(&needed)
                .map(|g| (*g).to_owned())
                .collect()
        };
        Ok(CredentialReport {
            wiki,
            bot_username,
            grants: carried.iter().map(|g| (*g).to_owned()).collect(),
            pages,
            broader,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_logins_need_a_user_and_a_bot_name() {
        assert_eq!(parse_bot_login(" Admin@ci ").unwrap(), "Admin@ci");
        assert_eq!(
            parse_bot_login("Jane Doe@publisher").unwrap(),
            "Jane Doe@publisher"
        );
        for bad in [
            "@bot",
            "Admin@",
            "Admin",
            "a@b@c",
            "Admin@ ci",
            "Ad\nmin@ci",
            "[[x]]@y",
            "",
        ] {
            let err = parse_bot_login(bad).unwrap_err();
            assert_eq!(err.field(), Some(Field::BotUser), "{bad:?}");
        }
    }
}
