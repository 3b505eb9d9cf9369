//! A throwaway PostgreSQL cluster for the team-journal tests: `initdb`
//! into a temp dir, `pg_ctl` on a free port on 127.0.0.1, as the
//! unprivileged `postgres` user when the tests run as root (PostgreSQL
//! refuses root), and gone at the end.
//!
//! One cluster serves every test of the process (`util::pg_shared`); each test
//! takes a database of its own ([`Cluster::database`]). A test that stops
//! and starts the server has a cluster of its own ([`Cluster::start`]).
//! Each cluster has a watchdog process that stops it and removes its
//! directory once the test process is gone, however it ended (a statics'
//! destructor never runs, and a killed test runs nothing).
//!
//! Clients connect over TCP as `gonogo` with a password (scram-sha-256),
//! as a team's operators would: each database's gonogo schema is set up
//! by `launch_owner` (`gonogo journal setup`), which grants `gonogo` an
//! operator's rights (`gonogo journal grant`) and nothing more. The
//! superuser `postgres` is reached by the local socket, which trusts it.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The password of the `gonogo` role.
pub const PASSWORD: &str = "launch-day-pw";

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    /// `postgres` when the tests run as root.
    run_as: Option<&'static str>,
}

/// The PostgreSQL programs' directory, if PostgreSQL is installed.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("pg_ctl").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Cluster {
    /// A new cluster of its own, running; `None` when PostgreSQL is not
    /// installed.
    pub fn start() -> Option<Cluster> {
        let bin = bin_dir()?;
        let root = nix::unistd::geteuid().is_root();
        let run_as = root.then_some("postgres");
        let dir = tempfile::Builder::new()
            .prefix("gonogo-pg-")
            .tempdir()
            .expect("a temp dir")
            .keep();
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let c = Cluster {
            dir,
            bin,
            port: free_port(),
            run_as,
        };
        let pwfile = c.dir.join("pw");
        std::fs::write(&pwfile, "unused\n").unwrap();
        if root {
            Command::new("chown")
                .arg("postgres")
                .arg(&pwfile)
                .status()
                .unwrap();
        }
        c.pg("initdb")
            .arg("-D")
            .arg(c.data())
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .stdout(Stdio::null())
            .run("initdb");
        c.watchdog();
        c.start_server();
        c.admin(
            "postgres",
            &format!("CREATE ROLE gonogo LOGIN PASSWORD '{PASSWORD}'"),
        );
        c.admin(
            "postgres",
            &format!("CREATE ROLE launch_owner LOGIN PASSWORD '{PASSWORD}'"),
        );
        Some(c)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A PostgreSQL program, as the user the cluster runs as.
    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start_server(&self) {
        self.pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                self.port,
                self.dir.display()
            ))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "30", "start"])
            .stdout(Stdio::null())
            .run("pg_ctl start");
    }

    /// Stops the server at once (`immediate`: as a crash or a cut cable
    /// looks to its clients).
    pub fn stop_server(&self) {
        self.pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .run("pg_ctl stop");
    }

    /// Turns TLS on with this certificate and key (PEM), without a
    /// restart.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) {
        let (cert, key) = (
            self.data().join("server.crt"),
            self.data().join("server.key"),
        );
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        if let Some(user) = self.run_as {
            Command::new("chown")
                .arg(user)
                .arg(&cert)
                .arg(&key)
                .run("chown the certificate");
        }
        self.admin("postgres", "ALTER SYSTEM SET ssl = 'on'");
        self.admin("postgres", "SELECT pg_reload_conf()");
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server and all its
    /// backends: a database that stops answering without closing
    /// anything, as across a cut network.
    pub fn freeze(&self, frozen: bool) {
        let Some(postmaster) = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()
            .and_then(|f| f.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
        else {
            return;
        };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let ppid = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
        let signal = if frozen {
            nix::sys::signal::Signal::SIGSTOP
        } else {
            nix::sys::signal::Signal::SIGCONT
        };
        for pid in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }

    /// Stops the server and removes the cluster once this process is gone.
    fn watchdog(&self) {
        let stop = format!(
            "{} -D {} -m immediate stop",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        );
        let stop = match self.run_as {
            Some(user) => format!("runuser -u {user} -- {stop}"),
            None => stop,
        };
        // A server a test froze (SIGSTOP) is thawed first, or it would
        // never hear the stop.
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             p=$(head -n 1 '{data}/postmaster.pid' 2>/dev/null) && \
             {{ kill -CONT \"$p\"; pkill -CONT -P \"$p\"; }} 2>/dev/null; \
             {stop} >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data().display(),
            dir = self.dir.display()
        );
        // `setsid -f` forks it off in a session of its own and returns.
        let started = Command::new("setsid")
            .args(["-f", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the cluster's watchdog");
        assert!(started.success(), "the cluster's watchdog did not start");
    }

    /// `psql`, quiet, unaligned, stopping at the first error.
    fn psql(&self) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        c
    }

    /// Runs `sql` as whoever `url` logs in as (an operator attacking the
    /// journal, say); what psql did, failures included.
    pub fn psql_at(&self, url: &str, sql: &str) -> std::process::Output {
        self.psql().args([url, "-c", sql]).output().expect("psql")
    }

    /// Runs `sql` as the superuser in database `db`; its output.
    pub fn admin(&self, db: &str, sql: &str) -> String {
        let out = self
            .psql()
            .args(["-U", "postgres", "-h"])
            .arg(&self.dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", db, "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new database whose gonogo schema `launch_owner` set up, and on
    /// which `gonogo` is an operator; its URL as `gonogo` (the password in
    /// it).
    pub fn database(&self) -> String {
        let url = self.bare_database();
        let owner = self.owner_url(db_of(&url));
        let at = gonogo::journal::Location::parse(std::path::Path::new(&owner));
        gonogo::journal::Journal::setup(&at).expect("journal setup");
        gonogo::journal::Journal::grant(&at, "gonogo").expect("journal grant");
        url
    }

    /// The URL of database `db` as the owner of its gonogo schema.
    pub fn owner_url(&self, db: &str) -> String {
        format!(
            "postgres://launch_owner:{PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    /// A new database with no gonogo schema, owned by `launch_owner`;
    /// its URL as `gonogo`.
    pub fn bare_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.admin(
            "postgres",
            &format!("CREATE DATABASE {name} OWNER launch_owner"),
        );
        self.url(&name)
    }

    /// The URL of database `db` as `gonogo`, with its password.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://gonogo:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of database `db` as `gonogo`, without a password.
    pub fn url_without_password(&self, db: &str) -> String {
        format!("postgres://gonogo@127.0.0.1:{}/{db}", self.port)
    }
}

/// The database name in a URL this module made.
pub fn db_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A test that failed while the server was frozen.
        self.freeze(false);
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

trait Run {
    fn run(&mut self, what: &str);
}

impl Run for Command {
    fn run(&mut self, what: &str) {
        let out = self.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
