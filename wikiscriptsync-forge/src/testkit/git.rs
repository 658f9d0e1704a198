//! A tiny in-memory Git object store for the fakes: real blob, tree and commit SHAs (so clients'
//! blob verification and tree walking are exercised for real), repositories, branches.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sha1::{Digest, Sha1};

/// Mode of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Blob,
    Tree,
}

#[derive(Debug, Clone)]
pub(crate) struct TreeEntry {
    pub name: String,
    pub kind: EntryKind,
    pub sha: String,
}

impl TreeEntry {
    pub fn mode(&self) -> &'static str {
        match self.kind {
            EntryKind::Blob => "100644",
            EntryKind::Tree => "040000",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
    /// Every file at this commit: path → blob SHA.
    pub files: Arc<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub id: u64,
    pub full_name: String,
    pub default_branch: String,
    /// Who may read it; anything but public needs a token.
    pub visibility: crate::model::Visibility,
    pub branches: BTreeMap<String, String>,
}

/// Objects are shared by all repositories of one fake (content-addressed, as in Git).
#[derive(Debug, Default)]
pub(crate) struct GitStore {
    pub repos: HashMap<String, Repo>,
    pub repo_ids: HashMap<u64, String>,
    pub commits: HashMap<String, Commit>,
    pub trees: HashMap<String, Vec<TreeEntry>>,
    pub blobs: HashMap<String, Arc<Vec<u8>>>,
    clock: u64,
}

fn hash_object(kind: &str, body: &[u8]) -> (String, [u8; 20]) {
    let mut hasher = Sha1::new();
    hasher.update(format!("{kind} {}\0", body.len()).as_bytes());
    hasher.update(body);
    let raw: [u8; 20] = hasher.finalize().into();
    (hex::encode(raw), raw)
}

#[derive(Default)]
struct Dir {
    files: BTreeMap<String, String>,
    dirs: BTreeMap<String, Dir>,
}

impl GitStore {
    pub fn add_blob(&mut self, bytes: &[u8]) -> String {
        let (sha, _) = hash_object("blob", bytes);
        self.blobs
            .entry(sha.clone())
            .or_insert_with(|| Arc::new(bytes.to_vec()));
        sha
    }

    fn write_tree(&mut self, dir: &Dir) -> String {
        let mut entries: Vec<TreeEntry> = Vec::new();
        for (name, sub) in &dir.dirs {
            let sha = self.write_tree(sub);
            entries.push(TreeEntry {
                name: name.clone(),
                kind: EntryKind::Tree,
                sha,
            });
        }
        for (name, sha) in &dir.files {
            entries.push(TreeEntry {
                name: name.clone(),
                kind: EntryKind::Blob,
                sha: sha.clone(),
            });
        }
        // Git orders entries by name, directories compared as if they ended in '/'.
        let key = |e: &TreeEntry| match e.kind {
            EntryKind::Tree => format!("{}/", e.name),
            EntryKind::Blob => e.name.clone(),
        };
        entries.sort_by_key(key);
        let mut body = Vec::new();
        for e in &entries {
            let mode = if e.kind == EntryKind::Tree {
                "40000"
            } else {
                "100644"
            };
            body.extend_from_slice(format!("{mode} {}\0", e.name).as_bytes());
            body.extend_from_slice(&hex::decode(&e.sha).unwrap_or_default());
        }
        let (sha, _) = hash_object("tree", &body);
        self.trees.insert(sha.clone(), entries);
        sha
    }

    /// Writes a commit holding exactly `files` (path → blob SHA).
    pub fn write_commit(
        &mut self,
        files: BTreeMap<String, String>,
        parent: Option<String>,
        message: &str,
    ) -> String {
        let mut root = Dir::default();
        for (path, sha) in &files {
            let mut dir = &mut root;
            let mut parts: Vec<&str> = path.split('/').collect();
            let name = parts.pop().unwrap_or_default();
            for part in parts {
                dir = dir.dirs.entry(part.to_owned()).or_default();
            }
            dir.files.insert(name.to_owned(), sha.clone());
        }
        let tree = self.write_tree(&root);
        self.clock += 1;
        let mut body = format!("tree {tree}\n");
        if let Some(p) = &parent {
            body.push_str(&format!("parent {p}\n"));
        }
        let stamp = 1_700_000_000 + self.clock;
        body.push_str(&format!(
            "author Fake Author <fake@example.org> {stamp} +0000\ncommitter Fake Author <fake@example.org> {stamp} +0000\n\n{message}\n"
        ));
        let (sha, _) = hash_object("commit", body.as_bytes());
        self.commits.insert(
            sha.clone(),
            Commit {
                tree,
                parents: parent.into_iter().collect(),
                message: message.to_owned(),
                files: Arc::new(files),
            },
        );
        sha
    }

    /// Resolves a branch name or a full commit SHA of `repo` to a commit SHA.
    pub fn resolve(&self, repo: &Repo, reference: &str) -> Option<String> {
        if let Some(sha) = repo.branches.get(reference) {
            return Some(sha.clone());
        }
        let lower = reference.to_ascii_lowercase();
        self.commits.contains_key(&lower).then_some(lower)
    }

    /// Every entry under a tree, recursively, as (path, entry), in Git's order (pre-order).
    pub fn walk(&self, tree: &str, prefix: &str, out: &mut Vec<(String, TreeEntry)>) {
        let Some(entries) = self.trees.get(tree) else {
            return;
        };
        for e in entries {
            let path = if prefix.is_empty() {
                e.name.clone()
            } else {
                format!("{prefix}/{}", e.name)
            };
            out.push((path.clone(), e.clone()));
            if e.kind == EntryKind::Tree {
                self.walk(&e.sha, &path, out);
            }
        }
    }

    /// The tree SHA of directory `dir` ("" = root) under a root tree.
    pub fn subtree(&self, root: &str, dir: &str) -> Option<String> {
        let mut current = root.to_owned();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            let entries = self.trees.get(&current)?;
            current = entries
                .iter()
                .find(|e| e.name == part && e.kind == EntryKind::Tree)?
                .sha
                .clone();
        }
        Some(current)
    }
}
