//! The object-safe traits core holds (`Arc<dyn WikiApi>`, `Arc<dyn WikiSession>`) and the plain
//! data types that cross them.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::credential::{Credential, CredentialKind};
use crate::error::Error;
use crate::rights::{self, MissingRight};
use crate::site::WikiIdentity;
use crate::timestamp::Timestamp;
use crate::title::{ContentModel, Title, UserTalkTitle};
use crate::wiki::{WikiAddress, WikiUrl};

/// A BotPassword: the `User@BotName` login name and the generated password.
///
/// `Debug` never shows the password; the type is deliberately not `Serialize`.
#[derive(Clone)]
pub struct BotPassword {
    login_name: String,
    password: SecretString,
}

impl BotPassword {
    /// `login_name` is `User@BotName` as shown on Special:BotPasswords.
    pub fn new(login_name: impl Into<String>, password: SecretString) -> Self {
        Self {
            login_name: login_name.into().trim().to_owned(),
            password,
        }
    }

    /// The `User@BotName` login name.
    pub fn login_name(&self) -> &str {
        &self.login_name
    }

    /// The account's user name (the part before `@`).
    pub fn user_name(&self) -> &str {
        self.login_name
            .split_once('@')
            .map_or(self.login_name.as_str(), |(user, _)| user)
    }

    pub(crate) fn password(&self) -> &SecretString {
        &self.password
    }
}

impl fmt::Debug for BotPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotPassword")
            .field("login_name", &self.login_name)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// The latest revision of an existing page, from a batched lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRevision {
    /// The page's title after normalisation and redirects.
    pub title: String,
    /// When the requested title was a redirect (e.g. a moved page): the redirect's title.
    pub redirected_from: Option<String>,
    /// The page id.
    pub page_id: u64,
    /// The latest revision id.
    pub revision_id: u64,
    /// When the revision was saved.
    pub timestamp: Timestamp,
    /// Who made it (`None` when hidden).
    pub user: Option<String>,
    /// Its summary (`None` when hidden).
    pub comment: Option<String>,
    /// SHA-1 of the content in hex (`None` when hidden). Not a git blob SHA.
    pub sha1: Option<String>,
    /// Content size in bytes.
    pub size: u64,
    /// The page's content model.
    pub content_model: ContentModel,
}

/// What a batched lookup found for one requested title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageState {
    /// The page exists.
    Exists(PageRevision),
    /// The page does not exist (never created, or deleted).
    Missing {
        /// The normalised title.
        title: String,
    },
    /// The title is not valid on this wiki.
    Invalid {
        /// Why.
        reason: String,
    },
}

/// One requested title and what was found, in the caller's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLookup {
    /// The title exactly as the caller gave it.
    pub requested: String,
    /// What was found.
    pub state: PageState,
}

/// A page's text at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageText {
    /// The page's title.
    pub title: String,
    /// The revision id.
    pub revision_id: u64,
    /// When the revision was saved.
    pub timestamp: Timestamp,
    /// The content model.
    pub content_model: ContentModel,
    /// The text.
    pub text: String,
}

/// A block on the session's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// The block id.
    pub id: Option<u64>,
    /// Who blocked.
    pub by: Option<String>,
    /// The reason.
    pub reason: Option<String>,
    /// When the block ends (`None` when the wiki did not say, or said it in a form not
    /// MediaWiki's).
    pub expiry: Option<BlockExpiry>,
    /// A partial block (only some pages or namespaces).
    pub partial: bool,
}

/// When a block ends, as `meta=userinfo`'s `blockexpiry` says (MediaWiki 1.39
/// `ApiBlockInfoTrait::getBlockDetails` → `ApiResult::formatExpiry( $expiry, 'infinite' )`:
/// `infinite` or a timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockExpiry {
    /// Never (`infinite`).
    Never,
    /// At this time.
    At(Timestamp),
}

impl BlockExpiry {
    /// Reads `blockexpiry`: `infinite` (or its older spellings `infinity`, `indefinite`,
    /// `never`) or a timestamp; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "infinite" | "infinity" | "indefinite" | "never" => Some(Self::Never),
            other => Timestamp::parse(other).ok().map(Self::At),
        }
    }
}

/// The session's identity and effective rights (groups ∩ grants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user id (0 when anonymous).
    pub id: u64,
    /// The user name (an IP address when anonymous).
    pub name: String,
    /// Not logged in.
    pub anonymous: bool,
    /// Group memberships.
    pub groups: Vec<String>,
    /// Effective rights in this session.
    pub rights: Vec<String>,
    /// The block, if any.
    pub block: Option<BlockInfo>,
}

impl UserInfo {
    /// Whether the session may ask for 500 titles per request.
    pub fn has_high_limits(&self) -> bool {
        self.rights.iter().any(|r| r == "apihighlimits")
    }
}

/// The target page as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbedPage {
    /// The normalised title.
    pub title: String,
    /// Whether the page exists.
    pub exists: bool,
    /// Page id when it exists.
    pub page_id: Option<u64>,
    /// The current revision id: send it as `baserevid`.
    pub revision_id: Option<u64>,
    /// When the current revision was saved (`None` when the page does not exist).
    pub timestamp: Option<Timestamp>,
    /// The content model (the title-implied one when the page is missing).
    pub content_model: Option<ContentModel>,
    /// The current text.
    pub text: Option<String>,
}

/// The answer of the single pre-publish request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Who the session is and what it may do.
    pub user: UserInfo,
    /// The target page.
    pub page: ProbedPage,
    /// The server's time (`curtimestamp`): send it as [`EditRequest::start_timestamp`].
    pub server_time: Timestamp,
    /// The credential the session acts with (`None` when anonymous or unknown): give it to
    /// [`MissingRight::advice_for`] for the advice that fits it.
    pub credential: Option<CredentialKind>,
}

impl Probe {
    /// Checks the probe's rights (and block) against what editing `title` needs.
    pub fn check_rights(&self, title: &Title) -> Result<(), Error> {
        if let Some(block) = &self.user.block
            && !block.partial
        {
            return Err(Error::Blocked {
                text: block.reason.clone().unwrap_or_default(),
            });
        }
        self.missing_right(title)
            .map_or(Ok(()), |m| Err(Error::MissingRight(m)))
    }

    /// Like [`Probe::check_rights`] but only the rights part.
    pub fn missing_right(&self, title: &Title) -> Option<MissingRight> {
        rights::check_rights(title, &self.user.name, &self.user.rights, !self.page.exists).err()
    }
}

/// Whether an edit may create the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreatePolicy {
    /// `nocreate`: fail with [`Error::PageMissing`] if the page does not exist (the default).
    #[default]
    MustExist,
    /// Create the page if missing.
    MayCreate,
    /// `createonly`: fail with [`Error::PageExists`] if the page exists.
    MustNotExist,
}

/// One `action=edit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    /// The page.
    pub title: Title,
    /// The full new text.
    pub text: String,
    /// The summary (trimmed to MediaWiki's 500-character limit when sent).
    pub summary: String,
    /// The revision the edit is based on (`baserevid`). Always send it for updates.
    ///
    /// When it is no longer the page's latest revision, MediaWiki does not simply refuse: it
    /// three-way merges this edit's change (base → text sent) into the revisions made since.
    /// Changes that overlap are refused as [`Error::EditConflict`]; changes that do not are
    /// saved, and the edit answers [`EditOutcome::Merged`], naming the revisions the caller did
    /// not see. The API has no parameter that refuses such a merge.
    pub base_revision: Option<u64>,
    /// When the edit began (`starttimestamp`: the probe's [`Probe::server_time`]): a page
    /// deleted after it is refused as [`Error::PageDeleted`] instead of being re-created.
    pub start_timestamp: Option<Timestamp>,
    /// Create / no-create / create-only.
    pub create: CreatePolicy,
    /// Change tags (must exist on the wiki).
    pub tags: Vec<String>,
    /// Content model, sent only when creating.
    pub content_model: Option<ContentModel>,
    /// Mark as minor.
    pub minor: bool,
}

impl EditRequest {
    /// An update of an existing page (`nocreate`), with no base revision yet.
    pub fn new(title: Title, text: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            title,
            text: text.into(),
            summary: summary.into(),
            base_revision: None,
            start_timestamp: None,
            create: CreatePolicy::MustExist,
            tags: Vec::new(),
            content_model: None,
            minor: false,
        }
    }
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    /// The page was created.
    Created {
        /// The new page's id.
        page_id: u64,
        /// The first revision.
        revision: u64,
        /// When it was saved (the answer's `newtimestamp`; `None` when the wiki did not say,
        /// or said it in another form: the edit is saved all the same).
        timestamp: Option<Timestamp>,
    },
    /// A new revision was saved.
    Updated {
        /// The previous revision.
        old_revision: u64,
        /// The new revision.
        new_revision: u64,
        /// When it was saved (the answer's `newtimestamp`; `None` when the wiki did not say,
        /// or said it in another form: the edit is saved all the same).
        timestamp: Option<Timestamp>,
    },
    /// The base revision sent was not the page's latest: MediaWiki merged this edit's change
    /// into the revisions saved after it, which the caller did not see (see
    /// [`EditRequest::base_revision`]). The saved text is the merge, not the text sent: it
    /// also has the changes of those revisions. The answer's `oldrevid` is the page's latest
    /// revision before this edit and differs from the `baserevid` sent.
    Merged {
        /// The revision the edit was based on (the `baserevid` sent).
        base_revision: u64,
        /// The page's latest revision when the edit was saved (the answer's `oldrevid`): the
        /// revisions after `base_revision` up to and including this one were merged.
        latest_revision: u64,
        /// The new revision, holding the merged text.
        new_revision: u64,
        /// When it was saved (the answer's `newtimestamp`; `None` when the wiki did not say,
        /// or said it in another form: the edit is saved all the same).
        timestamp: Option<Timestamp>,
    },
    /// The text was identical: no revision was made.
    NoChange,
}

/// A notice for a user's talk page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalkNotice {
    /// The talk page (only `User talk:<name>` is representable).
    pub page: UserTalkTitle,
    /// The section heading, as wikitext. On Flow boards it becomes the topic title, which
    /// knows only `[[links]]`: `<nowiki>` spans are kept as literal text without their tags.
    pub heading: String,
    /// The message; ` ~~~~` is appended on wikitext pages unless it already contains a
    /// signature (Flow attributes topics itself).
    pub text: String,
    /// The edit summary (defaults to the heading).
    pub summary: Option<String>,
}

/// What posting a notice did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TalkNoticeOutcome {
    /// A new section was added to a wikitext talk page.
    Section {
        /// The new revision.
        revision: u64,
    },
    /// A topic was started on a Flow board.
    FlowTopic {
        /// The topic's id (workflow id), if reported.
        topic: Option<String>,
    },
}

/// Opens sessions on wikis. The reqwest implementation is [`crate::ActionApiClient`].
#[async_trait]
pub trait WikiApi: Send + Sync {
    /// Parses a wiki address against this client's allow-list.
    ///
    /// # Errors
    ///
    /// [`Error::WikiUrl`] when the address is malformed or its host is not allowed; nothing is
    /// sent either way.
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, Error>;

    /// Parses any address of a wiki (host, article, `index.php` or `api.php` URL) against this
    /// client's allow-list, without a request.
    ///
    /// # Errors
    ///
    /// [`Error::WikiUrl`] when the address is malformed or its host is not allowed.
    fn parse_address(&self, input: &str) -> Result<WikiAddress, Error>;

    /// Finds the wiki's API from any address and identifies the wiki with one `meta=siteinfo`
    /// request (see [`crate::ActionApiClient::resolve_wiki`]).
    ///
    /// # Errors
    ///
    /// [`Error::WikiUrl`] before any request for a malformed or not allowed address;
    /// [`Error::NoApi`] when no MediaWiki API answered at any place tried (ask the user for
    /// the wiki's `api.php` URL); otherwise the transport errors listed on [`WikiSession`].
    async fn resolve_wiki(&self, input: &str) -> Result<WikiIdentity, Error>;

    /// Logs in with a BotPassword in a fresh session (own cookie jar): 2 requests.
    ///
    /// # Errors
    ///
    /// [`Error::Login`] when the wiki refused the login; its [`crate::LoginError`] variant says why
    /// and what the user should change (a wrong or main-account password, a BotPassword to
    /// reset, a throttle to wait out); [`Error::WikiUrl`] when the wiki is not allowed;
    /// otherwise the transport errors listed on [`WikiSession`].
    async fn login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, Error>;

    /// An anonymous session (for monitoring): no request.
    ///
    /// # Errors
    ///
    /// [`Error::WikiUrl`] when the wiki is not allowed by this client's allow-list;
    /// [`Error::Network`] when the HTTP client cannot be built.
    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, Error>;

    /// Opens a session acting with `credential`, in a fresh cookie jar. A
    /// [`Credential::BotPassword`] logs in as [`WikiApi::login`] does (2 requests); a
    /// [`Credential::OwnerOnlyToken`] sends no request: every request of the session carries
    /// `Authorization: Bearer <token>`, so a cold publish is the probe and the edit. A token
    /// session's [`WikiSession::user_name`] is `None` until a user-info or probe answer names
    /// the user, and an expired session never tries to log in with a token.
    ///
    /// The default implementation logs in BotPasswords with [`WikiApi::login`] and refuses
    /// tokens with [`Error::CredentialUnsupported`].
    ///
    /// # Errors
    ///
    /// As [`WikiApi::login`] for a BotPassword; for a token only [`Error::WikiUrl`] and
    /// [`Error::Network`] as for [`WikiApi::anonymous`]: a bad token is found by the first
    /// request ([`Error::TokenRejected`]).
    async fn open(
        &self,
        wiki: &WikiUrl,
        credential: Credential,
    ) -> Result<Arc<dyn WikiSession>, Error> {
        match credential {
            Credential::BotPassword(password) => self.login(wiki, password).await,
            Credential::OwnerOnlyToken(_) => Err(Error::CredentialUnsupported {
                kind: CredentialKind::OwnerOnlyToken,
            }),
        }
    }

    /// Requests sent by every session of this client so far.
    fn request_count(&self) -> u64;
}

/// One session on one wiki: anonymous, or logged in as one BotPassword.
///
/// # Errors
///
/// Every method that sends a request can fail with these transport errors, for which
/// [`Error::is_transient`] tells whether trying again later may help:
/// [`Error::Network`] (the wiki could not be reached), [`Error::Timeout`], [`Error::Http`] (a
/// status that is not retried), [`Error::InvalidResponse`] (an answer that is not the expected
/// JSON), [`Error::TooLarge`], [`Error::RetriesExhausted`] (maxlag, read-only mode, rate limits,
/// HTTP 429 or 503 persisted through every retry), [`Error::NotLoggedIn`] (the session expired
/// and logging in again did not help) and [`Error::Api`] (any other API error code, with the
/// wiki's explanation). Each method lists the errors particular to it.
#[async_trait]
pub trait WikiSession: Send + Sync {
    /// The wiki.
    fn wiki(&self) -> &WikiUrl;

    /// The logged-in user name (without `@BotName`), `None` when anonymous. A session acting
    /// with an owner-only token knows it only once a [`WikiSession::user_info`] or
    /// [`WikiSession::probe`] answer named the user.
    fn user_name(&self) -> Option<String>;

    /// The kind of credential the session acts with, `None` when anonymous (the default, for
    /// implementations that do not say).
    fn credential_kind(&self) -> Option<CredentialKind> {
        None
    }

    /// Requests this session has sent.
    fn request_count(&self) -> u64;

    /// Fetches (and caches) the session's rights and a CSRF token: 1 request. After it, lookups
    /// use 500 titles per request when the session has `apihighlimits`.
    ///
    /// # Errors
    ///
    /// Only the transport errors listed on the trait.
    async fn user_info(&self) -> Result<UserInfo, Error>;

    /// Latest revisions of many pages: ⌈N/50⌉ requests (⌈N/500⌉ with `apihighlimits` known),
    /// results in the caller's order.
    ///
    /// Titles are plain strings, as stored or typed: the wiki normalises them and says which
    /// are missing or invalid. A [`Title`] is passed as [`Title::as_str`]; a slice of `String`s
    /// or `Title`s goes through [`WikiSessionExt::lookup_titles`] without building a `Vec<&str>`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] also when an existing page's revision comes without a
    /// timestamp in the Action API's form; otherwise only the transport errors listed on the
    /// trait: a missing or invalid title is a [`PageLookup`] in the result, not an error.
    async fn lookup_revisions(&self, titles: &[&str]) -> Result<Vec<PageLookup>, Error>;

    /// The text at the latest revision (`None` revision) or a given one. `Ok(None)` when the
    /// page does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::RevisionNotFound`] when the given revision does not exist or was deleted;
    /// otherwise the transport errors listed on the trait.
    async fn page_text(
        &self,
        title: &Title,
        revision: Option<u64>,
    ) -> Result<Option<PageText>, Error>;

    /// The pre-publish probe in one request: CSRF token (cached), user info, current revision
    /// with text, server time.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with the code `invalidtitle` when the wiki finds the title invalid;
    /// otherwise the transport errors listed on the trait. A missing page is a [`Probe`]
    /// saying so, not an error, and missing rights are found afterwards with
    /// [`Probe::check_rights`].
    async fn probe(&self, title: &Title) -> Result<Probe, Error>;

    /// Edits a page. Recovers once from `badtoken` and once from an expired session.
    ///
    /// A stale [`EditRequest::base_revision`] whose change does not overlap the newer
    /// revisions is merged by MediaWiki and answered as [`EditOutcome::Merged`]; an
    /// overlapping one is [`Error::EditConflict`].
    ///
    /// # Errors
    ///
    /// The wiki's refusal, each naming the page: [`Error::EditConflict`] (re-read the page and
    /// decide again), [`Error::PageDeleted`] (deleted after the start timestamp),
    /// [`Error::PageMissing`] / [`Error::PageExists`] (the [`CreatePolicy`] was not met),
    /// [`Error::PermissionDenied`] (with the right and BotPassword grant to add when known),
    /// [`Error::ProtectedPage`], [`Error::Blocked`], [`Error::SpamBlacklist`] (with the matched
    /// text), [`Error::AbuseFilter`], [`Error::Captcha`] and [`Error::ContentModelMismatch`];
    /// [`Error::BadToken`] when a fresh CSRF token was rejected too; otherwise the transport
    /// errors listed on the trait. The refusals saved nothing; after a transport error the
    /// edit may have been saved all the same (the answer was lost), so read the page before
    /// trying again.
    async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, Error>;

    /// Adds [`EditRequest::text`] at the end of the page's latest text (MediaWiki's
    /// `appendtext`): nothing on the page is replaced, so no base revision is needed to keep
    /// others' changes. Add the separating newline yourself. The create policy, summary, tags
    /// and minor flag apply as for [`WikiSession::edit`]; a page created by an append holds only
    /// the text. With a base revision that is no longer the latest, the append is
    /// [`EditOutcome::Merged`] (or [`Error::EditConflict`] when MediaWiki cannot merge it).
    /// Appending nothing is [`EditOutcome::NoChange`].
    ///
    /// # Errors
    ///
    /// As for [`WikiSession::edit`].
    async fn append(&self, request: &EditRequest) -> Result<EditOutcome, Error>;

    /// Posts a notice as a new section (or a Flow topic) on a user's talk page.
    ///
    /// # Errors
    ///
    /// As for [`WikiSession::edit`]: the wiki's refusal of the edit (or of the Flow topic),
    /// such as [`Error::PermissionDenied`], [`Error::ProtectedPage`] or [`Error::Blocked`];
    /// [`Error::Api`] with the code `nochange` when the wiki saved no new section; or a
    /// transport error listed on the trait.
    async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error>;
}

/// Conveniences over any [`WikiSession`] (a [`crate::Session`] or an `Arc<dyn WikiSession>`)
/// that the object-safe trait cannot offer itself because they are generic.
pub trait WikiSessionExt: WikiSession {
    /// [`WikiSession::lookup_revisions`] for a slice of anything that is a title as text:
    /// `String`s, `&str`s or [`Title`]s.
    ///
    /// ```
    /// # #[cfg(feature = "testkit")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use wikiscriptsync_mw::testkit::FakeWiki;
    /// use wikiscriptsync_mw::*;
    /// # let fake = FakeWiki::start().await;
    /// # fake.edit_as("Main Page", "Hello", "Someone", "start");
    /// # let mut config = ClientConfig::new(UserAgent::new("MyTool", "1.0", "me@example.org")?);
    /// # config.allow_list = AllowList::with_hosts([fake.api_url().as_str()])?;
    /// # let client = ActionApiClient::new(config)?;
    /// # let wiki = client.parse_wiki(&fake.api_url())?;
    /// let session: Arc<dyn WikiSession> = client.anonymous(&wiki)?;
    /// let stored: Vec<String> = vec!["Main Page".into(), "No such page".into()];
    /// let found = session.lookup_titles(&stored).await?;
    /// assert!(matches!(found[0].state, PageState::Exists(_)));
    /// assert!(matches!(found[1].state, PageState::Missing { .. }));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testkit"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`WikiSession::lookup_revisions`].
    fn lookup_titles<T: AsRef<str> + Sync>(
        &self,
        titles: &[T],
    ) -> impl Future<Output = Result<Vec<PageLookup>, Error>> + Send {
        let titles: Vec<&str> = titles.iter().map(AsRef::as_ref).collect();
        async move { self.lookup_revisions(&titles).await }
    }
}

impl<S: WikiSession + ?Sized> WikiSessionExt for S {}
