//! Watching files of a tracked repository: only publishable files (`.js`, `.css`, `.json`) that
//! exist at the branch head; unwatching them; a file with its mappings and check history.

use std::collections::BTreeSet;

use chrono::Utc;

use super::{App, Field, UseCaseError, UseCaseResult};
use crate::forge::is_publishable;
use crate::store::{
    FileCheckLogEntry, MappingScope, MappingStatus, PageRequest, Paged, Repository, RepositoryId,
    StoreError, UserId, WatchedFile, WatchedFileId,
};

/// The longest path the store keeps.
const MAX_PATH_CHARS: usize = 700;

/// What watching files did.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The repository.
    pub repository: Repository,
    /// Files watched by this call.
    pub added: Vec<WatchedFile>,
    /// Paths that were watched already (nothing changed for them).
    pub already: Vec<String>,
    /// What checking the repository right after found (`None` when no file was added): the
    /// new files' blob SHAs are known at once, so they can be published without waiting for
    /// the hourly check.
    pub check: Option<super::CheckNowOutcome>,
}

/// A watched file with its repository, mappings and a page of its check history.
#[derive(Debug, Clone)]
pub struct FileOverview {
    /// The file.
    pub file: WatchedFile,
    /// Its repository.
    pub repository: Repository,
    /// Its mappings with their sync state.
    pub mappings: Vec<MappingStatus>,
    /// Its check history, newest first.
    pub checks: Paged<FileCheckLogEntry>,
}

impl App {
    /// Watches files of one of the user's repositories. Every path must name a publishable
    /// file that exists at the branch head (a head and a tree request); nothing is watched
    /// when any path is refused, nor when the new paths would take the user past their limit
    /// of watched files (checked before any request). When files were added, the repository is checked at once
    /// (as "check now" does), so they can be published without waiting for the hourly check.
    pub async fn watch_files(
        &self,
        user: UserId,
        repository: RepositoryId,
        paths: &[String],
    ) -> UseCaseResult<Watched> {
        let repository = self.repository(user, repository).await?;
        let wanted = clean_paths(paths)?;
        let already: BTreeSet<String> = self
            .store
            .list_watched_files(user, repository.id)
            .await?
            .into_iter()
            .map(|f| f.path)
            .collect();
        let new: Vec<&String> = wanted.iter().filter(|p| !already.contains(*p)).collect();
        self.ensure_room(user, super::Limit::WatchedFiles, new.len() as u64)
            .await?;
        if !new.is_empty() {
            let at_head = self.branch_files(&repository).await?;
            let present: BTreeSet<&str> = at_head.files.iter().map(|f| f.path.as_str()).collect();
            let missing: Vec<&str> = new
                .iter()
                .map(|p| p.as_str())
                .filter(|p| !present.contains(p))
                .collect();
            if !missing.is_empty() {
                return Err(UseCaseError::invalid(
                    Field::Paths,
                    format!(
                        "Not at the head of {} ({}): {}. Check the paths (they are \
                         case-sensitive and relative to the repository's root).",
                        repository.branch,
                        at_head.head.short(),
                        missing.join(", ")
                    ),
                ));
            }
        }
        let now = Utc::now();
        let mut added = Vec::with_capacity(new.len());
        for path in new {
            match self.store.watch_file(user, repository.id, path, now).await {
                Ok(file) => added.push(file),
                // Watched by a concurrent request since the list above.
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        let check = if added.is_empty() {
            None
        } else {
            Some(
                self.check_repository_now(user, repository.id, "watch")
                    .await?
                    .0,
            )
        };
        Ok(Watched {
            repository,
            added,
            already: wanted.into_iter().filter(|p| already.contains(p)).collect(),
            check,
        })
    }

    /// One of the user's watched files.
    pub async fn watched_file(
        &self,
        user: UserId,
        id: WatchedFileId,
    ) -> UseCaseResult<WatchedFile> {
        self.store
            .watched_file(user, id)
            .await?
            .ok_or(UseCaseError::NotFound {
                what: "watched file",
                id: id.0,
            })
    }

    /// The watched files of one of the user's repositories, by path.
    pub async fn watched_files(
        &self,
        user: UserId,
        repository: RepositoryId,
    ) -> UseCaseResult<Vec<WatchedFile>> {
        self.repository(user, repository).await?;
        Ok(self.store.list_watched_files(user, repository).await?)
    }

    /// A watched file with its repository, mappings and a page of its check history.
    pub async fn file_overview(
        &self,
        user: UserId,
        id: WatchedFileId,
        page: PageRequest,
    ) -> UseCaseResult<FileOverview> {
        let file = self.watched_file(user, id).await?;
        let repository = self.repository(user, file.repository_id).await?;
        let mappings = self
            .store
            .mapping_statuses(user, &MappingScope::File(file.id))
            .await?;
        let checks = self.store.file_check_log(user, file.id, page).await?;
        Ok(FileOverview {
            file,
            repository,
            mappings,
            checks,
        })
    }

    /// Stops watching one of the user's files (with its mappings, the monitors they created,
    /// and its check log). Returns the file as it was.
    pub async fn unwatch_file(
        &self,
        user: UserId,
        id: WatchedFileId,
    ) -> UseCaseResult<WatchedFile> {
        let file = self.watched_file(user, id).await?;
        if !self.store.unwatch_file(user, id).await? {
            return Err(UseCaseError::NotFound {
                what: "watched file",
                id: id.0,
            });
        }
        Ok(file)
    }
}

/// Refuses a path the store cannot keep: longer than its column, or with a control character.
pub(crate) fn check_path_fits(path: &str) -> UseCaseResult<()> {
    if path.chars().count() > MAX_PATH_CHARS || path.chars().any(char::is_control) {
        return Err(UseCaseError::invalid(
            Field::Paths,
            format!(
                "`{}` is not a file path this tool can keep (at most {MAX_PATH_CHARS} \
                 characters, no control characters).",
                path.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// The paths as the repository names them (no leading `/`), each publishable, at least one;
/// duplicates dropped.
fn clean_paths(paths: &[String]) -> UseCaseResult<BTreeSet<String>> {
    let mut clean = BTreeSet::new();
    for raw in paths {
        let path = raw.trim().trim_start_matches('/');
        if path.is_empty() {
            continue;
        }
        check_path_fits(path)?;
        if !is_publishable(path) {
            return Err(UseCaseError::invalid(
                Field::Paths,
                format!("{path} is not a .js, .css or .json file, so it cannot be published."),
            ));
        }
        clean.insert(path.to_owned());
    }
    if clean.is_empty() {
        return Err(UseCaseError::invalid(
            Field::Paths,
            "Name at least one file to watch.",
        ));
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_publishable_paths_are_accepted() {
        let paths = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let clean = clean_paths(&paths(&["/src/a.js", " src/b.css ", "src/a.js"])).unwrap();
        assert_eq!(
            clean.into_iter().collect::<Vec<_>>(),
            ["src/a.js", "src/b.css"]
        );
        let longest = format!("{}.js", "a".repeat(MAX_PATH_CHARS - 3));
        assert!(clean_paths(std::slice::from_ref(&longest)).is_ok());
        let too_long = format!("a{longest}");
        for bad in [&["README.md"][..], &[""], &[], &["a\nb.js"], &[&too_long]] {
            let err = clean_paths(&paths(bad)).unwrap_err();
            assert_eq!(err.field(), Some(Field::Paths), "{bad:?}");
        }
    }
}
