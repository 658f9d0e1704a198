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

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use fernet::{Fernet, MultiFernet};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

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

    /// Encrypts a credential with the newest key.
    pub fn encrypt(&self, plaintext: &SecretString) -> String {
        self.keys.encrypt(plaintext.expose_secret().as_bytes())
    }

    /// Decrypts a credential with whichever configured key encrypted it.
    pub fn decrypt(&self, ciphertext: &str) -> Result<SecretString, VaultError> {
        let bytes = self
            .keys
            .decrypt(ciphertext)
            .map_err(|_| VaultError::Undecryptable)?;
        // `from_utf8` takes the buffer without copying; on failure the bytes come back in the
        // error, and are wiped before they are dropped.
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SecretString::from(text)),
            Err(err) => {
                drop(Zeroizing::new(err.into_bytes()));
                Err(VaultError::NotText)
            }
        }
    }

    /// Whether a ciphertext was written with the newest key (nothing to rotate).
    pub fn is_current(&self, ciphertext: &str) -> bool {
        self.newest.decrypt(ciphertext).map(Zeroizing::new).is_ok()
    }

    /// Re-encrypts a ciphertext with the newest key, for key rotation.
    pub fn reencrypt(&self, ciphertext: &str) -> Result<String, VaultError> {
        let plaintext = self.decrypt(ciphertext)?;
        Ok(self.encrypt(&plaintext))
    }
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

    #[test]
    fn a_credential_round_trips_and_the_ciphertext_hides_it() {
        let v = vault(&key());
        let token = v.encrypt(&SecretString::from(
            "abcdefghijklmnopqrstuvw012345678".to_owned(),
        ));
        assert!(!token.contains("abcdefghijklmnopqrstuvw012345678"));
        assert_eq!(
            v.decrypt(&token).unwrap().expose_secret(),
            "abcdefghijklmnopqrstuvw012345678"
        );
    }

    #[test]
    fn a_token_written_by_python_cryptography_decrypts() {
        // Fernet spec test vector (github.com/fernet/spec, generate.json).
        let v = vault("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=");
        let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
        // The vector's timestamp is from 1985, and decrypt applies no TTL.
        assert_eq!(v.decrypt(token).unwrap().expose_secret(), "hello");
    }

    #[test]
    fn rotation_encrypts_with_the_newest_key_and_still_reads_the_old_one() {
        let (old, new) = (key(), key());
        let before = vault(&old);
        let token = before.encrypt(&SecretString::from("s3cret".to_owned()));

        let after = vault(&format!("{new}, {old}"));
        assert_eq!(after.key_count(), 2);
        assert!(!after.is_current(&token));
        let rotated = after.reencrypt(&token).unwrap();
        assert!(after.is_current(&rotated));
        assert_eq!(
            vault(&new).decrypt(&rotated).unwrap().expose_secret(),
            "s3cret"
        );
        assert!(matches!(
            before.decrypt(&rotated),
            Err(VaultError::Undecryptable)
        ));
    }

    #[test]
    fn a_tampered_ciphertext_is_refused() {
        let v = vault(&key());
        let mut token = v.encrypt(&SecretString::from("s3cret".to_owned()));
        let last = token.pop().unwrap();
        token.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(v.decrypt(&token), Err(VaultError::Undecryptable)));
        assert!(matches!(
            v.decrypt("not a token"),
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
            .decrypt(&v.encrypt(&SecretString::from("pw-123".to_owned())))
            .unwrap();
        assert!(!format!("{secret:?}").contains("pw-123"));
    }
}
