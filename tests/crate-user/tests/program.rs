//! Builds CrateUserTool (`src/main.rs`, written against the crates' public API only, as
//! another tool would) and runs it against the fake wiki and the fake GitHub: what it prints,
//! and what the fakes saw (its own User-Agent, how many requests).

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use wikiscriptsync_forge::testkit::{Endpoint, FakeGitHub};
use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};

const LOGIN: &str = "Tool@crate-user";
const PASSWORD: &str = "crateusercrateusercrateuser01234";
const PAGE: &str = "User:Tool/tool.js";
const AGENT: &str = "CrateUserTool/1.0 (https://example.org/crate-user; tool@example.org) \
                     wikiscriptsync/0.1.0 reqwest/0.13";

async fn run(wiki: &FakeWiki, github: &FakeGitHub) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wikiscriptsync-crate-user"))
        .args([
            wiki.api_url(),
            github.uri(),
            github.repo_url("octo/gadgets"),
            LOGIN.to_owned(),
            PAGE.to_owned(),
        ])
        // Nothing of the environment configures it: run it with none.
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(PASSWORD.as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn another_tool_does_the_four_tasks_with_its_own_name_and_no_environment() {
    let wiki = FakeWiki::start().await;
    wiki.add_account(FakeAccount::new(LOGIN, PASSWORD).with_rights(&[
        "read",
        "edit",
        "writeapi",
        "editmyuserjs",
    ]));
    let base = wiki.edit_as(PAGE, "// one\nmw.log(2);\n// three", "Tool", "start");
    wiki.add_page("Main Page", "Welcome");
    let github = FakeGitHub::start().await;
    github.add_repo("octo/gadgets", [("src/Gadget.js", "mw.log('hi');\n")]);
    let head = github.head_of("octo/gadgets", "main").unwrap();

    let (ok, stdout, stderr) = run(&wiki, &github).await;

    assert!(ok, "the program failed:\n{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let merged = base + 2;
    let expected = [
        format!("user-agent: {AGENT}"),
        format!("lookup: {PAGE} exists at r{base} (2026-01-01T00:00:01Z)"),
        format!(
            "lookup: Main Page exists at r{} (2026-01-01T00:00:02Z)",
            base + 1
        ),
        "lookup: Crate user/No such page is missing".to_owned(),
        "lookup: 1 request for 3 titles".to_owned(),
        format!("edit: updated r{base} to r{}", base + 2),
        format!(
            "stale edit: merged into r{} (based on r{base}, r{merged} was not seen)",
            base + 3
        ),
        format!("overlapping stale edit: refused as an edit conflict on {PAGE}"),
        "wiki: 7 requests".to_owned(),
        "webhook: genuine delivery accepted: octo/gadgets main changed src/Gadget.js".to_owned(),
        "webhook: forged delivery refused: the webhook signature does not match: wrong secret \
         or the body was altered"
            .to_owned(),
        format!("probe 1: main at {} (moved)", head.short()),
        format!("probe 2: main unchanged at {} (not modified)", head.short()),
        "forge: 2 requests, 1 not modified".to_owned(),
    ];
    assert_eq!(lines, expected, "{stdout}");
    // The merge kept both writers' lines; the conflicting one changed nothing.
    assert_eq!(
        wiki.page_text(PAGE).as_deref(),
        Some("// first line, by CrateUserTool\nmw.log(2);\n// last line, by CrateUserTool")
    );

    // The wiki saw 7 requests, each naming the tool: lookup, login token, login, probe and
    // three edits.
    let requests = wiki.requests();
    let actions: Vec<&str> = requests.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["query", "query", "login", "query", "edit", "edit", "edit"]
    );
    for request in &requests {
        assert_eq!(request.user_agent.as_deref(), Some(AGENT), "{request:?}");
    }
    // The guarded edits carried the probed base revision and the server's time.
    for edit in requests.iter().filter(|r| r.action == "edit") {
        assert_eq!(edit.param("baserevid"), Some(base.to_string().as_str()));
        assert!(edit.param("starttimestamp").is_some_and(|t| t.len() == 20));
    }

    // GitHub saw two branch probes from the tool, the second conditional and answered 304.
    let probes = github.requests();
    assert_eq!(probes.len(), 2, "{probes:?}");
    for probe in &probes {
        assert_eq!(probe.user_agent.as_deref(), Some(AGENT), "{probe:?}");
        assert_eq!(probe.endpoint, Endpoint::Commit);
    }
    assert_eq!(probes[0].if_none_match, None);
    assert_eq!(probes[0].status, 200);
    assert!(probes[1].if_none_match.is_some());
    assert_eq!(probes[1].status, 304);
    let stats = github.stats();
    assert_eq!((stats.requests, stats.not_modified), (2, 1));
}
