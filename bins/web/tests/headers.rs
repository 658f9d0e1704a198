//! The security headers, the vendored stylesheet and the health check, over a real loopback
//! socket (the raw response, as a browser sees it).

mod common;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use common::*;
use wikiscriptsync_web::app::CODEX_CSS_PATH;

async fn spawn(app: &TestApp) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(wikiscriptsync_web::serve(
        listener,
        router,
        std::future::pending(),
    ));
    addr.to_string()
}

async fn get_raw(addr: &str, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    let addr = spawn(&app).await;
    for path in [
        "/",
        "/login",
        "/healthz",
        CODEX_CSS_PATH,
        "/no-such-page",
        "/robots.txt",
    ] {
        let response = get_raw(&addr, path).await.to_ascii_lowercase();
        assert!(
            response.contains("content-security-policy: default-src 'none'"),
            "{path}"
        );
        assert!(response.contains("frame-ancestors 'none'"), "{path}");
        assert!(!response.contains("script-src"), "{path}");
        assert!(
            response.contains("x-content-type-options: nosniff"),
            "{path}"
        );
        assert!(response.contains("referrer-policy: same-origin"), "{path}");
    }
}

#[tokio::test]
async fn the_stylesheet_is_served_locally_and_cached_for_good() {
    let app = TestApp::start().await;
    let addr = spawn(&app).await;
    let response = get_raw(&addr, CODEX_CSS_PATH).await;
    assert!(response.starts_with("HTTP/1.1 200"));
    assert!(response.contains("immutable"));
    assert!(response.contains(".cdx-button"));
    for remote in ["url(http", "url(\"http", "url('http", "@import"] {
        assert!(
            !response.contains(remote),
            "no third-party resource: {remote}"
        );
    }
}

#[tokio::test]
async fn the_health_check_answers_when_the_database_does() {
    let app = TestApp::start().await;
    let addr = spawn(&app).await;
    let response = get_raw(&addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
}

#[tokio::test]
async fn pages_have_no_script_and_development_mode_says_so() {
    let app = TestApp::start().await;
    let mut visitor = app.visitor().await;
    let login = app.get(&mut visitor, "/login").await;
    assert!(login.body.contains("Development mode") && !login.body.contains("<script"));
    let mut alice = app.login("alice").await;
    for path in [
        "/credentials",
        "/repositories/new",
        "/pages",
        "/notifications",
    ] {
        let page = app.get(&mut alice, path).await;
        assert!(!page.body.contains("<script"), "{path}");
        for handler in [
            "onclick=",
            "onload=",
            "onerror=",
            "onsubmit=",
            "javascript:",
        ] {
            assert!(!page.body.contains(handler), "{path}: {handler}");
        }
        assert!(page.body.contains("Development mode"), "{path}");
        assert!(page.body.contains(CODEX_CSS_PATH), "{path}");
    }
}

#[tokio::test]
async fn user_input_is_escaped_in_pages() {
    let app = TestApp::start().await;
    let mut agent = app.login("<b>bold</b>").await;
    let page = app.get(&mut agent, "/").await;
    assert!(
        page.body.contains("&lt;b&gt;bold&lt;/b&gt;") || page.body.contains("&#60;b&#62;bold"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>bold</b>"));
}
