//! `gonogo pull`: make the operator's own layout file the layout the
//! journal pins. Commands from the pinned layout run only when the
//! operator's trusted copy holds them; after an owner adopts a change,
//! this is how a teammate takes it, having read the diff it prints.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{Error, journal_path, load_layout, out};
use crate::session::Session;

pub(super) fn run(file: &Path, journal: Option<&Path>) -> Result<i32, Error> {
    let layout = load_layout(file)?;
    let at = journal_path(&layout, journal);
    let session = Session::open_read_only(layout.clone(), journal)
        .map_err(Error::reading)?
        .ok_or_else(|| Error::NoJournal(at))?;
    let Some(pinned) = &session.state.pinned else {
        return Err(Error::Refused(format!(
            "gonogo: the journal pins no layout; {} is what runs",
            file.display()
        )));
    };
    let short = &pinned.digest[..12.min(pinned.digest.len())];
    if pinned.digest == layout.digest() {
        out::line(&format!(
            "gonogo: {} is the pinned layout already (sha256 {short}…)",
            file.display()
        ));
        return Ok(0);
    }
    let diff = similar::TextDiff::from_lines(&*layout.source, &*pinned.text)
        .unified_diff()
        .context_radius(2)
        .header("yours", "pinned")
        .to_string();
    // Beside the real file (the one the trust check covered), then renamed
    // over it: a reader never sees half a layout, and a symlink stays one.
    let real = std::fs::canonicalize(file).map_err(|e| write_error(file, &e))?;
    let dir = real.parent().unwrap_or(Path::new("/"));
    let mode = std::fs::metadata(&real)
        .map_err(|e| write_error(file, &e))?
        .permissions()
        .mode()
        & 0o755;
    let tmp = dir.join(format!(
        ".{}.pull-{}",
        real.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(pinned.text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, &real));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(file, &e));
    }
    out::block(&crate::text::clean(&diff));
    out::line(&format!(
        "gonogo: {} now holds the pinned layout (sha256 {short}…, pinned by {} at {})",
        file.display(),
        pinned.by,
        pinned.at.format("%Y-%m-%d %H:%M:%SZ")
    ));
    Ok(0)
}

fn write_error(file: &Path, e: &std::io::Error) -> Error {
    Error::Refused(format!("gonogo: cannot write {}: {e}", file.display()))
}
