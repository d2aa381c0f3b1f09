use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir for one fixture's files (configs, pid files,
/// sockets, logs), removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `tag` shows in the name, for a reader looking at leftovers; keep it short, since unix
    /// socket paths inside are limited to 107 bytes.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("ftk-{}-{tag}", crate::unique_suffix()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of `name` inside, as a string for command lines.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
