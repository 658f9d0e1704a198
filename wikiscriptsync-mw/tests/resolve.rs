//! Resolving a wiki from any of its addresses against the fake wiki: one siteinfo request at the
//! API, the conventional places for a bare host, the EditURI link of an article page, and the
//! allow-list before any request.

use std::time::Duration;

use wikiscriptsync_mw::testkit::FakeWiki;
use wikiscriptsync_mw::{
    ActionApiClient, ClientConfig, ContentModel, Error, RetryPolicy, UserAgent, WikiAddress,
    WikiUrlError,
};

fn client_for(fake: &FakeWiki) -> ActionApiClient {
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = fake.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    ActionApiClient::new(config).unwrap()
}

#[tokio::test]
async fn every_spelling_of_a_debian_layout_wiki_resolves_to_one_identity() {
    let fake = FakeWiki::start_with_script_path("").await;
    fake.set_site_name("TestWiki", "testwiki");
    let client = client_for(&fake);
    let host = fake.host();
    let spellings = [
        host.clone(),
        format!("http://{host}"),
        format!("http://{host}/api.php"),
        format!("http://{host}/index.php?title=Main_Page&action=edit"),
        fake.article_url("Main Page"),
    ];
    let mut identities = Vec::new();
    for spelling in &spellings {
        identities.push(client.resolve_wiki(spelling).await.unwrap());
    }
    for (identity, spelling) in identities.iter().zip(&spellings) {
        assert_eq!(identity, &identities[0], "{spelling}");
    }
    let wiki = &identities[0];
    assert_eq!(wiki.api.as_str(), format!("http://{host}/api.php"));
    assert_eq!(wiki.wiki_id, "testwiki");
    assert_eq!(wiki.display_name(), format!("TestWiki ({host})"));
    assert_eq!(wiki.language, "en");
    assert_eq!(wiki.namespace(6).unwrap().aliases, ["Image"]);
    assert_eq!(wiki.namespace(4).unwrap().name, "TestWiki");
    // Siteinfo once per spelling; the bare host and site root also tried /w/api.php first.
    assert_eq!(fake.requests_for("query"), spellings.len());
    let siteinfo = fake.requests().into_iter().all(|r| {
        r.param("meta") == Some("siteinfo")
            && r.param("siprop") == Some("general|namespaces|namespacealiases")
    });
    assert!(siteinfo, "every API request was the one siteinfo query");
}

#[tokio::test]
async fn a_wikimedia_layout_wiki_is_found_at_w_api_php_in_one_request() {
    let fake = FakeWiki::start().await;
    let client = client_for(&fake);
    let wiki = client.resolve_wiki(&fake.host()).await.unwrap();
    assert_eq!(wiki.api.as_str(), fake.api_url());
    assert_eq!(client.request_count(), 1);
    let from_article = client
        .resolve_wiki(&fake.article_url("MediaWiki:Gadget-x.js"))
        .await
        .unwrap();
    assert_eq!(from_article, wiki);
    assert_eq!(client.request_count(), 3, "the article page, then siteinfo");
    assert_eq!(
        wiki.title("mediawiki:Gadget-x.css").unwrap().content_model,
        ContentModel::Css
    );
}

#[tokio::test]
async fn hosts_outside_the_allow_list_are_refused_before_any_request() {
    let fake = FakeWiki::start().await;
    let client = client_for(&fake);
    let err = client.resolve_wiki("wiki.example.org").await.unwrap_err();
    assert!(
        matches!(err, Error::WikiUrl(WikiUrlError::HostNotAllowed { .. })),
        "{err:?}"
    );
    assert_eq!(client.request_count(), 0);
}

#[tokio::test]
async fn a_host_without_an_api_names_the_places_tried() {
    let fake = FakeWiki::start().await;
    let client = client_for(&fake);
    let err = client
        .resolve_wiki(&format!("http://{}/x/api.php", fake.host()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoApi { tried } if tried.len() == 1),
        "{err:?}"
    );
    assert!(err.to_string().contains("/x/api.php"), "{err}");
}

#[test]
fn spellings_are_decided_without_a_request() {
    let allow = wikiscriptsync_mw::AllowList::with_hosts(["127.0.0.1:8080"]).unwrap();
    let spelling = |input: &str| {
        WikiAddress::parse(input, &allow)
            .unwrap()
            .spelling()
            .to_owned()
    };
    assert_eq!(spelling("127.0.0.1:8080"), "http://127.0.0.1:8080/");
    assert_eq!(spelling("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
    assert_eq!(
        spelling("http://127.0.0.1:8080/index.php?title=X"),
        "http://127.0.0.1:8080/api.php"
    );
    assert_eq!(
        spelling("http://127.0.0.1:8080/api.php?action=query"),
        "http://127.0.0.1:8080/api.php"
    );
    assert_eq!(spelling("EN.wikipedia.org"), "https://en.wikipedia.org/");
    assert_eq!(
        spelling("https://en.wikipedia.org/wiki/Foo#top"),
        "https://en.wikipedia.org/wiki/Foo"
    );
}
