//! Another tool names itself: a client built with its own [`UserAgent`] sends exactly that
//! header on every request (siteinfo, login, lookups), as the fake wiki received them.

use std::time::Duration;

use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_mw::{
    ActionApiClient, BotPassword, ClientConfig, RetryPolicy, SecretString, UserAgent,
};

const BOT: &str = "Cool@bot";
const BOT_PASSWORD: &str = "coolbotcoolbotcoolbotcoolbot0123";

#[tokio::test]
async fn a_client_built_with_another_products_user_agent_sends_exactly_that_header() {
    let fake = FakeWiki::start().await;
    fake.add_account(FakeAccount::new(BOT, BOT_PASSWORD).with_rights(&["read", "edit"]));
    fake.add_page("User:Cool/tool.js", "mw.log(1);");
    let agent = UserAgent::new("CoolBot", "2.1", "https://example.org/coolbot").unwrap();
    let mut config = ClientConfig::new(agent);
    config.allow_list = fake.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    let client = ActionApiClient::new(config).unwrap();

    client.resolve_wiki(&fake.api_url()).await.unwrap();
    let session = client
        .login_session(
            &fake.wiki_url(),
            BotPassword::new(BOT, SecretString::from(BOT_PASSWORD)),
        )
        .await
        .unwrap();
    session
        .lookup_revisions(&["User:Cool/tool.js"])
        .await
        .unwrap();

    let expected = format!(
        "CoolBot/2.1 (https://example.org/coolbot) wikiscriptsync/{} reqwest/0.13",
        env!("CARGO_PKG_VERSION")
    );
    let requests = fake.requests();
    assert!(
        requests.len() >= 4,
        "siteinfo, login token, login, lookup: {requests:?}"
    );
    for request in &requests {
        assert_eq!(
            request.user_agent.as_deref(),
            Some(expected.as_str()),
            "{} request",
            request.action
        );
    }
}
