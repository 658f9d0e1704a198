//! MediaWiki's grant → rights table (`$wgGrantPermissions`) and what can be read from it:
//! which grants carry a right, and which grants a session's rights show it carries.
//!
//! A BotPassword's or an OAuth consumer's session has the rights its account's groups give
//! *and* its grants carry (rights = groups ∩ grants), so `meta=userinfo` shows rights, never
//! grants. The table is MediaWiki 1.39's default (`includes/MainConfigSchema.php`,
//! `GrantPermissions`), the version the project's real-wiki tests run, and the grants
//! Wikimedia offers on Special:BotPasswords and for OAuth consumers. Later versions add rights
//! to some grants (and extensions add grants); a right this table does not know is simply not
//! attributed to any grant.
//!
//! Grants overlap: `editsiteconfig` carries every right `editinterface` carries (and
//! `editpage`'s), so a session whose rights include `editinterface` need not have been given
//! the `editinterface` grant. [`carried_grants`] therefore answers the *fewest* grants that
//! explain the rights, and never names a grant whose rights another
//! one in the answer already covers.

use std::collections::BTreeSet;

const EDIT: [&str; 5] = [
    "edit",
    "minoredit",
    "applychangetags",
    "changetags",
    "editcontentmodel",
];

/// MediaWiki 1.39's `$wgGrantPermissions`: each grant and the rights it carries. The rights
/// every editing grant shares (`edit`, `minoredit`, `applychangetags`, `changetags`,
/// `editcontentmodel`) are listed in full for each.
pub const GRANT_PERMISSIONS: &[(&str, &[&str])] = &[
    (
        "basic",
        &[
            "autocreateaccount",
            "autoconfirmed",
            "autopatrol",
            "editsemiprotected",
            "ipblock-exempt",
            "nominornewtalk",
            "patrolmarks",
            "purge",
            "read",
            "writeapi",
            "unwatchedpages",
        ],
    ),
    (
        "highvolume",
        &["bot", "apihighlimits", "noratelimit", "markbotedits"],
    ),
    ("import", &["import", "importupload"]),
    ("editpage", &EDIT),
    (
        "editprotected",
        &[EDIT[0], EDIT[1], EDIT[2], EDIT[3], EDIT[4], "editprotected"],
    ),
    (
        "editmycssjs",
        &[
            EDIT[0],
            EDIT[1],
            EDIT[2],
            EDIT[3],
            EDIT[4],
            "editmyusercss",
            "editmyuserjson",
            "editmyuserjs",
        ],
    ),
    ("editmyoptions", &["editmyoptions", "editmyuserjson"]),
    (
        "editinterface",
        &[
            EDIT[0],
            EDIT[1],
            EDIT[2],
            EDIT[3],
            EDIT[4],
            "editinterface",
            "edituserjson",
            "editsitejson",
        ],
    ),
    (
        "editsiteconfig",
        &[
            EDIT[0],
            EDIT[1],
            EDIT[2],
            EDIT[3],
            EDIT[4],
            "editinterface",
            "edituserjson",
            "editsitejson",
            "editusercss",
            "edituserjs",
            "editsitecss",
            "editsitejs",
        ],
    ),
    (
        "createeditmovepage",
        &[
            EDIT[0],
            EDIT[1],
            EDIT[2],
            EDIT[3],
            EDIT[4],
            "createpage",
            "createtalk",
            "delete-redirect",
            "move",
            "move-rootuserpages",
            "move-subpages",
            "move-categorypages",
            "suppressredirect",
        ],
    ),
    ("uploadfile", &["upload", "reupload-own"]),
    (
        "uploadeditmovefile",
        &[
            "upload",
            "reupload-own",
            "reupload",
            "reupload-shared",
            "upload_by_url",
            "movefile",
            "suppressredirect",
        ],
    ),
    ("patrol", &["patrol"]),
    ("rollback", &["rollback"]),
    ("blockusers", &["block", "blockemail"]),
    (
        "viewdeleted",
        &["browsearchive", "deletedhistory", "deletedtext"],
    ),
    ("viewrestrictedlogs", &["suppressionlog"]),
    (
        "delete",
        &[
            EDIT[0],
            EDIT[1],
            EDIT[2],
            EDIT[3],
            EDIT[4],
            "browsearchive",
            "deletedhistory",
            "deletedtext",
            "delete",
            "bigdelete",
            "deletelogentry",
            "deleterevision",
            "undelete",
        ],
    ),
    ("oversight", &["suppressrevision", "viewsuppressed"]),
    (
        "protect",
        &[
            EDIT[0],
            EDIT[1],
            EDIT[2],
            EDIT[3],
            EDIT[4],
            "editprotected",
            "protect",
        ],
    ),
    ("viewmywatchlist", &["viewmywatchlist"]),
    ("editmywatchlist", &["editmywatchlist"]),
    ("sendemail", &["sendemail"]),
    ("createaccount", &["createaccount"]),
    ("privateinfo", &["viewmyprivateinfo"]),
    ("mergehistory", &["mergehistory"]),
];

/// The rights `grant` carries, `None` for a grant the table does not know.
pub fn grant_rights(grant: &str) -> Option<&'static [&'static str]> {
    GRANT_PERMISSIONS
        .iter()
        .find(|(name, _)| *name == grant)
        .map(|(_, rights)| *rights)
}

/// Every grant that carries `right`, in the table's order (empty for a right no grant
/// carries, such as rights no BotPassword or OAuth session can have).
pub fn grants_carrying(right: &str) -> Vec<&'static str> {
    GRANT_PERMISSIONS
        .iter()
        .filter(|(_, rights)| rights.contains(&right))
        .map(|(name, _)| *name)
        .collect()
}

/// The rights the grants named carry together (unknown grant names carry nothing).
pub fn rights_of_grants<'a>(grants: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'static str> {
    grants
        .into_iter()
        .filter_map(grant_rights)
        .flat_map(|rights| rights.iter().copied())
        .collect()
}

/// The fewest grants that explain a session's `rights` (from `meta=userinfo`): every right
/// some grant carries is carried by one of them. Rights no grant carries are ignored.
///
/// Grants are chosen by how many of the rights not yet explained they explain (ties to the
/// narrower grant, which claims no more than the rights show). For the rights of any one or two grants
/// of the table, no grant in the answer is covered by the others (tested).
///
/// So with the grants `basic, editpage, editsiteconfig, createeditmovepage` an interface administrator's rights are explained by `basic, createeditmovepage,
/// editsiteconfig`: neither `editinterface` (covered by `editsiteconfig`) nor `editpage`
/// (covered by both others) is named.
pub fn carried_grants(rights: &[String]) -> BTreeSet<&'static str> {
    let held: BTreeSet<&'static str> = GRANT_PERMISSIONS
        .iter()
        .flat_map(|(_, carried)| carried.iter().copied())
        .filter(|right| rights.iter().any(|r| r == right))
        .collect();
    // What each grant would explain: the held rights it carries.
    let explains = |grant: &str| -> BTreeSet<&'static str> {
        grant_rights(grant)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|r| held.contains(r))
            .collect()
    };
    let mut chosen: Vec<&'static str> = Vec::new();
    let mut covered: BTreeSet<&'static str> = BTreeSet::new();
    while covered.len() < held.len() {
        // The grant explaining the most rights not covered yet; ties go to the narrower grant
        // (it claims no more than the rights show), then to the table's order.
        let best = GRANT_PERMISSIONS
            .iter()
            .enumerate()
            .map(|(index, (name, all))| {
                let new = explains(name).difference(&covered).count();
                (
                    *name,
                    (new, std::cmp::Reverse(all.len()), std::cmp::Reverse(index)),
                )
            })
            .filter(|(_, (new, _, _))| *new > 0)
            .max_by_key(|(_, rank)| *rank);
        let Some((grant, _)) = best else { break };
        covered.extend(explains(grant));
        chosen.push(grant);
    }
    chosen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_is_named_once_and_editing_grants_carry_edit() {
        let names: BTreeSet<&str> = GRANT_PERMISSIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), GRANT_PERMISSIONS.len());
        assert!(names.contains("editinterface"), "1.39 has the grant");
        assert_eq!(
            grants_carrying("editsitejs"),
            ["editsiteconfig"],
            "only editsiteconfig carries site JS"
        );
        assert_eq!(
            grants_carrying("editinterface"),
            ["editinterface", "editsiteconfig"]
        );
        assert_eq!(grants_carrying("createpage"), ["createeditmovepage"]);
        assert!(grants_carrying("siteadmin").is_empty());
        assert!(grant_rights("nonsense").is_none());
    }

    #[test]
    fn a_grant_alone_is_explained_by_itself_and_pairs_by_no_redundant_grant() {
        let owned = |rights: BTreeSet<&str>| -> Vec<String> {
            rights.into_iter().map(str::to_owned).collect()
        };
        for (grant, _) in GRANT_PERMISSIONS {
            let rights = owned(rights_of_grants([*grant]));
            let carried = carried_grants(&rights);
            assert_eq!(carried.into_iter().collect::<Vec<_>>(), [*grant]);
        }
        for (first, _) in GRANT_PERMISSIONS {
            for (second, _) in GRANT_PERMISSIONS {
                let held = rights_of_grants([*first, *second]);
                let carried = carried_grants(&owned(held.clone()));
                assert_eq!(
                    rights_of_grants(carried.iter().copied())
                        .intersection(&held)
                        .count(),
                    held.len()
                );
                for grant in &carried {
                    let others = rights_of_grants(carried.iter().copied().filter(|g| g != grant));
                    let own = rights_of_grants([*grant]);
                    assert!(
                        !own.is_subset(&others),
                        "{grant} is redundant in {carried:?} for {first}+{second}"
                    );
                }
            }
        }
    }
}
