//! The fake's stand-in for MediaWiki's three-way merge of an edit on a stale base revision
//! (`TextContentHandler::merge3`, GNU `diff3 --overlap-only`): line-based, and only as clever
//! as the fake needs — each side's change is taken as one block of lines, and blocks that
//! overlap or touch are a conflict, as diff3 makes them one.

/// The block of `base`'s lines a side replaced: `base[start..end]` became `lines`.
struct Change<'a> {
    start: usize,
    end: usize,
    lines: &'a [&'a str],
}

fn change<'a>(base: &[&str], side: &'a [&'a str]) -> Option<Change<'a>> {
    if base == side {
        return None;
    }
    let prefix = base.iter().zip(side).take_while(|(a, b)| a == b).count();
    let room = base.len().min(side.len()) - prefix;
    let suffix = base
        .iter()
        .rev()
        .zip(side.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    Some(Change {
        start: prefix,
        end: base.len() - suffix,
        lines: &side[prefix..side.len() - suffix],
    })
}

/// `ours` (an edit of `base`) merged into `theirs` (the page's latest text, also grown from
/// `base`); `None` when the changes overlap, which MediaWiki answers with `editconflict`.
pub(super) fn merge3(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let base: Vec<&str> = base.split('\n').collect();
    let ours: Vec<&str> = ours.split('\n').collect();
    let theirs: Vec<&str> = theirs.split('\n').collect();
    let (a, b) = match (change(&base, &ours), change(&base, &theirs)) {
        (None, _) => return Some(theirs.join("\n")),
        (Some(_), None) => return Some(ours.join("\n")),
        (Some(a), Some(b)) => (a, b),
    };
    if a.start <= b.end && b.start <= a.end {
        return None;
    }
    let (first, second) = if a.start < b.start { (a, b) } else { (b, a) };
    let mut merged: Vec<&str> = base[..first.start].to_vec();
    merged.extend_from_slice(first.lines);
    merged.extend_from_slice(&base[first.end..second.start]);
    merged.extend_from_slice(second.lines);
    merged.extend_from_slice(&base[second.end..]);
    Some(merged.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::merge3;

    #[test]
    fn changes_apart_are_merged_and_changes_that_meet_are_a_conflict() {
        let base = "a\nb\nc\nd\ne";
        assert_eq!(
            merge3(base, "a\nb\nc\nd\nE", "A\nb\nc\nd\ne").as_deref(),
            Some("A\nb\nc\nd\nE")
        );
        assert_eq!(
            merge3(base, "a\nb\nc\nd\ne\nf", "a\nb\nc").as_deref(),
            None,
            "a deletion running into an addition meets it"
        );
        assert_eq!(merge3(base, "a\nB\nc\nd\ne", "a\nb\nC\nd\ne"), None);
        assert_eq!(merge3(base, "x\nb\nc\nd\ne", "y\nb\nc\nd\ne"), None);
        assert_eq!(merge3(base, base, "z").as_deref(), Some("z"));
        assert_eq!(merge3(base, "z", base).as_deref(), Some("z"));
    }
}
