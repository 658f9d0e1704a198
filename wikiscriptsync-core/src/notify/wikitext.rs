//! Inert wikitext for values nobody here controls. Talk-page notices quote file paths, branch
//! names, repository URLs, page titles, user names and edit summaries, which come from
//! repository authors and wiki editors; git allows `[[`, `{{`, `~~~~` and newlines in file
//! names. Every such value goes into a notice through one of these functions, so it can never
//! become a link, a template call, a signature, a heading or a line of its own.

use crate::mw::Title;

/// `value` as literal text on one line: inside `<nowiki>`, with `&`, `<` and `>` escaped (so a
/// `</nowiki>` in the value cannot close it), `~` escaped (no signature, not even before the
/// pre-save transform looks at nowiki), line breaks and tabs turned into spaces, and other
/// control and bidirectional-override characters into U+FFFD.
pub(crate) fn inert(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 20);
    out.push_str("<nowiki>");
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '~' => out.push_str("&#126;"),
            c if is_break(c) => out.push(' '),
            c if is_hidden_control(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push_str("</nowiki>");
    out
}

/// A notice heading as the wiki shows it, for pages that list notices: `<nowiki>` tags
/// dropped and the entities the notice escaped decoded (the result is plain text, to be escaped
/// like any other text where it is shown).
pub fn heading_text(heading: &str) -> String {
    heading
        .replace("<nowiki>", "")
        .replace("</nowiki>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#126;", "~")
        // Last, so `&amp;lt;` becomes `&lt;` and not `<`.
        .replace("&amp;", "&")
}

/// Line and paragraph breaks (MediaWiki and JavaScript both end lines at U+2028/U+2029) and
/// tabs.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Control characters and the bidirectional overrides that could make a value display as
/// something else.
fn is_hidden_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A link to a page of the notice's wiki, `[[:Title]]` (the leading colon makes categories,
/// files and interwiki prefixes plain links), for a title that parses and holds nothing
/// wikitext could read twice (`&` entities, `%` escapes, `''` quotes, `~`); anything else is
/// [`inert`] text.
pub(crate) fn page_link(title: &str) -> String {
    match linkable(title) {
        Some(title) => format!("[[:{}]]", title.as_str()),
        None => inert(title),
    }
}

/// A link to a user's page labelled with the user name, or the name as [`inert`] text when it
/// is not a plain, linkable user name.
pub(crate) fn user_link(name: &str) -> String {
    match linkable(&format!("User:{name}")).filter(|t| !t.name().contains('/')) {
        Some(title) => format!("[[:{}|{}]]", title.as_str(), title.name()),
        None => inert(name),
    }
}

/// The parsed title when it is safe to put between `[[:` and `]]` as it is.
fn linkable(title: &str) -> Option<Title> {
    let parsed = Title::parse(title).ok()?;
    let text = parsed.as_str();
    let plain = !text.starts_with(':')
        && !text.contains("''")
        && !text.contains(['&', '%', '~', '\u{FFFD}'])
        && !text.chars().any(|c| is_break(c) || is_hidden_control(c));
    plain.then_some(parsed)
}

/// An external link `[url label]` for an http(s) URL, with every character outside a small
/// safe set percent-encoded (so `~~~~`, `''`, `__`, `{{`, `]`, spaces and entities cannot act in
/// it); the label is [`inert`]. A URL that does not parse is shown as inert text after the
/// label.
pub(crate) fn external_link(url: &str, label: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
            format!("[{} {}]", encode_url(parsed.as_str()), inert(label))
        }
        _ => format!("{} ({})", inert(label), inert(url)),
    }
}

/// Percent-encodes every byte but ASCII letters, digits and `-./:?=&#%+@,!$()*`. Every encoded
/// character is either unreserved (`~`, `_`: same meaning encoded) or not something a forge
/// or wiki URL here needs raw.
fn encode_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for byte in url.bytes() {
        if byte.is_ascii_alphanumeric() || b"-./:?=&#%+@,!$()*".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile file name of issue 13.
    const HOSTILE: &str = "[[User:A]] {{subst:X}} ~~~~\n== spam ==.js";

    /// What must never appear outside `<nowiki>` in a notice.
    fn active_outside_nowiki(wikitext: &str) -> Vec<&'static str> {
        let mut outside = String::new();
        let mut rest = wikitext;
        while let Some(start) = rest.find("<nowiki>") {
            outside.push_str(&rest[..start]);
            let after = &rest[start + "<nowiki>".len()..];
            let end = after.find("</nowiki>").expect("every nowiki is closed");
            rest = &after[end + "</nowiki>".len()..];
        }
        outside.push_str(rest);
        ["[[", "{{", "~~~", "\n", "=="]
            .into_iter()
            .filter(|m| outside.contains(m))
            .collect()
    }

    #[test]
    fn hostile_values_stay_inside_one_nowiki_on_one_line() {
        let text = inert(HOSTILE);
        assert_eq!(
            text,
            "<nowiki>[[User:A]] {{subst:X}} &#126;&#126;&#126;&#126; == spam ==.js</nowiki>"
        );
        assert!(active_outside_nowiki(&text).is_empty());
        // A value cannot close the nowiki early, nor smuggle an entity.
        let closing = inert("a</nowiki>[[B]]&lt;<nowiki>");
        assert_eq!(
            closing,
            "<nowiki>a&lt;/nowiki&gt;[[B]]&amp;lt;&lt;nowiki&gt;</nowiki>"
        );
        assert_eq!(closing.matches("</nowiki>").count(), 1);
        assert!(active_outside_nowiki(&closing).is_empty());
    }

    #[test]
    fn headings_read_back_as_the_values_they_quote() {
        for value in [HOSTILE, "a</nowiki>&lt;&amp;~", "plain"] {
            let heading = format!("WikiScriptSync: {} changed", inert(value));
            assert_eq!(
                heading_text(&heading),
                format!("WikiScriptSync: {} changed", value.replace('\n', " "))
            );
        }
        assert_eq!(
            heading_text("WikiScriptSync: 2 changes"),
            "WikiScriptSync: 2 changes"
        );
    }

    #[test]
    fn every_line_break_and_control_character_is_replaced() {
        let text = inert("a\rb\nc\u{2028}d\u{2029}e\u{85}f\tg\u{0}h\u{7f}i\u{202E}j\u{1b}k");
        assert_eq!(
            text,
            "<nowiki>a b c d e f g\u{FFFD}h\u{FFFD}i\u{FFFD}j\u{FFFD}k</nowiki>"
        );
        assert!(!text.chars().any(|c| c.is_control()));
    }

    #[test]
    fn only_plain_titles_become_links_with_a_leading_colon() {
        assert_eq!(page_link("Category:Foo bar"), "[[:Category:Foo bar]]");
        assert_eq!(
            page_link("mediawiki:Gadget-x.js"),
            "[[:MediaWiki:Gadget-x.js]]"
        );
        for hostile in [
            "Foo]] [[User:A",
            "{{subst:X}}",
            "A~~~~",
            "A~B",
            "A\n== spam ==",
            "A''b''",
            "A&lt;b",
            "A%5B%5BB",
            "",
        ] {
            let text = page_link(hostile);
            assert!(text.starts_with("<nowiki>"), "{hostile:?} -> {text}");
            assert!(active_outside_nowiki(&text).is_empty(), "{text}");
        }
    }

    #[test]
    fn user_links_only_for_plain_user_names() {
        assert_eq!(user_link("Some_body"), "[[:User:Some body|Some body]]");
        for hostile in ["A]]{{X}}", "A/sub", "~~~~", "A\n==B==", "A|B"] {
            let text = user_link(hostile);
            assert!(text.starts_with("<nowiki>"), "{text}");
            assert!(active_outside_nowiki(&text).is_empty(), "{text}");
        }
    }

    #[test]
    fn external_links_are_encoded_and_non_urls_are_text() {
        assert_eq!(
            external_link("https://example.org/w/index.php?diff=5&oldid=4", "diff"),
            "[https://example.org/w/index.php?diff=5&oldid=4 <nowiki>diff</nowiki>]"
        );
        let hostile = external_link(
            "https://github.com/o/r/commit/a]]~~~~{{X}}''__NOTOC__&lt;",
            "abc",
        );
        assert_eq!(
            hostile,
            "[https://github.com/o/r/commit/a%5D%5D%7E%7E%7E%7E%7B%7BX%7D%7D%27%27%5F%5FNOTOC%5F%5F&lt%3B \
             <nowiki>abc</nowiki>]"
        );
        assert!(active_outside_nowiki(&hostile).is_empty());
        let not_a_url = external_link("javascript:alert(1) [[A]]", "abc");
        assert!(!not_a_url.starts_with('['), "{not_a_url}");
        assert!(active_outside_nowiki(&not_a_url).is_empty());
        assert!(
            external_link("https://a.org/x\n== spam ==", "x")
                .matches('\n')
                .count()
                == 0
        );
    }
}
