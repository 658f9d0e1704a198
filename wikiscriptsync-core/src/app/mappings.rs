//! Mapping a watched file to wiki pages (several targets per file), with the page's monitor in
//! the same transaction; changing a mapping's options; unmapping.

use chrono::Utc;

use super::wikis::{model_for_file, site_title};
use super::{App, Field, UseCaseError, UseCaseResult};
use crate::mw::{Title, WikiUrl};
use crate::store::{
    Mapping, MappingId, MappingOptions, NewMapping, StoreError, UserId, WatchedFileId,
};

/// A new mapping as the user gives it: the wiki and title as typed.
#[derive(Debug, Clone)]
pub struct MapFile {
    /// The watched file.
    pub file: WatchedFileId,
    /// The wiki: a host such as `en.wikipedia.org`, or an `api.php` URL.
    pub wiki: String,
    /// The page title.
    pub title: String,
    /// Publishing options.
    pub options: MappingOptions,
    /// Also monitor the page, so that an edit made on the wiki shows as drift.
    pub monitor: bool,
}

impl App {
    /// The wiki a user typed, allow-listed (no request).
    pub fn parse_wiki(&self, field: Field, input: &str) -> UseCaseResult<WikiUrl> {
        let input = input.trim();
        if input.is_empty() {
            return Err(UseCaseError::invalid(
                field,
                "Name the wiki, e.g. en.wikipedia.org.",
            ));
        }
        self.wiki
            .parse_wiki(input)
            .map_err(|e| UseCaseError::invalid(field, format!("The wiki `{input}`: {e}")))
    }

    /// A wiki and a page title as typed, both validated (no request).
    pub fn parse_page(&self, wiki: &str, title: &str) -> UseCaseResult<(WikiUrl, Title)> {
        let wiki = self.parse_wiki(Field::Wiki, wiki)?;
        let title = parse_title(title)?;
        Ok((wiki, title))
    }

    /// Maps one of the user's watched files to a page and, when asked, monitors that page —
    /// both or neither. The wiki is resolved (no request once known) and the title checked
    /// against it before anything is saved: no Special or Media page, percent-encoding decoded,
    /// a page whose content model fits the file, a page no other file of the user's is
    /// mapped to, and room within the user's limits of mappings and monitored pages.
    pub async fn map_file(&self, user: UserId, input: &MapFile) -> UseCaseResult<Mapping> {
        let file = self.watched_file(user, input.file).await?;
        // The title's syntax first: a typo costs no request, even for a wiki not yet known.
        parse_title(&input.title)?;
        let wiki = self.resolve_wiki(Field::Wiki, &input.wiki).await?;
        let title = site_title(&wiki, &input.title)?;
        if let Some(needed) = model_for_file(&file.path)
            && title.content_model != needed
        {
            return Err(UseCaseError::invalid(
                Field::Title,
                format!(
                    "{} is a {} page on {}, but {} needs a {needed} page: MediaWiki makes \
                     `MediaWiki:` pages and `User:` subpages ending in .js, .css or .json \
                     JavaScript, CSS or JSON; name such a page.",
                    title.title,
                    title.content_model,
                    wiki.display_name(),
                    file.path
                ),
            ));
        }
        let key = wiki.key();
        let taken = self
            .store
            .mapping_statuses(user, &crate::store::MappingScope::Wiki(key.clone()))
            .await?
            .into_iter()
            .find(|status| {
                status.mapping.page_title == title.title.as_str()
                    && status.mapping.watched_file_id != file.id
            });
        if let Some(existing) = taken {
            return Err(UseCaseError::invalid(
                Field::Title,
                format!(
                    "{} on {} is already the target of {} (in {}); a page is published from \
                     one file only. Unmap that file first, or choose another page.",
                    title.title,
                    wiki.display_name(),
                    existing.file_path,
                    existing.repository_url
                ),
            ));
        }
        self.ensure_mapping_room(user, &key, title.title.as_str(), input.monitor)
            .await?;
        let new = NewMapping {
            watched_file_id: file.id,
            wiki: key,
            page_title: title.title.as_str().to_owned(),
            options: input.options,
        };
        match self
            .store
            .add_mapping_with_monitor(user, &new, input.monitor, Utc::now())
            .await
        {
            Ok(mapping) => Ok(mapping),
            Err(StoreError::AlreadyExists { .. }) => Err(UseCaseError::Conflict(format!(
                "{} is already mapped to {} on {}.",
                file.path, new.page_title, new.wiki
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// Refuses a new mapping past the user's mapping limit, or past their monitored-page limit
    /// when it would monitor a page they do not monitor yet.
    async fn ensure_mapping_room(
        &self,
        user: UserId,
        wiki: &str,
        title: &str,
        monitor: bool,
    ) -> UseCaseResult<()> {
        let counts = self.store.user_counts(user).await?;
        super::limits::check_room(self.limits(), &counts, super::Limit::Mappings, 1)?;
        if monitor && counts.monitored_pages >= self.limits().monitored_pages {
            let monitored = self
                .store
                .list_page_monitors(user)
                .await?
                .iter()
                .any(|m| m.wiki == wiki && m.page_title == title);
            if !monitored {
                super::limits::check_room(self.limits(), &counts, super::Limit::MonitoredPages, 1)?;
            }
        }
        Ok(())
    }

    /// One of the user's mappings.
    pub async fn mapping(&self, user: UserId, id: MappingId) -> UseCaseResult<Mapping> {
        self.store
            .mapping(user, id)
            .await?
            .ok_or(UseCaseError::NotFound {
                what: "mapping",
                id: id.0,
            })
    }

    /// The mappings of one of the user's watched files.
    pub async fn mappings(&self, user: UserId, file: WatchedFileId) -> UseCaseResult<Vec<Mapping>> {
        self.watched_file(user, file).await?;
        Ok(self.store.list_mappings(user, file).await?)
    }

    /// Changes one of the user's mappings' options. Returns the mapping as it now is.
    pub async fn set_mapping_options(
        &self,
        user: UserId,
        id: MappingId,
        options: MappingOptions,
    ) -> UseCaseResult<Mapping> {
        let mut mapping = self.mapping(user, id).await?;
        if !self.store.set_mapping_options(user, id, options).await? {
            return Err(UseCaseError::NotFound {
                what: "mapping",
                id: id.0,
            });
        }
        mapping.options = options;
        Ok(mapping)
    }

    /// Removes one of the user's mappings, and the monitor mapping created unless the user
    /// monitors the page on its own or another of their mappings targets it. Its publish log
    /// rows stay. Returns the mapping as it was.
    pub async fn unmap(&self, user: UserId, id: MappingId) -> UseCaseResult<Mapping> {
        let mapping = self.mapping(user, id).await?;
        if !self.store.remove_mapping(user, id).await? {
            return Err(UseCaseError::NotFound {
                what: "mapping",
                id: id.0,
            });
        }
        Ok(mapping)
    }
}

/// The title as typed without its surrounding spaces. A line break or other control character
/// anywhere, a trailing newline included, is refused rather than trimmed: no MediaWiki title
/// holds one, and the web form and the command line must store the same title for the same
/// input, or refuse it for the same reason.
pub(crate) fn title_text(input: &str) -> UseCaseResult<&str> {
    let Some(c) = input.chars().find(|c| c.is_control()) else {
        return Ok(input.trim());
    };
    let what = match c {
        '\n' | '\r' | '\u{85}' => "a line break",
        '\t' => "a tab",
        _ => "a control character",
    };
    Err(UseCaseError::invalid(
        Field::Title,
        format!(
            "The title `{}` contains {what} (U+{:04X}): a page title is one line of text; \
             remove it.",
            input.trim().escape_debug(),
            u32::from(c)
        ),
    ))
}

/// A page title as typed, validated (no request).
pub(crate) fn parse_title(input: &str) -> UseCaseResult<Title> {
    let title = title_text(input)?;
    let parsed = Title::parse(title)
        .map_err(|e| UseCaseError::invalid(Field::Title, format!("The title `{title}`: {e}")))?;
    fits_title_column(parsed.as_str())?;
    Ok(parsed)
}

/// The most characters a stored page title holds (`page_title VARCHAR(255)` and the like).
pub const MAX_TITLE_CHARS: usize = 255;

/// Refuses a normalised title longer than the store's column. MediaWiki limits the name
/// without its namespace prefix to 255 bytes, so `MediaWiki:` plus a long name can be valid
/// on the wiki and still not fit: say so here rather than fail in the database.
pub(crate) fn fits_title_column(title: &str) -> UseCaseResult<()> {
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(UseCaseError::invalid(
            Field::Title,
            format!(
                "The title is {chars} characters long with its namespace; this tool keeps \
                 titles of at most {MAX_TITLE_CHARS} characters. Choose a shorter page name."
            ),
        ));
    }
    Ok(())
}
