//! Light offline title validation: enough to catch typos in a form or a config file before any
//! request, and to know which namespace and content model a title implies. The wiki remains the
//! authority (`normalized` / `invalid` in query answers).

use std::fmt;

/// Why a title was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TitleError {
    /// Nothing but whitespace.
    #[error("the page title is empty")]
    Empty,
    /// A namespace prefix with nothing after it.
    #[error("`{0}` is only a namespace; add the page name after the colon")]
    NamespaceOnly(String),
    /// A character MediaWiki never allows in titles.
    #[error(
        "the page title contains `{0}`, which MediaWiki does not allow in titles (# < > [ ] | {{ }})"
    )]
    IllegalCharacter(char),
    /// A control character (newline, tab, ...).
    #[error("the page title contains a control character (U+{0:04X}); remove it")]
    ControlCharacter(u32),
    /// `~~~` would be expanded to a signature.
    #[error("the page title contains `~~~`, which MediaWiki does not allow")]
    Tildes,
    /// `.` / `..` path segments.
    #[error(
        "the page title contains a relative path segment (`./` or `../`), which MediaWiki does not allow"
    )]
    Relative,
    /// Longer than MediaWiki's 255-byte limit.
    #[error("the page title is {0} bytes long after the namespace; MediaWiki allows at most 255")]
    TooLong(usize),
    /// A name given for a user is not a plain user name.
    #[error("`{0}` is not a plain user name (no namespace, subpage or illegal characters allowed)")]
    BadUserName(String),
    /// A title that had to be a user talk page is not one.
    #[error("`{0}` is not a user talk page; notices may only be posted to `User talk:<name>`")]
    NotUserTalk(String),
}

/// The namespaces we treat specially (everything else is [`Namespace::Other`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// The main (article) namespace: no recognised prefix.
    Main,
    /// `User:` (user pages and user scripts).
    User,
    /// `User talk:`.
    UserTalk,
    /// `MediaWiki:` (interface messages, gadgets, site JS/CSS/JSON).
    MediaWiki,
    /// Some other prefix; the wiki decides what it is.
    Other,
}

impl Namespace {
    /// The canonical English prefix including the colon (empty for Main and Other).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::User => "User:",
            Self::UserTalk => "User talk:",
            Self::MediaWiki => "MediaWiki:",
            Self::Main | Self::Other => "",
        }
    }
}

/// A page content model as the Action API names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentModel {
    /// `wikitext`.
    Wikitext,
    /// `javascript`.
    JavaScript,
    /// `css`.
    Css,
    /// `json`.
    Json,
    /// `flow-board` (StructuredDiscussions); not editable with `action=edit`.
    FlowBoard,
    /// Any other model (`Scribunto`, `sanitized-css`, ...).
    Other(String),
}

impl ContentModel {
    /// Parses the API's name.
    pub fn from_api(name: &str) -> Self {
        match name {
            "wikitext" => Self::Wikitext,
            "javascript" => Self::JavaScript,
            "css" => Self::Css,
            "json" => Self::Json,
            "flow-board" => Self::FlowBoard,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API's name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Wikitext => "wikitext",
            Self::JavaScript => "javascript",
            Self::Css => "css",
            Self::Json => "json",
            Self::FlowBoard => "flow-board",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for ContentModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A syntactically valid page title in MediaWiki's display form (spaces, canonical prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Title {
    text: String,
    namespace: Namespace,
    /// Byte offset where the name after the prefix starts.
    name_start: usize,
}

const ILLEGAL: &[char] = &['#', '<', '>', '[', ']', '|', '{', '}'];
/// MediaWiki's title length limit, in bytes of the name after the namespace prefix.
const MAX_TITLE_BYTES: usize = 255;

impl Title {
    /// Validates and normalises a title: trims, turns `_` into spaces, collapses runs of spaces,
    /// recognises `MediaWiki:`, `User:` and `User talk:` (any case, `_` or space) and capitalises
    /// the first letter after those prefixes, as MediaWiki does.
    pub fn parse(input: &str) -> Result<Self, TitleError> {
        let spaced = input.replace('_', " ");
        let collapsed = spaced
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        let text = collapsed.join(" ");
        if text.is_empty() {
            return Err(TitleError::Empty);
        }
        if let Some(c) = text.chars().find(|c| ILLEGAL.contains(c)) {
            return Err(TitleError::IllegalCharacter(c));
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(TitleError::ControlCharacter(u32::from(c)));
        }
        if text.contains("~~~") {
            return Err(TitleError::Tildes);
        }
        let (namespace, rest) = split_namespace(&text);
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(TitleError::NamespaceOnly(text));
        }
        if rest == "."
            || rest == ".."
            || rest.starts_with("./")
            || rest.starts_with("../")
            || rest.contains("/./")
            || rest.contains("/../")
            || rest.ends_with("/.")
            || rest.ends_with("/..")
        {
            return Err(TitleError::Relative);
        }
        let name = match namespace {
            Namespace::Main | Namespace::Other => rest.to_owned(),
            _ => upper_first(rest),
        };
        if name.len() > MAX_TITLE_BYTES {
            return Err(TitleError::TooLong(name.len()));
        }
        let prefix = namespace.prefix();
        Ok(Self {
            text: format!("{prefix}{name}"),
            namespace,
            name_start: prefix.len(),
        })
    }

    /// The normalised title, e.g. `MediaWiki:Gadget-foo.js`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The recognised namespace.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The title without its namespace prefix.
    pub fn name(&self) -> &str {
        &self.text[self.name_start..]
    }

    /// For `User:` and `User talk:` pages: the user the page belongs to (before any `/`).
    pub fn owner(&self) -> Option<&str> {
        match self.namespace {
            Namespace::User | Namespace::UserTalk => {
                Some(self.name().split('/').next().unwrap_or_default())
            }
            _ => None,
        }
    }

    /// The content model MediaWiki derives from the title: `.js`/`.css`/`.json` pages in the
    /// MediaWiki namespace, and such user subpages, are JavaScript/CSS/JSON. `None` means "the
    /// wiki decides" (normally wikitext).
    pub fn implied_content_model(&self) -> Option<ContentModel> {
        let eligible = match self.namespace {
            Namespace::MediaWiki => true,
            Namespace::User => self.name().contains('/'),
            _ => false,
        };
        if !eligible {
            return None;
        }
        let name = self.name();
        if name.ends_with(".js") {
            Some(ContentModel::JavaScript)
        } else if name.ends_with(".css") {
            Some(ContentModel::Css)
        } else if name.ends_with(".json") {
            Some(ContentModel::Json)
        } else {
            None
        }
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Title {
    /// The title as text, so a slice of titles can be looked up
    /// ([`crate::WikiSessionExt::lookup_titles`]).
    fn as_ref(&self) -> &str {
        &self.text
    }
}

fn split_namespace(text: &str) -> (Namespace, &str) {
    let Some((prefix, rest)) = text.split_once(':') else {
        return (Namespace::Main, text);
    };
    let namespace = match prefix.trim().to_lowercase().as_str() {
        "mediawiki" => Namespace::MediaWiki,
        "user" => Namespace::User,
        "user talk" => Namespace::UserTalk,
        _ => return (Namespace::Main, text),
    };
    (namespace, rest)
}

/// Upper-cases the first character (MediaWiki's first-letter capitalisation).
pub(crate) fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A `User talk:<name>` page (never a subpage): the only kind of page notices may go to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserTalkTitle(Title);

impl UserTalkTitle {
    /// The talk page of `user_name` (a plain name such as `Alice`, not `User:Alice`).
    pub fn for_user(user_name: &str) -> Result<Self, TitleError> {
        let bad = || TitleError::BadUserName(user_name.to_owned());
        let trimmed = user_name.trim();
        if trimmed.is_empty() || trimmed.contains(['/', ':']) {
            return Err(bad());
        }
        let title = Title::parse(&format!("User talk:{trimmed}")).map_err(|_| bad())?;
        Ok(Self(title))
    }

    /// Accepts a title only if it is a `User talk:` page of a user (not a subpage).
    pub fn parse(title: &str) -> Result<Self, TitleError> {
        let parsed = Title::parse(title)?;
        if parsed.namespace() != Namespace::UserTalk || parsed.name().contains('/') {
            return Err(TitleError::NotUserTalk(title.to_owned()));
        }
        Ok(Self(parsed))
    }

    /// The validated title.
    pub fn title(&self) -> &Title {
        &self.0
    }

    /// The user whose talk page this is.
    pub fn user(&self) -> &str {
        self.0.name()
    }
}

impl fmt::Display for UserTalkTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscores_spaces_and_prefixes_are_normalised() {
        let title = Title::parse("  mediawiki:gadget-foo_bar.js ").unwrap();
        assert_eq!(title.as_str(), "MediaWiki:Gadget-foo bar.js");
        assert_eq!(title.namespace(), Namespace::MediaWiki);
        assert_eq!(
            title.implied_content_model(),
            Some(ContentModel::JavaScript)
        );

        let title = Title::parse("user_talk:alice").unwrap();
        assert_eq!(title.as_str(), "User talk:Alice");
        assert_eq!(title.owner(), Some("Alice"));

        let title = Title::parse("User:Bob/common.css").unwrap();
        assert_eq!(title.owner(), Some("Bob"));
        assert_eq!(title.implied_content_model(), Some(ContentModel::Css));
        assert_eq!(
            Title::parse("User:Bob/x.json")
                .unwrap()
                .implied_content_model(),
            Some(ContentModel::Json)
        );
        // A user page itself and main-namespace .js pages are wikitext.
        assert_eq!(
            Title::parse("User:Bob.js").unwrap().implied_content_model(),
            None
        );
        assert_eq!(
            Title::parse("foo.js").unwrap().implied_content_model(),
            None
        );
        // Main namespace: first letter left alone (wiki-dependent), unknown prefixes kept.
        assert_eq!(Title::parse("foo: bar").unwrap().as_str(), "foo: bar");
        assert_eq!(
            Title::parse("foo: bar").unwrap().namespace(),
            Namespace::Main
        );
    }

    #[test]
    fn bad_titles_get_errors_that_say_what_is_wrong() {
        assert_eq!(Title::parse(" _ "), Err(TitleError::Empty));
        assert_eq!(
            Title::parse("MediaWiki:"),
            Err(TitleError::NamespaceOnly("MediaWiki:".into()))
        );
        for c in ['#', '<', '>', '[', ']', '|', '{', '}'] {
            assert_eq!(
                Title::parse(&format!("Foo{c}bar")),
                Err(TitleError::IllegalCharacter(c))
            );
        }
        assert_eq!(
            Title::parse("Foo\nbar"),
            Err(TitleError::ControlCharacter(10))
        );
        assert_eq!(Title::parse("Foo~~~"), Err(TitleError::Tildes));
        assert_eq!(Title::parse("User:A/../B"), Err(TitleError::Relative));
        assert_eq!(
            Title::parse(&"a".repeat(255)).map(|t| t.name().len()),
            Ok(255)
        );
        assert_eq!(
            Title::parse(&"é".repeat(128)),
            Err(TitleError::TooLong(256))
        );
        let message = TitleError::IllegalCharacter('|').to_string();
        assert!(message.contains("does not allow"), "{message}");
    }

    #[test]
    fn talk_titles_are_built_from_user_names_and_nothing_else_is_accepted() {
        let talk = UserTalkTitle::for_user("alice").unwrap();
        assert_eq!(talk.to_string(), "User talk:Alice");
        assert_eq!(talk.user(), "Alice");
        assert!(UserTalkTitle::for_user("User:Alice").is_err());
        assert!(UserTalkTitle::for_user("Alice/Archive").is_err());
        assert!(UserTalkTitle::for_user("").is_err());
        assert!(UserTalkTitle::parse("User talk:Alice").is_ok());
        assert_eq!(
            UserTalkTitle::parse("User talk:Alice/Archive 1"),
            Err(TitleError::NotUserTalk("User talk:Alice/Archive 1".into()))
        );
        assert!(UserTalkTitle::parse("User:Alice").is_err());
        assert!(UserTalkTitle::parse("MediaWiki:Common.js").is_err());
        assert!(UserTalkTitle::parse("Talk:Main Page").is_err());
    }

    #[test]
    fn content_models_round_trip_through_their_api_names() {
        for name in [
            "wikitext",
            "javascript",
            "css",
            "json",
            "flow-board",
            "Scribunto",
        ] {
            assert_eq!(ContentModel::from_api(name).as_str(), name);
        }
    }
}
