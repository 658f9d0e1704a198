//! A wiki known by what it is: its identity from one `meta=siteinfo` request (id, server, name,
//! language, canonical API URL, namespaces with their aliases and content models), and titles
//! validated against that wiki's own namespaces without a request: Special and Media pages
//! refused, percent-encoding decoded, and the content model MediaWiki will give the page.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::title::{ContentModel, Title, TitleError, upper_first};
use crate::wiki::{AllowList, WikiUrl};

/// The `siprop` of the one siteinfo request that identifies a wiki.
pub const SITEINFO_PROPS: &str = "general|namespaces|namespacealiases";

/// Namespace ids MediaWiki fixes on every wiki.
const NS_MEDIA: i64 = -2;
const NS_SPECIAL: i64 = -1;
const NS_MAIN: i64 = 0;
const NS_USER: i64 = 2;
const NS_USER_TALK: i64 = 3;
const NS_MEDIAWIKI: i64 = 8;

/// One namespace of a wiki, as siteinfo describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteNamespace {
    /// The namespace id (`-1` Special, `2` User, `8` MediaWiki, ...).
    pub id: i64,
    /// The local name (`Benutzer` on a German wiki; empty for the main namespace).
    pub name: String,
    /// The canonical English name, when the namespace has one.
    #[serde(default)]
    pub canonical: Option<String>,
    /// Other names that reach it (`namespacealiases`, e.g. `Image` for `File`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Whether titles are case-sensitive in their first letter (`case` is `case-sensitive`).
    #[serde(default)]
    pub case_sensitive: bool,
    /// The namespace's default content model where the wiki sets one (`defaultcontentmodel`,
    /// e.g. `Scribunto` for `Module`).
    #[serde(default)]
    pub default_content_model: Option<String>,
}

impl SiteNamespace {
    fn answers_to(&self, prefix: &str) -> bool {
        let same = |name: &str| normalize_spaces(name).to_lowercase() == prefix;
        same(&self.name)
            || self.canonical.as_deref().is_some_and(same)
            || self.aliases.iter().any(|alias| same(alias))
    }
}

/// A wiki's identity, from one `meta=siteinfo` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiIdentity {
    /// The wiki id (`wikiid`, e.g. `enwiki`).
    pub wiki_id: String,
    /// The server (`server`, e.g. `//en.wikipedia.org` or `http://127.0.0.1:8080`).
    pub server: String,
    /// The wiki's name (`sitename`).
    pub sitename: String,
    /// The content language (`lang`).
    pub language: String,
    /// The canonical API URL.
    pub api: WikiUrl,
    /// Every namespace, with its aliases.
    pub namespaces: Vec<SiteNamespace>,
}

/// Why a siteinfo answer could not be read as a wiki's identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the siteinfo answer lacks {0}")]
pub struct SiteinfoError(pub String);

impl WikiIdentity {
    /// Reads the identity from a `meta=siteinfo&siprop=general|namespaces|namespacealiases`
    /// answer (`formatversion=2`). The canonical API URL is `server` + `scriptpath` +
    /// `/api.php` when that stays on `answered_at`'s host and allow-list, else `answered_at`.
    pub fn from_siteinfo(
        answered_at: &WikiUrl,
        answer: &Value,
        allow: &AllowList,
    ) -> Result<Self, SiteinfoError> {
        let general = answer
            .pointer("/query/general")
            .ok_or_else(|| SiteinfoError("query.general".to_owned()))?;
        let text = |field: &str| -> Result<String, SiteinfoError> {
            general
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| SiteinfoError(format!("general.{field}")))
        };
        let server = text("server")?;
        let script_path = text("scriptpath")?;
        let mut namespaces: Vec<SiteNamespace> = answer
            .pointer("/query/namespaces")
            .and_then(Value::as_object)
            .ok_or_else(|| SiteinfoError("query.namespaces".to_owned()))?
            .values()
            .filter_map(|ns| {
                Some(SiteNamespace {
                    id: ns.get("id")?.as_i64()?,
                    name: ns.get("name")?.as_str()?.to_owned(),
                    canonical: ns
                        .get("canonical")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    aliases: Vec::new(),
                    case_sensitive: ns.get("case").and_then(Value::as_str)
                        == Some("case-sensitive"),
                    default_content_model: ns
                        .get("defaultcontentmodel")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            })
            .collect();
        namespaces.sort_by_key(|ns| ns.id);
        for alias in answer
            .pointer("/query/namespacealiases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(id), Some(name)) = (
                alias.get("id").and_then(Value::as_i64),
                alias.get("alias").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(ns) = namespaces.iter_mut().find(|ns| ns.id == id) {
                ns.aliases.push(name.to_owned());
            }
        }
        Ok(Self {
            wiki_id: text("wikiid")?,
            sitename: text("sitename")?,
            language: text("lang")?,
            api: canonical_api(answered_at, &server, &script_path, allow),
            server,
            namespaces,
        })
    }

    /// How the wiki is recorded in storage ([`WikiUrl::key`] of the canonical API URL).
    pub fn key(&self) -> String {
        self.api.key()
    }

    /// The host (with port if non-default), e.g. `en.wikipedia.org`.
    pub fn host(&self) -> String {
        self.api.host()
    }

    /// How the wiki is shown to people: `Wikipedia (en.wikipedia.org)`.
    pub fn display_name(&self) -> String {
        format!("{} ({})", self.sitename, self.host())
    }

    /// A namespace by id.
    pub fn namespace(&self, id: i64) -> Option<&SiteNamespace> {
        self.namespaces.iter().find(|ns| ns.id == id)
    }

    /// Validates a title against this wiki's namespaces (no request): percent-encoding is
    /// decoded, the prefix may be the local or canonical name or an alias, Special and Media
    /// pages are refused, and the content model MediaWiki will give the page is decided the way
    /// MediaWiki decides it.
    pub fn title(&self, input: &str) -> Result<SiteTitle, SiteTitleError> {
        let trimmed = input.trim();
        let (text, decoded) = if has_percent_escape(trimmed) {
            let decoded = percent_decode(trimmed).ok_or_else(|| SiteTitleError::BadEncoding {
                input: trimmed.to_owned(),
            })?;
            if has_percent_escape(&decoded) {
                return Err(SiteTitleError::BadEncoding {
                    input: trimmed.to_owned(),
                });
            }
            (decoded, true)
        } else {
            (trimmed.to_owned(), false)
        };
        let spaced = normalize_spaces(&text);
        let spaced = spaced
            .strip_prefix(':')
            .unwrap_or(&spaced)
            .trim()
            .to_owned();
        let (namespace, name) = match spaced.split_once(':') {
            Some((prefix, rest)) => {
                let prefix = prefix.trim().to_lowercase();
                match self.namespaces.iter().find(|ns| ns.answers_to(&prefix)) {
                    Some(ns) => (ns, rest.trim().to_owned()),
                    None => (self.main(), spaced.clone()),
                }
            }
            None => (self.main(), spaced.clone()),
        };
        if namespace.id == NS_SPECIAL || namespace.id == NS_MEDIA {
            return Err(SiteTitleError::Virtual {
                title: spaced,
                namespace: namespace.name.clone(),
            });
        }
        let name = if namespace.case_sensitive {
            name
        } else {
            upper_first(&name)
        };
        let prefix = match namespace.id {
            NS_MAIN => String::new(),
            NS_USER => "User:".to_owned(),
            NS_USER_TALK => "User talk:".to_owned(),
            NS_MEDIAWIKI => "MediaWiki:".to_owned(),
            _ => format!("{}:", namespace.name),
        };
        let title = Title::parse(&format!("{prefix}{name}")).map_err(SiteTitleError::Syntax)?;
        let content_model = default_content_model(namespace, title.name());
        Ok(SiteTitle {
            title,
            namespace: namespace.id,
            content_model,
            decoded,
        })
    }

    fn main(&self) -> &SiteNamespace {
        static MAIN: std::sync::OnceLock<SiteNamespace> = std::sync::OnceLock::new();
        self.namespace(NS_MAIN).unwrap_or_else(|| {
            MAIN.get_or_init(|| SiteNamespace {
                id: NS_MAIN,
                name: String::new(),
                canonical: None,
                aliases: Vec::new(),
                case_sensitive: false,
                default_content_model: None,
            })
        })
    }
}

/// A title checked against one wiki.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTitle {
    /// The normalised title (canonical English prefixes for User, User talk and MediaWiki,
    /// the wiki's local name for other namespaces).
    pub title: Title,
    /// The namespace id.
    pub namespace: i64,
    /// The content model MediaWiki gives a new page of this title.
    pub content_model: ContentModel,
    /// Whether the input was percent-encoded (and decoded here).
    pub decoded: bool,
}

/// Why a title is not a page of this wiki that can be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SiteTitleError {
    /// A Special or Media page: virtual, it cannot be edited.
    #[error(
        "`{title}` is in the {namespace} namespace, whose pages are made by the software and \
         cannot be edited; name a page such as MediaWiki:Gadget-name.js or User:Name/name.js"
    )]
    Virtual {
        /// The title.
        title: String,
        /// The namespace's local name.
        namespace: String,
    },
    /// Percent-encoding that does not decode to a valid title.
    #[error(
        "`{input}` is percent-encoded but does not decode to a valid title; type the title as \
         the wiki shows it (e.g. MediaWiki:Gadget-name.js)"
    )]
    BadEncoding {
        /// The title as given.
        input: String,
    },
    /// Not a valid title at all.
    #[error(transparent)]
    Syntax(TitleError),
}

/// MediaWiki's default content model for a page (MainSlotRoleHandler::getDefaultModel): `.js`,
/// `.css` and `.json` pages in the MediaWiki namespace and such User subpages are code, and so
/// are such pages in the Gadgets extension's `Gadget` namespace (its ContentHandlerDefaultModelFor
/// hook); else the namespace's default model, else wikitext.
fn default_content_model(namespace: &SiteNamespace, name: &str) -> ContentModel {
    let code_suffix = |text: &str| {
        [
            (".js", ContentModel::JavaScript),
            (".css", ContentModel::Css),
            (".json", ContentModel::Json),
        ]
        .into_iter()
        .find(|(suffix, _)| text.ends_with(suffix))
        .map(|(_, model)| model)
    };
    let code = match namespace.id {
        NS_MEDIAWIKI => code_suffix(name),
        _ if namespace.canonical.as_deref() == Some("Gadget") => code_suffix(name),
        NS_USER => name
            .split_once('/')
            .and_then(|(_, sub)| code_suffix(sub).filter(|_| !sub.is_empty())),
        _ => None,
    };
    let namespace_model = namespace
        .default_content_model
        .as_deref()
        .filter(|model| *model != "wikitext");
    match (code, namespace_model) {
        (Some(model), _) => model,
        (None, Some(model)) => ContentModel::from_api(model),
        (None, None) => ContentModel::Wikitext,
    }
}

fn canonical_api(
    answered_at: &WikiUrl,
    server: &str,
    script_path: &str,
    allow: &AllowList,
) -> WikiUrl {
    let server = if server.starts_with("//") {
        format!("{}:{server}", answered_at.api_url().scheme())
    } else {
        server.to_owned()
    };
    match WikiUrl::parse(&format!("{server}{script_path}/api.php"), allow) {
        Ok(api) if api.host() == answered_at.host() => api,
        _ => answered_at.clone(),
    }
}

/// `_` to spaces, runs of spaces collapsed, trimmed.
fn normalize_spaces(text: &str) -> String {
    text.replace('_', " ")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn has_percent_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Decodes `%XX` escapes; `None` when the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(high * 16 + low).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity() -> WikiIdentity {
        let allow = AllowList::with_hosts(["127.0.0.1:8080"]).unwrap();
        let api = WikiUrl::parse("http://127.0.0.1:8080/api.php", &allow).unwrap();
        let answer = json!({"batchcomplete": true, "query": {
            "general": {"sitename": "TestWiki", "wikiid": "testwiki", "lang": "de",
                        "server": "http://127.0.0.1:8080", "scriptpath": ""},
            "namespaces": {
                "-2": {"id": -2, "case": "first-letter", "name": "Medium", "canonical": "Media"},
                "-1": {"id": -1, "case": "first-letter", "name": "Spezial", "canonical": "Special"},
                "0": {"id": 0, "case": "first-letter", "name": ""},
                "2": {"id": 2, "case": "first-letter", "name": "Benutzer", "canonical": "User"},
                "8": {"id": 8, "case": "first-letter", "name": "MediaWiki", "canonical": "MediaWiki"},
                "828": {"id": 828, "case": "first-letter", "name": "Modul", "canonical": "Module",
                        "defaultcontentmodel": "Scribunto"}
            },
            "namespacealiases": [{"id": 2, "alias": "BN"}]
        }});
        WikiIdentity::from_siteinfo(&api, &answer, &allow).unwrap()
    }

    #[test]
    fn siteinfo_gives_the_identity_and_the_canonical_api() {
        let wiki = identity();
        assert_eq!(wiki.wiki_id, "testwiki");
        assert_eq!(wiki.display_name(), "TestWiki (127.0.0.1:8080)");
        assert_eq!(wiki.api.as_str(), "http://127.0.0.1:8080/api.php");
        assert_eq!(wiki.namespace(2).unwrap().aliases, ["BN"]);
    }

    #[test]
    fn special_and_media_pages_are_refused_by_any_of_their_names() {
        let wiki = identity();
        for title in [
            "Special:BlankPage",
            "spezial:BlankPage",
            "Media:X.png",
            "Medium:X.png",
        ] {
            assert!(
                matches!(wiki.title(title), Err(SiteTitleError::Virtual { .. })),
                "{title}"
            );
        }
    }

    #[test]
    fn local_names_and_aliases_become_the_canonical_prefix_and_models_follow_mediawiki() {
        let wiki = identity();
        let user = wiki.title("benutzer:me/tool.js").unwrap();
        assert_eq!(user.title.as_str(), "User:Me/tool.js");
        assert_eq!(user.content_model, ContentModel::JavaScript);
        assert_eq!(
            wiki.title("BN:Me/x.css").unwrap().content_model,
            ContentModel::Css
        );
        assert_eq!(
            wiki.title("User:Me.js").unwrap().content_model,
            ContentModel::Wikitext,
            "not a subpage"
        );
        assert_eq!(
            wiki.title("MediaWiki:Gadget-x.json").unwrap().content_model,
            ContentModel::Json
        );
        assert_eq!(
            wiki.title("Modul:X.js").unwrap().content_model,
            ContentModel::Other("Scribunto".to_owned())
        );
        assert_eq!(
            wiki.title("Gadget.js").unwrap().content_model,
            ContentModel::Wikitext
        );
    }

    #[test]
    fn percent_encoding_is_decoded_or_refused() {
        let wiki = identity();
        let decoded = wiki.title("MediaWiki:Gadget-caf%C3%A9.js").unwrap();
        assert_eq!(decoded.title.as_str(), "MediaWiki:Gadget-café.js");
        assert!(decoded.decoded);
        for bad in [
            "MediaWiki:Gadget-%FF.js",
            "MediaWiki:%2541.js",
            "MediaWiki:%5B%5D.js",
        ] {
            assert!(wiki.title(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            wiki.title("MediaWiki:%FF.js"),
            Err(SiteTitleError::BadEncoding { .. })
        ));
    }
}
