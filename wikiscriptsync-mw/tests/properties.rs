//! Property tests over arbitrary outside input for every parser in this crate: wiki addresses
//! and API URLs, the extra-hosts list, page titles (plain and against a wiki's namespaces),
//! siteinfo answers, and every Action API answer the client reads — as it reads them, from a
//! server that answers anything, with any status and retry headers. None may panic; what is
//! refused is refused with a typed error whose message says something; what is accepted keeps
//! the parser's own promises (a key parses back to the same wiki, a title to itself).
//!
//! Case counts are bounded (see [`cases`]) so the whole file runs in seconds.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use wikiscriptsync_mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, EditRequest, RetryPolicy, SecretString,
    TalkNotice, Title, UserAgent, UserTalkTitle, WikiAddress, WikiIdentity, WikiUrl,
};
use wiremock::matchers::any as any_request;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Cases per property: enough to reach the branches, few enough for CI (seconds).
fn cases(n: u32) -> Config {
    Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    }
}

fn allow() -> &'static AllowList {
    static ALLOW: OnceLock<AllowList> = OnceLock::new();
    ALLOW.get_or_init(|| {
        AllowList::with_hosts(["127.0.0.1:8080", "localhost", "wiki.example.org"]).unwrap()
    })
}

// ----- wiki addresses, API URLs and the extra-hosts list -------------------------------------

fn address_like() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["https://", "http://", "", "ftp://", "//", "HTTPS://"]);
    let host = prop::sample::select(vec![
        "en.wikipedia.org",
        "EN.Wikipedia.org",
        "wikipedia.org.evil.com",
        "meta.wikimedia.org",
        "en.wikipedia.org:8443",
        "127.0.0.1:8080",
        "127.0.0.1",
        "localhost",
        "localhost:1234",
        "wiki.example.org",
        "wiki.example.org:443",
        "me:pw@en.wikipedia.org",
        "[::1]",
        "",
    ]);
    let path = prop_oneof![
        prop::sample::select(vec![
            "",
            "/",
            "/w",
            "/w/",
            "/w/api.php",
            "/api.php",
            "/x/api.php",
            "/w/index.php",
            "/index.php/Foo",
            "/wiki/Main_Page",
            "/wiki/",
            "/w/api.php?action=query#x",
        ])
        .prop_map(str::to_owned),
        "(/[a-zA-Z0-9._%~:-]{0,8}){0,4}(\\?[a-z=&]{0,8})?",
        any::<String>(),
    ];
    (scheme, host, path).prop_map(|(scheme, host, path)| format!("{scheme}{host}{path}"))
}

fn check_address(input: &str) -> Result<(), TestCaseError> {
    match WikiUrl::parse(input, allow()) {
        Ok(wiki) => {
            prop_assert!(wiki.as_str().ends_with("/api.php"), "{}", wiki);
            let again = WikiUrl::parse(&wiki.key(), allow());
            prop_assert_eq!(again.as_ref(), Ok(&wiki), "the key of {:?}", input);
        }
        Err(error) => prop_assert!(!error.to_string().is_empty()),
    }
    match WikiAddress::parse(input, allow()) {
        Ok(address) => {
            let again = WikiAddress::parse(address.spelling(), allow())
                .map_err(|e| TestCaseError::fail(format!("{input:?}: spelling refused: {e}")))?;
            prop_assert_eq!(again.spelling(), address.spelling());
        }
        Err(error) => prop_assert!(!error.to_string().is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn any_text_as_a_wiki_address_is_parsed_or_refused_with_a_reason(input in any::<String>()) {
        check_address(&input)?;
    }

    #[test]
    fn address_shaped_input_is_parsed_or_refused_and_keys_parse_back(input in address_like()) {
        check_address(&input)?;
    }

    #[test]
    fn any_extra_hosts_list_is_taken_or_refused_with_a_reason(
        entries in prop::collection::vec(
            prop_oneof!["[a-z0-9.:\\[\\]/@-]{0,20}", any::<String>()],
            0..4,
        )
    ) {
        match AllowList::with_hosts(&entries) {
            Ok(list) => {
                // Whatever it holds, it never opens a Wikimedia wiki at another path.
                let odd = WikiUrl::parse("https://en.wikipedia.org/x/api.php", &list);
                prop_assert!(odd.is_err());
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}

// ----- titles -----------------------------------------------------------------------------------

fn title_like() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "MediaWiki:",
        "mediawiki:",
        "User:",
        "user_talk:",
        "User talk:",
        "Special:",
        "Media:",
        ":",
        "Talk:",
        "Project:",
        "Image:",
        "Gadget:",
        "%4D%65diaWiki:",
    ]);
    let name = prop_oneof![
        "[a-zA-Z0-9 _./()-]{0,20}(\\.(js|css|json))?",
        "[a-z%0-9A-F]{0,12}",
        any::<String>(),
    ];
    (prefix, name).prop_map(|(prefix, name)| format!("{prefix}{name}"))
}

/// A siteinfo answer as `formatversion=2` writes it (MediaWiki's default namespaces).
fn siteinfo(server: &str, script_path: &str) -> Value {
    json!({"batchcomplete": true, "query": {
        "general": {"server": server, "scriptpath": script_path, "wikiid": "testwiki",
            "sitename": "TestWiki", "lang": "en"},
        "namespaces": {
            "-2": {"id": -2, "name": "Media", "canonical": "Media", "case": "first-letter"},
            "-1": {"id": -1, "name": "Special", "canonical": "Special", "case": "first-letter"},
            "0": {"id": 0, "name": "", "case": "first-letter"},
            "2": {"id": 2, "name": "User", "canonical": "User", "case": "first-letter"},
            "3": {"id": 3, "name": "User talk", "canonical": "User talk", "case": "first-letter"},
            "4": {"id": 4, "name": "TestWiki", "canonical": "Project", "case": "first-letter"},
            "8": {"id": 8, "name": "MediaWiki", "canonical": "MediaWiki", "case": "first-letter",
                "defaultcontentmodel": "wikitext"}
        },
        "namespacealiases": [{"id": 6, "alias": "Image"}, {"id": 4, "alias": "WP"}]
    }})
}

fn identity() -> &'static WikiIdentity {
    static IDENTITY: OnceLock<WikiIdentity> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let api = WikiUrl::parse("http://127.0.0.1:8080/w/api.php", allow()).unwrap();
        WikiIdentity::from_siteinfo(&api, &siteinfo("http://127.0.0.1:8080", "/w"), allow())
            .unwrap()
    })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn titles_are_parsed_to_a_fixed_point_or_refused_with_a_reason(
        input in prop_oneof![title_like(), any::<String>()]
    ) {
        match Title::parse(&input) {
            Ok(title) => {
                let again = Title::parse(title.as_str());
                prop_assert_eq!(again.as_ref(), Ok(&title), "{:?}", input);
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        if let Err(error) = UserTalkTitle::parse(&input) {
            prop_assert!(!error.to_string().is_empty());
        }
        if let Err(error) = UserTalkTitle::for_user(&input) {
            prop_assert!(!error.to_string().is_empty());
        }
        match identity().title(&input) {
            Ok(title) => {
                let again = identity().title(title.title.as_str())
                    .map_err(|e| TestCaseError::fail(format!("{input:?} → {title:?}: {e}")))?;
                prop_assert_eq!(again.title, title.title);
                prop_assert_eq!(again.namespace, title.namespace);
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}

// ----- the wiki's JSON answers --------------------------------------------------------------------

/// Keys of the Action API answers the client reads (siteinfo, tokens, login, userinfo, pages and
/// revisions, edit, Flow, errors and warnings).
const ANSWER_KEYS: &[&str] = &[
    "batchcomplete",
    "query",
    "general",
    "server",
    "scriptpath",
    "wikiid",
    "sitename",
    "lang",
    "namespaces",
    "namespacealiases",
    "id",
    "name",
    "canonical",
    "case",
    "defaultcontentmodel",
    "alias",
    "pages",
    "title",
    "ns",
    "pageid",
    "missing",
    "invalid",
    "invalidreason",
    "revisions",
    "revid",
    "parentid",
    "timestamp",
    "user",
    "slots",
    "main",
    "content",
    "contentmodel",
    "contentformat",
    "tokens",
    "csrftoken",
    "logintoken",
    "login",
    "result",
    "reason",
    "lgusername",
    "lguserid",
    "userinfo",
    "rights",
    "groups",
    "blockid",
    "blockedby",
    "blockreason",
    "blockexpiry",
    "blockpartial",
    "anon",
    "error",
    "code",
    "info",
    "warnings",
    "edit",
    "newrevid",
    "oldrevid",
    "newtimestamp",
    "nochange",
    "curtimestamp",
    "normalized",
    "from",
    "to",
    "continue",
    "flow",
    "new-topic",
    "committed",
    "topiclist",
    "status",
    "protection",
    "type",
    "level",
    "expiry",
    "*",
    "lag",
    "host",
];

fn string_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Success",
            "Failed",
            "NeedToken",
            "Aborted",
            "WrongToken",
            "+\\",
            "badtoken",
            "maxlag",
            "ratelimited",
            "assertuserfailed",
            "editconflict",
            "protectedpage",
            "javascript",
            "css",
            "json",
            "wikitext",
            "flow-board",
            "main",
            "2026-12-02T13:00:00Z",
            "http://127.0.0.1:8080",
            "/w",
            "testwiki",
            "en",
            "first-letter",
            "Admin",
            "MediaWiki:Gadget-x.js",
            "User talk:Admin",
            "editsitejs",
            "edit",
            "read",
        ])
        .prop_map(str::to_owned),
        "-?[0-9]{1,22}",
        any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        string_leaf().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let key = prop_oneof![
            8 => prop::sample::select(ANSWER_KEYS).prop_map(str::to_owned),
            1 => any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn siteinfo_answers_of_any_shape_give_an_identity_that_keys_back_or_a_reason(
        answer in prop_oneof![
            json_value(),
            json_value().prop_map(|general| {
                let mut answer = siteinfo("http://127.0.0.1:8080", "/w");
                answer["query"]["general"] = general;
                answer
            }),
            (string_leaf(), string_leaf()).prop_map(|(server, path)| siteinfo(&server, &path)),
        ]
    ) {
        let api = WikiUrl::parse("http://127.0.0.1:8080/w/api.php", allow()).unwrap();
        match WikiIdentity::from_siteinfo(&api, &answer, allow()) {
            Ok(identity) => {
                let again = WikiUrl::parse(&identity.key(), allow());
                prop_assert_eq!(again.as_ref(), Ok(&identity.api));
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}

/// Either a typed value or, now and then, any JSON: so that answers reach past their first
/// field and each field is also tried with the wrong type.
fn field(typed: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![9 => typed, 1 => json_value()].boxed()
}

fn text() -> BoxedStrategy<Value> {
    field(string_leaf().prop_map(Value::String))
}

fn number() -> BoxedStrategy<Value> {
    field(prop_oneof![0u64..1000, any::<u64>()].prop_map(Value::from))
}

fn flag() -> BoxedStrategy<Value> {
    field(any::<bool>().prop_map(Value::Bool))
}

fn names() -> BoxedStrategy<Value> {
    field(prop::collection::vec(string_leaf(), 0..4).prop_map(|v| json!(v)))
}

/// A page of `prop=revisions|info` (`formatversion=2`), typed as documented or not.
fn page_like() -> impl Strategy<Value = Value> {
    let revision = (number(), number(), text(), text(), text(), text()).prop_map(
        |(revid, parentid, timestamp, user, model, content)| {
            json!({"revid": revid, "parentid": parentid, "timestamp": timestamp, "user": user,
                "slots": {"main": {"contentmodel": model, "contentformat": "text/javascript",
                    "content": content}}})
        },
    );
    (
        text(),
        number(),
        number(),
        flag(),
        flag(),
        field(prop::collection::vec(revision, 0..2).prop_map(Value::Array)),
        text(),
    )
        .prop_map(|(title, ns, pageid, missing, invalid, revisions, model)| {
            json!({"title": title, "ns": ns, "pageid": pageid, "missing": missing,
                "invalid": invalid, "revisions": revisions, "contentmodel": model,
                "protection": [], "lastrevid": pageid})
        })
}

/// An answer with every part the client reads (tokens, login, user info, pages, edit, Flow,
/// siteinfo), each typed as documented or not; or an API error.
fn answer_like() -> impl Strategy<Value = Value> {
    let userinfo = (number(), text(), names(), names(), field(number()), text()).prop_map(
        |(id, name, rights, groups, blockid, blockedby)| {
            json!({"id": id, "name": name, "rights": rights, "groups": groups,
                "blockid": blockid, "blockedby": blockedby})
        },
    );
    let query = (
        (text(), text()),
        userinfo,
        field(prop::collection::vec(page_like(), 0..3).prop_map(Value::Array)),
        text(),
    )
        .prop_map(|((csrf, login), userinfo, pages, server)| {
            let mut query = siteinfo("http://127.0.0.1:8080", "/w")["query"].clone();
            query["tokens"] = json!({"csrftoken": csrf, "logintoken": login});
            query["userinfo"] = userinfo;
            query["pages"] = pages;
            query["general"]["server"] = server;
            query
        });
    let whole = (
        query,
        (text(), text()),
        (text(), number(), number(), flag(), text()),
        text(),
    )
        .prop_map(
            |(query, (result, user), (edit, newrev, oldrev, nochange, ts), flow)| {
                json!({"batchcomplete": true, "curtimestamp": ts, "query": query,
                "login": {"result": result, "lgusername": user, "reason": user},
                "edit": {"result": edit, "newrevid": newrev, "oldrevid": oldrev,
                    "nochange": nochange, "newtimestamp": ts, "title": "MediaWiki:Gadget-x.js"},
                "flow": {"new-topic": {"status": flow, "committed": {"topiclist": {}}}}})
            },
        );
    let error = (text(), text())
        .prop_map(|(code, info)| json!({"error": {"code": code, "info": info}, "servedby": "mw1"}));
    prop_oneof![4 => whole, 1 => error]
}

/// One answer of the stand-in wiki.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn answer() -> impl Strategy<Value = Answer> {
    let header = (
        prop::sample::select(vec![
            "retry-after",
            "content-type",
            "mediawiki-api-error",
            "set-cookie",
        ]),
        prop_oneof![
            "-?[0-9]{1,22}",
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
            Just("application/json; charset=utf-8".to_owned()),
            "[ -~]{0,24}",
        ],
    );
    (
        prop_oneof![
            4 => Just(200u16),
            1 => prop::sample::select(vec![301u16, 403, 404, 429, 500, 503]),
        ],
        prop::collection::vec(header, 0..3),
        prop_oneof![
            6 => answer_like().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            1 => prop::collection::vec(any::<u8>(), 0..128),
        ],
    )
        .prop_map(|(status, headers, body)| Answer {
            status,
            headers,
            body,
        })
}

fn server() -> &'static (tokio::runtime::Runtime, MockServer) {
    static SERVER: OnceLock<(tokio::runtime::Runtime, MockServer)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start());
        (runtime, server)
    })
}

/// Every call the client makes, against whatever the wiki answers: each ends in a value or a
/// typed error with a message.
async fn every_call(server: &MockServer) -> Result<(), String> {
    let host = server.address().to_string();
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = AllowList::with_hosts([host.as_str()]).unwrap();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    let client = ActionApiClient::new(config).map_err(|e| e.to_string())?;
    let wiki = client
        .parse_wiki(&format!("http://{host}/w/api.php"))
        .map_err(|e| e.to_string())?;
    let title = Title::parse("MediaWiki:Gadget-x.js").unwrap();
    let mut messages = Vec::new();
    messages.push(
        client
            .resolve_wiki(&host)
            .await
            .err()
            .map(|e| e.to_string()),
    );
    let login = client
        .login_session(
            &wiki,
            BotPassword::new("Admin@bot", SecretString::from("pw".to_owned())),
        )
        .await;
    messages.push(login.as_ref().err().map(ToString::to_string));
    let session = match login {
        Ok(session) => session,
        Err(_) => client.anonymous_session(&wiki).map_err(|e| e.to_string())?,
    };
    messages.push(session.user_info().await.err().map(|e| e.to_string()));
    let titles = vec!["A".to_owned(), "MediaWiki:Gadget-x.js".to_owned()];
    messages.push(
        session
            .lookup_revisions(&titles)
            .await
            .err()
            .map(|e| e.to_string()),
    );
    messages.push(
        session
            .page_text(&title, None)
            .await
            .err()
            .map(|e| e.to_string()),
    );
    messages.push(session.probe(&title).await.err().map(|e| e.to_string()));
    let edit = EditRequest::new(title.clone(), "x", "summary");
    messages.push(session.edit(&edit).await.err().map(|e| e.to_string()));
    let notice = TalkNotice {
        page: UserTalkTitle::for_user("Admin").unwrap(),
        heading: "h".to_owned(),
        text: "t".to_owned(),
        summary: None,
    };
    messages.push(
        session
            .post_talk_notice(&notice)
            .await
            .err()
            .map(|e| e.to_string()),
    );
    if messages.iter().flatten().any(String::is_empty) {
        return Err(format!("an error without a message: {messages:?}"));
    }
    Ok(())
}

#[test]
fn wiki_answers_of_any_shape_status_and_retry_headers_end_in_a_value_or_a_typed_error() {
    let (runtime, server) = server();
    let mut runner = TestRunner::new(cases(40));
    runner
        .run(&answer(), |answer| {
            let result = runtime.block_on(async {
                server.reset().await;
                let mut template =
                    ResponseTemplate::new(answer.status).set_body_bytes(answer.body.clone());
                for (name, value) in &answer.headers {
                    template = template.append_header(*name, value.as_str());
                }
                Mock::given(any_request())
                    .respond_with(template)
                    .mount(server)
                    .await;
                every_call(server).await
            });
            result.map_err(TestCaseError::fail)
        })
        .unwrap();
}
