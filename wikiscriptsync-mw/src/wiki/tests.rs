//! Unit tests of wiki addressing and the allow-list.

use super::*;

#[test]
fn wikimedia_wikis_are_keyed_by_host_and_others_by_api_url() {
    let allow = AllowList::wikimedia()
        .with_extra_hosts("127.0.0.1:8080, wiki.example.org")
        .unwrap();
    let en = WikiUrl::parse("en.wikipedia.org", &allow).unwrap();
    assert_eq!(en.key(), "en.wikipedia.org");
    let local = WikiUrl::parse("http://127.0.0.1:8080/api.php", &allow).unwrap();
    assert_eq!(local.key(), "http://127.0.0.1:8080/api.php");
    let odd_path = WikiUrl::parse("https://wiki.example.org/x/api.php", &allow).unwrap();
    assert_eq!(odd_path.key(), "https://wiki.example.org/x/api.php");
    for wiki in [en, local, odd_path] {
        assert_eq!(
            WikiUrl::parse(&wiki.key(), &allow).unwrap(),
            wiki,
            "the key parses back to the same wiki"
        );
    }
}

#[test]
fn diff_links_name_both_revisions_or_the_first_one() {
    let en = WikiUrl::parse("en.wikipedia.org", &AllowList::wikimedia()).unwrap();
    assert_eq!(
        en.diff_link(12, Some(10)),
        "https://en.wikipedia.org/w/index.php?diff=12&oldid=10"
    );
    assert_eq!(
        en.diff_link(12, None),
        "https://en.wikipedia.org/w/index.php?diff=12"
    );
}

fn wikimedia(input: &str) -> Result<String, WikiUrlError> {
    WikiUrl::parse(input, &AllowList::wikimedia()).map(|w| w.to_string())
}

#[test]
fn bare_hosts_urls_and_api_urls_normalise_to_the_api_url() {
    for input in [
        "en.wikipedia.org",
        "https://en.wikipedia.org",
        "https://en.wikipedia.org/",
        "https://en.wikipedia.org/w/api.php",
        " https://EN.wikipedia.org/w/api.php?action=query ",
    ] {
        assert_eq!(
            wikimedia(input).as_deref(),
            Ok("https://en.wikipedia.org/w/api.php"),
            "{input}"
        );
    }
    assert_eq!(
        wikimedia("www.mediawiki.org").as_deref(),
        Ok("https://www.mediawiki.org/w/api.php")
    );
    assert_eq!(
        wikimedia("wikidata.org").as_deref(),
        Ok("https://wikidata.org/w/api.php")
    );
}

#[test]
fn hosts_outside_wikimedia_are_refused() {
    for input in [
        "example.org",
        "evilwikipedia.org",
        "wikipedia.org.evil.com",
        "https://en.wikipedia.org:8443/w/api.php",
    ] {
        assert!(
            matches!(wikimedia(input), Err(WikiUrlError::HostNotAllowed { .. })),
            "{input}"
        );
    }
}

#[test]
fn plain_http_is_refused_for_production_and_non_loopback_extras() {
    assert!(matches!(
        wikimedia("http://en.wikipedia.org"),
        Err(WikiUrlError::InsecureHttp { .. })
    ));
    let allow = AllowList::wikimedia()
        .with_extra_hosts("wiki.example.org")
        .unwrap();
    assert!(matches!(
        WikiUrl::parse("http://wiki.example.org/w/api.php", &allow),
        Err(WikiUrlError::InsecureHttp { .. })
    ));
    assert!(WikiUrl::parse("https://wiki.example.org/w/api.php", &allow).is_ok());
}

#[test]
fn extra_loopback_hosts_accept_http_and_any_api_php_path() {
    let allow = AllowList::wikimedia()
        .with_extra_hosts(" 127.0.0.1:8080 , localhost")
        .unwrap();
    let wiki = WikiUrl::parse("http://127.0.0.1:8080/api.php", &allow).unwrap();
    assert_eq!(wiki.as_str(), "http://127.0.0.1:8080/api.php");
    assert_eq!(wiki.host(), "127.0.0.1:8080");
    assert_eq!(wiki.script_base(), "http://127.0.0.1:8080/");
    assert!(matches!(
        WikiUrl::parse("http://127.0.0.1:9999/api.php", &allow),
        Err(WikiUrlError::HostNotAllowed { host }) if host == "127.0.0.1:9999"
    ));
    assert!(WikiUrl::parse("http://localhost/x/api.php", &allow).is_ok());
}

#[test]
fn an_extra_host_without_a_port_means_its_default_port_only() {
    let allow = AllowList::with_hosts(["localhost", "wiki.example.org"]).unwrap();
    assert!(WikiUrl::parse("http://localhost/api.php", &allow).is_ok());
    assert!(WikiUrl::parse("http://localhost:80/api.php", &allow).is_ok());
    assert!(WikiUrl::parse("https://wiki.example.org/w/api.php", &allow).is_ok());
    assert!(WikiUrl::parse("https://wiki.example.org:443/w/api.php", &allow).is_ok());
    for other_port in [
        "http://localhost:1234/api.php",
        "http://localhost:443/api.php",
        "https://wiki.example.org:8443/w/api.php",
        "https://wiki.example.org:80/w/api.php",
    ] {
        assert!(
            matches!(
                WikiUrl::parse(other_port, &allow),
                Err(WikiUrlError::HostNotAllowed { .. })
            ),
            "{other_port}"
        );
    }
}

#[test]
fn an_extra_host_with_a_port_means_that_port_even_a_default_one() {
    let allow = AllowList::with_hosts(["wiki.example.org:80", "other.example.org:443"]).unwrap();
    // `:80` names port 80, so https (443) is not allowed; `:443` allows https itself.
    assert!(matches!(
        WikiUrl::parse("https://wiki.example.org/w/api.php", &allow),
        Err(WikiUrlError::HostNotAllowed { .. })
    ));
    assert!(WikiUrl::parse("https://other.example.org/w/api.php", &allow).is_ok());
    assert!(matches!(
        WikiUrl::parse("https://other.example.org:8443/w/api.php", &allow),
        Err(WikiUrlError::HostNotAllowed { .. })
    ));
}

#[test]
fn wikimedia_wikis_are_reached_only_at_their_real_api_path() {
    for input in [
        "https://en.wikipedia.org/x/api.php",
        "https://en.wikipedia.org/api.php",
        "https://en.wikipedia.org/w/extensions/x/api.php",
        "https://meta.wikimedia.org/wiki/api.php",
    ] {
        let error = wikimedia(input).unwrap_err();
        assert!(
            matches!(error, WikiUrlError::NotWikimediaApiPath { .. }),
            "{input}: {error:?}"
        );
        assert!(error.to_string().contains("/w/api.php"), "{error}");
        let address = WikiAddress::parse(input, &AllowList::wikimedia()).unwrap_err();
        assert!(
            matches!(address, WikiUrlError::NotWikimediaApiPath { .. }),
            "{input}: {address:?}"
        );
    }
    assert!(matches!(
        WikiAddress::parse(
            "https://en.wikipedia.org/index.php?title=X",
            &AllowList::wikimedia()
        ),
        Err(WikiUrlError::NotWikimediaApiPath { .. })
    ));
    // The host alone, a site URL and an article URL look only at /w/api.php.
    for input in ["en.wikipedia.org", "https://en.wikipedia.org/wiki/Foo"] {
        let address = WikiAddress::parse(input, &AllowList::wikimedia()).unwrap();
        let places = match address.search() {
            ApiSearch::Conventional(places) => places.clone(),
            ApiSearch::Page { fallback, .. } => fallback.clone(),
            ApiSearch::Exact(_) => panic!("{input} named no API"),
        };
        let places: Vec<&str> = places.iter().map(WikiUrl::as_str).collect();
        assert_eq!(places, ["https://en.wikipedia.org/w/api.php"], "{input}");
    }
    let exact = WikiAddress::parse(
        "https://en.wikipedia.org/w/index.php?title=X",
        &AllowList::wikimedia(),
    )
    .unwrap();
    assert!(
        matches!(exact.search(), ApiSearch::Exact(api) if api.as_str() == "https://en.wikipedia.org/w/api.php")
    );
}

#[test]
fn odd_inputs_get_clear_errors() {
    assert_eq!(wikimedia("  "), Err(WikiUrlError::Empty));
    assert!(matches!(
        wikimedia("ftp://en.wikipedia.org"),
        Err(WikiUrlError::UnsupportedScheme { .. })
    ));
    assert!(matches!(
        wikimedia("https://en.wikipedia.org/wiki/Main_Page"),
        Err(WikiUrlError::NotAnApiPath { .. })
    ));
    assert_eq!(
        wikimedia("https://me:pw@en.wikipedia.org"),
        Err(WikiUrlError::CredentialsInUrl)
    );
    assert!(matches!(
        AllowList::wikimedia().with_extra_hosts("http://x/y"),
        Err(WikiUrlError::BadExtraHost { .. })
    ));
    // Both refusals name the code options first; the application's variable only as the
    // alternative.
    let message = wikimedia("example.org").unwrap_err().to_string();
    assert!(
        message.contains(
            "`AllowList::with_hosts` or `AllowList::with_extra_hosts` (or the \
             application's setting, in WikiScriptSync WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS)"
        ),
        "{message}"
    );
    let message = AllowList::with_hosts(["ok.example.org", "http://x/y"])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`http://x/y`")
            && message.contains("`AllowList::with_hosts` or `AllowList::with_extra_hosts` (or")
            && !message.contains("operators:"),
        "{message}"
    );
}

#[test]
fn an_extra_host_may_be_given_as_the_wikis_api_or_base_url() {
    let allow = AllowList::with_hosts([
        "http://127.0.0.1:8080/w/api.php",
        "https://wiki.example.org/",
    ])
    .unwrap();
    assert!(WikiUrl::parse("http://127.0.0.1:8080/w/api.php", &allow).is_ok());
    assert!(WikiUrl::parse("https://wiki.example.org/w/api.php", &allow).is_ok());
    // The port of the URL and no other; a URL without a port means the default port.
    assert!(matches!(
        WikiUrl::parse("http://127.0.0.1:8081/w/api.php", &allow),
        Err(WikiUrlError::HostNotAllowed { .. })
    ));
    assert!(matches!(
        WikiUrl::parse("https://wiki.example.org:8443/w/api.php", &allow),
        Err(WikiUrlError::HostNotAllowed { .. })
    ));
    assert_eq!(
        AllowList::wikimedia()
            .with_extra_hosts("http://localhost:8080/api.php, wiki.example.org")
            .unwrap(),
        AllowList::with_hosts(["localhost:8080", "wiki.example.org"]).unwrap()
    );
    // Not an API or base URL, another scheme, or credentials: refused, secrets not echoed.
    for entry in [
        "http://x/wiki/Main_Page",
        "ftp://x/",
        "http://x/w/api.php?a=b",
    ] {
        assert!(
            matches!(
                AllowList::with_hosts([entry]),
                Err(WikiUrlError::BadExtraHost { .. })
            ),
            "{entry}"
        );
    }
    let err = AllowList::with_hosts(["https://me:hunter2@wiki.example.org/w/api.php"]).unwrap_err();
    assert_eq!(err, WikiUrlError::CredentialsInUrl);
    assert!(!err.to_string().contains("hunter2"));
}
