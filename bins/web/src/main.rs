//! `wikiscriptsync-web`: the WikiScriptSync web application.
//!
//! `--dev` runs it on a laptop (loopback, SQLite, generated keys); without it, it runs as on
//! Toolforge (`0.0.0.0:$PORT`, configuration from the environment, read once into the
//! [`Settings`]).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use tokio::net::TcpListener;
use wikiscriptsync_core::mw::UserAgent;
use wikiscriptsync_core::settings::{Settings, vars};
use wikiscriptsync_core::setup;
use wikiscriptsync_web::config;
use wikiscriptsync_web::dashboard_cache::DashboardCache;
use wikiscriptsync_web::keys::Keys;
use wikiscriptsync_web::{AppState, Mode, WebConfig, router, serve};

/// The WikiScriptSync web application.
#[derive(Debug, Parser)]
#[command(name = "wikiscriptsync-web", version, about, after_help = vars::env_help(vars::Reader::Web))]
struct Args {
    /// Development mode: bind to 127.0.0.1 only, keep the SQLite database and generated keys in
    /// --data-dir, and show a banner saying so.
    #[arg(long)]
    dev: bool,
    /// The port to listen on [default: PORT, else 8000].
    #[arg(long)]
    port: Option<u16>,
    /// Where development mode keeps its database and keys [default: WIKISCRIPTSYNC_DATA_DIR,
    /// else data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let settings = Settings::from_env()?;
    // Flags override the environment.
    let port = args.port.unwrap_or(settings.web.port);
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| settings.web.data_dir.clone());
    let config = if args.dev {
        WebConfig::development(port, data_dir)
    } else {
        let url = setup::database_url(&settings).context("cannot choose the database")?;
        WebConfig::production(port, data_dir, url)
    };
    let keys = match config.mode {
        Mode::Development => {
            Keys::load_or_generate_with(&config.data_dir, settings.credential_keys.as_ref())
        }
        Mode::Production => Keys::from_settings(&settings),
    }
    .context("cannot load the server's keys")?;
    let store = config::open_store(&config)
        .await
        .context("cannot open the database")?;

    let contact = match (config.mode, setup::contact(&settings)) {
        (_, Ok(contact)) => contact.to_owned(),
        (Mode::Development, Err(_)) => {
            tracing::warn!(
                "{} is not set: requests identify the tool by its project URL; set it to your \
                 own URL or e-mail before publishing to a public wiki",
                setup::CONTACT_ENV
            );
            setup::DEVELOPMENT_CONTACT.to_owned()
        }
        (Mode::Production, Err(err)) => return Err(err).context("cannot build the User-Agent"),
    };
    let wiki = setup::wiki_client_with_contact(&settings, &contact, true)
        .context("cannot set up the MediaWiki client")?;
    let forges = setup::web_forges_with_contact(&settings, &contact)
        .context("cannot set up the GitHub/GitLab clients")?;
    let oauth = match config.mode {
        Mode::Development => None,
        Mode::Production => {
            let user_agent = UserAgent::from_contact(&contact)?;
            let oauth = config::oauth_client(&settings, &user_agent)?;
            if oauth.is_none() {
                anyhow::bail!(
                    "{} is not set: production needs a Wikimedia OAuth 2.0 consumer (see \
                     .env.example), or run with --dev",
                    vars::OAUTH_CLIENT_ID_ENV
                );
            }
            oauth
        }
    };
    let mut state = AppState::new(
        config.mode,
        store,
        Arc::clone(&keys.vault),
        keys.cookie_key()?,
        Arc::new(wiki),
        Arc::new(forges),
        oauth,
        settings.web.admin_users.clone(),
    );
    state.public_origin = settings.web.public_origin.clone();
    state.dashboards = Arc::new(DashboardCache::new(settings.web.dashboard_cache));
    state.app = state
        .app
        .clone()
        .with_runner_host(settings.runner_host.clone())
        .with_quota_policy(settings.forge.quota)
        .with_limits(settings.limits);
    let flusher = state.usage.spawn_flusher(state.app.clone());

    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    tracing::info!(address = %config.bind, mode = ?config.mode, "listening; open http://{}/", config.bind);
    let served = serve(listener, router(state.clone()), shutdown_signal()).await;
    flusher.abort();
    if let Err(err) = state.usage.flush(&state.app).await {
        tracing::warn!(error = %err, "cannot write the last usage counts");
    }
    served.context("the server stopped with an error")?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (what Kubernetes sends) starts a graceful shutdown.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
