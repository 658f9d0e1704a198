//! The credential vault: BotPasswords encrypted at rest with Fernet.
//!
//! Keys come from `CREDENTIAL_ENCRYPTION_KEY` (the original tool's name; read by
//! [`crate::settings::Settings::vault`]): one Fernet key, or a
//! comma-separated list, newest first. New ciphertexts use the newest key; any listed key
//! decrypts, so an old key can be retired after `wikiscriptsync rotate-credentials` has
//! re-encrypted every stored credential with the newest one.
//!
//! Plaintext only ever leaves the vault as a [`SecretString`] (zeroized on drop, redacted in
//! `Debug`); intermediate buffers are zeroized too. Ciphertexts are Fernet tokens, the same format
//! Python's `cryptography` library writes, so a database from the original tool stays readable.
//!
//! **Bound to their row.** Fernet has no associated data, so what is encrypted is an envelope
//! that names whose the secret is — the user id and the wiki key of its row
//! ([`CredentialOwner`]) — behind a format marker: `NUL "wikiscriptsync-credential/1" NUL`,
//! the user id in decimal, `NUL`, the wiki key, `NUL`, the secret. Decrypting checks the
//! envelope against the row it was read from, so a ciphertext copied or swapped into another
//! user's or another wiki's row in the database is refused ([`VaultError::WrongOwner`]) before
//! any login. A plaintext without the marker is a row from before binding (or from the original
//! tool): it still decrypts, and is bound to its row on the next save or key rotation
//! (`rotate-credentials` counts it as not current even on the newest key). A migration that
//! renames wiki keys in `publish_botcredential` must re-bind the rows it renames.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use fernet::{Fernet, MultiFernet};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::store::UserId;

/// The environment variable that holds the key list.
pub const KEY_ENV_VAR: &str = "CREDENTIAL_ENCRYPTION_KEY";

/// How to make a key, repeated in every key error so that the fix is one copy-paste away.
const HOW_TO_MAKE_A_KEY: &str = "generate one with `wikiscriptsync generate-key` (or Python's \
     `Fernet.generate_key()`) and set CREDENTIAL_ENCRYPTION_KEY to it; for rotation list \
     several keys, newest first, separated by commas";

/// What went wrong with a key or a ciphertext. No variant ever carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key variable is not set or empty.
    #[error("{KEY_ENV_VAR} is not set: {HOW_TO_MAKE_A_KEY}")]
    MissingKey,
    /// The key variable is set but lists no key (only commas and spaces).
    #[error("{KEY_ENV_VAR} is set but holds no key (only commas and spaces): {HOW_TO_MAKE_A_KEY}")]
    NoKeyInList,
    /// A key is not URL-safe base64.
    #[error(
        "key {position} of {KEY_ENV_VAR} is not URL-safe base64 (a Fernet key is 44 characters \
         of A-Z, a-z, 0-9, '-', '_' ending in '='): {HOW_TO_MAKE_A_KEY}"
    )]
    KeyNotBase64 {
        /// 1-based position of the key in the comma-separated list.
        position: usize,
    },
    /// A key decodes to the wrong number of bytes.
    #[error(
        "key {position} of {KEY_ENV_VAR} decodes to {len} bytes; a Fernet key is exactly 32 \
         bytes (44 base64 characters): {HOW_TO_MAKE_A_KEY}"
    )]
    KeyWrongLength {
        /// 1-based position of the key in the comma-separated list.
        position: usize,
        /// Decoded length in bytes.
        len: usize,
    },
    /// No configured key decrypts the ciphertext, or it was tampered with.
    #[error(
        "a stored credential cannot be decrypted with any key in {KEY_ENV_VAR}: the key that \
         encrypted it was removed, or the ciphertext is damaged; add the old key back (after the \
         new one) or save the BotPassword again"
    )]
    Undecryptable,
    /// The ciphertext decrypted to bytes that are not UTF-8 (never written by this tool).
    #[error(
        "a stored credential decrypted to something that is not text; save the BotPassword again"
    )]
    NotText,
    /// The ciphertext was sealed for another user or another wiki than the row it was read
    /// from: the database row was altered, so the secret is not used.
    #[error(
        "the stored BotPassword for {wiki} was not saved for this user and wiki (its database \
         row was altered), so it was not used: save the BotPassword for {wiki} again"
    )]
    WrongOwner {
        /// The wiki key of the row that was read.
        wiki: String,
    },
    /// The envelope names a format this version does not know (written by a newer version).
    #[error(
        "a stored credential is in a format this version of WikiScriptSync does not know \
         (written by a newer version?): upgrade, or save the BotPassword again"
    )]
    UnknownFormat,
}

impl VaultError {
    /// Whether the operator's key configuration is at fault (missing or malformed
    /// `CREDENTIAL_ENCRYPTION_KEY`), as opposed to a stored ciphertext that cannot be used.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::MissingKey
                | Self::NoKeyInList
                | Self::KeyNotBase64 { .. }
                | Self::KeyWrongLength { .. }
        )
    }
}

/// Whose a stored secret is: the user and the wiki key of the row it is stored in. Every
/// ciphertext is sealed for one owner and opens only for the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialOwner<'a> {
    /// The user the row belongs to.
    pub user: UserId,
    /// The row's wiki key (as stored, e.g. `en.wikipedia.org`).
    pub wiki: &'a str,
}

/// What starts every envelope (no BotPassword starts with a NUL byte).
const ENVELOPE_PREFIX: &[u8] = b"\0wikiscriptsync-credential/";
/// The envelope format this version writes.
const ENVELOPE_V1: &[u8] = b"\0wikiscriptsync-credential/1\0";

/// A decrypted plaintext: the secret inside a bound envelope, or a row from before binding.
enum Opened {
    Bound(SecretString),
    Unbound(SecretString),
}

impl Opened {
    fn secret(self) -> SecretString {
        match self {
            Self::Bound(secret) | Self::Unbound(secret) => secret,
        }
    }
}

/// Encrypts and decrypts credentials. Holds the keys; `Debug` shows only how many.
pub struct Vault {
    keys: MultiFernet,
    newest: Fernet,
    key_count: usize,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("keys", &self.key_count)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Builds a vault from a comma-separated key list, newest first. Surrounding whitespace
    /// around each key is ignored; every key is validated, so a typo in an old key is caught
    /// at start-up rather than on the first decrypt that needs it.
    pub fn from_key_list(list: &SecretString) -> Result<Self, VaultError> {
        let mut fernets = Vec::new();
        for (index, key) in list
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .enumerate()
        {
            fernets.push(parse_key(key, index + 1)?);
        }
        let Some(newest) = fernets.first().cloned() else {
            // An unset variable never reaches here as anything but empty; commas alone are a
            // typo the user must hear about as such, not as "not set".
            return Err(if list.expose_secret().trim().is_empty() {
                VaultError::MissingKey
            } else {
                VaultError::NoKeyInList
            });
        };
        let key_count = fernets.len();
        Ok(Self {
            keys: MultiFernet::new(fernets),
            newest,
            key_count,
        })
    }

    /// A fresh random key, in the format `CREDENTIAL_ENCRYPTION_KEY` expects.
    pub fn generate_key() -> SecretString {
        SecretString::from(Fernet::generate_key())
    }

    /// How many keys are configured (1 + the number of retired keys still accepted).
    pub fn key_count(&self) -> usize {
        self.key_count
    }

    /// Encrypts a credential with the newest key, sealed for `owner` (see the module docs).
    pub fn encrypt(&self, owner: CredentialOwner<'_>, plaintext: &SecretString) -> String {
        let user = owner.user.to_string();
        let secret = plaintext.expose_secret().as_bytes();
        let mut envelope = Zeroizing::new(Vec::with_capacity(
            ENVELOPE_V1.len() + user.len() + owner.wiki.len() + secret.len() + 2,
        ));
        envelope.extend_from_slice(ENVELOPE_V1);
        envelope.extend_from_slice(user.as_bytes());
        envelope.push(0);
        envelope.extend_from_slice(owner.wiki.as_bytes());
        envelope.push(0);
        envelope.extend_from_slice(secret);
        self.keys.encrypt(&envelope)
    }

    /// Decrypts a credential with whichever configured key encrypted it, refusing one sealed
    /// for another owner than `owner` ([`VaultError::WrongOwner`]); a row from before binding
    /// decrypts as it is.
    pub fn decrypt(
        &self,
        owner: CredentialOwner<'_>,
        ciphertext: &str,
    ) -> Result<SecretString, VaultError> {
        self.open(owner, ciphertext).map(Opened::secret)
    }

    /// Whether a ciphertext is written with the newest key and sealed for `owner` (nothing to
    /// rotate). A row from before binding is not current: rotation binds it.
    pub fn is_current(&self, owner: CredentialOwner<'_>, ciphertext: &str) -> bool {
        let Ok(bytes) = self.newest.decrypt(ciphertext).map(Zeroizing::new) else {
            return false;
        };
        matches!(open_envelope(owner, &bytes), Ok(Opened::Bound(_)))
    }

    /// Re-encrypts a ciphertext with the newest key, sealed for the same `owner`, for key
    /// rotation: a bound ciphertext keeps its binding (one sealed for another owner is refused),
    /// a row from before binding gets bound to `owner`.
    pub fn reencrypt(
        &self,
        owner: CredentialOwner<'_>,
        ciphertext: &str,
    ) -> Result<String, VaultError> {
        let plaintext = self.decrypt(owner, ciphertext)?;
        Ok(self.encrypt(owner, &plaintext))
    }

    fn open(&self, owner: CredentialOwner<'_>, ciphertext: &str) -> Result<Opened, VaultError> {
        let bytes = self
            .keys
            .decrypt(ciphertext)
            .map_err(|_| VaultError::Undecryptable)?;
        // Wiped when dropped, whatever the envelope holds.
        let bytes = Zeroizing::new(bytes);
        open_envelope(owner, &bytes)
    }
}

/// The secret in a decrypted plaintext, checked against `owner` when it is an envelope; the
/// caller keeps `bytes` in a zeroizing buffer.
fn open_envelope(owner: CredentialOwner<'_>, bytes: &[u8]) -> Result<Opened, VaultError> {
    let Some(rest) = bytes.strip_prefix(ENVELOPE_V1) else {
        if bytes.starts_with(ENVELOPE_PREFIX) {
            return Err(VaultError::UnknownFormat);
        }
        return text(bytes).map(Opened::Unbound);
    };
    let mut parts = rest.splitn(3, |byte| *byte == 0);
    let (Some(user), Some(wiki), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::UnknownFormat);
    };
    if user != owner.user.to_string().as_bytes() || wiki != owner.wiki.as_bytes() {
        return Err(VaultError::WrongOwner {
            wiki: owner.wiki.to_owned(),
        });
    }
    text(secret).map(Opened::Bound)
}

/// The secret as text; `bytes` stay with the caller, who wipes them.
fn text(bytes: &[u8]) -> Result<SecretString, VaultError> {
    std::str::from_utf8(bytes)
        .map(|text| SecretString::from(text.to_owned()))
        .map_err(|_| VaultError::NotText)
}

fn parse_key(key: &str, position: usize) -> Result<Fernet, VaultError> {
    let decoded = Zeroizing::new(
        URL_SAFE
            .decode(key)
            .map_err(|_| VaultError::KeyNotBase64 { position })?,
    );
    if decoded.len() != 32 {
        return Err(VaultError::KeyWrongLength {
            position,
            len: decoded.len(),
        });
    }
    Fernet::new(key).ok_or(VaultError::KeyNotBase64 { position })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(keys: &str) -> Vault {
        Vault::from_key_list(&SecretString::from(keys.to_owned())).expect("valid keys")
    }

    fn key() -> String {
        Vault::generate_key().expose_secret().to_owned()
    }

    const ALICE: CredentialOwner<'static> = CredentialOwner {
        user: UserId(1),
        wiki: "en.wikipedia.org",
    };

    #[test]
    fn a_credential_round_trips_and_the_ciphertext_hides_it() {
        let v = vault(&key());
        let token = v.encrypt(
            ALICE,
            &SecretString::from("abcdefghijklmnopqrstuvw012345678".to_owned()),
        );
        assert!(!token.contains("abcdefghijklmnopqrstuvw012345678"));
        assert_eq!(
            v.decrypt(ALICE, &token).unwrap().expose_secret(),
            "abcdefghijklmnopqrstuvw012345678"
        );
    }

    #[test]
    fn a_token_written_by_python_cryptography_decrypts() {
        // Fernet spec test vector (github.com/fernet/spec, generate.json).
        let v = vault("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=");
        let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
        // The vector's timestamp is from 1985, and decrypt applies no TTL. An unbound
        // plaintext (a row from before binding) opens for the row it is read from.
        assert_eq!(v.decrypt(ALICE, token).unwrap().expose_secret(), "hello");
    }

    #[test]
    fn rotation_encrypts_with_the_newest_key_and_still_reads_the_old_one() {
        let (old, new) = (key(), key());
        let before = vault(&old);
        let token = before.encrypt(ALICE, &SecretString::from("s3cret".to_owned()));

        let after = vault(&format!("{new}, {old}"));
        assert_eq!(after.key_count(), 2);
        assert!(!after.is_current(ALICE, &token));
        let rotated = after.reencrypt(ALICE, &token).unwrap();
        assert!(after.is_current(ALICE, &rotated));
        assert_eq!(
            vault(&new)
                .decrypt(ALICE, &rotated)
                .unwrap()
                .expose_secret(),
            "s3cret"
        );
        assert!(matches!(
            before.decrypt(ALICE, &rotated),
            Err(VaultError::Undecryptable)
        ));
        // Rotation keeps the binding: the rotated token still opens for Alice only.
        let bob = CredentialOwner {
            user: UserId(2),
            ..ALICE
        };
        assert!(matches!(
            after.decrypt(bob, &rotated),
            Err(VaultError::WrongOwner { .. })
        ));
    }

    #[test]
    fn a_tampered_ciphertext_is_refused() {
        let v = vault(&key());
        let mut token = v.encrypt(ALICE, &SecretString::from("s3cret".to_owned()));
        let last = token.pop().unwrap();
        token.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            v.decrypt(ALICE, &token),
            Err(VaultError::Undecryptable)
        ));
        assert!(matches!(
            v.decrypt(ALICE, "not a token"),
            Err(VaultError::Undecryptable)
        ));
    }

    #[test]
    fn bad_keys_say_what_is_wrong_and_how_to_fix_it() {
        let err = |s: &str| Vault::from_key_list(&SecretString::from(s.to_owned())).unwrap_err();
        assert!(matches!(err(""), VaultError::MissingKey));
        assert!(matches!(err(" , "), VaultError::NoKeyInList));
        assert!(matches!(err(","), VaultError::NoKeyInList));
        let message = err(",").to_string();
        assert!(message.contains("set but holds no key"), "{message}");
        assert!(!message.contains("not set"), "{message}");
        assert!(matches!(
            err("not base64!!"),
            VaultError::KeyNotBase64 { position: 1 }
        ));
        let short = URL_SAFE.encode([7u8; 16]);
        assert!(matches!(
            err(&format!("{},{short}", key())),
            VaultError::KeyWrongLength {
                position: 2,
                len: 16
            }
        ));
        let message = err("not base64!!").to_string();
        assert!(message.contains("CREDENTIAL_ENCRYPTION_KEY"), "{message}");
        assert!(message.contains("wikiscriptsync generate-key"), "{message}");
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let k = key();
        let v = vault(&k);
        let shown = format!("{v:?}");
        assert_eq!(shown, "Vault { keys: 1, .. }");
        assert!(!shown.contains(&k));
        let secret = v
            .decrypt(
                ALICE,
                &v.encrypt(ALICE, &SecretString::from("pw-123".to_owned())),
            )
            .unwrap();
        assert!(!format!("{secret:?}").contains("pw-123"));
    }

    #[test]
    fn a_ciphertext_opens_only_for_the_user_and_wiki_it_was_sealed_for() {
        let v = vault(&key());
        let token = v.encrypt(ALICE, &SecretString::from("alice-pw".to_owned()));
        let others = [
            CredentialOwner {
                user: UserId(2),
                ..ALICE
            },
            CredentialOwner {
                wiki: "de.wikipedia.org",
                ..ALICE
            },
            // A user id that merely starts the same digits, and a wiki key that extends ours.
            CredentialOwner {
                user: UserId(11),
                ..ALICE
            },
            CredentialOwner {
                wiki: "en.wikipedia.org.evil",
                ..ALICE
            },
        ];
        for other in others {
            let err = v.decrypt(other, &token).unwrap_err();
            assert!(
                matches!(&err, VaultError::WrongOwner { wiki } if wiki == other.wiki),
                "{other:?}: {err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("save the BotPassword"), "{message}");
            assert!(!message.contains("alice-pw"), "{message}");
            assert!(!v.is_current(other, &token));
            assert!(v.reencrypt(other, &token).is_err());
        }
        assert!(v.is_current(ALICE, &token));
    }

    #[test]
    fn a_password_with_nul_bytes_and_unicode_round_trips_inside_the_envelope() {
        let v = vault(&key());
        let odd = "p\0w\0ö@#\n";
        let owner = CredentialOwner {
            user: UserId(i64::MAX),
            wiki: "http://127.0.0.1:8080/api.php",
        };
        let token = v.encrypt(owner, &SecretString::from(odd.to_owned()));
        assert_eq!(v.decrypt(owner, &token).unwrap().expose_secret(), odd);
    }

    #[test]
    fn an_unbound_row_still_decrypts_and_rotation_binds_it() {
        let k = key();
        let v = vault(&k);
        // What the original tool (and this one before binding) wrote: the bare password.
        let unbound = Fernet::new(&k).unwrap().encrypt(b"legacy-pw");
        assert_eq!(
            v.decrypt(ALICE, &unbound).unwrap().expose_secret(),
            "legacy-pw"
        );
        assert!(
            !v.is_current(ALICE, &unbound),
            "an unbound row is rotated even on the newest key"
        );
        let bound = v.reencrypt(ALICE, &unbound).unwrap();
        assert!(v.is_current(ALICE, &bound));
        let bob = CredentialOwner {
            user: UserId(2),
            ..ALICE
        };
        assert!(matches!(
            v.decrypt(bob, &bound),
            Err(VaultError::WrongOwner { .. })
        ));
    }

    #[test]
    fn an_envelope_of_an_unknown_version_is_refused_as_such() {
        let k = key();
        let newer = Fernet::new(&k)
            .unwrap()
            .encrypt(b"\0wikiscriptsync-credential/2\0{}");
        assert!(matches!(
            vault(&k).decrypt(ALICE, &newer),
            Err(VaultError::UnknownFormat)
        ));
    }
}
