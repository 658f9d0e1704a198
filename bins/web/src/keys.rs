//! The web server's two secrets: the cookie key (encrypts the session cookie) and the credential
//! key (encrypts stored BotPasswords).
//!
//! In production both come from the settings (`WIKISCRIPTSYNC_COOKIE_KEY`,
//! `CREDENTIAL_ENCRYPTION_KEY`). In development they are generated on first start into the data
//! directory, readable by the owner only (mode 600), and reused afterwards so that sessions and
//! stored credentials survive a restart. The directory itself must be the owner's only (mode
//! 700, checked on every start, not only when it is made): it holds the keys and the database.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};
use wikiscriptsync_core::settings::Settings;
use wikiscriptsync_core::vault::{Vault, VaultError};

/// The environment variable holding the cookie key (base64 of at least 64 random bytes).
pub const COOKIE_KEY_ENV_VAR: &str = wikiscriptsync_core::settings::vars::COOKIE_KEY_ENV;

/// Bytes in a cookie key: what the cookie crate's `Key` needs for signing plus encryption.
pub const COOKIE_KEY_BYTES: usize = 64;

/// Why the keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("cannot use the key file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A key file is readable by others; refuse rather than use a possibly leaked key.
    #[error(
        "the key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The data directory can be listed or entered by other users; refuse rather than keep
    /// keys and the database where others reach them.
    #[error(
        "the data directory {path} is open to other users (mode {mode:o}); run `chmod 700 {path}`"
    )]
    DirectoryTooOpen {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The cookie key is missing or malformed.
    #[error(
        "{COOKIE_KEY_ENV_VAR} must be base64 of at least {COOKIE_KEY_BYTES} random bytes; make \
         one with `head -c 64 /dev/urandom | base64 -w0`"
    )]
    BadCookieKey,
    /// The credential key list is missing or malformed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// The loaded secrets. `Debug` shows nothing secret.
pub struct Keys {
    /// The cookie key bytes.
    pub cookie: secrecy::SecretSlice<u8>,
    /// The credential vault.
    pub vault: Arc<Vault>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The cookie key as the cookie crate wants it (64 bytes: signing plus encryption).
    pub fn cookie_key(&self) -> Result<axum_extra::extract::cookie::Key, KeyError> {
        axum_extra::extract::cookie::Key::try_from(self.cookie.expose_secret())
            .map_err(|_| KeyError::BadCookieKey)
    }

    /// Production: both keys from the settings.
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyError> {
        let cookie = settings
            .web
            .cookie_key
            .as_ref()
            .ok_or(KeyError::BadCookieKey)?;
        Ok(Self {
            cookie: decode_cookie_key(cookie)?,
            vault: Arc::new(settings.vault()?),
        })
    }

    /// Development: keys from `dir`, generated on first start.
    pub fn load_or_generate(dir: &Path) -> Result<Self, KeyError> {
        Self::load_or_generate_with(dir, None)
    }

    /// [`Self::load_or_generate`], except that configured credential keys
    /// (`CREDENTIAL_ENCRYPTION_KEY`) win over the file, so a developer can test with a
    /// production-like setup.
    pub fn load_or_generate_with(
        dir: &Path,
        credential_keys: Option<&SecretString>,
    ) -> Result<Self, KeyError> {
        owner_only_directory(dir)?;
        let cookie_file = dir.join("cookie.key");
        let cookie = read_or_create(&cookie_file, || {
            let mut bytes = zeroize::Zeroizing::new([0u8; COOKIE_KEY_BYTES]);
            getrandom::fill(bytes.as_mut_slice()).map_err(|e| KeyError::File {
                path: cookie_file.clone(),
                source: io::Error::other(e.to_string()),
            })?;
            Ok(SecretString::from(STANDARD.encode(bytes.as_slice())))
        })?;
        let vault = match credential_keys {
            Some(keys) => Vault::from_key_list(keys)?,
            None => {
                let key =
                    read_or_create(&dir.join("credential.key"), || Ok(Vault::generate_key()))?;
                Vault::from_key_list(&key)?
            }
        };
        Ok(Self {
            cookie: decode_cookie_key(&cookie)?,
            vault: Arc::new(vault),
        })
    }
}

/// Makes `dir` with mode 700 when it is missing; an existing one must already be the owner's
/// only (a directory made by hand, or by an older version, is checked on every start too).
fn owner_only_directory(dir: &Path) -> Result<(), KeyError> {
    let file_error = |source| KeyError::File {
        path: dir.into(),
        source,
    };
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(file_error)?;
        // Only the owner may list the directory that holds the keys and the database.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(file_error)?;
    }
    let mode = fs::metadata(dir).map_err(file_error)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::DirectoryTooOpen {
            path: dir.into(),
            mode,
        });
    }
    Ok(())
}

fn decode_cookie_key(text: &SecretString) -> Result<secrecy::SecretSlice<u8>, KeyError> {
    let bytes = STANDARD
        .decode(text.expose_secret().trim())
        .map_err(|_| KeyError::BadCookieKey)?;
    if bytes.len() < COOKIE_KEY_BYTES {
        return Err(KeyError::BadCookieKey);
    }
    Ok(bytes.into())
}

/// Reads a secret file, or creates it with mode 600 from `make` if it does not exist.
fn read_or_create(
    path: &Path,
    make: impl FnOnce() -> Result<SecretString, KeyError>,
) -> Result<SecretString, KeyError> {
    let file_error = |source| KeyError::File {
        path: path.into(),
        source,
    };
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen {
                    path: path.into(),
                    mode,
                });
            }
            let text = fs::read_to_string(path).map_err(file_error)?;
            Ok(SecretString::from(text.trim().to_owned()))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let secret = make()?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(file_error)?;
            file.write_all(secret.expose_secret().as_bytes())
                .map_err(file_error)?;
            Ok(secret)
        }
        Err(err) => Err(file_error(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wikiscriptsync_core::store::UserId;
    use wikiscriptsync_core::vault::CredentialOwner;

    const OWNER: CredentialOwner<'static> = CredentialOwner {
        user: UserId(1),
        wiki: "en.wikipedia.org",
    };

    /// A temporary directory that is the owner's only, as a data directory must be.
    fn owner_only_tempdir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn development_keys_are_generated_once_with_mode_600_and_reused() {
        let dir = owner_only_tempdir();
        let first = Keys::load_or_generate(dir.path()).unwrap();
        for name in ["cookie.key", "credential.key"] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        let second = Keys::load_or_generate(dir.path()).unwrap();
        assert_eq!(first.cookie.expose_secret(), second.cookie.expose_secret());
        let token = first
            .vault
            .encrypt(OWNER, &SecretString::from("pw".to_owned()));
        assert_eq!(
            second.vault.decrypt(OWNER, &token).unwrap().expose_secret(),
            "pw"
        );
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = owner_only_tempdir();
        Keys::load_or_generate(dir.path()).unwrap();
        let path = dir.path().join("cookie.key");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keys::load_or_generate(dir.path()).unwrap_err();
        assert!(
            matches!(err, KeyError::TooOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn an_existing_data_directory_open_to_others_is_refused_on_every_start() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        Keys::load_or_generate(&dir).unwrap();
        let mode = |dir: &Path| fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "made owner-only");
        for loose in [0o755, 0o750, 0o701] {
            fs::set_permissions(&dir, fs::Permissions::from_mode(loose)).unwrap();
            let err = Keys::load_or_generate(&dir).unwrap_err();
            assert!(
                matches!(err, KeyError::DirectoryTooOpen { mode, .. } if mode == loose),
                "{err}"
            );
            assert!(err.to_string().contains("chmod 700"), "{err}");
        }
        // A directory made by hand (not by us) is checked as well.
        let by_hand = parent.path().join("by-hand");
        fs::create_dir(&by_hand).unwrap();
        fs::set_permissions(&by_hand, fs::Permissions::from_mode(0o775)).unwrap();
        assert!(matches!(
            Keys::load_or_generate(&by_hand),
            Err(KeyError::DirectoryTooOpen { mode: 0o775, .. })
        ));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(Keys::load_or_generate(&dir).is_ok());
    }

    #[test]
    fn configured_credential_keys_win_over_the_generated_file() {
        let dir = owner_only_tempdir();
        let configured = Vault::generate_key();
        let keys = Keys::load_or_generate_with(dir.path(), Some(&configured)).unwrap();
        let token = keys
            .vault
            .encrypt(OWNER, &SecretString::from("pw".to_owned()));
        let by_configured = Vault::from_key_list(&configured).unwrap();
        assert_eq!(
            by_configured
                .decrypt(OWNER, &token)
                .unwrap()
                .expose_secret(),
            "pw"
        );
        let from_file = Keys::load_or_generate(dir.path()).unwrap();
        assert!(from_file.vault.decrypt(OWNER, &token).is_err());
    }

    #[test]
    fn production_keys_come_from_the_settings() {
        let cookie = STANDARD.encode([7u8; COOKIE_KEY_BYTES]);
        let key = Vault::generate_key();
        let settings = Settings::from_lookup(|name| match name {
            "WIKISCRIPTSYNC_COOKIE_KEY" => Some(cookie.clone()),
            "CREDENTIAL_ENCRYPTION_KEY" => Some(key.expose_secret().to_owned()),
            _ => None,
        })
        .unwrap();
        let keys = Keys::from_settings(&settings).unwrap();
        assert_eq!(keys.cookie.expose_secret(), &[7u8; COOKIE_KEY_BYTES][..]);
        let without = Settings::from_lookup(|_| None).unwrap();
        assert!(matches!(
            Keys::from_settings(&without),
            Err(KeyError::BadCookieKey)
        ));
    }

    #[test]
    fn a_short_cookie_key_is_refused() {
        let short = SecretString::from(STANDARD.encode([1u8; 32]));
        assert!(matches!(
            decode_cookie_key(&short),
            Err(KeyError::BadCookieKey)
        ));
    }
}
