//! Writes: `action=edit` (`text` or `appendtext`; a stale base revision merged when the
//! changes do not overlap, else a conflict; `nocreate`/`createonly`, `nochange`, rights
//! per page kind, `section=new` with signatures) and `action=flow` new topics.

use super::login::check_token;
use super::merge;
use super::respond::{Call, account_for, api_error, ok, rights_of};
use super::state::timestamp;
use serde_json::json;
use wiremock::ResponseTemplate;

use super::state::{State, normalize_title};
use crate::edit::normalize_text;
use crate::rights::check_rights;
use crate::title::{ContentModel, Namespace, Title};

/// The error code MediaWiki gives when `right` is missing.
pub(super) fn missing_right_code(right: &str) -> &'static str {
    match right {
        "editsitejs" => "sitejsprotected",
        "editsitecss" => "sitecssprotected",
        "editsitejson" => "sitejsonprotected",
        "editinterface" => "protectedinterface",
        "edituserjs" => "customjsprotected",
        "editusercss" => "customcssprotected",
        "edituserjson" => "customjsonprotected",
        "editmyuserjs" => "mycustomjsprotected",
        "editmyusercss" => "mycustomcssprotected",
        "editmyuserjson" => "mycustomjsonprotected",
        "createpage" | "createtalk" => "cantcreate",
        _ => "permissiondenied",
    }
}

pub(super) fn signature(user: Option<&str>, now: &str) -> String {
    match user {
        Some(user) => format!("[[User:{user}|{user}]] ([[User talk:{user}|talk]]) {now} (UTC)"),
        None => format!("[[Special:Contributions/127.0.0.1|127.0.0.1]] {now} (UTC)"),
    }
}

pub(super) fn edit(state: &mut State, call: &Call, user: Option<&str>) -> ResponseTemplate {
    if !check_token(state, call, user) {
        return ok(&api_error("badtoken", "Invalid CSRF token."));
    }
    let requested = call.get("title").unwrap_or_default();
    let Ok(title) = normalize_title(requested) else {
        return ok(&api_error(
            "invalidtitle",
            &format!("Bad title \"{requested}\"."),
        ));
    };
    let parsed = Title::parse(&title).ok();
    let account = account_for(state, user).cloned();
    if let Some(reason) = account.as_ref().and_then(|a| a.block_reason.clone()) {
        return ok(&api_error(
            "blocked",
            &format!("You have been blocked from editing: {reason}"),
        ));
    }
    let existing = state.pages.get(&title).cloned();
    if existing
        .as_ref()
        .is_some_and(|p| p.content_model == ContentModel::FlowBoard)
    {
        return ok(&api_error(
            "no-direct-editing",
            "Direct editing via API is not supported for content model flow-board.",
        ));
    }
    let section_new = call.get("section") == Some("new");
    if existing.is_none() && call.flag("nocreate") {
        return ok(&api_error(
            "missingtitle",
            "The page you specified doesn't exist.",
        ));
    }
    if existing.is_some() && call.flag("createonly") {
        return ok(&api_error(
            "articleexists",
            "The article you tried to create has been created already.",
        ));
    }
    if existing.is_none()
        && let (Some(start), Some(deleted_at)) =
            (call.get("starttimestamp"), state.deleted.get(&title))
        && deleted_at.as_str() > start
    {
        return ok(&api_error(
            "pagedeleted",
            "The page has been deleted since you fetched its timestamp.",
        ));
    }
    // Rights: what MediaWiki checks for this kind of page.
    if let Some(parsed) = &parsed {
        let rights = rights_of(state, user);
        let acting = user.unwrap_or("127.0.0.1");
        if let Err(missing) = check_rights(parsed, acting, &rights, false) {
            return ok(&api_error(
                missing_right_code(&missing.right),
                &missing.to_string(),
            ));
        }
        let create_right = if parsed.namespace() == Namespace::UserTalk {
            "createtalk"
        } else {
            "createpage"
        };
        if existing.is_none() && !rights.iter().any(|r| r == create_right) {
            return ok(&api_error(
                "cantcreate",
                "You do not have permission to create new pages.",
            ));
        }
        let kind = if state.bearer.is_some() {
            crate::credential::CredentialKind::OwnerOnlyToken
        } else {
            crate::credential::CredentialKind::BotPassword
        };
        if user.is_some()
            && let Some(refusal) = super::tokens::reauthentication(state, kind, parsed, acting)
        {
            return ok(&refusal);
        }
    }
    // A stale base is merged when the changes do not overlap (EditPage::mergeChangesIntoContent).
    let mut merge_base = None;
    if let (Some(page), Some(base)) = (&existing, call.get("baserevid")) {
        let latest = page.latest().map_or(0, |r| r.id);
        if base.parse::<u64>().ok() != Some(latest) {
            let base_text = base
                .parse::<u64>()
                .ok()
                .and_then(|id| page.revisions.iter().find(|r| r.id == id))
                .map(|r| r.text.clone());
            let Some(base_text) = base_text else {
                return ok(&api_error("editconflict", "Edit conflict."));
            };
            merge_base = Some(base_text);
        }
    }
    if let (Some(page), Some(model)) = (&existing, call.get("contentmodel"))
        && model != page.content_model.as_str()
    {
        return ok(&api_error(
            "contentmodel-mismatch",
            &format!(
                "The content supplied is not {model}, the page's model is {}.",
                page.content_model
            ),
        ));
    }
    let now = timestamp(state.clock + 1);
    let text = call
        .get("text")
        .unwrap_or_default()
        .replace("~~~~", &signature(user, &now));
    let new_text = if let Some(append) = call.get("appendtext") {
        let current = existing.as_ref().map_or("", |p| p.text());
        format!(
            "{current}{}",
            append.replace("~~~~", &signature(user, &now))
        )
    } else if section_new {
        let heading = call.get("sectiontitle").unwrap_or_default();
        let section = format!("== {heading} ==\n\n{text}");
        match &existing {
            Some(page) if !page.text().is_empty() => format!("{}\n\n{section}", page.text()),
            _ => section,
        }
    } else {
        text
    };
    let current = existing.as_ref().map(|p| p.text().to_owned());
    let new_text = match (&merge_base, &current) {
        (Some(base), Some(latest)) => match merge::merge3(base, &normalize_text(&new_text), latest)
        {
            Some(merged) => merged,
            None => return ok(&api_error("editconflict", "Edit conflict.")),
        },
        _ => new_text,
    };
    let model_name = existing
        .as_ref()
        .map(|p| p.content_model.clone())
        .or_else(|| call.get("contentmodel").map(ContentModel::from_api))
        .or_else(|| parsed.as_ref().and_then(Title::implied_content_model))
        .unwrap_or(ContentModel::Wikitext);
    if let (Some(page), Some(current)) = (&existing, current)
        && current == normalize_text(&new_text)
    {
        return ok(
            &json!({"edit": {"result": "Success", "pageid": page.id, "title": title,
            "contentmodel": model_name.as_str(), "nochange": true, "watched": false}}),
        );
    }
    let author = user.unwrap_or("127.0.0.1").to_owned();
    let summary = call.get("summary").unwrap_or_default().to_owned();
    let old_revision = existing
        .as_ref()
        .and_then(|p| p.latest())
        .map_or(0, |r| r.id);
    let (page_id, revision, created) = state.store_revision(
        &title,
        &new_text,
        &author,
        &summary,
        Some(model_name.clone()),
    );
    if let Some(rev) = state
        .pages
        .get_mut(&title)
        .and_then(|p| p.revisions.last_mut())
    {
        rev.tags = call.list("tags");
        rev.minor = call.flag("minor");
    }
    let timestamp = state.pages[&title].latest().map(|r| r.timestamp.clone());
    let mut result = json!({"edit": {"result": "Success", "pageid": page_id, "title": title,
        "contentmodel": model_name.as_str(), "oldrevid": old_revision, "newrevid": revision,
        "newtimestamp": timestamp, "watched": false}});
    if created {
        result["edit"]["new"] = json!(true);
    }
    ok(&result)
}

pub(super) fn flow(state: &mut State, call: &Call, user: Option<&str>) -> ResponseTemplate {
    if !check_token(state, call, user) {
        return ok(&api_error("badtoken", "Invalid CSRF token."));
    }
    if call.get("submodule") != Some("new-topic") {
        return ok(&api_error("badvalue", "Only new-topic is faked."));
    }
    let title = normalize_title(call.get("page").unwrap_or_default()).unwrap_or_default();
    let topic = call.get("nttopic").unwrap_or_default().to_owned();
    let content = call.get("ntcontent").unwrap_or_default().to_owned();
    let topic_id = format!("topic{}", state.next_token + 1);
    state.next_token += 1;
    match state.pages.get_mut(&title) {
        Some(page) if page.content_model == ContentModel::FlowBoard => {
            page.flow_topics.push((topic, content));
            ok(
                &json!({"flow": {"new-topic": {"status": "ok", "workflow": topic_id,
                "committed": {"topiclist": {"topic-id": topic_id}}}}}),
            )
        }
        _ => ok(&api_error("invalid-page", "The page is not a Flow board.")),
    }
}
