//! First run: what [`Catalog::bootstrap`](crate::Catalog::bootstrap) reports, and the
//! `<data_dir>/admin.key` file through which the CLI on the same machine finds the admin API key.
//!
//! The file holds the token followed by a line feed. It is written (mode 0600 on Unix) only when
//! the admin key is created, before the creating transaction commits; it is never rewritten, so
//! it goes stale if that key is deleted. Anyone who can read it has instance-wide access.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use weir_auth::{ApiKey, WriteKey};

use crate::{Connection, Workspace};

/// The admin key file's name inside the data directory.
pub const ADMIN_KEY_FILE: &str = "admin.key";

/// The name of the workspace created on first run.
pub const DEFAULT_WORKSPACE_NAME: &str = "Default";
/// The name of the Webhook source connection created on first run.
pub const DEFAULT_SOURCE_NAME: &str = "Webhook";
/// The name of the instance-wide API key created on first run.
pub const ADMIN_KEY_NAME: &str = "Admin";

/// What a bootstrap found or created.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// Whether this call created the default workspace, source and admin key.
    pub created: bool,
    /// The first source connection (of the oldest workspace that has one) with its oldest write
    /// key: what the server prints at start. `None` only if the user deleted every source.
    pub source: Option<BootstrapSource>,
    /// The admin key, only when just created: its token is shown this once (and is in
    /// [`ADMIN_KEY_FILE`]).
    pub admin_key: Option<ApiKey>,
}

/// A source connection and one of its write keys, to print at start.
#[derive(Debug, Clone)]
pub struct BootstrapSource {
    /// The connection's workspace.
    pub workspace: Workspace,
    /// The source connection.
    pub connection: Connection,
    /// Its oldest write key.
    pub write_key: WriteKey,
}

/// Where the admin key file of `data_dir` is.
pub fn admin_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ADMIN_KEY_FILE)
}

/// Reads the admin key that first run wrote into `data_dir` (for the CLI).
pub fn read_admin_key(data_dir: &Path) -> io::Result<ApiKey> {
    let path = admin_key_path(data_dir);
    let text = fs::read_to_string(&path)?;
    ApiKey::parse(text.trim()).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {error}", path.display()),
        )
    })
}

/// Writes `key` to the admin key file, replacing it atomically, readable by the owner only.
pub(crate) fn write_admin_key(data_dir: &Path, key: &ApiKey) -> io::Result<()> {
    let path = admin_key_path(data_dir);
    let temporary = data_dir.join(format!("{ADMIN_KEY_FILE}.tmp"));
    match fs::remove_file(&temporary) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(key.as_str().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    fs::rename(&temporary, &path)
}
