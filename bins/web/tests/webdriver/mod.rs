//! A small WebDriver client for the browser tests: chromedriver on a loopback port driving
//! headless Chromium over plain HTTP (no WebDriver crate), with helpers to find, type, click,
//! evaluate script, emulate a viewport and take screenshots. Shared by `browser.rs` and
//! `accessibility.rs`.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Prints why the test cannot run and returns, or fails under CI.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the browser test cannot run: {why}");
    }
    // Straight to stderr: the test harness captures eprintln! too, and shows it only for
    // failing tests.
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

pub fn chromedriver_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WIKISCRIPTSYNC_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|candidate| candidate.is_file())
    })
}

pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("screenshots")
}

/// chromedriver, killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start(path: &PathBuf) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut driver = Self {
            child,
            base,
            http,
            session: String::new(),
        };
        for _ in 0..100 {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,1400"
            ]
        });
        if let Some(binary) = chromium {
            options["binary"] = json!(binary);
        }
        let created = driver
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options
                }}})),
            )
            .await;
        driver.session = created["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        driver
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = response["value"].get("error") {
            panic!("WebDriver {path}: {error} {}", response["value"]["message"]);
        }
        response["value"].clone()
    }

    pub async fn session_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    pub async fn goto(&self, url: &str) {
        self.session_call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The first element matching `css`, waiting up to 10 s for it (a submitted form's next
    /// page may still be loading).
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            let found = self
                .session_call(
                    reqwest::Method::POST,
                    "/elements",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found.get(0).and_then(|e| e[ELEMENT].as_str()) {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.source().await;
        std::fs::create_dir_all(screenshot_dir()).ok();
        std::fs::write(screenshot_dir().join("last-page.html"), &page).ok();
        panic!(
            "no element {css} on {} (page saved as last-page.html)",
            self.url().await
        );
    }

    /// The page source once it contains `text` (waiting up to 10 s).
    pub async fn wait_for_text(&self, text: &str) -> String {
        let mut page = String::new();
        for _ in 0..100 {
            page = self.source().await;
            if page.contains(text) {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::create_dir_all(screenshot_dir()).ok();
        std::fs::write(screenshot_dir().join("last-page.html"), &page).ok();
        panic!(
            "`{text}` never appeared on {} (page saved as last-page.html)",
            self.url().await
        );
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn clear(&self, css: &str) {
        let element = self.find(css).await;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
    }

    /// The value of a JavaScript expression in the page (WebDriver's execute; the page itself
    /// runs no script).
    pub async fn evaluate(&self, expression: &str) -> Value {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("return {expression};"), "args": []})),
        )
        .await
    }

    pub async fn source(&self) -> String {
        self.session_call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn url(&self) -> String {
        self.session_call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .session_call(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.session_call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": command, "params": params})),
        )
        .await
    }

    /// Lays the page out in a `width` × `height` CSS-pixel viewport (a desktop browser, not a
    /// phone: the page gets exactly this width and scrolls sideways when it is wider).
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
    }

    /// Runs `script` (a function body) with WebDriver's synchronous execute, returning its
    /// value. WebDriver's script runs through the DevTools protocol, outside the page's CSP.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs `script` (a function body whose last argument is the callback that ends it) with
    /// WebDriver's asynchronous execute, returning the value passed to the callback.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.session_call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Ends the WebDriver session (chromedriver itself ends on drop).
    pub async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}
