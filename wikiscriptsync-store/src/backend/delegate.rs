//! The one `Store` implementation of each backend: every method delegates to the inherent
//! method of the same name that the domain modules define.

macro_rules! impl_store_trait {
    ($store:ident, $name:literal) => {
        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn migrate(&self) -> StoreResult<MigrationReport> {
                Self::migrate(self).await
            }

            async fn health(&self) -> StoreResult<()> {
                Self::health(self).await
            }

            async fn close(&self) {
                Self::close(self).await
            }

            async fn upsert_user(
                &self,
                central_id: &str,
                username: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<User> {
                Self::upsert_user(self, central_id, username, now).await
            }

            async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
                Self::user(self, id).await
            }

            async fn user_by_central_id(&self, central_id: &str) -> StoreResult<Option<User>> {
                Self::user_by_central_id(self, central_id).await
            }

            async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
                Self::user_by_name(self, username).await
            }

            async fn create_session(
                &self,
                id: &str,
                user: UserId,
                now: DateTime<Utc>,
                expires: DateTime<Utc>,
            ) -> StoreResult<()> {
                Self::create_session(self, id, user, now, expires).await
            }

            async fn session_user(
                &self,
                id: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                Self::session_user(self, id, now).await
            }

            async fn end_session(&self, id: &str) -> StoreResult<bool> {
                Self::end_session(self, id).await
            }

            async fn end_user_sessions(&self, user: UserId) -> StoreResult<u64> {
                Self::end_user_sessions(self, user).await
            }

            async fn add_repository(
                &self,
                user: UserId,
                repository: &NewRepository,
                now: DateTime<Utc>,
            ) -> StoreResult<Repository> {
                Self::add_repository(self, user, repository, now).await
            }

            async fn repository(
                &self,
                user: UserId,
                id: RepositoryId,
            ) -> StoreResult<Option<Repository>> {
                Self::repository(self, user, id).await
            }

            async fn list_repositories(&self, user: UserId) -> StoreResult<Vec<Repository>> {
                Self::list_repositories(self, user).await
            }

            async fn remove_repository(&self, user: UserId, id: RepositoryId) -> StoreResult<bool> {
                Self::remove_repository(self, user, id).await
            }

            async fn watch_file(
                &self,
                user: UserId,
                repository: RepositoryId,
                path: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<WatchedFile> {
                Self::watch_file(self, user, repository, path, now).await
            }

            async fn watched_file(
                &self,
                user: UserId,
                id: WatchedFileId,
            ) -> StoreResult<Option<WatchedFile>> {
                Self::watched_file(self, user, id).await
            }

            async fn list_watched_files(
                &self,
                user: UserId,
                repository: RepositoryId,
            ) -> StoreResult<Vec<WatchedFile>> {
                Self::list_watched_files(self, user, repository).await
            }

            async fn unwatch_file(&self, user: UserId, id: WatchedFileId) -> StoreResult<bool> {
                Self::unwatch_file(self, user, id).await
            }

            async fn add_mapping(
                &self,
                user: UserId,
                mapping: &NewMapping,
                now: DateTime<Utc>,
            ) -> StoreResult<Mapping> {
                Self::add_mapping(self, user, mapping, now).await
            }

            async fn add_mapping_with_monitor(
                &self,
                user: UserId,
                mapping: &NewMapping,
                monitor: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<Mapping> {
                Self::add_mapping_with_monitor(self, user, mapping, monitor, now).await
            }

            async fn mapping(&self, user: UserId, id: MappingId) -> StoreResult<Option<Mapping>> {
                Self::mapping(self, user, id).await
            }

            async fn list_mappings(
                &self,
                user: UserId,
                file: WatchedFileId,
            ) -> StoreResult<Vec<Mapping>> {
                Self::list_mappings(self, user, file).await
            }

            async fn set_mapping_options(
                &self,
                user: UserId,
                id: MappingId,
                options: MappingOptions,
            ) -> StoreResult<bool> {
                Self::set_mapping_options(self, user, id, options).await
            }

            async fn remove_mapping(&self, user: UserId, id: MappingId) -> StoreResult<bool> {
                Self::remove_mapping(self, user, id).await
            }

            async fn record_published(
                &self,
                user: UserId,
                id: MappingId,
                state: &PublishedState,
            ) -> StoreResult<()> {
                Self::record_published(self, user, id, state).await
            }

            async fn acquire_publish_task(
                &self,
                user: UserId,
                now: DateTime<Utc>,
            ) -> StoreResult<PublishLock> {
                Self::acquire_publish_task(self, user, now).await
            }

            async fn release_publish_task(
                &self,
                task: PublishTaskId,
                outcome: &TaskOutcome,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                Self::release_publish_task(self, task, outcome, now).await
            }

            async fn publish_task(&self, task: PublishTaskId) -> StoreResult<Option<PublishTask>> {
                Self::publish_task(self, task).await
            }

            async fn settle_publish_log(
                &self,
                user: UserId,
                id: PublishLogId,
                settlement: &PublishSettlement,
            ) -> StoreResult<bool> {
                Self::settle_publish_log(self, user, id, settlement).await
            }

            async fn release_all_claims(&self, owner: &str) -> StoreResult<u64> {
                Self::release_all_claims(self, owner).await
            }

            async fn append_publish_log(
                &self,
                entry: &NewPublishLogEntry,
            ) -> StoreResult<PublishLogId> {
                Self::append_publish_log(self, entry).await
            }

            async fn publish_log(
                &self,
                user: UserId,
                filter: PublishLogFilter,
                page: PageRequest,
            ) -> StoreResult<Paged<PublishLogEntry>> {
                Self::publish_log(self, user, filter, page).await
            }

            async fn set_credential(
                &self,
                user: UserId,
                wiki: &str,
                bot_username: &str,
                ciphertext: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<CredentialSummary> {
                Self::set_credential(self, user, wiki, bot_username, ciphertext, now).await
            }

            async fn credential(
                &self,
                user: UserId,
                wiki: &str,
            ) -> StoreResult<Option<StoredCredential>> {
                Self::credential(self, user, wiki).await
            }

            async fn list_credentials(&self, user: UserId) -> StoreResult<Vec<CredentialSummary>> {
                Self::list_credentials(self, user).await
            }

            async fn delete_credential(&self, user: UserId, wiki: &str) -> StoreResult<bool> {
                Self::delete_credential(self, user, wiki).await
            }

            async fn save_wiki(&self, wiki: &KnownWiki, spellings: &[String]) -> StoreResult<()> {
                Self::save_wiki(self, wiki, spellings).await
            }

            async fn wiki_by_spelling(&self, spelling: &str) -> StoreResult<Option<KnownWiki>> {
                Self::wiki_by_spelling(self, spelling).await
            }

            async fn known_wikis(&self) -> StoreResult<Vec<KnownWiki>> {
                Self::known_wikis(self).await
            }

            async fn all_credentials(&self) -> StoreResult<Vec<StoredCredential>> {
                Self::all_credentials(self).await
            }

            async fn replace_credential_ciphertext(
                &self,
                id: CredentialId,
                old: &str,
                new: &str,
            ) -> StoreResult<bool> {
                Self::replace_credential_ciphertext(self, id, old, new).await
            }

            async fn claim_due_repositories(
                &self,
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                Self::claim_due_repositories(self, claim).await
            }

            async fn claim_due_repository(
                &self,
                id: RepositoryId,
                claim: &ClaimRequest,
            ) -> StoreResult<Option<ClaimedRepository>> {
                Self::claim_due_repository(self, id, claim).await
            }

            async fn mark_repository_due(
                &self,
                user: UserId,
                id: RepositoryId,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                Self::mark_repository_due(self, user, id, now).await
            }

            async fn complete_repository_check(&self, check: &RepositoryCheck) -> StoreResult<()> {
                Self::complete_repository_check(self, check).await
            }

            async fn release_repository_claims(
                &self,
                owner: &str,
                ids: &[RepositoryId],
            ) -> StoreResult<u64> {
                Self::release_repository_claims(self, owner, ids).await
            }

            async fn file_check_log(
                &self,
                user: UserId,
                file: WatchedFileId,
                page: PageRequest,
            ) -> StoreResult<Paged<FileCheckLogEntry>> {
                Self::file_check_log(self, user, file, page).await
            }

            async fn record_api_quota(&self, snapshot: &ApiQuotaSnapshot) -> StoreResult<()> {
                Self::record_api_quota(self, snapshot).await
            }

            async fn latest_api_quota(&self, host: &str) -> StoreResult<Option<ApiQuotaSnapshot>> {
                Self::latest_api_quota(self, host).await
            }

            async fn record_forge_quota_use(&self, usage: &ForgeQuotaUse) -> StoreResult<()> {
                Self::record_forge_quota_use(self, usage).await
            }

            async fn forge_quota_spent(
                &self,
                user: UserId,
                host: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<u64> {
                Self::forge_quota_spent(self, user, host, since).await
            }

            async fn users_tracking_host(&self, forge: Forge, host: &str) -> StoreResult<u64> {
                Self::users_tracking_host(self, forge, host).await
            }

            async fn due_counts(&self, now: DateTime<Utc>) -> StoreResult<DueCounts> {
                Self::due_counts(self, now).await
            }

            async fn add_page_monitor(
                &self,
                user: UserId,
                wiki: &str,
                page_title: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<PageMonitor> {
                Self::add_page_monitor(self, user, wiki, page_title, now).await
            }

            async fn ensure_page_monitor(
                &self,
                user: UserId,
                wiki: &str,
                page_title: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                Self::ensure_page_monitor(self, user, wiki, page_title, now).await
            }

            async fn page_monitor(
                &self,
                user: UserId,
                id: PageMonitorId,
            ) -> StoreResult<Option<PageMonitor>> {
                Self::page_monitor(self, user, id).await
            }

            async fn list_page_monitors(&self, user: UserId) -> StoreResult<Vec<PageMonitor>> {
                Self::list_page_monitors(self, user).await
            }

            async fn remove_page_monitor(
                &self,
                user: UserId,
                id: PageMonitorId,
            ) -> StoreResult<bool> {
                Self::remove_page_monitor(self, user, id).await
            }

            async fn claim_due_pages_among(
                &self,
                ids: &[PageMonitorId],
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<PageMonitor>> {
                Self::claim_due_pages_among(self, ids, claim).await
            }

            async fn claim_due_repositories_among(
                &self,
                ids: &[RepositoryId],
                claim: &ClaimRequest,
            ) -> StoreResult<Vec<ClaimedRepository>> {
                Self::claim_due_repositories_among(self, ids, claim).await
            }

            async fn make_due_now(
                &self,
                queue: CheckQueue,
                only: Option<&[i64]>,
                owner: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<MadeDue> {
                Self::make_due_now(self, queue, only, owner, now).await
            }

            async fn check_outlook(
                &self,
                queue: CheckQueue,
                owner: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<CheckOutlook> {
                Self::check_outlook(self, queue, owner, now).await
            }

            async fn claim_due_pages(&self, claim: &ClaimRequest) -> StoreResult<Vec<PageMonitor>> {
                Self::claim_due_pages(self, claim).await
            }

            async fn complete_page_checks(
                &self,
                owner: &str,
                checked_at: DateTime<Utc>,
                checks: &[PageCheck],
            ) -> StoreResult<Vec<PageMonitorId>> {
                Self::complete_page_checks(self, owner, checked_at, checks).await
            }

            async fn release_page_claims(
                &self,
                owner: &str,
                ids: &[PageMonitorId],
            ) -> StoreResult<u64> {
                Self::release_page_claims(self, owner, ids).await
            }

            async fn page_check_log(
                &self,
                user: UserId,
                monitor: PageMonitorId,
                page: PageRequest,
            ) -> StoreResult<Paged<PageCheckLogEntry>> {
                Self::page_check_log(self, user, monitor, page).await
            }

            async fn notification_preferences(
                &self,
                user: UserId,
            ) -> StoreResult<NotificationPreferences> {
                Self::notification_preferences(self, user).await
            }

            async fn set_notification_preferences(
                &self,
                user: UserId,
                preferences: &NotificationPreferences,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                Self::set_notification_preferences(self, user, preferences, now).await
            }

            async fn claim_notification(
                &self,
                notification: &NewNotification,
                owner: &str,
                now: DateTime<Utc>,
                lease: chrono::Duration,
            ) -> StoreResult<NotificationClaim> {
                Self::claim_notification(self, notification, owner, now, lease).await
            }

            async fn finish_notification(
                &self,
                id: NotificationId,
                owner: &str,
                result: &NotificationResult,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                Self::finish_notification(self, id, owner, result, now).await
            }

            async fn failed_notifications(
                &self,
                limit: u32,
            ) -> StoreResult<Vec<NotificationLogEntry>> {
                Self::failed_notifications(self, limit).await
            }

            async fn notification_log(
                &self,
                user: UserId,
                page: PageRequest,
            ) -> StoreResult<Paged<NotificationLogEntry>> {
                Self::notification_log(self, user, page).await
            }

            async fn mapping_statuses(
                &self,
                user: UserId,
                scope: &MappingScope,
            ) -> StoreResult<Vec<MappingStatus>> {
                Self::mapping_statuses(self, user, scope).await
            }

            async fn user_counts(&self, user: UserId) -> StoreResult<UserCounts> {
                Self::user_counts(self, user).await
            }

            async fn take_action_slot(
                &self,
                user: UserId,
                action: UserAction,
                now: DateTime<Utc>,
                window: chrono::TimeDelta,
                limit: u32,
            ) -> StoreResult<ActionSlot> {
                Self::take_action_slot(self, user, action, now, window, limit).await
            }

            async fn dashboard(
                &self,
                user: UserId,
                limits: DashboardLimits,
            ) -> StoreResult<Dashboard> {
                Self::dashboard(self, user, limits).await
            }

            async fn record_usage(
                &self,
                day: NaiveDate,
                feature: &str,
                count: u64,
            ) -> StoreResult<()> {
                Self::record_usage(self, day, feature, count).await
            }

            async fn usage_metrics(
                &self,
                from: NaiveDate,
                to: NaiveDate,
            ) -> StoreResult<Vec<UsageCount>> {
                Self::usage_metrics(self, from, to).await
            }

            async fn purge_logs(
                &self,
                cutoff: DateTime<Utc>,
                dry_run: bool,
            ) -> StoreResult<RetentionReport> {
                Self::purge_logs(self, cutoff, dry_run).await
            }

            async fn clean_orphans(&self, dry_run: bool) -> StoreResult<OrphanReport> {
                Self::clean_orphans(self, dry_run).await
            }
        }
    };
}

pub(crate) use impl_store_trait;
