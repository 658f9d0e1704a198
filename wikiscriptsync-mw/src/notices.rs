//! Talk-page notices: a new signed section on a wikitext talk page, or a new topic on a Flow
//! board, whichever the page is.

use serde_json::Value;

use crate::api::{EditOutcome, TalkNotice, TalkNoticeOutcome};
use crate::client::{Method, Session};
use crate::edit::trim_summary;
use crate::error::Error;

impl Session {
    /// Posts a notice on a user's talk page: 1 request to learn the page's content model (and
    /// a CSRF token if none is cached), then a new section, or a new topic on a Flow board.
    pub async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error> {
        let title = notice.page.to_string();
        let meta = if self.has_csrf() {
            Vec::new()
        } else {
            vec![("meta", "tokens".to_owned()), ("type", "csrf".to_owned())]
        };
        let mut params = vec![
            ("action", "query".to_owned()),
            ("prop", "info".to_owned()),
            ("titles", title.clone()),
        ];
        params.extend(meta);
        let answer = self
            .call_authed(Method::Get, &params, false)
            .await
            .map_err(|e| self.to_error(e))?;
        self.absorb_tokens(&answer);
        let is_flow = answer
            .pointer("/query/pages/0/contentmodel")
            .and_then(Value::as_str)
            == Some("flow-board");
        // Flow attributes topics itself; wikitext sections are signed with `~~~~`.
        let text = if is_flow || notice.text.contains("~~~~") {
            notice.text.clone()
        } else {
            format!("{} ~~~~", notice.text.trim_end())
        };
        // A heading is one line: a line break in it would start text or a section of its own
        // (notices claimed before headings were escaped are still retried).
        let heading = one_line(&notice.heading);
        let summary = trim_summary(notice.summary.as_deref().unwrap_or(&heading));
        if is_flow {
            let answer = self
                .call_authed(
                    Method::Post,
                    &[
                        ("action", "flow".to_owned()),
                        ("submodule", "new-topic".to_owned()),
                        ("page", title.clone()),
                        ("nttopic", flow_topic_title(&heading)),
                        ("ntcontent", text),
                        ("ntformat", "wikitext".to_owned()),
                    ],
                    true,
                )
                .await
                .map_err(|e| self.edit_error(e, &title))?;
            let topic = answer
                .pointer("/flow/new-topic/committed/topiclist/topic-id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Ok(TalkNoticeOutcome::FlowTopic { topic });
        }
        let answer = self
            .call_authed(
                Method::Post,
                &[
                    ("action", "edit".to_owned()),
                    ("title", title.clone()),
                    ("section", "new".to_owned()),
                    ("sectiontitle", heading),
                    ("text", text),
                    ("summary", summary),
                    ("notminor", "1".to_owned()),
                    ("watchlist", "nochange".to_owned()),
                ],
                true,
            )
            .await
            .map_err(|e| self.edit_error(e, &title))?;
        let edit = answer
            .get("edit")
            .ok_or_else(|| self.invalid_answer("no `edit` object in the answer"))?;
        // No base revision is sent: a new section is never a merge of unseen revisions.
        match self.edit_outcome(edit, &title, None)? {
            EditOutcome::Created { revision, .. } => Ok(TalkNoticeOutcome::Section { revision }),
            EditOutcome::Updated { new_revision, .. }
            | EditOutcome::Merged { new_revision, .. } => Ok(TalkNoticeOutcome::Section {
                revision: new_revision,
            }),
            EditOutcome::NoChange => Err(Error::Api {
                code: "nochange".to_owned(),
                text: format!("adding a section to `{title}` made no change"),
            }),
        }
    }
}

/// `text` with every line and paragraph break (CR, LF, NEL, U+2028, U+2029, VT, FF) turned
/// into a space.
fn one_line(text: &str) -> String {
    text.replace(
        [
            '\r', '\n', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}',
        ],
        " ",
    )
}

/// A Flow topic title for a wikitext heading. Flow renders titles like edit summaries: HTML
/// escaped with entities kept and `[[links]]` made, but no `<nowiki>`. So each nowiki span
/// loses its tags and its brackets become entities: the text reads the same, and links stay
/// links only where the heading made them outside nowiki.
fn flow_topic_title(heading: &str) -> String {
    const OPEN: &str = "<nowiki>";
    const CLOSE: &str = "</nowiki>";
    let mut title = String::with_capacity(heading.len());
    let mut rest = heading;
    while let Some(start) = rest.find(OPEN) {
        title.push_str(&rest[..start]);
        let inside = &rest[start + OPEN.len()..];
        let (literal, after) = match inside.find(CLOSE) {
            Some(end) => (&inside[..end], &inside[end + CLOSE.len()..]),
            None => (inside, ""),
        };
        for c in literal.chars() {
            match c {
                '[' => title.push_str("&#91;"),
                ']' => title.push_str("&#93;"),
                c => title.push(c),
            }
        }
        rest = after;
    }
    title.push_str(rest);
    title
}

#[cfg(test)]
mod tests {
    use super::{flow_topic_title, one_line};

    #[test]
    fn a_heading_never_spans_lines() {
        assert_eq!(
            one_line("a\r\nb\nc\u{2028}d\u{2029}e\u{85}f"),
            "a  b c d e f"
        );
    }

    #[test]
    fn flow_titles_keep_nowiki_text_literal_without_the_tags() {
        assert_eq!(flow_topic_title("Changed"), "Changed");
        assert_eq!(
            flow_topic_title(
                "WikiScriptSync: <nowiki>[[User:A]] {{X}} &#126;&#126;&#126;&#126;</nowiki> changed"
            ),
            "WikiScriptSync: &#91;&#91;User:A&#93;&#93; {{X}} &#126;&#126;&#126;&#126; changed"
        );
        assert_eq!(
            flow_topic_title("[[:A]] <nowiki>[[B]]</nowiki> <nowiki>[[C"),
            "[[:A]] &#91;&#91;B&#93;&#93; &#91;&#91;C"
        );
    }
}
