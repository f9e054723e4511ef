//! Files and folders the host creates hold tenants' data, secrets and keys: they are made
//! readable by the host's user only (folders 0700, files 0600), whatever the umask says.
//! SQLite gives a database's `-wal` and `-shm` files the database file's own mode.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `path` and its missing parents as 0700 folders (existing ones are left alone).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// Writes `bytes` to a new file at `path`, readable by the host's user only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Creates an empty file at `path`, readable by the host's user only, unless one exists: a
/// SQLite database about to be opened, so that SQLite does not create it with the umask's mode.
pub fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_files_and_folders_are_private() {
        let root = std::env::temp_dir().join(format!("fitz-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("a/b");
        super::create_private_dir(&dir).expect("dir");
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        super::ensure_private_file(&dir.join("x.db")).expect("file");
        super::ensure_private_file(&dir.join("x.db")).expect("again: left alone");
        assert_eq!(mode(&dir.join("x.db")), 0o600);
        super::write_private(&dir.join("k"), b"key").expect("write");
        assert_eq!(mode(&dir.join("k")), 0o600);
        assert!(super::write_private(&dir.join("k"), b"other").is_err(), "never overwrites");
        let _ = std::fs::remove_dir_all(&root);
    }
}
