//! Only trusted layouts run (SPEC §5).
//!
//! A layout runs commands — command signals, `on_enter`, the rollback — as
//! whoever runs gonogo. Whoever can change the file, or swap it by writing
//! to a directory above it, can therefore run commands as the operator. So,
//! like OpenSSH's `StrictModes` for `authorized_keys`, a layout is refused
//! unless the file and every directory above it, up to `/`, are owned by
//! root or the operator (the effective uid) and writable by nobody else. A
//! directory with the sticky bit (`/tmp`, mode 1777) may be writable by all:
//! there, others can add entries but cannot rename or remove ours.
//!
//! The check is on the file actually read. It is opened once; its owner and
//! mode come from the open descriptor (`fstat`); its real path (the kernel's
//! name for that descriptor, `/proc/self/fd/N`, checked against the
//! descriptor's device and inode) gives the directories to check; and the
//! text is read from that same descriptor. A symlink cannot point the check
//! at one file and the read at another, and swapping the file after the
//! check changes nothing that is read.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::LoadError;

/// The largest layout read. A launch plan with 10,000 signals is about
/// 1.5 MiB; a bigger file is a mistake (a log, a dump) and would only make
/// the operator wait.
pub const MAX_LAYOUT_BYTES: usize = 4 * 1024 * 1024;

/// A layout that someone other than root or the operator can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The layout as given on the command line.
    pub layout: PathBuf,
    /// What is unsafe: the layout's real path, or a directory above it.
    pub path: PathBuf,
    /// Whether `path` is a directory above the layout (else the file itself).
    pub is_dir: bool,
    pub problem: Problem,
    /// Who runs gonogo: whose commands the layout would run.
    pub user: Account,
}

/// Why a file or directory is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Owned by someone other than root or the operator.
    Owner(Account),
    /// Writable by its group and/or by others; the permission bits.
    Writable { mode: u32 },
}

/// A user id and, when the system knows it, the user's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub name: Option<String>,
}

impl Account {
    pub fn of(uid: u32) -> Account {
        let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name);
        Account { uid, name }
    }

    /// The operator: the effective uid.
    pub fn operator() -> Account {
        Account::of(nix::unistd::geteuid().as_raw())
    }

    /// `alice`, or `uid 1001` when the name is unknown.
    fn short(&self) -> String {
        match &self.name {
            Some(n) => shown(n),
            None => format!("uid {}", self.uid),
        }
    }
}

impl fmt::Display for Account {
    /// `alice (uid 1000)`, or `uid 1000` when the name is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} (uid {})", shown(n), self.uid),
            None => write!(f, "uid {}", self.uid),
        }
    }
}

impl fmt::Display for Untrusted {
    /// One line: the layout, what is unsafe and why it matters, the fix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.is_dir {
            format!("directory {}", shown_path(&self.path))
        } else {
            format!("the file {}", shown_path(&self.path))
        };
        let user = self.user.short();
        let change = if self.is_dir {
            format!("swap in a layout that runs commands as {user}")
        } else {
            format!("change the commands it runs as {user}")
        };
        let target = shell_word(&self.path);
        let (problem, fix) = match &self.problem {
            Problem::Owner(owner) => {
                let copy = if self.is_dir {
                    "copy the layout into a directory you own"
                } else {
                    "copy it into a directory you own"
                };
                (
                    format!("is owned by {owner}, who could {change}"),
                    format!("`chown root {target}` or {copy}"),
                )
            }
            Problem::Writable { mode } => {
                let (by, who) = match (mode & 0o020 != 0, mode & 0o002 != 0) {
                    (true, true) => ("writable by group and others", "go"),
                    (true, false) => ("group-writable", "g"),
                    _ => ("world-writable", "o"),
                };
                (
                    format!("is {by} (mode {mode:04o}), so others could {change}"),
                    format!("`chmod {who}-w {target}`"),
                )
            }
        };
        write!(
            f,
            "{}: refusing an untrusted layout: {what} {problem}; fix: {fix}",
            shown_path(&self.layout)
        )
    }
}

/// A trusted layout's text, and the real path of the file it was read from.
#[derive(Debug, Clone)]
pub struct Trusted {
    pub text: String,
    pub real_path: PathBuf,
}

/// Reads the layout at `path` if it is trusted (see the module header).
pub fn read(path: &Path) -> Result<Trusted, LoadError> {
    let io_error = |e: io::Error| LoadError::Io(path.to_path_buf(), e);
    // Non-blocking, so a FIFO put in the layout's place cannot hang the open;
    // it is refused below as not a regular file.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let real = real_path(&file, path, &meta).map_err(io_error)?;
    check(path, &real, &meta)?;
    if meta.len() > MAX_LAYOUT_BYTES as u64 {
        return Err(io_error(too_large()));
    }
    let mut text = String::new();
    (&file)
        .take(MAX_LAYOUT_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(io_error)?;
    if text.len() > MAX_LAYOUT_BYTES {
        return Err(io_error(too_large()));
    }
    Ok(Trusted {
        text,
        real_path: real,
    })
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "larger than {} MiB, too big for a layout",
            MAX_LAYOUT_BYTES / (1024 * 1024)
        ),
    )
}

/// The real path of the open file: the kernel's name for the descriptor,
/// or else the canonical form of the path given — either way checked to be
/// the very file that is open.
fn real_path(file: &File, given: &Path, meta: &Metadata) -> io::Result<PathBuf> {
    let same = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    };
    if let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        && p.is_absolute()
        && same(&p)
    {
        return Ok(p);
    }
    let p = std::fs::canonicalize(given)?;
    if same(&p) {
        Ok(p)
    } else {
        Err(io::Error::other(
            "the file was replaced while it was being opened; try again",
        ))
    }
}

/// The first thing that makes the layout untrusted: the file itself, then
/// each directory above it, nearest first.
fn check(layout: &Path, real: &Path, meta: &Metadata) -> Result<(), LoadError> {
    let euid = nix::unistd::geteuid().as_raw();
    let refuse = |path: &Path, is_dir: bool, problem: Problem| {
        LoadError::Untrusted(Box::new(Untrusted {
            layout: layout.to_path_buf(),
            path: path.to_path_buf(),
            is_dir,
            problem,
            user: Account::of(euid),
        }))
    };
    if let Some(problem) = judge(meta, euid, false) {
        return Err(refuse(real, false, problem));
    }
    for dir in real.ancestors().skip(1) {
        let m = std::fs::metadata(dir).map_err(|e| {
            LoadError::Io(
                layout.to_path_buf(),
                io::Error::new(e.kind(), format!("{}: {e}", dir.display())),
            )
        })?;
        if let Some(problem) = judge(&m, euid, true) {
            return Err(refuse(dir, true, problem));
        }
    }
    Ok(())
}

fn judge(meta: &Metadata, euid: u32, is_dir: bool) -> Option<Problem> {
    let owner = meta.uid();
    if owner != 0 && owner != euid {
        return Some(Problem::Owner(Account::of(owner)));
    }
    let mode = meta.mode() & 0o7777;
    let sticky = is_dir && mode & 0o1000 != 0;
    (mode & 0o022 != 0 && !sticky).then_some(Problem::Writable { mode })
}

/// A name with control characters escaped, so the refusal stays one line.
fn shown(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn shown_path(p: &Path) -> String {
    shown(&p.to_string_lossy())
}

/// A path as a shell word: as is when it is plain, else single-quoted.
fn shell_word(p: &Path) -> String {
    let s = shown_path(p);
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ','))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn untrusted(path: &str, is_dir: bool, problem: Problem) -> String {
        Untrusted {
            layout: PathBuf::from("launch.toml"),
            path: PathBuf::from(path),
            is_dir,
            problem,
            user: Account {
                uid: 1000,
                name: Some("alice".into()),
            },
        }
        .to_string()
    }

    #[test]
    fn each_refusal_reads_as_one_line_with_its_fix() {
        assert_eq!(
            untrusted("/srv/launch", true, Problem::Writable { mode: 0o777 }),
            "launch.toml: refusing an untrusted layout: directory /srv/launch is writable by group and others (mode 0777), so others could swap in a layout that runs commands as alice; fix: `chmod go-w /srv/launch`"
        );
        assert_eq!(
            untrusted(
                "/srv/launch/x.toml",
                false,
                Problem::Writable { mode: 0o664 }
            ),
            "launch.toml: refusing an untrusted layout: the file /srv/launch/x.toml is group-writable (mode 0664), so others could change the commands it runs as alice; fix: `chmod g-w /srv/launch/x.toml`"
        );
        assert_eq!(
            untrusted(
                "/srv/launch/x.toml",
                false,
                Problem::Owner(Account {
                    uid: 1001,
                    name: Some("bob".into())
                })
            ),
            "launch.toml: refusing an untrusted layout: the file /srv/launch/x.toml is owned by bob (uid 1001), who could change the commands it runs as alice; fix: `chown root /srv/launch/x.toml` or copy it into a directory you own"
        );
        assert_eq!(
            untrusted(
                "/srv",
                true,
                Problem::Owner(Account {
                    uid: 1001,
                    name: None
                })
            ),
            "launch.toml: refusing an untrusted layout: directory /srv is owned by uid 1001, who could swap in a layout that runs commands as alice; fix: `chown root /srv` or copy the layout into a directory you own"
        );
    }

    #[test]
    fn odd_paths_stay_on_one_line_and_quoted_for_the_shell() {
        let line = untrusted("/srv/it's\nhere", true, Problem::Writable { mode: 0o002 });
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.ends_with(r"fix: `chmod o-w '/srv/it'\''s\nhere'`"),
            "{line}"
        );
    }
}
