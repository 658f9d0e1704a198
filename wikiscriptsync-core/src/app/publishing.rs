//! Publishing: the preview of a mapping (the diff from the live page to the file, and any
//! on-wiki change since our last publish), the publish itself, both for every page a file is
//! mapped to, and an ad-hoc publish (the CLI and CI jobs).

use super::{App, UseCaseResult};
use crate::publish::{
    AdHocPublish, Credentials, MappingPublish, PublishFailure, PublishOptions, PublishOutcome,
    PublishReport, PublishSource, SourceRevision,
};
use crate::store::{Mapping, MappingId, UserId, WatchedFileId};

/// What publishing a mapping would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewDiff {
    /// Unified diff from the live page to the file; empty when identical.
    pub diff: String,
    /// What changed on-wiki since our last publish (unified diff), when anything did:
    /// publishing needs an explicit overwrite then.
    pub drift: Option<String>,
    /// The page would be created.
    pub creates: bool,
    /// The page already has the file's text: nothing to publish.
    pub identical: bool,
    /// The commit the file would be published from.
    pub commit: String,
    /// The file's path in the repository.
    pub path: String,
}

/// A mapping's preview, or why there is none.
#[derive(Debug)]
pub struct Preview {
    /// The mapping.
    pub mapping: Mapping,
    /// The diff, or the failure that stopped the dry run.
    pub result: Result<PreviewDiff, PublishFailure>,
}

/// One target of a publish (or preview) to every page a file is mapped to.
#[derive(Debug)]
pub struct TargetOutcome<T> {
    /// The mapping.
    pub mapping: Mapping,
    /// What happened there.
    pub result: Result<T, PublishFailure>,
}

impl App {
    /// Previews publishing one of the user's mappings: a dry run of the publish (no edit). When
    /// the page changed on-wiki since our last publish, the preview shows that change and what
    /// publishing over it would do. A preview is a read (a GET in the web app): it takes no
    /// publish mutex, writes no publish-task or publish-log row and logs in once.
    pub async fn preview(&self, user: UserId, mapping: MappingId) -> UseCaseResult<Preview> {
        let mapping = self.mapping(user, mapping).await?;
        self.vault()?;
        self.require_publish_share(user, &mapping, 1).await?;
        let result = self.dry_run(user, &mapping).await;
        Ok(Preview { mapping, result })
    }

    /// One dry run: no mutex, no publish-task or publish-log row, one login; a drift preview
    /// gets the on-wiki change and the would-publish diff from that same probe.
    async fn dry_run(
        &self,
        user: UserId,
        mapping: &Mapping,
    ) -> Result<PreviewDiff, PublishFailure> {
        let request = MappingPublish {
            user,
            mapping: mapping.id,
        };
        let report = self.publisher.preview_mapping(request).await?;
        Ok(PreviewDiff {
            creates: matches!(
                report.outcome,
                PublishOutcome::WouldPublish { would_create: true }
            ),
            identical: matches!(report.outcome, PublishOutcome::NoChange { .. }),
            diff: report.diff,
            drift: report.drift,
            commit: report.target.commit.unwrap_or_default(),
            path: report.target.path.unwrap_or_default(),
        })
    }

    /// Publishes one of the user's mappings: its watched file at the commit of the last check,
    /// with the stored BotPassword; an on-wiki change since our last publish is overwritten only
    /// with `overwrite_drift`. The file's fetch counts against the user's share of the forge
    /// host; a user whose share is spent is refused before any request
    /// ([`super::UseCaseError::ShareSpent`]), as is a preview.
    pub async fn publish(
        &self,
        user: UserId,
        mapping: MappingId,
        overwrite_drift: bool,
    ) -> UseCaseResult<TargetOutcome<PublishReport>> {
        let mapping = self.mapping(user, mapping).await?;
        self.vault()?;
        self.require_publish_share(user, &mapping, 1).await?;
        Ok(self.publish_target(user, mapping, overwrite_drift).await)
    }

    /// Publishes a mapping already read for this user (the vault was checked).
    async fn publish_target(
        &self,
        user: UserId,
        mapping: Mapping,
        overwrite_drift: bool,
    ) -> TargetOutcome<PublishReport> {
        let result = self
            .publisher
            .publish_mapping(
                MappingPublish {
                    user,
                    mapping: mapping.id,
                },
                PublishOptions {
                    dry_run: false,
                    overwrite_drift,
                },
            )
            .await;
        TargetOutcome { mapping, result }
    }

    /// The mappings a file is published to by "publish everywhere": those with publishing on.
    async fn publishing_targets(
        &self,
        user: UserId,
        file: WatchedFileId,
    ) -> UseCaseResult<Vec<Mapping>> {
        self.vault()?;
        Ok(self
            .mappings(user, file)
            .await?
            .into_iter()
            .filter(|m| m.options.publish_enabled)
            .collect())
    }

    /// The publishing targets of a file, refused before any request when the user's share of
    /// its repository's host has no room for fetching it once per target.
    async fn publishing_targets_within_share(
        &self,
        user: UserId,
        file: WatchedFileId,
    ) -> UseCaseResult<Vec<Mapping>> {
        let targets = self.publishing_targets(user, file).await?;
        if let Some(first) = targets.first() {
            let times = u64::try_from(targets.len()).unwrap_or(u64::MAX);
            self.require_publish_share(user, first, times).await?;
        }
        Ok(targets)
    }

    /// Refuses, before any request, publishing (or previewing) `mapping` `times` times when
    /// the user's share of its repository's forge host for this hour has no room for the file's
    /// fetch (one request at the commit of the last check; see [`crate::quota`]). A mapping
    /// that costs no forge request (publishing off, its file or repository gone, never
    /// checked) is left to the publisher, which says why it stops.
    async fn require_publish_share(
        &self,
        user: UserId,
        mapping: &Mapping,
        times: u64,
    ) -> UseCaseResult<()> {
        if !mapping.options.publish_enabled {
            return Ok(());
        }
        let Some(file) = self
            .store
            .watched_file(user, mapping.watched_file_id)
            .await?
        else {
            return Ok(());
        };
        let Some(repository) = self.store.repository(user, file.repository_id).await? else {
            return Ok(());
        };
        if repository.head_sha.is_none() {
            return Ok(());
        }
        let Ok(locator) = self.locator(&repository) else {
            return Ok(());
        };
        self.require_share(user, &locator, times).await
    }

    /// Previews publishing one of the user's files to every page it is mapped to (publishing
    /// on), one dry run per target (each a read, as [`App::preview`]).
    pub async fn preview_everywhere(
        &self,
        user: UserId,
        file: WatchedFileId,
    ) -> UseCaseResult<Vec<TargetOutcome<PreviewDiff>>> {
        let mut previews = Vec::new();
        for mapping in self.publishing_targets_within_share(user, file).await? {
            let result = self.dry_run(user, &mapping).await;
            previews.push(TargetOutcome { mapping, result });
        }
        Ok(previews)
    }

    /// Publishes one of the user's files to every page it is mapped to (publishing on), one
    /// target after the other, each with its own mutex turn, log row and outcome. A target
    /// whose page changed on-wiki is overwritten only with `overwrite_drift`.
    pub async fn publish_everywhere(
        &self,
        user: UserId,
        file: WatchedFileId,
        overwrite_drift: bool,
    ) -> UseCaseResult<Vec<TargetOutcome<PublishReport>>> {
        let mut results = Vec::new();
        // The targets were read (and the vault checked) once, for all of them.
        for mapping in self.publishing_targets_within_share(user, file).await? {
            results.push(self.publish_target(user, mapping, overwrite_drift).await);
        }
        Ok(results)
    }

    /// Publishes to a target that need not be a stored mapping (the CLI and CI jobs), as
    /// `request.user`. A wiki off the allow-list or a malformed title is refused here, before
    /// any request, as [`super::UseCaseError::Invalid`] naming the field: it is the caller's
    /// input to fix, like the same mistake anywhere else. So is a branch git would refuse or
    /// a path longer than the store keeps. A user whose share of the repository's forge host
    /// for this hour is spent is refused ([`super::UseCaseError::ShareSpent`]), also before any
    /// request; the file's fetch counts against that share.
    pub async fn publish_ad_hoc(
        &self,
        request: AdHocPublish,
        options: PublishOptions,
    ) -> UseCaseResult<Result<PublishReport, PublishFailure>> {
        self.parse_page(&request.wiki, &request.page)?;
        // What the publish log keeps must fit its columns: say so now, not fail in the store.
        if let PublishSource::Repository { revision, path, .. } = &request.source {
            if let SourceRevision::Branch(branch) = revision {
                super::repositories::validate_branch_name(branch)?;
            }
            super::files::check_path_fits(path)?;
        }
        if matches!(request.credentials, Credentials::Stored) {
            self.vault()?;
        }
        if let PublishSource::Repository { repo, revision, .. } = &request.source {
            // The file at a commit, or the branch's head and then the file.
            let requests = match revision {
                SourceRevision::Commit(_) => 1,
                SourceRevision::Branch(branch) if branch.is_empty() => 0,
                SourceRevision::Branch(_) => 2,
            };
            if requests > 0 {
                self.require_share(request.user, repo, requests).await?;
            }
        }
        Ok(self.publisher.publish(request, options).await)
    }
}
