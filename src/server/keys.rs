//! API keys and roles.
//!
//! A key's secret is shown once, when it is made, and only its SHA-256 is
//! stored: the keys file can be read or backed up without giving anyone
//! access. Secrets are 192 random bits, so a plain hash is as good as a
//! slow password hash here, and lets every request be checked in
//! microseconds.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a key may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Searches by photo and by text.
    Officer,
    /// Also reads whole records and the audit log.
    Expert,
    /// Also creates, changes and deletes records.
    Curator,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "officer" => Some(Role::Officer),
            "expert" => Some(Role::Expert),
            "curator" => Some(Role::Curator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Expert => "expert",
            Role::Curator => "curator",
            Role::Admin => "admin",
        }
    }

    /// Requests per minute when the key does not say (0: unlimited).
    pub fn default_rate(self) -> u32 {
        match self {
            Role::Officer => 60,
            Role::Expert => 120,
            Role::Curator => 600,
            Role::Admin => 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyEntry {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
    pub created: String,
    /// Requests per minute; 0 means unlimited.
    pub rate_per_minute: u32,
    /// Keep every photo this key searches as a sighting (a border post's
    /// searches, a market crawler's), as if each asked `keep=true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_searches: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    pub keys: Vec<KeyEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a keys file: {message}")]
    Format { path: PathBuf, message: String },
    #[error("a key named {0:?} already exists")]
    Duplicate(String),
    #[error(
        "a key name must be 1 to 100 characters: letters and digits of any script, ASCII punctuation and spaces"
    )]
    BadName,
}

pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_secret() -> Result<String, KeyError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Io {
        path: PathBuf::from("(random source)"),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!(
        "prov_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

impl KeyFile {
    /// Reads the file; a missing file is an empty set of keys.
    pub fn load(path: &Path) -> Result<KeyFile, KeyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KeyFile::default()),
            Err(source) => {
                return Err(KeyError::Io {
                    path: path.into(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|e| KeyError::Format {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// Adds a key and saves the file, in one write: a server reloading the
    /// file never sees the key without its settings. Returns the secret,
    /// which exists nowhere else from then on.
    pub fn add(
        path: &Path,
        name: &str,
        role: Role,
        rate_per_minute: Option<u32>,
        keep_searches: bool,
    ) -> Result<(String, KeyEntry), KeyError> {
        let name = name.trim();
        // Characters, not bytes: letters and digits of any script, ASCII
        // punctuation and spaces; nothing that prints as nothing or turns
        // the text around (format characters, combining marks, separators,
        // fillers), so that two names never look alike in a log.
        let allowed = |c: char| {
            (c.is_alphanumeric() && !matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'))
                || c.is_ascii_graphic()
                || c == ' '
        };
        if name.is_empty() || name.chars().count() > 100 || !name.chars().all(allowed) {
            return Err(KeyError::BadName);
        }
        let mut file = KeyFile::load(path)?;
        if file.keys.iter().any(|k| k.name == name) {
            return Err(KeyError::Duplicate(name.into()));
        }
        let secret = new_secret()?;
        let entry = KeyEntry {
            name: name.into(),
            role,
            sha256: hash_secret(&secret),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            rate_per_minute: rate_per_minute.unwrap_or(role.default_rate()),
            keep_searches,
        };
        file.version = 1;
        file.keys.push(entry.clone());
        file.save(path)?;
        Ok((secret, entry))
    }

    fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let json = serde_json::to_vec_pretty(self).expect("keys serialise");
        crate::paths::write_atomic(path, &json).map_err(io)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)
    }
}

/// The keys a server checks requests against, by hash.
#[derive(Debug, Default)]
pub struct KeySet {
    by_hash: HashMap<String, KeyEntry>,
}

impl KeySet {
    pub fn new(file: KeyFile) -> KeySet {
        KeySet {
            by_hash: file
                .keys
                .into_iter()
                .map(|k| (k.sha256.clone(), k))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn find(&self, secret: &str) -> Option<&KeyEntry> {
        self.by_hash.get(&hash_secret(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_checked_by_hash_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (secret, entry) = KeyFile::add(&path, "post-7", Role::Officer, None, false).unwrap();
        let stored = std::fs::read_to_string(&path).unwrap();
        assert!(!stored.contains(&secret), "the secret must not be stored");
        assert_eq!(entry.rate_per_minute, 60);
        let set = KeySet::new(KeyFile::load(&path).unwrap());
        assert_eq!(set.find(&secret).unwrap().name, "post-7");
        assert!(set.find("prov_wrong").is_none());
        assert!(matches!(
            KeyFile::add(&path, "post-7", Role::Expert, None, false),
            Err(KeyError::Duplicate(_))
        ));
        assert!(Role::Curator > Role::Expert && Role::Expert > Role::Officer);
        // 100 characters of two bytes each; not a name that looks like another.
        assert!(KeyFile::add(&path, &"Σ".repeat(100), Role::Officer, None, false).is_ok());
        for bad in [
            "post\u{200B}-7",
            "\u{202E}7-tsop",
            "a\u{061C}b",
            "a\u{2028}b",
            "a\u{3164}b",
            "a\u{E0041}b",
            "a\u{034F}b",
            "",
            &"Σ".repeat(101),
        ] {
            let r = KeyFile::add(&path, bad, Role::Officer, None, false);
            assert!(matches!(r, Err(KeyError::BadName)), "{bad:?}");
        }
    }

    /// The key is written once, with its settings: a server reloading the
    /// file between two writes kept a crawler's key that kept nothing.
    #[test]
    fn a_key_is_saved_with_its_settings_in_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (secret, _) = KeyFile::add(&path, "crawler", Role::Officer, None, true).unwrap();
        let set = KeySet::new(KeyFile::load(&path).unwrap());
        assert!(set.find(&secret).unwrap().keep_searches);
    }
}
