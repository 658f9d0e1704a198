//! The router: pages, the health check, the vendored stylesheet and the security headers every
//! response carries.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use wikiscriptsync_core::store::Store;

use crate::config::Mode;
use crate::keys::Keys;

/// The Codex stylesheet, compiled into the binary (no third-party hosts: Toolforge policy).
const CODEX_CSS: &str = include_str!("../static/codex-2.7.0.style.css");
/// Versioned path: a new Codex version gets a new URL, so the old one can be cached forever.
pub const CODEX_CSS_PATH: &str = "/static/codex-2.7.0.css";

/// Content-Security-Policy: our own stylesheet and images, no script at all, no framing.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Development or production.
    pub mode: Mode,
    /// The server's secrets.
    pub keys: Arc<Keys>,
    /// Everything the tool knows.
    pub store: Arc<dyn Store>,
}

/// The application's routes with the security headers applied.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route(CODEX_CSS_PATH, get(codex_css))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, finishing requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
    response
}

/// Toolforge's health check: 200 while the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.health().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn codex_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CODEX_CSS,
    )
}

async fn home(State(state): State<AppState>) -> (StatusCode, Html<String>) {
    let banner = match state.mode {
        Mode::Development => {
            r#"<div class="cdx-message cdx-message--block cdx-message--warning" role="status"><span class="cdx-message__icon"></span><div class="cdx-message__content">Development mode: loopback only, local SQLite database, keys in the data directory.</div></div>"#
        }
        Mode::Production => "",
    };
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en" dir="ltr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>WikiScriptSync</title><link rel="stylesheet" href="{CODEX_CSS_PATH}"></head>
<body>
{banner}
<main>
<h1>WikiScriptSync</h1>
<p>Keep gadget and user-script pages in step with the Git repositories they are developed in.</p>
<p>Credential keys loaded: {keys}.</p>
</main>
</body>
</html>"#,
        keys = state.keys.vault.key_count(),
    );
    (StatusCode::OK, Html(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spawn() -> (String, tokio::sync::oneshot::Sender<()>) {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::load_or_generate(dir.path()).unwrap();
        let config = crate::WebConfig::development(0, dir.path().to_owned());
        let store = crate::config::open_store(&config).await.unwrap();
        // The data directory must outlive the server, which runs until the test process ends.
        std::mem::forget(dir);
        let app = router(AppState {
            mode: Mode::Development,
            keys: Arc::new(keys),
            store,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(serve(listener, app, async {
            rx.await.ok();
        }));
        (format!("http://{addr}"), tx)
    }

    async fn get_raw(base: &str, path: &str) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn every_response_carries_the_security_headers() {
        let (base, _stop) = spawn().await;
        for path in ["/", "/healthz", CODEX_CSS_PATH, "/no-such-page"] {
            let response = get_raw(&base, path).await.to_ascii_lowercase();
            assert!(
                response.contains("content-security-policy: default-src 'none'"),
                "{path}"
            );
            assert!(response.contains("frame-ancestors 'none'"), "{path}");
            assert!(
                response.contains("x-content-type-options: nosniff"),
                "{path}"
            );
            assert!(response.contains("referrer-policy: same-origin"), "{path}");
        }
    }

    #[tokio::test]
    async fn the_stylesheet_is_served_locally_and_cached_for_good() {
        let (base, _stop) = spawn().await;
        let response = get_raw(&base, CODEX_CSS_PATH).await;
        assert!(response.starts_with("HTTP/1.1 200"));
        assert!(response.contains("immutable"));
        assert!(response.contains(".cdx-button"));
    }

    #[tokio::test]
    async fn the_health_check_answers_when_the_database_does() {
        let (base, _stop) = spawn().await;
        let response = get_raw(&base, "/healthz").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("ok"), "{response}");
    }

    #[tokio::test]
    async fn development_mode_says_so_on_the_page() {
        let (base, _stop) = spawn().await;
        let response = get_raw(&base, "/").await;
        assert!(response.contains("Development mode"));
        assert!(response.contains(CODEX_CSS_PATH));
        assert!(!response.contains("<script"));
    }
}
