//! Where a journal lives: a file path, or a `postgres://` URL.

use std::path::{Path, PathBuf};

/// A journal's place, as the operator named it (`--journal`, the layout's
/// `journal =`, or the default path).
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An embedded SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, as a libpq URL written by the operator (it
    /// may name `${VAR}`s, expanded only when connecting).
    Postgres(String),
}

impl Location {
    /// Reads what `--journal` or `journal =` gave: a `postgres://` or
    /// `postgresql://` URL, else a file path.
    pub fn parse(given: &Path) -> Location {
        match given.to_str() {
            Some(s) if is_url(s) => Location::Postgres(s.to_string()),
            _ => Location::File(given.to_path_buf()),
        }
    }

    /// The file, for a SQLite journal.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// So messages written for paths (`{}`, `p.display()`) read alike.
    pub fn display(&self) -> &Self {
        self
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::parse(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::parse(p)
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

/// Whether `s` names a PostgreSQL database rather than a file.
pub fn is_url(s: &str) -> bool {
    let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Whether the URL carries a password as text (not a `${VAR}`), in its
/// user part or as `password=`.
pub fn literal_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let in_user = authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw);
    let in_query = url
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("password=")));
    // Only a single `${VAR}` is not a password written down.
    let variable =
        |pw: &str| pw.starts_with("${") && pw.ends_with('}') && pw.matches("${").count() == 1;
    [in_user, in_query]
        .into_iter()
        .flatten()
        .any(|pw| !(pw.is_empty() || variable(pw)))
}

/// The URL with any password taken out: what messages, the screen and the
/// record show.
pub fn shown(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.to_ascii_lowercase().starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&shown(url)),
        }
    }
}

// Debug too leaves the password out: errors carrying a location are
// printed with `{:?}` in places (panics, test failures, logs).
impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => f.debug_tuple("File").field(p).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_a_database_and_its_password_never_shows() {
        let at = Location::parse(Path::new("postgres://ops:s3cret@db.internal:5433/launch"));
        assert_eq!(at.to_string(), "postgres://ops@db.internal:5433/launch");
        let at = Location::parse(Path::new(
            "postgresql://ops@db/launch?sslmode=require&password=s3cret",
        ));
        assert_eq!(at.to_string(), "postgresql://ops@db/launch?sslmode=require");
        assert!(!format!("{at:?}").contains("s3cret"));
        let at = Location::parse(Path::new("POSTGRES://db/x?password=p"));
        assert_eq!(at.to_string(), "POSTGRES://db/x");
        assert!(literal_password("postgres://ops:s3cret@db/x"));
        assert!(literal_password("postgres://ops@db/x?password=s3cret"));
        assert!(literal_password("postgres://ops:${A}x${B}@db/x"));
        assert!(!literal_password("postgres://ops:${DB_PASSWORD}@db/x"));
        assert!(!literal_password(
            "postgres://ops@db:5432/x?sslmode=require"
        ));
        assert_eq!(
            Location::parse(Path::new("journal.sqlite")),
            Location::File("journal.sqlite".into())
        );
        assert_eq!(
            Location::parse(Path::new("./postgres://x")),
            Location::File("./postgres://x".into())
        );
    }
}
