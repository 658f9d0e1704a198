//! CrateUserTool: a small program another tool's author could write against
//! `wikiscriptsync-mw` and `wikiscriptsync-forge` from their documentation alone. It names
//! itself in the User-Agent, configures everything in code (it reads no environment variable)
//! and does four tasks:
//!
//! 1. a batched revision lookup of several titles (one request);
//! 2. a conflict-guarded edit (probe, then edit on the probed base revision), followed by two
//!    writers that saw the same old revision: one whose change MediaWiki merges, one whose
//!    change overlaps and is refused as an edit conflict;
//! 3. a GitHub webhook signature check of a genuine and a forged delivery (no request);
//! 4. a conditional repository probe: the branch head, then the same question with what the
//!    first answer said, answered `304 Not Modified`.
//!
//! ```text
//! crate-user WIKI_API_URL GITHUB_API_URL REPOSITORY_URL BOT_LOGIN PAGE < password
//! ```
//!
//! The BotPassword is read from standard input, never from the command line. The page must
//! exist with at least three lines. The workspace test `tests/program.rs` runs this binary
//! against the crates' fakes.

use anyhow::{Context, Result, bail};
use tokio::io::AsyncReadExt;
use wikiscriptsync_forge::webhook::{github_signature, parse_github_push, verify_github_signature};
use wikiscriptsync_forge::{ForgeConfig, Forges, HeadProbe};
use wikiscriptsync_mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, EditOutcome, EditRequest, Error,
    PageState, SecretString, Session, Title, UserAgent,
};

/// Who this tool is, as the Wikimedia User-Agent policy asks.
fn user_agent() -> Result<UserAgent> {
    Ok(UserAgent::new(
        "CrateUserTool",
        "1.0",
        "https://example.org/crate-user; tool@example.org",
    )?)
}

/// What the command line gives.
struct Arguments {
    wiki_api_url: String,
    github_api_url: String,
    repository_url: String,
    bot_login: String,
    page: String,
}

fn arguments() -> Result<Arguments> {
    let mut args = std::env::args().skip(1);
    let mut next = |what: &str| {
        args.next().with_context(|| {
            format!(
                "missing {what}; usage: crate-user WIKI_API_URL GITHUB_API_URL REPOSITORY_URL \
                 BOT_LOGIN PAGE < password"
            )
        })
    };
    Ok(Arguments {
        wiki_api_url: next("the wiki's API URL")?,
        github_api_url: next("the GitHub API URL")?,
        repository_url: next("the repository URL")?,
        bot_login: next("the BotPassword login name")?,
        page: next("the page to edit")?,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = arguments()?;
    let mut password = String::new();
    tokio::io::stdin()
        .read_to_string(&mut password)
        .await
        .context("reading the BotPassword from standard input")?;
    let password = SecretString::from(password.trim().to_owned());
    let agent = user_agent()?;
    println!("user-agent: {agent}");

    // The wiki: any wiki besides Wikimedia's is allowed by the address we have.
    let mut config = ClientConfig::new(agent.clone());
    config.allow_list = AllowList::with_hosts([args.wiki_api_url.as_str()])?;
    let client = ActionApiClient::new(config)?;
    let wiki = client.parse_wiki(&args.wiki_api_url)?;
    let title = Title::parse(&args.page)?;

    lookup(&client.anonymous_session(&wiki)?, &title).await?;
    let session = client
        .login_session(&wiki, BotPassword::new(&args.bot_login, password))
        .await?;
    guarded_edits(&session, &title).await?;
    println!("wiki: {} requests", client.request_count());

    webhook(&args.repository_url)?;

    // The forge: the same User-Agent type, GitHub's API at the address we have.
    let forges = Forges::new(
        ForgeConfig::builder(agent)
            .github_api_url(&args.github_api_url)
            .build()?,
    )?;
    conditional_probe(&forges, &args.repository_url).await?;
    let usage = forges.usage();
    println!(
        "forge: {} requests, {} not modified",
        usage.requests, usage.not_modified
    );
    Ok(())
}

/// Task 1: the latest revisions of several titles in one request.
async fn lookup(session: &Session, page: &Title) -> Result<()> {
    let titles = [page.as_str(), "Main Page", "Crate user/No such page"];
    let before = session.request_count();
    for found in session.lookup_revisions(&titles).await? {
        match found.state {
            PageState::Exists(revision) => println!(
                "lookup: {} exists at r{} ({})",
                found.requested, revision.revision_id, revision.timestamp
            ),
            PageState::Missing { .. } => println!("lookup: {} is missing", found.requested),
            PageState::Invalid { reason } => {
                println!("lookup: {} is invalid: {reason}", found.requested);
            }
        }
    }
    println!(
        "lookup: {} request for {} titles",
        session.request_count() - before,
        titles.len()
    );
    Ok(())
}

/// `text` with its line `index` (from the end when `from_end`) replaced by `line`.
fn with_line(text: &str, index: usize, from_end: bool, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let at = if from_end {
        lines.len() - 1 - index
    } else {
        index
    };
    lines[at] = line;
    lines.join("\n")
}

/// Task 2: a guarded edit, then two writers that saw the same, now old, revision.
async fn guarded_edits(session: &Session, title: &Title) -> Result<()> {
    let probe = session.probe(title).await?;
    probe.check_rights(title)?;
    let text = probe.page.text.clone().unwrap_or_default();
    if text.lines().count() < 3 {
        bail!("{title} needs at least three lines for this demonstration");
    }
    let Some(base) = probe.page.revision_id else {
        bail!("{title} does not exist");
    };
    let guarded = |new_text: String, summary: &str| {
        let mut edit = EditRequest::new(title.clone(), new_text, summary);
        edit.base_revision = Some(base);
        edit.start_timestamp = Some(probe.server_time);
        edit
    };

    let first = guarded(
        with_line(&text, 0, false, "// first line, by CrateUserTool"),
        "CrateUserTool: first line",
    );
    match session.edit(&first).await? {
        EditOutcome::Updated {
            old_revision,
            new_revision,
            ..
        } => println!("edit: updated r{old_revision} to r{new_revision}"),
        other => bail!("the guarded edit was not a plain update: {other:?}"),
    }

    // Another writer saw r{base} too and changed the last line: no overlap, MediaWiki merges.
    let last = guarded(
        with_line(&text, 0, true, "// last line, by CrateUserTool"),
        "CrateUserTool: last line",
    );
    match session.edit(&last).await? {
        EditOutcome::Merged {
            base_revision,
            latest_revision,
            new_revision,
            ..
        } => println!(
            "stale edit: merged into r{new_revision} (based on r{base_revision}, r{latest_revision} was not seen)"
        ),
        other => bail!("the stale edit was not reported as merged: {other:?}"),
    }

    // A third one saw r{base} and changed the first line as well: an edit conflict.
    let overlapping = guarded(
        with_line(&text, 0, false, "// first line, by someone else"),
        "CrateUserTool: first line again",
    );
    match session.edit(&overlapping).await {
        Err(Error::EditConflict { title }) => {
            println!("overlapping stale edit: refused as an edit conflict on {title}");
        }
        other => bail!("the overlapping stale edit was not a conflict: {other:?}"),
    }
    Ok(())
}

/// Task 3: a push delivery signed with the shared secret passes; the same body signed with
/// another secret does not. No request is sent.
fn webhook(repository_url: &str) -> Result<()> {
    let secret = SecretString::from("the webhook secret both sides know");
    let body = format!(
        r#"{{"ref":"refs/heads/main","before":"{}","after":"{}",
            "commits":[{{"added":[],"modified":["src/Gadget.js"],"removed":[]}}],
            "repository":{{"full_name":"octo/gadgets","html_url":"{repository_url}"}}}}"#,
        "1".repeat(40),
        "2".repeat(40)
    );
    let genuine = github_signature(&secret, body.as_bytes());
    verify_github_signature(&secret, body.as_bytes(), Some(genuine.as_str()))?;
    let push = parse_github_push(body.as_bytes())?;
    println!(
        "webhook: genuine delivery accepted: {} {} changed {}",
        push.repository,
        push.branch.as_deref().unwrap_or("?"),
        push.changed_paths
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let forged = github_signature(&SecretString::from("a guess"), body.as_bytes());
    match verify_github_signature(&secret, body.as_bytes(), Some(forged.as_str())) {
        Err(error) => println!("webhook: forged delivery refused: {error}"),
        Ok(()) => bail!("a forged delivery was accepted"),
    }
    Ok(())
}

/// Task 4: where `main` points, then the same question with what the answer said.
async fn conditional_probe(forges: &Forges, repository_url: &str) -> Result<()> {
    let repo = forges.parse_repo_url(repository_url)?;
    let first = forges.head(&repo, "main", None).await?;
    println!(
        "probe 1: main at {} ({})",
        first.sha().short(),
        if first.moved() { "moved" } else { "unchanged" }
    );
    let known = first.into_known(None);
    match forges.head(&repo, "main", Some(&known)).await? {
        HeadProbe::NotModified { sha } => {
            println!("probe 2: main unchanged at {} (not modified)", sha.short());
        }
        moved => bail!("the second probe said the branch moved: {moved:?}"),
    }
    Ok(())
}
