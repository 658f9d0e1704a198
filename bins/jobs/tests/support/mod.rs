//! Shared by the `wikiscriptsync-jobs` binary tests: a throw-away database (a SQLite temp
//! file, or a MariaDB database created for the test and dropped afterwards), the binary's
//! command line with a clean environment, and readers for its one-line summaries.
// Each test file uses only part of this module.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_wikiscriptsync-jobs");
use wikiscriptsync_store::testkit::MARIADB_ENV;
/// A database for one test (SQLite, or MariaDB dropped when the test ends).
pub use wikiscriptsync_store::testkit::TestDatabase;

/// A new empty MariaDB database on the server named by `WIKISCRIPTSYNC_TEST_MARIADB_URL` (dropped when the test ends),
/// or `None` after printing `skipped: ...`; a failure when `CI` is set.
pub async fn mariadb() -> Option<TestDatabase> {
    TestDatabase::mariadb_from(
        std::env::var(MARIADB_ENV).ok(),
        std::env::var_os("CI").is_some(),
    )
    .await
}

/// The binary with `args`, an empty environment but for `PATH`, a contact, the database and
/// the extra (fake) wiki hosts; logs at `warn`.
pub fn jobs_command(args: &[&str], database_url: &str, wiki_hosts: &[String]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/tests")
        .env("WIKISCRIPTSYNC_DATABASE_URL", database_url)
        .env("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", wiki_hosts.join(","))
        .env("RUST_LOG", "warn");
    command
}

/// Runs a command to its end without blocking the runtime.
pub async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run the binary"))
        .await
        .expect("the blocking task")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The numbers, in order, on the first line of standard output starting with `prefix`
/// (e.g. `check-wiki-updates: 120 pages on 2 wikis checked (0 unchanged, ...)`).
pub fn summary_numbers(output: &Output, prefix: &str) -> Vec<u64> {
    let text = stdout(output);
    let line = text
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {text:?}"));
    line[prefix.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().expect("digits"))
        .collect()
}

/// A TCP proxy in front of a fake server, to prove that two processes worked at the same time.
///
/// It holds every connection's first request until requests from `parties` different
/// `User-Agent`s are held at once ([`Meeting::Met`]: each process had claimed work and a request
/// out at that moment), or until a process ends ([`Rendezvous::ended`]; then none of the
/// others' requests had got through yet, so the others could not have finished their work), or
/// until a held client hangs up (its timeout: the parties cannot meet). Give each process its
/// own contact (it is part of the User-Agent).
pub struct Rendezvous {
    uri: String,
    shared: std::sync::Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

/// Where a [`Rendezvous`] stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meeting {
    /// Holding requests until every party has one held.
    Waiting,
    /// Every party had a request held at once.
    Met,
    /// The process with this contact ended first, before any other party's request got
    /// through.
    Ended(String),
    /// A held client hung up (its timeout) before the parties met.
    HungUp,
}

struct Shared {
    parties: usize,
    state: tokio::sync::watch::Sender<Meeting>,
    /// Requests held right now, per User-Agent.
    held: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl Shared {
    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves from `Waiting` to `outcome`; later outcomes never replace the first.
    fn settle(&self, outcome: Meeting) {
        self.state.send_if_modified(|state| {
            let waiting = *state == Meeting::Waiting;
            if waiting {
                *state = outcome;
            }
            waiting
        });
    }
}

impl Rendezvous {
    /// Listens on loopback, forwarding to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str, parties: usize) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the rendezvous proxy");
        let uri = format!("http://{}", listener.local_addr().expect("its address"));
        let shared = std::sync::Arc::new(Shared {
            parties,
            state: tokio::sync::watch::Sender::new(Meeting::Waiting),
            held: std::sync::Mutex::default(),
        });
        let accept = {
            let shared = std::sync::Arc::clone(&shared);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (upstream, shared) = (upstream.clone(), std::sync::Arc::clone(&shared));
                    tokio::spawn(async move {
                        let _ = forward(client, &upstream, &shared).await;
                    });
                }
            })
        };
        Self {
            uri,
            shared,
            accept,
        }
    }

    /// `http://127.0.0.1:<port>`: use it as the API URL instead of the fake's.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The process with this contact has ended: unless the parties met already, held and
    /// later requests are let through, and the outcome names it.
    pub fn ended(&self, contact: &str) {
        self.shared.settle(Meeting::Ended(contact.to_owned()));
    }

    /// The outcome so far.
    pub fn meeting(&self) -> Meeting {
        self.shared.state.borrow().clone()
    }
}

impl Drop for Rendezvous {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Counts a request as held while it lives.
struct Held<'a> {
    shared: &'a Shared,
    agent: String,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.shared.held().get_mut(&self.agent) {
            *n = n.saturating_sub(1);
        }
    }
}

/// One proxied connection: read its first request head, hold it until the rendezvous is
/// settled, then pass bytes both ways.
async fn forward(
    mut client: tokio::net::TcpStream,
    upstream: &str,
    shared: &Shared,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let mut head = Vec::new();
    let mut chunk = [0_u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let agent = String::from_utf8_lossy(&head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("user-agent")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let mut changes = shared.state.subscribe();
    let held = {
        let mut held = shared.held();
        *held.entry(agent.clone()).or_default() += 1;
        if held.values().filter(|n| **n > 0).count() >= shared.parties {
            shared.settle(Meeting::Met);
        }
        Held { shared, agent }
    };
    // Wait until settled; a client that hangs up meanwhile (its timeout) settles it, so a run
    // where the parties cannot meet fails after one timeout, not one per request.
    let mut probe = [0_u8; 1];
    let hung_up = tokio::select! {
        _ = changes.wait_for(|state| *state != Meeting::Waiting) => false,
        sent = client.peek(&mut probe) => matches!(sent, Ok(0) | Err(_)),
    };
    if hung_up {
        drop(held);
        shared.settle(Meeting::HungUp);
        return Ok(());
    }
    // Settled, or more bytes came (a request body): then wait for the settlement only.
    if changes
        .wait_for(|state| *state != Meeting::Waiting)
        .await
        .is_err()
    {
        return Ok(());
    }
    drop(held);
    let mut server = tokio::net::TcpStream::connect(upstream).await?;
    server.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
