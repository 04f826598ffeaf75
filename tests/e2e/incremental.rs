//! Incremental syncs: on a copy of the demo estate with scripted changes (new, edited and
//! deleted rows, an edit that merges two customers, one that splits a customer, steward decisions
//! in force), an incremental sync leaves the store exactly as `gild sync --full` would from the
//! same starting store: golden IDs and fields, record links, redirects and the change feed.

use crate::lifecycle::{copy_crm_record, Estate};
use crate::recovery::snapshot;
use serde_json::Value;
use sqlx::Connection;

/// A copy of the estate's SQLite store, taken between runs (no process has it open).
fn copy_store(e: &Estate, name: &str) -> String {
    let from = e.path().join("store.db");
    let to = e.path().join(name);
    for suffix in ["", "-wal", "-shm"] {
        let f = format!("{}{suffix}", from.display());
        if std::path::Path::new(&f).exists() {
            std::fs::copy(&f, format!("{}{suffix}", to.display())).expect("copy the store");
        }
    }
    format!("sqlite://{}", to.display())
}

/// `gild sync` on the estate into `store`, as JSON.
fn sync_into(e: &Estate, store: &str, extra: &[&str]) -> Value {
    let mut args = vec!["sync", "--format", "json"];
    args.extend_from_slice(extra);
    let out = e
        .command(&args)
        .env("GILD_STORE_URL", store)
        .output()
        .expect("gild runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "gild {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

async fn crm(e: &Estate, sql: &str, ids: &[i64]) {
    let mut c = sqlx::SqliteConnection::connect(&e.crm_db())
        .await
        .expect("open the crm copy");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    for id in ids {
        q = q.bind(id);
    }
    q.execute(&mut c).await.expect("change the crm copy");
}

/// Rewrites the fulfilment export's data lines (windows-1252, CRLF) with `edit`.
fn edit_fulfilment(e: &Estate, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let path = e.path().join("fixtures/demo/fulfilment.csv");
    let bytes = std::fs::read(&path).expect("read the export");
    let mut lines: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect();
    edit(&mut lines);
    let mut out = lines.join(&b"\r\n"[..]);
    out.extend_from_slice(b"\r\n");
    std::fs::write(&path, out).expect("write the export");
}

/// The number of records of the customer holding CRM record `id` (0 when there is none).
fn records_with(e: &Estate, id: i64) -> usize {
    let o = e.gild(&["golden", "show", &format!("crm:{id}"), "--format", "json"]);
    if !o.status.success() {
        return 0;
    }
    serde_json::from_slice::<Value>(&o.stdout)
        .ok()
        .and_then(|v| v["records"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// CRM keys from `from` on whose customers have `wanted(records)`: editing one of a large
/// customer into someone else splits that customer; editing one lone customer into another
/// merges the two.
fn crm_keys(e: &Estate, from: i64, n: usize, wanted: impl Fn(usize) -> bool) -> Vec<i64> {
    let keys: Vec<i64> = (from..from + 400)
        .filter(|&id| wanted(records_with(e, id)))
        .take(n)
        .collect();
    assert_eq!(keys.len(), n, "the demo has such customers");
    keys
}

/// New, edited and deleted rows in both kinds of source, one edit that merges two customers and
/// one that splits a customer.
async fn scripted_changes(e: &Estate, round: i64) {
    let at = format!("2026-12-0{round} 09:00:00");
    // New: the same person entered again.
    copy_crm_record(&e.crm_db(), "100001", 9_900_000 + round).await;
    crm(
        e,
        &format!("UPDATE customers SET updated_at = '{at}' WHERE cust_id = $1"),
        &[9_900_000 + round],
    )
    .await;
    // Edited: a new e-mail.
    crm(
        e,
        &format!("UPDATE customers SET email = 'moved.' || cust_id || '@example.org', updated_at = '{at}' WHERE cust_id = $1"),
        &[100_004 + round],
    )
    .await;
    // A merge: a lone customer edited into another lone one's every detail.
    let lone = crm_keys(e, 100_100 + 40 * round, 2, |n| n == 1);
    crm(
        e,
        &format!(
            "UPDATE customers SET (cust_name, birth_dt, email, home_phone, mobile_phone, addr_line1, addr_line2, city, state, zip, country) = \
             (SELECT cust_name, birth_dt, email, home_phone, mobile_phone, addr_line1, addr_line2, city, state, zip, country FROM customers WHERE cust_id = $1), \
             updated_at = '{at}' WHERE cust_id = $2"
        ),
        &[lone[0], lone[1]],
    )
    .await;
    // A split: a record of a large customer edited into nobody else.
    let split = crm_keys(e, 100_030 + 20 * round, 1, |n| n >= 3)[0];
    crm(
        e,
        &format!(
            "UPDATE customers SET cust_name = 'QUIRRELL, ZEBEDIAH', birth_dt = '02/0{round}/1911', email = 'zq{round}@example.net', \
             home_phone = NULL, mobile_phone = NULL, addr_line1 = '{round} Nowhere Row', addr_line2 = NULL, city = 'Nome', state = 'AK', \
             zip = '99762', updated_at = '{at}' WHERE cust_id = $1"
        ),
        &[split],
    )
    .await;
    // The export: one order gone, one edited, one new.
    edit_fulfilment(e, |lines| {
        let gone = 5 + round as usize;
        lines.remove(gone);
        let edited = &mut lines[10 + round as usize];
        let text = String::from_utf8_lossy(edited).replace("@", "+n@");
        *edited = text.into_bytes();
        let mut new = lines[3].clone();
        let text = String::from_utf8_lossy(&new).replacen("SO-", &format!("SO-9{round}"), 1);
        new = text.into_bytes();
        lines.push(new);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_sync_leaves_what_a_full_sync_would() {
    let e = Estate::new(None);
    let first = e.json(&["sync"]);
    assert_eq!(first["mode"], "full");
    // Steward decisions in force: a pinned value and a merge of two customers.
    let pinned = e.golden_of("crm:100001");
    e.json(&["golden", "pin", &pinned, "city", "Springfield"]);
    let (a, b) = (e.golden_of("crm:100013"), e.golden_of("crm:100014"));
    if a != b {
        e.json(&["golden", "merge", &a, &b]);
    }
    let after_steward = e.json(&["sync"]);
    assert_eq!(
        after_steward["mode"], "full",
        "decisions since the last run: everything recomputed"
    );

    for round in 1..=2 {
        scripted_changes(&e, round).await;
        let full_store = copy_store(&e, &format!("full-{round}.db"));
        let incremental = sync_into(&e, e.store_url(), &[]);
        assert_eq!(
            incremental["mode"], "incremental",
            "round {round}: {incremental}"
        );
        let golden = &incremental["golden"];
        assert!(
            golden["created"].as_u64() > Some(0) && golden["updated"].as_u64() > Some(0),
            "round {round}: customers created and updated: {golden}"
        );
        assert!(
            golden["unchanged"].as_u64() > Some(100),
            "round {round}: most customers stand: {golden}"
        );
        assert!(
            golden["merged"].as_u64() > Some(0) && golden["split"].as_u64() > Some(0),
            "round {round}: an edit merged two customers, another split one: {golden}"
        );
        let full = sync_into(&e, &full_store, &["--full"]);
        assert_eq!(full["mode"], "full");
        assert_eq!(full["full_because"], "--full was given");
        for key in ["created", "updated", "merged", "split", "deleted"] {
            assert_eq!(
                golden[key], full["golden"][key],
                "round {round}: {key} differs: incremental {golden}, full {}",
                full["golden"]
            );
        }
        let (got, want) = (snapshot(e.store_url()).await, snapshot(&full_store).await);
        assert_eq!(
            got.golden, want.golden,
            "round {round}: golden IDs and fields"
        );
        assert_eq!(got.links, want.links, "round {round}: record links");
        assert_eq!(got.redirects, want.redirects, "round {round}: redirects");
        assert_eq!(got.events, want.events, "round {round}: the change feed");
        assert_eq!(
            e.json(&["golden", "show", &pinned])["city"],
            "Springfield",
            "the pin holds"
        );
    }

    let idle = e.json(&["sync"]);
    assert_eq!(idle["nothing_changed"], true, "{idle}");
}

/// SplitMix64: a small seeded generator, so that a failing change set is named by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random change set: export rows deleted, edited (a field taken from another row, or a
/// letter dropped) and added (a copy of a row under a new key, maybe edited), and CRM rows edited
/// into other customers' details or given new names and dates of birth.
async fn random_changes(e: &Estate, seed: u64) {
    let mut rng = Rng(seed);
    edit_fulfilment(e, |lines| {
        let header = lines.remove(0);
        for _ in 0..rng.below(4) {
            let at = rng.below(lines.len());
            lines.remove(at);
        }
        for _ in 0..1 + rng.below(5) {
            let (at, from) = (rng.below(lines.len()), rng.below(lines.len()));
            let field = [2, 3, 4, 5, 7][rng.below(5)];
            let donor: Vec<Vec<u8>> = lines[from]
                .split(|&b| b == b';')
                .map(<[u8]>::to_vec)
                .collect();
            let mut fields: Vec<Vec<u8>> = lines[at]
                .split(|&b| b == b';')
                .map(<[u8]>::to_vec)
                .collect();
            if rng.below(2) == 0 && fields[field].len() > 3 {
                let at = 1 + rng.below(fields[field].len() - 2);
                fields[field].remove(at);
            } else {
                fields[field] = donor[field].clone();
            }
            lines[at] = fields.join(&b";"[..]);
        }
        for k in 0..rng.below(4) {
            let from = rng.below(lines.len());
            let mut fields: Vec<Vec<u8>> = lines[from]
                .split(|&b| b == b';')
                .map(<[u8]>::to_vec)
                .collect();
            fields[0] = format!("SO-R{seed}-{k}").into_bytes();
            if rng.below(2) == 0 {
                fields[3] = format!("r{seed}.{k}@example.com").into_bytes();
            }
            lines.push(fields.join(&b";"[..]));
        }
        lines.insert(0, header);
    });
    let mut c = sqlx::SqliteConnection::connect(&e.crm_db())
        .await
        .expect("open the crm copy");
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT cust_id FROM customers ORDER BY cust_id")
        .fetch_all(&mut c)
        .await
        .expect("crm keys");
    let at = format!("2027-01-{:02} 10:00:00", seed % 28 + 1);
    for _ in 0..rng.below(4) {
        let (to, from) = (ids[rng.below(ids.len())].0, ids[rng.below(ids.len())].0);
        let sql = if rng.below(2) == 0 {
            "UPDATE customers SET (cust_name, birth_dt, email, home_phone, addr_line1, city, state, zip) = \
             (SELECT cust_name, birth_dt, email, home_phone, addr_line1, city, state, zip FROM customers WHERE cust_id = $2), \
             updated_at = $3 WHERE cust_id = $1"
        } else {
            "UPDATE customers SET cust_name = 'RANDALL, ' || $2, birth_dt = '03/0' || ($2 % 9 + 1) || '/1960', updated_at = $3 \
             WHERE cust_id = $1"
        };
        sqlx::query(sql)
            .bind(to)
            .bind(from)
            .bind(&at)
            .execute(&mut c)
            .await
            .expect("edit the crm copy");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_equals_full_over_random_change_sets() {
    let e = Estate::new(None);
    e.json(&["sync"]);
    // Each change set lands on the store the previous incremental sync left: incremental runs
    // follow each other as in production.
    let mut compared = 0;
    for seed in 1..=8u64 {
        random_changes(&e, seed).await;
        let full_store = copy_store(&e, &format!("random-{seed}.db"));
        let incremental = sync_into(&e, e.store_url(), &[]);
        if incremental["nothing_changed"] == true {
            continue;
        }
        assert_eq!(incremental["mode"], "incremental", "seed {seed}");
        let full = sync_into(&e, &full_store, &["--full"]);
        let (got, want) = (snapshot(e.store_url()).await, snapshot(&full_store).await);
        assert_eq!(
            (&got.golden, &got.links, &got.redirects, &got.events),
            (&want.golden, &want.links, &want.redirects, &want.events),
            "seed {seed}: incremental {} against full {}",
            incremental["golden"],
            full["golden"]
        );
        compared += 1;
    }
    assert!(
        compared >= 6,
        "most change sets changed something: {compared}"
    );
}
