//! The desktop path: a freedesktop notification over D-Bus (notify-rust),
//! and whether one can work here at all — a session bus that exists, a
//! graphical session to show it, and not an SSH session whose bus belongs
//! to another screen.

use std::path::Path;

use super::message::{FALLBACK_TITLE, MAX_FIELD_CHARS, Notification, Urgency, clean};

/// Whether the desktop path can work here, judged from the environment
/// (`env` looks a variable up, e.g. `|k| std::env::var(k).ok()`):
///
/// - `DBUS_SESSION_BUS_ADDRESS` is set, and one of its addresses is usable:
///   a `unix:path=` whose socket exists, or a transport that cannot be
///   checked without connecting (abstract socket, TCP, …);
/// - a graphical session is there to show it (`WAYLAND_DISPLAY` or
///   `DISPLAY`);
/// - the process is not in an SSH session (`SSH_CONNECTION`, `SSH_CLIENT`,
///   `SSH_TTY`): there the session bus belongs to the remote host, and a
///   notification would pop up on its screen, not the operator's. The
///   terminal path reaches the operator instead.
pub fn desktop_available(env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str| env(k).is_some_and(|v| !v.trim().is_empty());
    if ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"]
        .iter()
        .any(|k| set(k))
    {
        return false;
    }
    if !set("WAYLAND_DISPLAY") && !set("DISPLAY") {
        return false;
    }
    match env("DBUS_SESSION_BUS_ADDRESS") {
        Some(addr) => bus_address_usable(&addr),
        None => false,
    }
}

/// Whether one of the `;`-separated D-Bus server addresses may be reached.
fn bus_address_usable(addr: &str) -> bool {
    addr.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .any(|a| {
            let Some((transport, params)) = a.split_once(':') else {
                return false;
            };
            if transport != "unix" {
                return true;
            }
            let mut path = None;
            let mut other = false;
            for kv in params.split(',') {
                match kv.split_once('=') {
                    Some(("path", v)) => path = Some(unescape_bus_value(v)),
                    Some(("abstract", _)) => other = true,
                    _ => {}
                }
            }
            match path {
                Some(Some(p)) => Path::new(&p).exists(),
                Some(None) => false,
                None => other,
            }
        })
}

/// Decodes a D-Bus address value's `%XX` escapes.
fn unescape_bus_value(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = v.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Shows `n` on the desktop: what the desktop path calls by default.
pub(super) fn show_desktop(n: &Notification) -> Result<(), String> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let mut title = clean(&n.title, MAX_FIELD_CHARS);
        if title.is_empty() {
            title = FALLBACK_TITLE.to_owned();
        }
        // Servers that advertise `body-markup` parse the body as markup.
        let body = clean(&n.body, MAX_FIELD_CHARS)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let (urgency, icon) = match n.urgency {
            Urgency::Normal => (notify_rust::Urgency::Normal, "dialog-information"),
            Urgency::Critical => (notify_rust::Urgency::Critical, "dialog-warning"),
        };
        notify_rust::Notification::new()
            .appname("gonogo")
            .summary(&title)
            .body(&body)
            .icon(icon)
            .urgency(urgency)
            .show()
            .map(drop)
            .map_err(|e| e.to_string())
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        let _ = n;
        Err("desktop notifications go over D-Bus only".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::bus_address_usable;

    #[test]
    fn bus_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("bus");
        std::fs::write(&sock, b"").unwrap();
        let s = sock.display().to_string();
        assert!(bus_address_usable(&format!("unix:path={s}")));
        assert!(bus_address_usable(&format!("unix:path={s},guid=abc")));
        assert!(bus_address_usable(&format!(
            "unix:path=/nonexistent/bus;unix:path={s}"
        )));
        assert!(!bus_address_usable("unix:path=/nonexistent/bus"));
        assert!(bus_address_usable("unix:abstract=/tmp/dbus-x,guid=1"));
        assert!(bus_address_usable("tcp:host=localhost,port=1234"));
        assert!(!bus_address_usable(""));
        assert!(!bus_address_usable("garbage"));
        assert!(!bus_address_usable("unix:path=%zz"));
        let escaped = s.replace('/', "%2f");
        assert!(bus_address_usable(&format!("unix:path={escaped}")));
    }
}
