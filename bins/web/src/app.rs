//! The router: every page and form, the layers that make them safe by default (CSRF, form
//! nonce, body and time limits, security headers), the health check, the vendored
//! stylesheets and the 404 page of unknown routes; and the server loop under it, which reads
//! request heads with a timeout and a size limit.
//!
//! Capacity is protected in this order: a request's head must arrive within
//! [`HEADER_READ_TIMEOUT`] (hyper, before any route); a form's body within
//! [`BODY_READ_TIMEOUT`] (the nonce check, before a page slot); only then does a page take one
//! of the [`MAX_CONCURRENT_PAGES`] slots. The health check and the static files take no slot.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::AppError;
use crate::handlers;
use crate::session;
pub use crate::state::{AppState, DEFAULT_SUGGESTED_WIKIS, SharedState};

/// The Codex stylesheet, compiled into the binary (no third-party hosts: Toolforge policy).
const CODEX_CSS: &str = include_str!("../static/codex-2.7.0.style.css");
/// Versioned path: a new Codex version gets a new URL, so the old one can be cached forever.
pub const CODEX_CSS_PATH: &str = "/static/codex-2.7.0.css";
/// Our few layout rules on top of Codex.
const APP_CSS: &str = include_str!("../static/app-3.css");
/// Versioned path of our layout stylesheet (a new version gets a new URL).
pub const APP_CSS_PATH: &str = "/static/app-3.css";

/// Content-Security-Policy: our own stylesheet and images, no script at all, no framing.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The largest request body accepted (forms are a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest a request may take (a publish is a handful of requests to a forge and a wiki).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Pages built at the same time. More wait their turn holding only their request, so a burst
/// cannot hold hundreds of dashboards (each hundreds of KiB) in memory at once. A request
/// takes its slot only once its headers and its body are in (see [`ServerLimits`]), so slow
/// clients cannot hold the slots.
pub const MAX_CONCURRENT_PAGES: usize = 16;

/// The longest a client may take to send a request's start line and headers (also how long an
/// idle kept-alive connection stays open).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a form's body may take to arrive once its headers are in.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head (start line and headers) read; hyper's smallest buffer. Our
/// cookie and a browser's headers take a few KiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The most headers a request may have.
pub const MAX_HEADERS: usize = 64;

/// How the server protects its capacity from slow or greedy clients. Tests shorten the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`BODY_READ_TIMEOUT`].
    pub body_read_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
        }
    }
}

/// The application's routes with every protective layer applied.
pub fn router(state: AppState) -> Router {
    let state: SharedState = Arc::new(state);
    use handlers::*;
    let pages = Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(auth::login_page))
        .route("/login/oauth", get(auth::oauth_start))
        .route("/oauth/callback", get(auth::oauth_callback))
        .route("/login/dev", post(auth::dev_login))
        .route("/logout", post(auth::logout))
        .route("/logout/everywhere", post(auth::logout_everywhere))
        .route(
            "/repositories/new",
            get(repositories::new_form).post(repositories::add),
        )
        .route("/repositories/{id}", get(repositories::show))
        .route("/repositories/{id}/watch", post(repositories::watch))
        .route("/repositories/{id}/check", post(repositories::check_now))
        .route("/repositories/{id}/delete", post(repositories::remove))
        .route("/files/{id}", get(files::show))
        .route("/files/{id}/unwatch", post(files::unwatch))
        .route("/files/{id}/mappings", post(files::add_mapping))
        .route(
            "/files/{id}/publish",
            get(publish_all::preview).post(publish_all::publish),
        )
        .route("/mappings/{id}/options", post(files::set_options))
        .route("/mappings/{id}/delete", post(files::remove_mapping))
        .route(
            "/mappings/{id}/publish",
            get(publish::preview).post(publish::publish),
        )
        .route("/publishes", get(logs::publishes))
        .route("/pages", get(monitors::list).post(monitors::add))
        .route("/pages/{id}", get(monitors::show))
        .route("/pages/{id}/delete", post(monitors::remove))
        .route(
            "/credentials",
            get(credentials::list).post(credentials::save),
        )
        .route("/credentials/verify", post(credentials::verify))
        .route("/credentials/delete", post(credentials::delete))
        .route(
            "/notifications",
            get(notifications::show).post(notifications::save),
        )
        .route("/admin/metrics", get(admin::metrics))
        // Inner: a page takes its slot only after the nonce check below has read its body,
        // so a client sending its form slowly holds no slot.
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state.page_slots),
            one_of_a_few,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            session::require_form_nonce,
        ));
    let mut csrf = CsrfLayer::new();
    if let Some(origin) = &state.public_origin {
        csrf = match csrf.clone().add_trusted_origin(origin) {
            Ok(layer) => layer,
            Err(err) => {
                tracing::warn!(origin, error = %err, "the public origin is not a valid origin; not trusted");
                csrf
            }
        };
    }
    let csrf = csrf.with_rejection_response(|_| {
        let mut response = Response::new(Body::from(
            "Refused: this request came from another site. Use the forms on this site.",
        ));
        *response.status_mut() = StatusCode::FORBIDDEN;
        response
    });
    Router::new()
        .merge(pages)
        .route("/healthz", get(healthz))
        .route("/robots.txt", get(robots))
        .route(CODEX_CSS_PATH, get(codex_css))
        .route(APP_CSS_PATH, get(app_css))
        // Unknown routes answer with the error page, not an empty body.
        .fallback(not_found)
        .layer(csrf)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, finishing requests in flight, with
/// the default [`ServerLimits`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, &ServerLimits::default()).await
}

/// [`serve`] with these limits: HTTP/1.1 whose request head must arrive within
/// `header_read_timeout` and fit [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`] (else the connection
/// is closed, or answered 431), before any route sees it. `axum::serve` sets neither.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: &ServerLimits,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: pause instead of spinning.
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Runs the page when one of the page slots ([`MAX_CONCURRENT_PAGES`]) is free.
async fn one_of_a_few(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match permits.acquire().await {
        Ok(_permit) => next.run(request).await,
        // The semaphore is never closed; if it were, serving without a limit beats failing.
        Err(_) => next.run(request).await,
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages are per user: no shared cache may keep them.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Toolforge's health check: 200 while the database answers, 503 otherwise.
async fn healthz(State(state): State<SharedState>) -> (StatusCode, &'static str) {
    match state.app.database_health().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// The 404 page of every unknown route.
async fn not_found() -> AppError {
    AppError::NotFound
}

/// A constant plain-text page (also the benchmark's ceiling: no database, no template).
async fn robots() -> &'static str {
    "User-agent: *\nDisallow: /\n"
}

fn immutable_css(css: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        css,
    )
}

async fn codex_css() -> impl IntoResponse {
    immutable_css(CODEX_CSS)
}

async fn app_css() -> impl IntoResponse {
    immutable_css(APP_CSS)
}
