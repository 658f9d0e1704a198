//! Key rotation for stored BotPasswords: re-encrypt every ciphertext with the vault's newest
//! key, so an old key can be removed from `CREDENTIAL_ENCRYPTION_KEY`, keeping each one sealed
//! for its row's user and wiki (and sealing rows from before binding; see [`crate::vault`]).

use crate::store::{Store, StoreError};
use crate::vault::{CredentialOwner, Vault, VaultError};

/// What a rotation did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Stored credentials looked at.
    pub total: u64,
    /// Already encrypted with the newest key: left alone.
    pub current: u64,
    /// Re-encrypted with the newest key (in a dry run: would be).
    pub reencrypted: u64,
    /// Decryptable by no configured key: left alone (the user must save them again, or the
    /// old key must be added back).
    pub undecryptable: u64,
    /// Changed by a concurrent save while rotating: left as saved (already current).
    pub changed_meanwhile: u64,
    /// Sealed for another user or wiki than the row holds them (the row was altered in the
    /// database): left alone, never re-sealed for the row; the owner must save them again.
    pub wrong_owner: u64,
    /// Whether nothing was written.
    pub dry_run: bool,
}

impl RotationReport {
    /// Whether an old key can be retired: every credential is on the newest key.
    pub fn old_keys_retirable(&self) -> bool {
        !self.dry_run && self.undecryptable == 0 && self.wrong_owner == 0
    }
}

/// Re-encrypts every stored BotPassword with the newest key, sealed for its row's user and wiki.
/// Each row is replaced with a compare-and-swap, so a BotPassword saved meanwhile is never
/// overwritten. Plaintext exists only inside [`Vault::reencrypt`].
pub async fn rotate_credentials(
    store: &dyn Store,
    vault: &Vault,
    dry_run: bool,
) -> Result<RotationReport, StoreError> {
    let mut report = RotationReport {
        dry_run,
        ..RotationReport::default()
    };
    for credential in store.all_credentials().await? {
        report.total += 1;
        let owner = CredentialOwner {
            user: credential.user_id,
            wiki: &credential.wiki,
        };
        if vault.is_current(owner, &credential.ciphertext) {
            report.current += 1;
            continue;
        }
        let new = match vault.reencrypt(owner, &credential.ciphertext) {
            Ok(new) => new,
            Err(VaultError::WrongOwner { .. }) => {
                tracing::warn!(credential = %credential.id, wiki = %credential.wiki, "a stored BotPassword is sealed for another user or wiki than its row");
                report.wrong_owner += 1;
                continue;
            }
            Err(_) => {
                tracing::warn!(credential = %credential.id, wiki = %credential.wiki, "a stored BotPassword cannot be decrypted with any configured key");
                report.undecryptable += 1;
                continue;
            }
        };
        let replaced = dry_run
            || store
                .replace_credential_ciphertext(credential.id, &credential.ciphertext, &new)
                .await?;
        if replaced {
            report.reencrypted += 1;
        } else {
            report.changed_meanwhile += 1;
        }
    }
    Ok(report)
}
