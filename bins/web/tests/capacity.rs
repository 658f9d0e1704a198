//! The web server's capacity against slow and greedy clients, over a real loopback socket: a
//! request head that arrives too slowly or too large is cut off before any route; a form body
//! that arrives slowly holds no page slot and is cut off in time; the health check and the
//! static files answer while every page slot is busy; a forge rate limit met inside a page is
//! reported at once, not slept out; a user's limit is shown on the form.
//!
//! Every wait below is a guard that turns a hang into a failure, never a measured time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use common::*;
use wikiscriptsync_core::app::UserLimits;
use wikiscriptsync_core::forge::testkit::Fault;
use wikiscriptsync_web::app::{APP_CSS_PATH, CODEX_CSS_PATH, MAX_CONCURRENT_PAGES};
use wikiscriptsync_web::{ServerLimits, router, serve_with};

/// What a test may wait for something that should happen at once (a hang fails instead).
const GUARD: Duration = Duration::from_secs(30);

/// Serves `state`'s router on a loopback port with `limits`; the address.
async fn spawn(state: wikiscriptsync_web::AppState, limits: ServerLimits) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        serve_with(listener, router(state), std::future::pending(), &limits).await
    });
    addr
}

/// Everything the server sends on `stream` until it closes it (an error counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(GUARD, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A GET over a fresh connection, answered within the guard: the status line.
async fn get_status(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_request_head_sent_slowly_or_too_large_is_cut_off_before_any_route() {
    let app = TestApp::start().await;
    let limits = ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let addr = spawn(app.state.clone(), limits).await;
    // Many clients that never finish their headers ...
    let mut slow = Vec::new();
    for _ in 0..(MAX_CONCURRENT_PAGES * 2) {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
            .await
            .unwrap();
        slow.push(stream);
    }
    // ... do not stop others from being served ...
    assert_eq!(get_status(&addr, "/login").await, "HTTP/1.1 200 OK");
    // ... and are cut off: the server closes each of them without serving it.
    for stream in &mut slow {
        let answer = read_until_closed(stream).await;
        assert!(!answer.contains("200 OK"), "{answer}");
    }
    // A head larger than the limit is refused, not buffered.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let huge = format!(
        "GET /login HTTP/1.1\r\nHost: {addr}\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = stream.write_all(huge.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
}

/// A POST of a form whose body never fully arrives: headers and half the body.
async fn slow_form(addr: &str, cookie: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /login/dev HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
         username=al"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_form_sent_slowly_holds_no_page_slot_and_is_cut_off_in_time() {
    let app = TestApp::start().await;
    let visitor = app.visitor().await;
    let cookie = visitor.cookie.clone().unwrap();

    // One page slot and a body timeout far beyond the guard: only if slow bodies hold no
    // slot can the page below be served.
    let mut state = app.state.clone();
    state.page_slots = Arc::new(Semaphore::new(1));
    state.body_read_timeout = Duration::from_secs(600);
    let addr = spawn(state, ServerLimits::default()).await;
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(slow_form(&addr, &cookie).await);
    }
    assert_eq!(get_status(&addr, "/login").await, "HTTP/1.1 200 OK");
    drop(slow);

    // With a short body timeout, the slow sender is told so and its connection ends.
    let mut state = app.state.clone();
    state.body_read_timeout = Duration::from_millis(300);
    let addr = spawn(state, ServerLimits::default()).await;
    let mut stream = slow_form(&addr, &cookie).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive in time"), "{answer}");
}

#[tokio::test]
async fn health_and_static_files_answer_while_every_page_slot_is_busy() {
    let app = TestApp::start().await;
    let addr = spawn(app.state.clone(), ServerLimits::default()).await;
    let held = Arc::clone(&app.state.page_slots)
        .acquire_many_owned(u32::try_from(MAX_CONCURRENT_PAGES).unwrap())
        .await
        .unwrap();
    assert_eq!(app.state.page_slots.available_permits(), 0);
    for path in ["/healthz", CODEX_CSS_PATH, APP_CSS_PATH, "/robots.txt"] {
        assert_eq!(get_status(&addr, path).await, "HTTP/1.1 200 OK", "{path}");
    }
    // A page waits for a slot; freed, it is served.
    let page = tokio::spawn({
        let addr = addr.clone();
        async move { get_status(&addr, "/login").await }
    });
    drop(held);
    assert_eq!(page.await.unwrap(), "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_forge_rate_limit_met_by_a_page_is_reported_at_once_not_slept_out() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let url = app.github.repo_url(REPO);
    let page = app.add_repository(&mut alice, &url).await;
    // A wait of a second, within what the jobs' client sleeps out (2 s for the fakes).
    app.github.reset_stats();
    app.github.push_fault(Fault::SecondaryRateLimit {
        status: 403,
        retry_after: Some(1),
    });
    let shown = app.get(&mut alice, &page).await;
    shown.expect(StatusCode::OK);
    assert!(
        shown.body.contains("rate limit") && shown.body.contains("no requests before"),
        "{}",
        shown.body
    );
    assert_eq!(app.github.stats().requests, 1, "asked once, not again");
}

#[tokio::test]
async fn a_users_limit_is_shown_on_the_form_with_what_to_do() {
    let mut app = TestApp::start().await;
    let mut state = app.state.clone();
    state.app = state.app.clone().with_limits(UserLimits {
        repositories: 1,
        ..UserLimits::default()
    });
    app.router = router(state);
    let mut alice = app.login("alice").await;
    app.github.add_repo("alice/other", [("x.js", "// x")]);
    for (repo, status) in [
        (REPO, StatusCode::SEE_OTHER),
        ("alice/other", StatusCode::BAD_REQUEST),
    ] {
        let url = app.github.repo_url(repo);
        let answer = app
            .post(
                &mut alice,
                "/repositories/new",
                &[("url", &url), ("branch", "")],
            )
            .await;
        answer.expect(status);
        if status == StatusCode::BAD_REQUEST {
            assert!(
                answer.body.contains("Limit reached")
                    && answer
                        .body
                        .contains("WIKISCRIPTSYNC_MAX_REPOSITORIES_PER_USER"),
                "{}",
                answer.body
            );
        }
    }
}
