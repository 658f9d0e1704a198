//! The fakes' process: both sides of its pipe. [`serve_fakes`] is the child (the fake GitHub
//! and the fake wikis, filled and slowed down, answering one command per stdin line);
//! [`FakesProcess`] is the benchmark's handle on it (start, commands, peak memory, stop).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::{FakeWiki, Fault};

use crate::memory::status_bytes;
use crate::{
    BoxError, LATENCY, PAGES_PER_WIKI, ROLE_ENV, SERVE_FAKES, Scale, page_title, repo_name,
    watched_paths,
};

/// Starts and fills the fakes, prints their addresses, then serves commands until stdin closes.
/// Each wiremock server runs on its own thread, so blocking on stdin here does not stall them.
pub(crate) fn serve_fakes(scale: Scale) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let paths = watched_paths();
    let (github, wikis) = runtime.block_on(async {
        let github = FakeGitHub::start().await;
        github.record_requests(false);
        for r in 0..scale.repositories {
            let name = repo_name(r);
            github.add_repo(
                &name,
                paths
                    .iter()
                    .map(|p| (p.clone(), format!("// {name} {p}\n"))),
            );
        }
        github.set_latency(LATENCY);
        let mut wikis = Vec::with_capacity(scale.wikis);
        for _ in 0..scale.wikis {
            let wiki = FakeWiki::start().await;
            for p in 0..PAGES_PER_WIKI {
                wiki.add_page(&page_title(p), "x();");
            }
            wiki.inject(Fault::Delay(LATENCY), usize::MAX / 2);
            wikis.push(wiki);
        }
        (github, wikis)
    });
    let mut out = std::io::stdout().lock();
    let mut reply = |value: Value| -> std::io::Result<()> {
        writeln!(out, "{value}")?;
        out.flush()
    };
    reply(json!({
        "pid": std::process::id(),
        "github_api_url": github.uri(),
        "wiki_api_urls": wikis.iter().map(FakeWiki::api_url).collect::<Vec<_>>(),
        "wiki_hosts": wikis.iter().map(FakeWiki::host).collect::<Vec<_>>(),
    }))?;
    for line in std::io::stdin().lock().lines() {
        let answer = match line?.trim() {
            "stats" => {
                let stats = github.stats();
                json!({
                    "github": {
                        "requests": stats.requests,
                        "quota_spent": stats.quota_spent,
                        "not_modified": stats.not_modified,
                    },
                    "wiki_requests": wikis.iter().map(FakeWiki::request_count).collect::<Vec<_>>(),
                })
            }
            "reset-github" => {
                github.reset_stats();
                json!({"ok": true})
            }
            "move-repositories" => {
                let mut moved = 0;
                for r in (0..scale.repositories).step_by(10) {
                    github.commit(&repo_name(r), "main", [(paths[0].clone(), Some("changed"))]);
                    moved += 1;
                }
                json!({"ok": true, "moved": moved})
            }
            "edit-pages" => {
                let mut edited = 0;
                for wiki in &wikis {
                    for p in (0..PAGES_PER_WIKI).step_by(20) {
                        wiki.edit_as(&page_title(p), "y();", "Someone", "edit");
                        edited += 1;
                    }
                }
                json!({"ok": true, "edited": edited})
            }
            other => json!({"error": format!("unknown command {other:?}")}),
        };
        reply(answer)?;
    }
    // stdin closed: the benchmark is over (or gone). Stop the servers inside the runtime.
    runtime.block_on(async move {
        drop(github);
        drop(wikis);
    });
    Ok(())
}

/// The fakes' process as the benchmark sees it.
pub(crate) struct FakesProcess {
    child: Child,
    /// `None` once closed (closing it tells the child to exit).
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub(crate) github_api_url: String,
    pub(crate) wiki_api_urls: Vec<String>,
    pub(crate) wiki_hosts: Vec<String>,
}

impl FakesProcess {
    /// Starts the fakes' process and reads where its servers listen.
    pub(crate) fn spawn(scale: Scale) -> Result<Self, BoxError> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .env(ROLE_ENV, SERVE_FAKES)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if scale.is_small() {
            command.arg("--small");
        }
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the fakes' process has no stdin/stdout pipe".into());
        };
        let mut fakes = Self {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            github_api_url: String::new(),
            wiki_api_urls: Vec::new(),
            wiki_hosts: Vec::new(),
        };
        let hello = fakes.read_reply()?;
        let strings = |key: &str| -> Vec<String> {
            hello[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        fakes.github_api_url = hello["github_api_url"]
            .as_str()
            .ok_or("the fakes' process did not say where its GitHub is")?
            .to_owned();
        fakes.wiki_api_urls = strings("wiki_api_urls");
        fakes.wiki_hosts = strings("wiki_hosts");
        if fakes.wiki_api_urls.len() != scale.wikis || fakes.wiki_hosts.len() != scale.wikis {
            return Err(format!("the fakes' process announced wrong wikis: {hello}").into());
        }
        Ok(fakes)
    }

    /// The id of the fakes' process.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn read_reply(&mut self) -> Result<Value, BoxError> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the fakes' process exited (see its messages above)".into());
        }
        let value: Value = serde_json::from_str(&line)?;
        if let Some(error) = value.get("error") {
            return Err(format!("the fakes' process refused a command: {error}").into());
        }
        Ok(value)
    }

    /// Sends one command and waits for its answer (outside any timed section).
    pub(crate) fn ask(&mut self, command: &str) -> Result<Value, BoxError> {
        tokio::task::block_in_place(|| {
            let stdin = self.stdin.as_mut().ok_or("the fakes' process was closed")?;
            writeln!(stdin, "{command}")?;
            stdin.flush()?;
            self.read_reply()
        })
    }

    /// Requests each wiki has served so far.
    pub(crate) fn wiki_requests(&mut self) -> Result<Vec<u64>, BoxError> {
        Ok(self.ask("stats")?["wiki_requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect())
    }

    /// The fakes' process's peak resident memory so far (VmHWM).
    pub(crate) fn peak_bytes(&self) -> f64 {
        status_bytes(&format!("/proc/{}/status", self.child.id()), "VmHWM:")
    }
}

impl Drop for FakesProcess {
    fn drop(&mut self) {
        // Closing stdin is the child's signal to stop.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
