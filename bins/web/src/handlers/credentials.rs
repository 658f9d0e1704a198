//! BotPasswords, one per wiki, write-only: the password is never shown again (only the bot
//! user name and when it was saved). Saving logs in once to check it and reports the rights it
//! carries, whether they suffice for the user's mapped pages on that wiki, and grants broader
//! than needed.

use std::collections::BTreeSet;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;

use wikiscriptsync_core::mw::{BotPassword, Title, check_rights, grant_for_right, required_rights};
use wikiscriptsync_core::store::{CredentialSummary, MappingScope};

use crate::app::{AppState, SharedState};
use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::views::{Layout, when};

use super::{record_usage, refill, render, wiki_field};

/// Grants every BotPassword has whatever is ticked.
const ALWAYS_GRANTED: &[&str] = &["basic"];

#[derive(Template)]
#[template(path = "credentials.html")]
struct CredentialsPage {
    layout: Layout,
    saved: Vec<(CredentialSummary, String)>,
    wikis: Vec<String>,
    /// The form's wiki and bot user name: empty, or as sent when refused (the password is
    /// never sent back).
    wiki: String,
    bot_username: String,
    error: Option<String>,
    report: Option<CheckReport>,
}

/// What the check login found.
struct CheckReport {
    wiki: String,
    bot_username: String,
    grants: Vec<String>,
    pages: Vec<(String, Option<String>)>,
    broader: Vec<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    report: Option<CheckReport>,
) -> AppResult<CredentialsPage> {
    let saved = state.store.list_credentials(user.id).await?;
    Ok(CredentialsPage {
        layout: Layout::user(state, user, "BotPasswords"),
        saved: saved
            .into_iter()
            .map(|c| {
                let at = when(&c.saved_at);
                (c, at)
            })
            .collect(),
        wikis: state.suggested_wikis.to_vec(),
        wiki: String::new(),
        bot_username: String::new(),
        error,
        report,
    })
}

/// `GET /credentials`.
pub async fn list(State(state): State<SharedState>, user: CurrentUser) -> AppResult<Html<String>> {
    render(&page(&state, &user, None, None).await?)
}

/// The save form. `Debug` is deliberately not derived: it holds the password.
#[derive(Deserialize)]
pub struct SaveCredential {
    wiki: String,
    bot_username: String,
    password: String,
}

/// `POST /credentials`: log in once to check, then save (encrypted) and report the rights.
pub async fn save(
    State(state): State<SharedState>,
    user: CurrentUser,
    Form(form): Form<SaveCredential>,
) -> AppResult<Response> {
    let SaveCredential {
        wiki,
        bot_username,
        password,
    } = form;
    let password = SecretString::from(password);
    let wiki_url = match wiki_field(&state, "wiki", &wiki) {
        Ok(url) => url,
        Err(message) => return refuse(&state, &user, (&wiki, &bot_username), message).await,
    };
    let bot_username = bot_username.trim().to_owned();
    if !bot_username.contains('@') {
        return refuse(
            &state,
            &user,
            (&wiki, &bot_username),
            "The bot user name is `YourName@BotName`, as shown on the wiki's \
             Special:BotPasswords after creating the bot password."
                .into(),
        )
        .await;
    }
    let credentials = BotPassword::new(bot_username.clone(), password.clone());
    let acting_user = credentials.user_name().to_owned();
    let session = match state.wiki.login(&wiki_url, credentials).await {
        Ok(session) => session,
        Err(err) => {
            return refuse(
                &state,
                &user,
                (&wiki, &bot_username),
                format!(
                    "Logging in to {} with this BotPassword failed, so it was not saved: {err}",
                    wiki_url.host()
                ),
            )
            .await;
        }
    };
    let info =
        match session.user_info().await {
            Ok(info) => info,
            Err(err) => {
                return refuse(&state, &user, (&wiki, &bot_username), format!(
                "Logged in, but the wiki did not say which rights the BotPassword carries, so \
                 it was not saved: {err}"
            ))
            .await;
            }
        };
    let key = wiki_url.key();
    let ciphertext = state.vault.encrypt(&password);
    drop(password);
    state
        .store
        .set_credential(user.id, &key, &bot_username, &ciphertext, Utc::now())
        .await?;
    record_usage(&state, "save_botpassword");

    // What the mapped pages on this wiki need, against what the session carries.
    let mapped = state
        .store
        .mapping_statuses(user.id, &MappingScope::Wiki(key.clone()))
        .await?;
    let mut needed_grants: BTreeSet<&'static str> = ALWAYS_GRANTED.iter().copied().collect();
    let mut pages = Vec::new();
    for mapping in mapped.iter().map(|status| &status.mapping) {
        let Ok(title) = Title::parse(&mapping.page_title) else {
            continue;
        };
        let creating = mapping.options.allow_create;
        needed_grants.extend(
            required_rights(&title, &acting_user, creating)
                .iter()
                .map(|r| r.grant),
        );
        let verdict = check_rights(&title, &acting_user, &info.rights, creating)
            .err()
            .map(|missing| missing.to_string());
        pages.push((mapping.page_title.clone(), verdict));
    }
    let carried: BTreeSet<&'static str> = info
        .rights
        .iter()
        .filter_map(|r| grant_for_right(r))
        .chain(ALWAYS_GRANTED.iter().copied())
        .collect();
    let broader = if pages.is_empty() {
        Vec::new()
    } else {
        carried
            .difference(&needed_grants)
            .map(|g| (*g).to_owned())
            .collect()
    };
    let report = CheckReport {
        wiki: key,
        bot_username,
        grants: carried.iter().map(|g| (*g).to_owned()).collect(),
        pages,
        broader,
    };
    Ok(render(&page(&state, &user, None, Some(report)).await?)?.into_response())
}

/// The form again with what was wrong (nothing saved).
async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    (wiki, bot_username): (&str, &str),
    message: String,
) -> AppResult<Response> {
    let mut page = page(state, user, Some(message), None).await?;
    page.wiki = wiki.trim().to_owned();
    page.bot_username = bot_username.trim().to_owned();
    refill(&page)
}

/// The delete form.
#[derive(Debug, Deserialize)]
pub struct DeleteCredential {
    wiki: String,
}

/// `POST /credentials/delete`.
pub async fn delete(
    State(state): State<SharedState>,
    user: CurrentUser,
    Form(form): Form<DeleteCredential>,
) -> AppResult<Response> {
    if !state.store.delete_credential(user.id, &form.wiki).await? {
        return Err(AppError::NotFound);
    }
    record_usage(&state, "delete_botpassword");
    Ok(Redirect::to("/credentials").into_response())
}
