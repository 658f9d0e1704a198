//! BotPasswords, one per wiki, write-only: the password is never shown again (only the bot
//! user name and when it was saved). Saving logs in once to check it and reports the rights it
//! carries, whether they suffice for the user's mapped pages on that wiki, and grants broader
//! than needed; "check" does the same for a saved one.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use wikiscriptsync_core::app::credentials::CredentialReport;
use wikiscriptsync_core::app::{Field, UseCaseError};
use wikiscriptsync_core::store::CredentialSummary;

use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::state::{AppState, SharedState};
use crate::views::{FormError, Layout, WikiNames, when};

use super::{record_usage, refill, refused, render};

/// The inputs of the save form, by `Field` name.
const SAVE_FIELDS: &[&str] = &["wiki", "bot_user", "password"];

#[derive(Template)]
#[template(path = "credentials.html")]
struct CredentialsPage {
    layout: Layout,
    /// Each saved BotPassword, when it was saved, and its wiki by name and host.
    saved: Vec<(CredentialSummary, String, String)>,
    wikis: Vec<String>,
    /// The form's wiki and bot user name: empty, or as sent when refused (the password is
    /// never sent back).
    wiki: String,
    bot_username: String,
    error: Option<FormError>,
    /// What the check login found, and its wiki by name and host.
    report: Option<(CredentialReport, String)>,
    /// Whether the report is about a BotPassword just saved (else one checked again).
    saved_now: bool,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<FormError>,
    report: Option<CredentialReport>,
) -> AppResult<CredentialsPage> {
    let saved = state.app.credentials(user.id).await?;
    let names = WikiNames::load(&state.app).await?;
    Ok(CredentialsPage {
        layout: Layout::user(state, user, "BotPasswords"),
        saved: saved
            .into_iter()
            .map(|c| {
                let at = when(&c.saved_at);
                let name = names.show(&c.wiki);
                (c, at, name)
            })
            .collect(),
        wikis: state.suggested_wikis.to_vec(),
        wiki: String::new(),
        bot_username: String::new(),
        saved_now: false,
        error,
        report: report.map(|r| {
            let name = names.show(&r.wiki);
            (r, name)
        }),
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
    match state
        .app
        .save_credential(user.id, &wiki, &bot_username, password)
        .await
    {
        Ok(report) => {
            record_usage(&state, "save_botpassword");
            let mut page = page(&state, &user, None, Some(report)).await?;
            page.saved_now = true;
            Ok(render(&page)?.into_response())
        }
        Err(err) => {
            // The form again, as sent but for the password (nothing saved).
            let mut page = page(&state, &user, Some(refused(err, SAVE_FIELDS)?), None).await?;
            page.wiki = wiki.trim().to_owned();
            page.bot_username = bot_username.trim().to_owned();
            refill(&page)
        }
    }
}

/// The delete form.
#[derive(Debug, Deserialize)]
pub struct DeleteCredential {
    wiki: String,
}

/// `POST /credentials/delete`. The wiki comes from the list of saved BotPasswords, so one
/// that is not stored (or another user's) is a 404, like any other id.
pub async fn delete(
    State(state): State<SharedState>,
    user: CurrentUser,
    Form(form): Form<DeleteCredential>,
) -> AppResult<Response> {
    match state.app.delete_credential(user.id, &form.wiki).await {
        Ok(_) => {}
        Err(UseCaseError::Invalid { .. }) => return Err(AppError::NotFound),
        Err(err) => return Err(err.into()),
    }
    record_usage(&state, "delete_botpassword");
    Ok(Redirect::to("/credentials").into_response())
}

/// The check form: a saved BotPassword's wiki.
#[derive(Debug, Deserialize)]
pub struct VerifyCredential {
    wiki: String,
}

/// `POST /credentials/verify`: log in once with a saved BotPassword and report its rights
/// (nothing changes). The wiki comes from the list, so one not stored is a 404; a login the
/// wiki refuses is said above the form, with 400.
pub async fn verify(
    State(state): State<SharedState>,
    user: CurrentUser,
    Form(form): Form<VerifyCredential>,
) -> AppResult<Response> {
    match state.app.verify_credential(user.id, &form.wiki).await {
        Ok(report) => {
            record_usage(&state, "verify_botpassword");
            Ok(render(&page(&state, &user, None, Some(report)).await?)?.into_response())
        }
        Err(UseCaseError::Invalid {
            field: Field::Wiki, ..
        }) => Err(AppError::NotFound),
        // About the saved BotPassword, not the save form's inputs: above the form.
        Err(err) => refill(&page(&state, &user, Some(refused(err, &[])?), None).await?),
    }
}
