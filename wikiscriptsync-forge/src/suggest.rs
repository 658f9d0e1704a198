//! Suggestions for a mistyped name: which of the names that exist the user may have meant
//! (`mian` → `main`, `Main` → `main`, `feat` → `feature/login`).

/// The names in `names` close to `wanted`: equal ignoring case, one a prefix of the other
/// (ignoring case), or at most two single-character edits apart (Levenshtein distance, ignoring
/// case). `wanted` itself is never suggested; the closest come first, ties by name, each once.
///
/// ```
/// use wikiscriptsync_forge::near_matches;
/// let branches = ["main".to_owned(), "gh-pages".to_owned(), "feature/login".to_owned()];
/// assert_eq!(near_matches("mian", &branches), ["main"]);
/// assert_eq!(near_matches("feat", &branches), ["feature/login"]);
/// ```
pub fn near_matches(wanted: &str, names: &[String]) -> Vec<String> {
    let wanted_lower = wanted.trim().to_lowercase();
    if wanted_lower.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(usize, &String)> = names
        .iter()
        .filter(|name| name.as_str() != wanted)
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = edit_distance(&wanted_lower, &lower);
            let close = distance <= 2
                || lower.starts_with(&wanted_lower)
                || wanted_lower.starts_with(&lower);
            close.then_some((distance, name))
        })
        .collect();
    found.sort();
    found.dedup_by(|a, b| a.1 == b.1);
    found.into_iter().map(|(_, name)| name.clone()).collect()
}

/// Levenshtein distance in characters (insertions, deletions, substitutions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_transposed_branch_name_suggests_the_real_one() {
        let branches = names(&["develop", "main", "gh-pages"]);
        assert_eq!(near_matches("mian", &branches), ["main"]);
        assert_eq!(near_matches("developp", &branches), ["develop"]);
    }

    #[test]
    fn case_and_prefixes_count_as_near() {
        let branches = names(&["Main", "feature/login", "feature/logout", "release"]);
        assert_eq!(near_matches("main", &branches), ["Main"]);
        assert_eq!(
            near_matches("feature", &branches),
            ["feature/login", "feature/logout"]
        );
        assert_eq!(near_matches("release-2", &branches), ["release"]);
    }

    #[test]
    fn far_names_and_the_name_itself_are_not_suggested() {
        let branches = names(&["main", "gh-pages", "main"]);
        assert!(near_matches("trunk", &branches).is_empty());
        assert!(near_matches("main", &branches).is_empty());
        assert!(near_matches("  ", &branches).is_empty());
    }

    #[test]
    fn closer_names_come_first_and_each_once() {
        let branches = names(&["mainline", "main", "man", "main", "mains"]);
        // man: 1 edit, main: 2, mainline: a prefix 4 edits away; mains: 3 edits, no prefix.
        assert_eq!(near_matches("mian", &branches), ["man", "main"]);
        assert_eq!(
            near_matches("mai", &branches),
            ["main", "man", "mains", "mainline"]
        );
    }

    #[test]
    fn edit_distance_counts_characters_not_bytes() {
        assert_eq!(edit_distance("mian", "main"), 2);
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
