//! The fake wiki's memory: accounts, pages with their revisions, redirects, sessions, scripted
//! faults and recorded requests; with the rules it stores by (MediaWiki's title capitalisation,
//! text normalisation, SHA-1 of revision text, a clock that ticks once per write).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use sha1::{Digest, Sha1};

use super::{FakeAccount, FakePage, FakeRevision, Fault, RecordedRequest};
use crate::edit::normalize_text;
use crate::title::{ContentModel, Namespace, Title, TitleError};

#[derive(Debug, Default)]
pub(super) struct FakeSession {
    pub(super) user: Option<String>,
    pub(super) login_token: Option<String>,
    pub(super) csrf: String,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) accounts: HashMap<String, FakeAccount>,
    pub(super) pages: HashMap<String, FakePage>,
    pub(super) redirects: HashMap<String, String>,
    pub(super) deleted: HashMap<String, String>,
    pub(super) sessions: HashMap<String, FakeSession>,
    pub(super) faults: Vec<(Option<String>, Fault, usize)>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) next_page_id: u64,
    pub(super) next_rev_id: u64,
    pub(super) next_token: u64,
    pub(super) clock: u64,
    pub(super) site: super::site::Site,
    pub(super) tokens: HashMap<String, super::tokens::FakeToken>,
    /// The Bearer session of the request being answered.
    pub(super) bearer: Option<super::tokens::Bearer>,
    pub(super) refuse_sensitive: BTreeSet<crate::credential::CredentialKind>,
}

impl State {
    pub(super) fn tick(&mut self) -> String {
        self.clock += 1;
        timestamp(self.clock)
    }

    pub(super) fn token(&mut self, kind: &str) -> String {
        self.next_token += 1;
        format!(
            "{kind}{:08x}{}",
            self.next_token * 2_654_435_761 % 0xffff_ffff,
            "+\\"
        )
    }

    pub(super) fn store_revision(
        &mut self,
        title: &str,
        text: &str,
        user: &str,
        comment: &str,
        model: Option<ContentModel>,
    ) -> (u64, u64, bool) {
        let timestamp = self.tick();
        self.next_rev_id += 1;
        let revision_id = self.next_rev_id;
        let created = !self.pages.contains_key(title);
        if created {
            self.next_page_id += 1;
            let model = model
                .or_else(|| Title::parse(title).ok()?.implied_content_model())
                .unwrap_or(ContentModel::Wikitext);
            self.pages.insert(
                title.to_owned(),
                FakePage {
                    id: self.next_page_id,
                    title: title.to_owned(),
                    content_model: model,
                    revisions: Vec::new(),
                    flow_topics: Vec::new(),
                },
            );
        }
        let page = self.pages.get_mut(title).expect("inserted above");
        page.revisions.push(FakeRevision {
            id: revision_id,
            text: normalize_text(text),
            user: user.to_owned(),
            comment: comment.to_owned(),
            timestamp,
            tags: Vec::new(),
            minor: false,
        });
        (page.id, revision_id, created)
    }
}

/// `2026-01-01T00:00:00Z` plus `seconds`.
pub(super) fn timestamp(seconds: u64) -> String {
    let day = 1 + seconds / 86_400;
    let rest = seconds % 86_400;
    format!(
        "2026-01-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The fake's title normalisation: our offline rules plus first-letter capitalisation.
pub(super) fn normalize_title(input: &str) -> Result<String, TitleError> {
    let title = Title::parse(input)?;
    let text = title.to_string();
    Ok(match title.namespace() {
        Namespace::Main | Namespace::Other => crate::title::upper_first(&text),
        _ => text,
    })
}

pub(super) fn namespace_number(title: &str) -> i64 {
    match Title::parse(title).map(|t| t.namespace()) {
        Ok(Namespace::User) => 2,
        Ok(Namespace::UserTalk) => 3,
        Ok(Namespace::MediaWiki) => 8,
        _ => 0,
    }
}

pub(super) fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    let mut hex = String::with_capacity(40);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_timestamps_are_iso_8601() {
        assert_eq!(timestamp(0), "2026-01-01T00:00:00Z");
        assert_eq!(timestamp(90_061), "2026-01-02T01:01:01Z");
    }

    #[test]
    fn fake_titles_are_capitalised_like_mediawiki() {
        assert_eq!(normalize_title("main_page").unwrap(), "Main page");
        assert_eq!(
            normalize_title("mediawiki:gadget-x.js").unwrap(),
            "MediaWiki:Gadget-x.js"
        );
        assert!(normalize_title("a[b").is_err());
    }

    #[test]
    fn sha1_matches_the_known_digest() {
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
