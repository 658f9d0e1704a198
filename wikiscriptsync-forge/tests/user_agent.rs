//! Another tool names itself: clients built with its own [`UserAgent`] send exactly that header
//! to GitHub and to GitLab, as the fakes received it.

use wikiscriptsync_forge::testkit::{FakeGitHub, FakeGitLab};
use wikiscriptsync_forge::{Forge, Forges, Usage, UserAgent};

fn expected() -> String {
    format!(
        "CoolBot/2.1 (https://example.org/coolbot) wikiscriptsync/{} reqwest/0.13",
        env!("CARGO_PKG_VERSION")
    )
}

fn agent() -> UserAgent {
    UserAgent::new("CoolBot", "2.1", "https://example.org/coolbot").unwrap()
}

/// Reads a repository's head, file list and one file: every request that makes.
async fn read_everything(forges: &Forges, url: &str) {
    let repo = forges.parse_repo_url(url).unwrap();
    let mut usage = Usage::default();
    let head = Forge::head(forges, &repo, "main", None, &mut usage)
        .await
        .unwrap();
    let commit = head.sha().clone();
    Forge::publishable_files(forges, &repo, &commit, &mut usage)
        .await
        .unwrap();
    Forge::file_content(forges, &repo, &commit, "Gadget.js", None, &mut usage)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_github_client_built_with_another_products_user_agent_sends_exactly_that_header() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/gadgets", [("Gadget.js", "mw.log(1);\n")]);
    let config = wikiscriptsync_forge::ForgeConfig::builder(agent())
        .github_api_url(&fake.uri())
        .build()
        .unwrap();
    read_everything(
        &Forges::new(config).unwrap(),
        &fake.repo_url("octo/gadgets"),
    )
    .await;
    let requests = fake.requests();
    assert!(requests.len() >= 3, "{requests:?}");
    for request in &requests {
        assert_eq!(request.user_agent.as_deref(), Some(expected().as_str()));
    }
}

#[tokio::test]
async fn a_gitlab_client_built_with_another_products_user_agent_sends_exactly_that_header() {
    let fake = FakeGitLab::start().await;
    fake.add_repo("group/gadgets", [("Gadget.js", "mw.log(1);\n")]);
    let config = wikiscriptsync_forge::ForgeConfig::builder(agent())
        .gitlab_instance(&fake.uri())
        .build()
        .unwrap();
    read_everything(
        &Forges::new(config).unwrap(),
        &fake.repo_url("group/gadgets"),
    )
    .await;
    let requests = fake.requests();
    assert!(requests.len() >= 3, "{requests:?}");
    for request in &requests {
        assert_eq!(request.user_agent.as_deref(), Some(expected().as_str()));
    }
}
