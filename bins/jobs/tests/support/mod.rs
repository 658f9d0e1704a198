//! Shared by the `wikiscriptsync-jobs` binary tests: a throw-away database (a SQLite temp
//! file, or a MariaDB database created for the test and dropped afterwards), the binary's
//! command line with a clean environment, and readers for its one-line summaries.
// Each test file uses only part of this module.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_wikiscriptsync-jobs");
/// A database for one test (SQLite, or MariaDB dropped when the test ends).
pub use wikiscriptsync_store::testkit::TestDatabase;

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

/// A TCP proxy in front of a fake server that holds every connection's first request until
/// requests from `parties` different `User-Agent`s have arrived, then forwards everything.
///
/// Give each process its own contact (it is part of the User-Agent): when the parties meet,
/// each of those processes had a request outstanding at the same moment, which proves that
/// they worked at the same time. Call [`Rendezvous::give_up`] when a party ends: if they
/// have not met by then they never will, and the held requests are let through so the run
/// ends instead of waiting for the clients' timeouts.
pub struct Rendezvous {
    uri: String,
    state: tokio::sync::watch::Sender<Meeting>,
    accept: tokio::task::JoinHandle<()>,
}

/// Where a [`Rendezvous`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meeting {
    /// Holding requests until every party has one outstanding.
    Waiting,
    /// Every party had a request outstanding at once.
    Met,
    /// Given up before the parties met; requests pass.
    GaveUp,
}

impl Rendezvous {
    /// Listens on loopback, forwarding to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str, parties: usize) -> Self {
        use std::collections::HashSet;
        use std::sync::{Arc, Mutex};

        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the rendezvous proxy");
        let uri = format!("http://{}", listener.local_addr().expect("its address"));
        let state = tokio::sync::watch::Sender::new(Meeting::Waiting);
        let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
        let accept = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (upstream, state, seen) =
                        (upstream.clone(), state.clone(), Arc::clone(&seen));
                    tokio::spawn(async move {
                        let _ = forward(client, &upstream, &state, &seen, parties).await;
                    });
                }
            })
        };
        Self { uri, state, accept }
    }

    /// `http://127.0.0.1:<port>`: use it as the API URL instead of the fake's.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Lets held and later requests through unless the parties have met already.
    pub fn give_up(&self) {
        give_up(&self.state);
    }

    /// Whether the parties met.
    pub fn meeting(&self) -> Meeting {
        *self.state.borrow()
    }
}

impl Drop for Rendezvous {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn give_up(state: &tokio::sync::watch::Sender<Meeting>) {
    state.send_if_modified(|state| {
        let waiting = *state == Meeting::Waiting;
        if waiting {
            *state = Meeting::GaveUp;
        }
        waiting
    });
}

/// One proxied connection: read its first request head, note its User-Agent, wait for the
/// rendezvous, then pass bytes both ways.
async fn forward(
    mut client: tokio::net::TcpStream,
    upstream: &str,
    state: &tokio::sync::watch::Sender<Meeting>,
    seen: &std::sync::Mutex<std::collections::HashSet<String>>,
    parties: usize,
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
    let user_agent = String::from_utf8_lossy(&head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("user-agent")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let mut changes = state.subscribe();
    {
        let mut seen = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.insert(user_agent);
        if seen.len() >= parties {
            state.send_if_modified(|state| {
                let waiting = *state == Meeting::Waiting;
                if waiting {
                    *state = Meeting::Met;
                }
                waiting
            });
        }
    }
    // Wait for the meeting; a client that hangs up meanwhile (its timeout) ends the wait for
    // everyone, so a run where the parties cannot meet fails in one timeout, not one per request.
    let mut probe = [0_u8; 1];
    let hung_up = tokio::select! {
        _ = changes.wait_for(|state| *state != Meeting::Waiting) => false,
        sent = client.peek(&mut probe) => matches!(sent, Ok(0) | Err(_)),
    };
    if hung_up {
        give_up(state);
        return Ok(());
    }
    // Met, given up, or more bytes came (a request body): then wait for the meeting only.
    if changes
        .wait_for(|state| *state != Meeting::Waiting)
        .await
        .is_err()
    {
        return Ok(());
    }
    let mut server = tokio::net::TcpStream::connect(upstream).await?;
    server.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
