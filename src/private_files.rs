//! Files that hold citizens' data or say who the agent is (the local store,
//! the config, the log, an export of the outbox) are readable by their owner
//! only: files 0600 and folders 0700, given at creation, so that no other
//! account of a shared front-desk workstation ever sees them, not even for
//! the instant between a create and a chmod. The mode is set on the open
//! handle too, since a umask could only take bits away, never add them.
//!
//! A file found open to others is reported, never silently fixed, by the
//! callers that hold citizens' data (see [`Exposed`]).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Files: read and write for the owner only.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;
/// Folders: the owner only.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parent, each 0700. Folders that already
/// exist are left as they are: they may be an administrator's choice
/// (`GUICHET_HOME` on a managed path), and the files in them are private.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    match builder.create(dir) {
        Ok(()) => set_mode(dir, DirOrFile::Dir),
        // Another process made it meanwhile.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a new file, 0600, for writing; refuses one that exists (an
/// export never overwrites a file the agent may still need).
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    private(&mut options);
    let file = options.open(path)?;
    set_handle_mode(&file)?;
    Ok(file)
}

/// Opens a file for reading and writing, creating it 0600 when missing; an
/// existing file is neither truncated nor changed (the store, lock files).
pub fn open_or_create(path: &Path) -> io::Result<File> {
    match create_new_rw(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path),
        other => other,
    }
}

fn create_new_rw(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    private(&mut options);
    let file = options.open(path)?;
    set_handle_mode(&file)?;
    Ok(file)
}

/// Opens a file to append to, creating it 0600 when missing (the log).
pub fn open_append(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    private(&mut options);
    options.open(path)
}

/// Writes `bytes` to `path` through a new private file and a rename, so
/// that neither a crash nor another account ever sees half a file or a
/// readable one. A temporary file left by a crash is replaced.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    let temporary = PathBuf::from(name);
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = create_new(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    sync_folder(path)
}

/// Writes `bytes` to a new private file (an existing one is refused) and
/// makes it durable, its name included, before returning: a caller may
/// then rely on the file, e.g. to count the actions in it as saved. A
/// file left half written by a failure is removed.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_new(path)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| sync_folder(path));
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Makes a new or renamed name in the folder of `path` durable.
/// Makes a rename or a creation in `path`'s folder durable.
pub fn sync_folder(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The mode of `path` when other accounts may read or write it (any
/// group or other bit), None when it is private or does not exist.
pub fn open_to_others(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                Ok((mode & 0o077 != 0).then_some(mode))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

/// Makes an existing file private (the log, which by its rules holds no
/// personal data, so that nothing is gained by refusing to write it).
pub fn tighten(path: &Path) -> io::Result<()> {
    set_mode(path, DirOrFile::File)
}

/// Files found open to other accounts: what they are, and the command that
/// makes them private. Nothing was read or changed when this is reported.
#[derive(Debug)]
pub struct Exposed {
    /// Each file with its mode.
    pub files: Vec<(PathBuf, u32)>,
}

impl Exposed {
    /// The files among `paths` that are open to others, if any.
    pub fn check(paths: &[PathBuf]) -> io::Result<Option<Exposed>> {
        let mut files = Vec::new();
        for path in paths {
            if let Some(mode) = open_to_others(path)? {
                files.push((path.clone(), mode));
            }
        }
        Ok((!files.is_empty()).then_some(Exposed { files }))
    }

    /// `chmod 600 'PATH' ...`: the fix, ready to paste.
    pub fn fix(&self) -> String {
        let paths: Vec<String> = self.files.iter().map(|(p, _)| shell_quote(p)).collect();
        format!("chmod 600 {}", paths.join(" "))
    }

    /// The files and their modes: `/path/x.db (mode 644), ...`.
    pub fn files_text(&self) -> String {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(path, mode)| format!("{} (mode {mode:03o})", path.display()))
            .collect();
        files.join(", ")
    }
}

impl std::fmt::Display for Exposed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} can be read or changed by other accounts of this computer; nothing was opened \
             or changed. Make it private for your account only, then run the command again: {}",
            self.files_text(),
            self.fix()
        )
    }
}

/// A path as one shell word: quoted unless plainly safe.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[derive(Clone, Copy)]
enum DirOrFile {
    Dir,
    File,
}

/// The creation mode of a private file (umask may only narrow it).
fn private(options: &mut std::fs::OpenOptions) {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, FILE_MODE);
    #[cfg(not(unix))]
    let _ = options;
}

/// Sets the exact mode on a handle just created, before anything is in it.
fn set_handle_mode(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

fn set_mode(path: &Path, kind: DirOrFile) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match kind {
            DirOrFile::Dir => DIR_MODE,
            DirOrFile::File => FILE_MODE,
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, kind);
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_private_from_creation() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a").join("b");
        create_dir(&deep).unwrap();
        assert_eq!((mode(&dir.path().join("a")), mode(&deep)), (0o700, 0o700));
        let file = deep.join("f");
        drop(open_or_create(&file).unwrap());
        assert_eq!(mode(&file), 0o600);
        replace(&deep.join("g"), b"x").unwrap();
        assert_eq!(mode(&deep.join("g")), 0o600);
        assert!(!deep.join("g.tmp").exists());
        assert_eq!(
            create_new(&file).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn a_file_open_to_others_is_named_with_its_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("it's here.db");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let missing = dir.path().join("missing");
        let exposed = Exposed::check(&[file.clone(), missing]).unwrap().unwrap();
        assert_eq!(exposed.files, [(file.clone(), 0o640)]);
        assert!(
            exposed.fix().starts_with("chmod 600 '"),
            "{}",
            exposed.fix()
        );
        assert!(
            exposed.fix().ends_with(r"it'\''s here.db'"),
            "{}",
            exposed.fix()
        );
        assert_eq!(mode(&file), 0o640, "reported, not changed");
        tighten(&file).unwrap();
        assert!(Exposed::check(&[file]).unwrap().is_none());
    }
}
