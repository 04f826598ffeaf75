//! `gild golden list --search` finds what was typed: `%`, `_` and `\` are characters to find,
//! not LIKE wildcards, in SQLite and PostgreSQL stores alike.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// The golden IDs `golden list` answers, with `--search term` when given.
fn listed(env: &[(&str, &str)], search: Option<&str>) -> (Vec<Value>, BTreeSet<String>) {
    let mut args = vec!["golden", "list", "--limit", "5000", "--format", "json"];
    if let Some(term) = search {
        args.extend(["--search", term]);
    }
    let out = run(&args, env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json(&out).as_array().expect("a list").clone();
    let ids = rows
        .iter()
        .map(|r| r["golden_id"].as_str().expect("golden_id").to_string())
        .collect();
    (rows, ids)
}

fn search_is_literal(store_url: &str) {
    let env = [("GILD_STORE_URL", store_url)];
    let sync = run(&["sync"], &env);
    assert_eq!(sync.status.code(), Some(0), "{}", stderr(&sync));
    let (all, all_ids) = listed(&env, None);
    assert!(all.len() > 400, "{} customers", all.len());
    // What a search for `term` should find: the name, e-mail, phone or postcode contain it.
    let containing = |term: &str| -> BTreeSet<String> {
        all.iter()
            .filter(|r| {
                ["full_name", "email", "phone", "postcode"].iter().any(|f| {
                    r[*f]
                        .as_str()
                        .is_some_and(|v| v.to_lowercase().contains(&term.to_lowercase()))
                })
            })
            .map(|r| r["golden_id"].as_str().expect("id").to_string())
            .collect()
    };
    let family = all
        .iter()
        .find_map(|r| {
            r["full_name"]
                .as_str()?
                .split(' ')
                .next_back()
                .map(str::to_string)
        })
        .expect("a name");
    for term in ["%", "_", "\\", "%%", "_@", &family] {
        let (_, found) = listed(&env, Some(term));
        assert_eq!(found, containing(term), "--search {term:?} on {store_url}");
    }
    let (_, found) = listed(&env, Some("%"));
    assert!(
        found.len() < all_ids.len(),
        "`%` is not a wildcard: it found every customer"
    );
}

#[test]
fn golden_list_search_takes_percent_and_underscore_literally_in_sqlite() {
    let (_dir, url) = sqlite_store();
    search_is_literal(&url);
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_list_search_takes_percent_and_underscore_literally_in_postgres() {
    let Some(pg) = server_url("GILD_TEST_POSTGRES_URL", "a PostgreSQL server") else {
        return;
    };
    let store = TestDb::postgres(&pg, "gild_search").await;
    let url = store.url.clone();
    tokio::task::spawn_blocking(move || search_is_literal(&url))
        .await
        .expect("the search checks");
}
