//! `meta=siteinfo` (`general`, `namespaces`, `namespacealiases`) answered field for field as
//! MediaWiki 1.39 answers it with `formatversion=2` (checked against Debian's MediaWiki in
//! tests/real_mediawiki.rs), and the article pages whose `<link rel="EditURI">` names the API.

use serde_json::{Map, Value, json};

/// The fake wiki's site: where it lives and what it is called.
#[derive(Debug, Clone)]
pub(super) struct Site {
    /// `http://127.0.0.1:PORT`.
    pub(super) server: String,
    /// `/w` (Wikimedia's layout) or empty (Debian's).
    pub(super) script_path: String,
    pub(super) sitename: String,
    pub(super) wiki_id: String,
    pub(super) lang: String,
}

impl Default for Site {
    fn default() -> Self {
        Self {
            server: String::new(),
            script_path: "/w".to_owned(),
            sitename: "FakeWiki".to_owned(),
            wiki_id: "fakewiki".to_owned(),
            lang: "en".to_owned(),
        }
    }
}

impl Site {
    /// `/wiki/$1` under `/w`, else `<script path>/index.php/$1`, as MediaWiki defaults.
    pub(super) fn article_path(&self) -> String {
        if self.script_path == "/w" {
            "/wiki/$1".to_owned()
        } else {
            format!("{}/index.php/$1", self.script_path)
        }
    }

    /// An article page as MediaWiki's skins print its head: the RSD link names the API.
    pub(super) fn article_html(&self, title: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"/><title>{title} - {name}</title>\n\
             <link rel=\"stylesheet\" href=\"{path}/load.php?modules=site.styles\"/>\n\
             <link rel=\"EditURI\" type=\"application/rsd+xml\" href=\"{server}{path}/api.php?action=rsd\"/>\n\
             </head><body><h1>{title}</h1></body></html>",
            name = self.sitename,
            path = self.script_path,
            server = self.server,
        )
    }
}

/// The namespaces of a MediaWiki 1.39 with the Gadgets extension (as on Wikimedia's wikis and
/// Debian's package): (id, canonical name, subpages, case-sensitive, protection right, default
/// content model). Main has no `canonical`.
type NamespaceRow = (
    i64,
    &'static str,
    bool,
    bool,
    Option<&'static str>,
    Option<&'static str>,
);
const NAMESPACES: &[NamespaceRow] = &[
    (-2, "Media", false, false, None, None),
    (-1, "Special", false, false, None, None),
    (0, "", false, false, None, None),
    (1, "Talk", true, false, None, None),
    (2, "User", true, false, None, None),
    (3, "User talk", true, false, None, None),
    (4, "Project", true, false, None, None),
    (5, "Project talk", true, false, None, None),
    (6, "File", false, false, None, None),
    (7, "File talk", true, false, None, None),
    (8, "MediaWiki", true, false, Some("editinterface"), None),
    (9, "MediaWiki talk", true, false, None, None),
    (10, "Template", true, false, None, None),
    (11, "Template talk", true, false, None, None),
    (12, "Help", true, false, None, None),
    (13, "Help talk", true, false, None, None),
    (14, "Category", false, false, None, None),
    (15, "Category talk", true, false, None, None),
    (2300, "Gadget", false, true, Some("gadgets-edit"), None),
    (2301, "Gadget talk", false, true, None, None),
    (
        2302,
        "Gadget definition",
        false,
        true,
        Some("gadgets-definition-edit"),
        Some("GadgetDefinition"),
    ),
    (2303, "Gadget definition talk", false, true, None, None),
];

/// The `general`, `namespaces` and `namespacealiases` parts of the query answer.
pub(super) fn siteinfo(site: &Site, props: &[String], query: &mut Map<String, Value>) {
    let wants = |prop: &str| props.iter().any(|p| p == prop);
    if wants("general") {
        let article_path = site.article_path();
        let host = site
            .server
            .split("://")
            .nth(1)
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        query.insert(
            "general".into(),
            json!({
                "mainpage": "Main Page",
                "base": format!("{}{}", site.server, article_path.replace("$1", "Main_Page")),
                "sitename": site.sitename,
                "mainpageisdomainroot": false,
                "generator": "MediaWiki 1.39.17",
                "case": "first-letter",
                "lang": site.lang,
                "fallback": [],
                "rtl": false,
                "readonly": false,
                "writeapi": true,
                "maxarticlesize": 2_097_152,
                "timezone": "UTC",
                "timeoffset": 0,
                "articlepath": article_path,
                "scriptpath": site.script_path,
                "script": format!("{}/index.php", site.script_path),
                "variantarticlepath": false,
                "server": site.server,
                "servername": host,
                "wikiid": site.wiki_id,
                "time": "2026-01-01T00:00:00Z",
                "misermode": false,
                "uploadsenabled": false,
            }),
        );
    }
    if wants("namespaces") {
        let namespaces: Map<String, Value> = NAMESPACES
            .iter()
            .map(
                |(id, canonical, subpages, case_sensitive, protection, model)| {
                    // The project namespaces are named after the site.
                    let name = match id {
                        4 => site.sitename.clone(),
                        5 => format!("{} talk", site.sitename),
                        _ => (*canonical).to_owned(),
                    };
                    let case = if *case_sensitive {
                        "case-sensitive"
                    } else {
                        "first-letter"
                    };
                    let mut ns = json!({
                        "id": id, "case": case, "name": name, "subpages": subpages,
                        "content": *id == 0, "nonincludable": false,
                    });
                    if *id != 0 {
                        ns["canonical"] = json!(canonical);
                    }
                    if let Some(protection) = protection {
                        ns["namespaceprotection"] = json!(protection);
                    }
                    if let Some(model) = model {
                        ns["defaultcontentmodel"] = json!(model);
                    }
                    (id.to_string(), ns)
                },
            )
            .collect();
        query.insert("namespaces".into(), Value::Object(namespaces));
    }
    if wants("namespacealiases") {
        query.insert(
            "namespacealiases".into(),
            json!([{"id": 6, "alias": "Image"}, {"id": 7, "alias": "Image talk"}]),
        );
    }
}
