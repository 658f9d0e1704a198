//! Webhook verification (GitHub HMAC, GitLab token) and push payload parsing.

use secrecy::SecretString;
use wikiscriptsync_forge::ForgeKind;
use wikiscriptsync_forge::webhook::{
    WebhookError, github_signature, parse_github_push, parse_gitlab_push, verify_github_signature,
    verify_gitlab_token,
};

const DOCS_SECRET: &str = "It's a Secret to Everybody";
const DOCS_BODY: &[u8] = b"Hello, World!";
const DOCS_HEADER: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[test]
fn github_signature_matches_the_documented_test_vector() {
    assert_eq!(
        github_signature(&secret(DOCS_SECRET), DOCS_BODY),
        DOCS_HEADER
    );
    assert_eq!(
        verify_github_signature(&secret(DOCS_SECRET), DOCS_BODY, Some(DOCS_HEADER)),
        Ok(())
    );
}

#[test]
fn github_signature_with_a_wrong_secret_is_refused() {
    assert_eq!(
        verify_github_signature(
            &secret("It's a Secret to Nobody"),
            DOCS_BODY,
            Some(DOCS_HEADER)
        ),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn github_signature_over_a_modified_body_is_refused() {
    assert_eq!(
        verify_github_signature(&secret(DOCS_SECRET), b"Hello, World?", Some(DOCS_HEADER)),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn github_delivery_without_a_signature_header_is_refused() {
    assert!(matches!(
        verify_github_signature(&secret(DOCS_SECRET), DOCS_BODY, None),
        Err(WebhookError::MissingHeader(_))
    ));
}

#[test]
fn github_signature_in_the_wrong_format_is_refused() {
    for header in [
        "sha1=757107ea",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=zz",
        "sha256=7571",
    ] {
        assert_eq!(
            verify_github_signature(&secret(DOCS_SECRET), DOCS_BODY, Some(header)),
            Err(WebhookError::MalformedSignature),
            "{header}"
        );
    }
}

#[test]
fn gitlab_token_must_match_exactly() {
    let configured = secret("s3cret-token");
    assert_eq!(
        verify_gitlab_token(&configured, Some("s3cret-token")),
        Ok(())
    );
    assert_eq!(
        verify_gitlab_token(&configured, Some("s3cret-tokeN")),
        Err(WebhookError::SignatureMismatch)
    );
    assert_eq!(
        verify_gitlab_token(&configured, Some("s3cret")),
        Err(WebhookError::SignatureMismatch)
    );
    assert!(matches!(
        verify_gitlab_token(&configured, None),
        Err(WebhookError::MissingHeader(_))
    ));
}

#[test]
fn webhook_errors_never_contain_the_secret() {
    let err = verify_gitlab_token(&secret("hunter2-secret"), Some("guess")).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

const SHA_A: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const SHA_B: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

fn github_push(commits: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ref": "refs/heads/main", "before": SHA_A, "after": SHA_B, "created": false, "deleted": false,
        "forced": false, "compare": "https://github.com/octo/gadgets/compare/6113728f27ae...0d1a26e67d8f",
        "commits": commits, "head_commit": null,
        "repository": {"id": 1, "name": "gadgets", "full_name": "octo/gadgets", "html_url": "https://github.com/octo/gadgets"},
        "pusher": {"name": "octo"}, "sender": {"login": "octo"}
    }))
    .unwrap()
}

#[test]
fn github_push_payload_yields_branch_shas_and_changed_paths() {
    let body = github_push(&serde_json::json!([
        {"id": SHA_A, "added": ["src/New.js"], "modified": ["src/Gadget.css"], "removed": []},
        {"id": SHA_B, "added": [], "modified": [], "removed": ["old.js", "src/New.js"]},
    ]));
    let push = parse_github_push(&body).unwrap();
    assert_eq!(push.forge, ForgeKind::GitHub);
    assert_eq!(push.repository, "octo/gadgets");
    assert_eq!(push.repository_url, "https://github.com/octo/gadgets");
    assert_eq!(push.branch.as_deref(), Some("main"));
    assert_eq!(push.before.as_ref().map(|s| s.as_str()), Some(SHA_A));
    assert_eq!(push.after.as_ref().map(|s| s.as_str()), Some(SHA_B));
    let changed: Vec<&str> = push.changed_paths.iter().map(String::as_str).collect();
    assert_eq!(changed, ["old.js", "src/Gadget.css", "src/New.js"]);
    let removed: Vec<&str> = push.removed_paths.iter().map(String::as_str).collect();
    assert_eq!(removed, ["old.js", "src/New.js"]);
    assert!(!push.truncated);
    assert!(push.may_touch(["src/Gadget.css"].into_iter()));
    assert!(!push.may_touch(["other.js"].into_iter()));
}

#[test]
fn github_push_with_2048_commits_is_flagged_truncated() {
    let commits: Vec<_> = (0..2048)
        .map(|_| serde_json::json!({"added": [], "modified": ["a.js"], "removed": []}))
        .collect();
    let push = parse_github_push(&github_push(&serde_json::Value::Array(commits))).unwrap();
    assert!(push.truncated);
    assert!(push.may_touch(["anything.js"].into_iter()));
}

#[test]
fn github_push_with_3000_files_in_a_commit_is_flagged_truncated() {
    let files: Vec<String> = (0..3000).map(|i| format!("f{i}.js")).collect();
    let push = parse_github_push(&github_push(
        &serde_json::json!([{"added": files, "modified": [], "removed": []}]),
    ))
    .unwrap();
    assert!(push.truncated);
}

#[test]
fn branch_creation_and_tag_pushes_are_told_apart() {
    let body = serde_json::to_vec(&serde_json::json!({
        "ref": "refs/tags/v1", "before": "0000000000000000000000000000000000000000", "after": SHA_B,
        "commits": [], "repository": {"full_name": "octo/gadgets", "html_url": "https://github.com/octo/gadgets"}
    }))
    .unwrap();
    let push = parse_github_push(&body).unwrap();
    assert_eq!(push.branch, None);
    assert_eq!(push.before, None);
    assert_eq!(push.git_ref, "refs/tags/v1");
}

#[test]
fn gitlab_push_with_more_commits_than_listed_is_flagged_truncated() {
    let commits: Vec<_> = (0..20)
        .map(|_| serde_json::json!({"id": SHA_A, "added": ["x.js"], "modified": [], "removed": []}))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({
        "object_kind": "push", "event_name": "push", "before": SHA_A, "after": SHA_B, "ref": "refs/heads/feature/x",
        "checkout_sha": SHA_B, "project": {"id": 15, "path_with_namespace": "group/sub/project", "web_url": "https://gitlab.wikimedia.org/group/sub/project"},
        "repository": {"name": "project"}, "commits": commits, "total_commits_count": 31
    }))
    .unwrap();
    let push = parse_gitlab_push(&body).unwrap();
    assert_eq!(push.forge, ForgeKind::GitLab);
    assert_eq!(push.repository, "group/sub/project");
    assert_eq!(push.branch.as_deref(), Some("feature/x"));
    assert!(push.truncated);
    assert!(push.changed_paths.contains("x.js"));
}

#[test]
fn gitlab_push_listing_every_commit_is_not_truncated() {
    let body = serde_json::to_vec(&serde_json::json!({
        "before": SHA_A, "after": "0000000000000000000000000000000000000000", "ref": "refs/heads/main",
        "project": {"path_with_namespace": "g/p", "web_url": "https://gitlab.com/g/p"},
        "commits": [], "total_commits_count": 0
    }))
    .unwrap();
    let push = parse_gitlab_push(&body).unwrap();
    assert!(!push.truncated);
    assert_eq!(push.after, None);
}

#[test]
fn payloads_that_are_not_pushes_are_refused() {
    assert!(matches!(
        parse_github_push(b"{\"zen\": \"Keep it logically awesome.\"}"),
        Err(WebhookError::BadPayload(_))
    ));
    assert!(matches!(
        parse_gitlab_push(b"not json"),
        Err(WebhookError::BadPayload(_))
    ));
}
