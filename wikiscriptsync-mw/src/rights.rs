//! Which user rights an edit of a given title needs, and which grant (of a BotPassword or an
//! owner-only OAuth consumer) carries each right, so a missing right is reported before any
//! edit (rights = groups ∩ grants), in the words of the credential in use.

use std::fmt;

use crate::credential::CredentialKind;
use crate::title::{ContentModel, Namespace, Title, upper_first};

/// One right an edit needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredRight {
    /// The right, e.g. `editsitejs`.
    pub right: &'static str,
    /// Rights that satisfy the requirement as well (e.g. `edituserjs` for your own scripts).
    pub alternatives: &'static [&'static str],
    /// The narrowest grant (of a BotPassword on Special:BotPasswords, or of an OAuth
    /// consumer) that carries the right.
    pub grant: &'static str,
}

impl RequiredRight {
    const fn new(right: &'static str, grant: &'static str) -> Self {
        Self {
            right,
            alternatives: &[],
            grant,
        }
    }

    fn satisfied_by(&self, rights: &[String]) -> bool {
        std::iter::once(self.right)
            .chain(self.alternatives.iter().copied())
            .any(|needed| rights.iter().any(|held| held == needed))
    }
}

/// A right the session lacks, found before editing. The message gives the advice for both
/// credential kinds; [`MissingRight::advice_for`] gives the one for the credential in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "editing `{title}` needs the right `{right}`, which this session lacks; {advice}{also}",
    advice = grant_advice(None, .grant),
    also = also_missing_suffix(.also_missing)
)]
pub struct MissingRight {
    /// The title that was checked.
    pub title: String,
    /// The first missing right.
    pub right: String,
    /// The grant that carries it.
    pub grant: String,
    /// Further missing rights, if any.
    pub also_missing: Vec<String>,
}

impl MissingRight {
    /// What to do about the missing grant with a credential of `kind`: tick it on
    /// Special:BotPasswords, or propose a new owner-only consumer carrying it (grants of a
    /// consumer cannot be changed).
    pub fn advice_for(&self, kind: CredentialKind) -> String {
        grant_advice(Some(kind), &self.grant)
    }
}

/// What to do about a missing grant, for the credential in use.
///
/// An owner-only OAuth consumer's grants cannot be changed once proposed: the OAuth
/// extension's `update` action changes only the public key, the IP restrictions and the
/// secret (`src/Control/ConsumerSubmitControl.php`), so the advice is a new consumer.
pub(crate) fn grant_advice(credential: Option<CredentialKind>, grant: &str) -> String {
    match credential {
        Some(CredentialKind::OwnerOnlyToken) => format!(
            "the owner-only OAuth consumer lacks the grant `{grant}` (or the account is in no \
             group that has the right); grants of a consumer cannot be changed, so propose a new \
             owner-only consumer with it on meta \
             (Special:OAuthConsumerRegistration/propose/oauth2) and store its token"
        ),
        Some(CredentialKind::BotPassword) => format!(
            "give the BotPassword the grant `{grant}` on Special:BotPasswords (and the account \
             must be in a group that has the right)"
        ),
        None => format!(
            "the credential needs the grant `{grant}` (and the account a group that has the \
             right): tick it for a BotPassword on Special:BotPasswords; an owner-only OAuth \
             consumer's grants cannot be changed, so propose a new one with it on meta \
             (Special:OAuthConsumerRegistration/propose/oauth2)"
        ),
    }
}

fn also_missing_suffix(also: &[String]) -> String {
    if also.is_empty() {
        String::new()
    } else {
        format!("; also missing: {}", also.join(", "))
    }
}

/// What kind of page a title is, for rights purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageKind {
    SiteScript(Script),
    OtherInterfacePage,
    OwnUserScript(Script),
    OtherUserScript(Script),
    Ordinary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Js,
    Css,
    Json,
}

fn classify(title: &Title, acting_user: &str) -> PageKind {
    let script = match title.implied_content_model() {
        Some(ContentModel::JavaScript) => Some(Script::Js),
        Some(ContentModel::Css) => Some(Script::Css),
        Some(ContentModel::Json) => Some(Script::Json),
        _ => None,
    };
    match (title.namespace(), script) {
        (Namespace::MediaWiki, Some(script)) => PageKind::SiteScript(script),
        (Namespace::MediaWiki, None) => PageKind::OtherInterfacePage,
        (Namespace::User, Some(script)) => {
            let owner = title.owner().unwrap_or_default();
            if upper_first(owner) == upper_first(acting_user.trim()) {
                PageKind::OwnUserScript(script)
            } else {
                PageKind::OtherUserScript(script)
            }
        }
        _ => PageKind::Ordinary,
    }
}

/// The rights an edit of `title` by `acting_user` (the plain user name, without `@BotName`)
/// needs, most specific first. `creating` adds `createpage`.
pub fn required_rights(title: &Title, acting_user: &str, creating: bool) -> Vec<RequiredRight> {
    const EDIT: RequiredRight = RequiredRight::new("edit", "editpage");
    let mut needed = match classify(title, acting_user) {
        PageKind::SiteScript(Script::Js) => vec![
            RequiredRight::new("editsitejs", "editsiteconfig"),
            RequiredRight::new("editinterface", "editsiteconfig"),
        ],
        PageKind::SiteScript(Script::Css) => vec![
            RequiredRight::new("editsitecss", "editsiteconfig"),
            RequiredRight::new("editinterface", "editsiteconfig"),
        ],
        PageKind::SiteScript(Script::Json) => vec![
            RequiredRight::new("editsitejson", "editinterface"),
            RequiredRight::new("editinterface", "editinterface"),
        ],
        PageKind::OtherInterfacePage => vec![RequiredRight::new("editinterface", "editinterface")],
        PageKind::OwnUserScript(script) => {
            let (right, alternatives): (&'static str, &'static [&'static str]) = match script {
                Script::Js => ("editmyuserjs", &["edituserjs"]),
                Script::Css => ("editmyusercss", &["editusercss"]),
                Script::Json => ("editmyuserjson", &["edituserjson"]),
            };
            vec![RequiredRight {
                right,
                alternatives,
                grant: "editmycssjs",
            }]
        }
        PageKind::OtherUserScript(Script::Js) => {
            vec![RequiredRight::new("edituserjs", "editsiteconfig")]
        }
        PageKind::OtherUserScript(Script::Css) => {
            vec![RequiredRight::new("editusercss", "editsiteconfig")]
        }
        PageKind::OtherUserScript(Script::Json) => {
            vec![RequiredRight::new("edituserjson", "editinterface")]
        }
        PageKind::Ordinary => Vec::new(),
    };
    needed.push(EDIT);
    if creating {
        needed.push(RequiredRight::new("createpage", "createeditmovepage"));
    }
    needed
}

/// Checks `rights` (from the session's `meta=userinfo`) against what editing `title` needs.
pub fn check_rights(
    title: &Title,
    acting_user: &str,
    rights: &[String],
    creating: bool,
) -> Result<(), MissingRight> {
    let missing: Vec<RequiredRight> = required_rights(title, acting_user, creating)
        .into_iter()
        .filter(|needed| !needed.satisfied_by(rights))
        .collect();
    match missing.split_first() {
        None => Ok(()),
        Some((first, rest)) => Err(MissingRight {
            title: title.to_string(),
            right: first.right.to_owned(),
            grant: first.grant.to_owned(),
            also_missing: rest.iter().map(|r| r.right.to_owned()).collect(),
        }),
    }
}

/// The narrowest grant that carries a right: the one to *add* when the right is missing, for
/// error messages built from server answers.
///
/// Not for telling which grants a session has: several grants carry most rights (the broader
/// `editsiteconfig` carries every right of `editinterface`), so a right held does not show
/// which of them was given. Use [`crate::grants::carried_grants`] for that.
pub fn grant_for_right(right: &str) -> Option<&'static str> {
    Some(match right {
        "edit" | "minoredit" | "applychangetags" | "changetags" | "editcontentmodel" => "editpage",
        "createpage" | "createtalk" | "move" => "createeditmovepage",
        "editsitejs" | "editsitecss" | "edituserjs" | "editusercss" => "editsiteconfig",
        "editinterface" | "editsitejson" | "edituserjson" => "editinterface",
        "editmyuserjs" | "editmyusercss" | "editmyuserjson" => "editmycssjs",
        "apihighlimits" | "bot" | "noratelimit" | "markbotedits" => "highvolume",
        "writeapi" | "skipcaptcha" => "basic",
        _ => return None,
    })
}

impl fmt::Display for RequiredRight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (grant {})", self.right, self.grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn names(title: &str, user: &str, creating: bool) -> Vec<&'static str> {
        required_rights(&Title::parse(title).unwrap(), user, creating)
            .iter()
            .map(|r| r.right)
            .collect()
    }

    #[test]
    fn each_kind_of_page_needs_its_rights() {
        assert_eq!(
            names("MediaWiki:Gadget-x.js", "Admin", false),
            ["editsitejs", "editinterface", "edit"]
        );
        assert_eq!(
            names("MediaWiki:Common.css", "Admin", true),
            ["editsitecss", "editinterface", "edit", "createpage"]
        );
        assert_eq!(
            names("MediaWiki:Gadgets-definition.json", "A", false),
            ["editsitejson", "editinterface", "edit"]
        );
        assert_eq!(
            names("MediaWiki:Gadgets-definition", "A", false),
            ["editinterface", "edit"]
        );
        assert_eq!(
            names("User:Alice/common.js", "alice", false),
            ["editmyuserjs", "edit"]
        );
        assert_eq!(
            names("User:Bob/common.js", "Alice", false),
            ["edituserjs", "edit"]
        );
        assert_eq!(
            names("User:Bob/x.json", "Alice", false),
            ["edituserjson", "edit"]
        );
        assert_eq!(names("Foo", "Alice", false), ["edit"]);
        assert_eq!(names("Foo", "Alice", true), ["edit", "createpage"]);
    }

    #[test]
    fn a_missing_right_names_the_right_and_the_grant() {
        let title = Title::parse("MediaWiki:Gadget-x.js").unwrap();
        let held = rights(&["read", "edit", "editmyuserjs", "createpage"]);
        let err = check_rights(&title, "Limited", &held, false).unwrap_err();
        assert_eq!(err.right, "editsitejs");
        assert_eq!(err.grant, "editsiteconfig");
        assert_eq!(err.also_missing, ["editinterface"]);
        let message = err.to_string();
        assert!(message.contains("`editsitejs`") && message.contains("`editsiteconfig`"));

        let all = rights(&["edit", "editsitejs", "editinterface"]);
        assert_eq!(check_rights(&title, "Admin", &all, false), Ok(()));
        let err = check_rights(&title, "Admin", &all, true).unwrap_err();
        assert_eq!(
            (err.right.as_str(), err.grant.as_str()),
            ("createpage", "createeditmovepage")
        );
    }

    #[test]
    fn the_general_user_script_right_covers_your_own_scripts() {
        let title = Title::parse("User:Alice/common.js").unwrap();
        assert_eq!(
            check_rights(&title, "Alice", &rights(&["edit", "edituserjs"]), false),
            Ok(())
        );
        let err = check_rights(&title, "Alice", &rights(&["edit"]), false).unwrap_err();
        assert_eq!(
            (err.right.as_str(), err.grant.as_str()),
            ("editmyuserjs", "editmycssjs")
        );
    }

    #[test]
    fn grants_are_known_for_the_rights_servers_complain_about() {
        assert_eq!(grant_for_right("editsitejs"), Some("editsiteconfig"));
        assert_eq!(grant_for_right("editmyuserjs"), Some("editmycssjs"));
        assert_eq!(grant_for_right("apihighlimits"), Some("highvolume"));
        assert_eq!(grant_for_right("nonsense"), None);
    }
}
