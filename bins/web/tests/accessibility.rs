//! WCAG 2.1 AA on every page state, in headless Chromium: a maintainer's whole journey (logged
//! out, empty dashboard, adding a repository, watching files, mapping them, BotPasswords,
//! previews with and without drift, publishing one page and all pages, monitored pages,
//! notifications, the logs, metrics, the 404 and error pages, and every form refused) over the
//! real router, a fake GitHub and a fake wiki. In each state axe-core runs at a 360 px wide
//! viewport and at 640 px (a 1280 px window at 200% zoom), and the page must not scroll
//! sideways. Any axe violation (every rule axe runs by default: WCAG 2.0/2.1 A and AA plus its
//! best practices) fails the test, with each violation's id, impact and targets printed.
//!
//! axe-core comes from npm (`.ci/run` packs a pinned version and exports
//! `WIKISCRIPTSYNC_TEST_AXE_JS`); the page's CSP forbids script, so axe is injected through
//! WebDriver's execute script, which the DevTools protocol runs outside the page's CSP.
//!
//! Skips with "skipped: ..." when chromedriver or axe-core is missing, except under CI.

mod common;
mod webdriver;

use std::fmt::Write as _;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use common::*;
use webdriver::{Driver, chromedriver_path, skip};

/// The viewports every state is checked at: (name, width, height) in CSS pixels.
const VIEWPORTS: [(&str, u32, u32); 2] = [
    ("360 px", 360, 740),
    ("200% zoom (1280 px window)", 640, 800),
];

/// The problems found so far, per state and viewport (overflows: sideways scrolls and
/// clipped button labels).
#[derive(Default)]
struct Findings {
    states: Vec<String>,
    violations: usize,
    overflows: usize,
    report: String,
}

/// Runs axe-core on the current page (loading it first when the page does not have it), and
/// checks the page does not scroll sideways, at each viewport.
async fn audit(driver: &Driver, axe: &str, state: &str, findings: &mut Findings) {
    findings.states.push(state.to_owned());
    for (viewport, width, height) in VIEWPORTS {
        driver.set_viewport(width, height).await;
        let result = driver
            .execute_async(
                // axe is loaded in the same script that runs it, so a page that was still
                // being replaced by a navigation cannot take the loaded copy away with it.
                "const done = arguments[arguments.length - 1];\
                 if (typeof window.axe === 'undefined') { (0, eval)(arguments[0]); }\
                 window.axe.run(document, {resultTypes: ['violations']})\
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, \
                     help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))))\
                   .catch(e => done({error: String(e)}));",
                json!([axe]),
            )
            .await;
        let Value::Array(violations) = result else {
            panic!("axe-core failed on {state}: {result}");
        };
        for v in &violations {
            findings.violations += 1;
            let _ = writeln!(
                findings.report,
                "{state} at {viewport}: axe {} ({}) {}: {}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or_default(),
                v["targets"]
            );
        }
        let widths = driver
            .execute(
                "const e = document.scrollingElement;\
                 const wide = [...document.querySelectorAll('body *')]\
                   .filter(x => !x.closest('.cdx-table__table-wrapper') && x.getBoundingClientRect().right > e.clientWidth + 1)\
                   .slice(0, 5).map(x => x.tagName.toLowerCase() + \
                     (x.id ? '#' + x.id : '') + (x.className ? '.' + String(x.className).split(' ').join('.') : ''));\
                 return [e.scrollWidth, e.clientWidth, wide];",
                json!([]),
            )
            .await;
        // A button whose label is cut (Codex clips labels to one line by default).
        let clipped = driver
            .execute(
                "return [...document.querySelectorAll('.cdx-button')]\
                   .filter(b => b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1)\
                   .map(b => b.textContent.trim());",
                json!([]),
            )
            .await;
        if clipped.as_array().is_some_and(|c| !c.is_empty()) {
            findings.overflows += 1;
            let _ = writeln!(
                findings.report,
                "{state} at {viewport}: buttons with a clipped label: {clipped}"
            );
        }
        let (scroll, client) = (widths[0].as_u64(), widths[1].as_u64());
        if scroll > client {
            findings.overflows += 1;
            let _ = writeln!(
                findings.report,
                "{state} at {viewport}: scrolls sideways (scrollWidth {} > clientWidth {}), widest: {}",
                widths[0], widths[1], widths[2]
            );
        }
    }
}

/// The `href` of the first link whose text is `text`.
async fn link_to(driver: &Driver, text: &str) -> String {
    let href = driver
        .execute(
            "return [...document.querySelectorAll('a')]\
               .find(a => a.textContent.trim() === arguments[0])?.getAttribute('href') ?? null;",
            json!([text]),
        )
        .await;
    href.as_str()
        .unwrap_or_else(|| panic!("no link `{text}` on the page"))
        .to_owned()
}

/// Makes the test's SQLite file refuse (or accept again) updates of publish-log rows, so a
/// publish cannot settle the row it wrote ahead of its edit.
async fn refused_log_updates(app: &TestApp, refused: bool) {
    use sqlx::Connection as _;
    let url = format!(
        "sqlite://{}",
        app.dir.path().join("wikiscriptsync.sqlite3").display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let statement = if refused {
        "CREATE TRIGGER fail_log_updates BEFORE UPDATE ON publish_log \
         BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
    } else {
        "DROP TRIGGER fail_log_updates"
    };
    sqlx::query(statement).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn every_page_state_meets_wcag_2_1_aa_at_360_px_and_200_percent_zoom() {
    let Some(chromedriver) = chromedriver_path() else {
        return skip("chromedriver is not installed (apt-get install chromium chromium-driver)");
    };
    let Some(axe_path) = std::env::var_os("WIKISCRIPTSYNC_TEST_AXE_JS") else {
        return skip(
            "WIKISCRIPTSYNC_TEST_AXE_JS is not set (npm pack axe-core; point it at axe.min.js)",
        );
    };
    let axe = std::fs::read_to_string(&axe_path).expect("axe-core's axe.min.js is readable");

    let app = TestApp::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(wikiscriptsync_web::serve(
        listener,
        app.router.clone(),
        std::future::pending(),
    ));
    let wiki = app.wiki_input();
    let driver = Driver::start(&chromedriver).await;
    let mut findings = Findings::default();
    let f = &mut findings;

    // Logged out.
    driver.goto(&format!("{base}/login")).await;
    audit(&driver, &axe, "login (logged out)", f).await;
    driver.type_into("#username", "alice").await;
    driver.click("button[type=submit]").await;
    driver.wait_for_text("pages in sync").await;
    audit(&driver, &axe, "dashboard, empty", f).await;

    // Unknown routes and ids answer with a real page.
    let missing = reqwest::get(format!("{base}/no/such/page")).await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("<h1>"));
    driver.goto(&format!("{base}/no/such/page")).await;
    driver.wait_for_text("Error 404").await;
    audit(&driver, &axe, "404 (unknown route)", f).await;
    driver.goto(&format!("{base}/files/999999")).await;
    driver.wait_for_text("Error 404").await;
    audit(&driver, &axe, "error page (unknown id)", f).await;

    // Adding a repository: refused, then offered its branch, then added.
    driver.goto(&format!("{base}/repositories/new")).await;
    audit(&driver, &axe, "repository new", f).await;
    driver
        .type_into("#url", "https://example.org/owner/repo")
        .await;
    driver.click("form[method=get] button").await;
    driver.find("#url[aria-invalid=true]").await;
    audit(&driver, &axe, "repository new, URL refused", f).await;
    driver.clear("#url").await;
    driver.type_into("#url", &app.github.repo_url(REPO)).await;
    driver.click("form[method=get] button").await;
    driver.wait_for_text("default branch is").await;
    audit(&driver, &axe, "repository new, branch offered", f).await;
    driver
        .click("form[method=post][action='/repositories/new'] button")
        .await;
    driver.wait_for_text("Files to watch").await;
    audit(&driver, &axe, "repository with files, none watched", f).await;
    driver
        .click("form[action$='/watch'] button[type=submit]")
        .await;
    driver.wait_for_text("Tick at least one file").await;
    audit(&driver, &axe, "repository, watch refused", f).await;
    driver.click(&format!("input[value='{SCRIPT_PATH}']")).await;
    driver.click("input[value='src/gadget.css']").await;
    driver
        .click("form[action$='/watch'] button[type=submit]")
        .await;
    driver.find("a[href^='/files/']").await;
    audit(&driver, &axe, "repository with watched files", f).await;
    let repository_page = driver.url().await;

    // The file: no mapping, a refused mapping, then two mappings (one monitored).
    let file_page = format!("{base}{}", link_to(&driver, SCRIPT_PATH).await);
    driver.goto(&file_page).await;
    driver.wait_for_text("Map to a wiki page").await;
    audit(&driver, &axe, "file without mappings", f).await;
    driver.type_into("#wiki", "wiki.evil.example").await;
    driver.type_into("#title", PAGE).await;
    driver
        .click("form[action$='/mappings'] button[type=submit]")
        .await;
    driver.find("#wiki[aria-invalid=true]").await;
    audit(&driver, &axe, "file, mapping refused", f).await;
    driver.clear("#wiki").await;
    driver.type_into("#wiki", &wiki).await;
    driver.click("#allow_create").await;
    driver.click("input[name=monitor]").await;
    driver
        .click("form[action$='/mappings'] button[type=submit]")
        .await;
    driver.wait_for_text(&format!("{PAGE}</td>")).await;
    driver.type_into("#wiki", &wiki).await;
    driver.type_into("#title", "User:Alice/second.js").await;
    driver.click("#allow_create").await;
    driver
        .click("form[action$='/mappings'] button[type=submit]")
        .await;
    driver.wait_for_text("User:Alice/second.js</td>").await;
    audit(&driver, &axe, "file with mappings", f).await;
    let preview = format!(
        "{base}{}",
        driver
            .execute(
                "return document.querySelector(\"a[href$='/publish'][href^='/mappings/']\").getAttribute('href');",
                json!([])
            )
            .await
            .as_str()
            .unwrap()
    );

    // A preview without a BotPassword fails and says what to do.
    driver.goto(&preview).await;
    driver.find(".cdx-message--error").await;
    audit(&driver, &axe, "preview, failure (no BotPassword)", f).await;

    // BotPasswords: refused by the form, refused by the wiki, then saved with a report.
    driver.goto(&format!("{base}/credentials")).await;
    audit(&driver, &axe, "credentials, none saved", f).await;
    driver.type_into("#wiki", &wiki).await;
    driver.type_into("#bot_username", "NoAtSign").await;
    driver.type_into("#password", "typed-secret").await;
    driver
        .click("form[action='/credentials'] button[type=submit]")
        .await;
    driver.find("#bot_username[aria-invalid=true]").await;
    audit(&driver, &axe, "credentials, form refused", f).await;
    driver.clear("#bot_username").await;
    driver.type_into("#bot_username", BOT_LOGIN).await;
    driver.type_into("#password", "wrong-password").await;
    driver
        .click("form[action='/credentials'] button[type=submit]")
        .await;
    // The refused form above had an error message too: wait for this answer's own words.
    driver.wait_for_text("so it was not saved").await;
    audit(&driver, &axe, "credentials, with an error from the wiki", f).await;
    driver.clear("#wiki").await;
    driver.type_into("#wiki", &wiki).await;
    driver.clear("#bot_username").await;
    driver.type_into("#bot_username", BOT_LOGIN).await;
    driver.type_into("#password", BOT_PASSWORD).await;
    driver
        .click("form[action='/credentials'] button[type=submit]")
        .await;
    driver.wait_for_text("logging in with it worked").await;
    audit(&driver, &axe, "credentials, with a report", f).await;

    // A creation preview: its Publish button comes before the diff.
    driver.goto(&preview).await;
    driver.wait_for_text("The page will be created").await;
    audit(&driver, &axe, "preview, creation", f).await;
    let above = driver
        .execute(
            "const b = document.querySelector(\"form[action$='/publish'] button[type=submit]\");\
             const d = document.querySelector('pre.diff');\
             return b.getBoundingClientRect().bottom <= d.getBoundingClientRect().top;",
            json!([]),
        )
        .await;
    assert_eq!(above, json!(true), "the Publish button is above the diff");
    driver
        .click("form[action$='/publish'] button[type=submit]")
        .await;
    driver.wait_for_text("Created the page at revision").await;
    audit(&driver, &axe, "publish result", f).await;

    // Someone edits the page on the wiki: the preview shows the drift.
    app.wiki
        .edit_as(PAGE, "// changed on the wiki\n", "Bob", "a fix");
    driver.goto(&preview).await;
    driver
        .wait_for_text("changed on-wiki since your last publish")
        .await;
    audit(&driver, &axe, "preview, drift", f).await;

    // Publishing to all pages: preview, then results.
    driver.goto(&format!("{file_page}/publish")).await;
    driver.find("#targets").await;
    audit(&driver, &axe, "publish all, preview", f).await;
    driver.click("input[name=overwrite]").await;
    driver
        .click("form[action$='/publish'] button[type=submit]")
        .await;
    driver.find("#results").await;
    audit(&driver, &axe, "publish all, results", f).await;

    // A publish whose record cannot be written: the result is a warning saying so.
    app.wiki.edit_as(PAGE, "// changed again\n", "Bob", "again");
    refused_log_updates(&app, true).await;
    driver.goto(&preview).await;
    driver.find("input[name=overwrite]").await;
    driver.click("input[name=overwrite]").await;
    driver
        .click("form[action$='/publish'] button[type=submit]")
        .await;
    driver.find("#unrecorded").await;
    audit(&driver, &axe, "publish result, not recorded", f).await;
    refused_log_updates(&app, false).await;

    // The publish log, monitored pages, one page.
    driver.goto(&format!("{base}/publishes")).await;
    driver.find("#publish-log").await;
    audit(&driver, &axe, "publish log", f).await;
    driver.goto(&format!("{base}/pages")).await;
    audit(&driver, &axe, "monitored pages", f).await;
    driver.type_into("#wiki", "wiki.evil.example").await;
    driver.type_into("#title", "Main Page").await;
    driver
        .click("form[action='/pages'] button[type=submit]")
        .await;
    driver.find("#wiki[aria-invalid=true]").await;
    audit(&driver, &axe, "monitored pages, form refused", f).await;
    driver.clear("#wiki").await;
    driver.type_into("#wiki", &wiki).await;
    driver.clear("#title").await;
    driver.type_into("#title", "MediaWiki:Common.js").await;
    driver
        .click("form[action='/pages'] button[type=submit]")
        .await;
    driver.wait_for_text("MediaWiki:Common.js</a>").await;
    audit(&driver, &axe, "monitored pages, one added", f).await;
    let monitor = link_to(&driver, "MediaWiki:Common.js").await;
    driver.goto(&format!("{base}{monitor}")).await;
    audit(&driver, &axe, "monitored page", f).await;

    // Notifications: refused, then saved.
    driver.goto(&format!("{base}/notifications")).await;
    audit(&driver, &axe, "notifications", f).await;
    driver.type_into("#home_wiki", "wiki.evil.example").await;
    driver
        .click("form[action='/notifications'] button[type=submit]")
        .await;
    driver.find("#home_wiki[aria-invalid=true]").await;
    audit(&driver, &axe, "notifications, form refused", f).await;
    driver.clear("#home_wiki").await;
    driver
        .click("form[action='/notifications'] button[type=submit]")
        .await;
    driver.wait_for_text("Preferences saved.").await;
    audit(&driver, &axe, "notifications, saved", f).await;

    // Metrics, the full repository page, the full dashboard.
    driver.goto(&format!("{base}/admin/metrics")).await;
    audit(&driver, &axe, "usage metrics", f).await;
    driver.goto(&repository_page).await;
    driver
        .wait_for_text("Watched files and their wiki pages")
        .await;
    audit(&driver, &axe, "repository with mappings", f).await;
    driver.goto(&format!("{base}/")).await;
    driver.wait_for_text("pages in sync").await;
    audit(&driver, &axe, "dashboard, full", f).await;
    driver.quit().await;

    println!(
        "{} states at {} viewports: {} axe violations, {} sideways scrolls",
        findings.states.len(),
        VIEWPORTS.len(),
        findings.violations,
        findings.overflows
    );
    assert!(
        findings.violations == 0 && findings.overflows == 0,
        "{} axe violations and {} sideways scrolls over {} states:\n{}",
        findings.violations,
        findings.overflows,
        findings.states.len(),
        findings.report
    );
}

/// What the browser test checks, without a browser: unknown routes answer 404 with a real page
/// (landmarks, skip link), and saving preferences says so, with the kinds in words.
#[tokio::test]
async fn unknown_routes_and_saved_preferences_answer_with_real_pages_and_words() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    for path in ["/no/such/page", "/static/app-2.css"] {
        let missing = app.get(&mut alice, path).await;
        missing.expect(axum::http::StatusCode::NOT_FOUND);
        for part in [
            "<h1>Error 404</h1>",
            "<main id=\"content\"",
            "href=\"#content\">Skip to main content",
        ] {
            assert!(missing.body.contains(part), "{part} in {}", missing.body);
        }
    }
    let dashboard = app.get(&mut alice, "/").await;
    assert!(dashboard.body.contains("Skip to main content"));

    let saved = app
        .post(&mut alice, "/notifications", &[("kind", "file_changed")])
        .await;
    let location = saved
        .location()
        .expect("a redirect after saving")
        .to_owned();
    let page = app.get(&mut alice, &location).await;
    assert!(page.body.contains("Preferences saved."), "{}", page.body);
    assert!(
        page.body
            .contains("A watched file changed in its repository")
    );
    assert!(!page.body.contains("> file_changed<"), "{}", page.body);
    let plain = app.get(&mut alice, "/notifications").await;
    assert!(!plain.body.contains("Preferences saved."));
}
