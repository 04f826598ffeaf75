//! `gild review`: the data stewards' queue. `list`, `show`, `accept`, `reject`, `defer` and
//! `history` for scripts and one-off decisions; with no subcommand, an interactive session on a
//! terminal that walks the queue with single keys.

use super::output::{json, opt, out, outln, thousands, Table};
use super::{load_config, Args, Format, EXIT_OK, EXIT_USAGE};
use gild::golden::{GoldenColumn, Lineage};
use gild::review::{
    self, ConflictShow, Edited, Explainer, ItemRef, QueueEntry, ReviewShow, Steward,
};
use gild::store::{AuditRecord, Store};
use std::io::IsTerminal;

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
    /// Who decides (recorded in the audit trail); the OS user by default.
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub actor: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// The queue, highest impact first.
    List {
        /// Decided and resolved items too.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One item: a pair's two records side by side, each comparison's weight, and the merge
    /// result; a field conflict's values side by side with their records and sources.
    Show { id: ItemRef },
    /// A pair: same customer, merged now and in every later sync. A conflict (C7): the value
    /// survivorship chose is right.
    Accept {
        id: ItemRef,
        #[arg(long)]
        note: Option<String>,
    },
    /// A pair: different customers, kept apart in every later sync.
    Reject {
        id: ItemRef,
        #[arg(long)]
        note: Option<String>,
    },
    /// Not now: the item moves behind the open ones.
    Defer {
        id: ItemRef,
        #[arg(long)]
        note: Option<String>,
    },
    /// A field conflict: value N (as `review show` numbers them) stands, pinned on the golden ID.
    Choose {
        id: ItemRef,
        value: usize,
        #[arg(long)]
        note: Option<String>,
    },
    /// A field conflict: the records carrying value N (by default every value but the one
    /// shown) are another customer.
    Split {
        id: ItemRef,
        value: Option<usize>,
        #[arg(long)]
        note: Option<String>,
    },
    /// The audit trail of stewards' decisions, newest first.
    History {
        /// Only entries about this golden ID or review item ("review 12").
        #[arg(long)]
        target: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(args: &Args, a: &ReviewArgs) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    let steward = |note: &Option<String>| Steward::new(a.actor.clone(), note.clone());
    let result = match &a.command {
        None => interactive(args, &config, &store, &steward(&None)).await,
        Some(ReviewCommand::List { all, limit }) => {
            let items = review::queue(&store, *all, *limit).await?;
            match args.format {
                Format::Json => json(&items)?,
                Format::Text => {
                    out!("{}", list_table(&items));
                    let counts = store.review_counts().await?;
                    let mut counts: Vec<String> = counts
                        .iter()
                        .map(|(s, n)| format!("{} {s}", thousands(*n as u64)))
                        .collect();
                    let conflicts = store.conflict_counts().await?;
                    counts.extend(
                        conflicts
                            .iter()
                            .map(|(s, n)| format!("{} {s} conflicts", thousands(*n as u64))),
                    );
                    outln!(
                        "{} shown; in the queue's history: {}",
                        items.len(),
                        counts.join(", ")
                    );
                }
            }
            Ok(EXIT_OK)
        }
        Some(ReviewCommand::Show {
            id: ItemRef::Conflict(id),
        }) => {
            let shown = review::show_conflict(&store, *id).await?;
            match args.format {
                Format::Json => json(&shown)?,
                Format::Text => out!("{}", render_conflict(&shown)),
            }
            Ok(EXIT_OK)
        }
        Some(ReviewCommand::Show {
            id: ItemRef::Pair(id),
        }) => {
            let explainer = Explainer::load(&store, &config.matching).await?;
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let shown = review::show(&store, &explainer, &survivorship, *id).await?;
            match args.format {
                Format::Json => json(&shown)?,
                Format::Text => out!("{}", render(&shown)),
            }
            Ok(EXIT_OK)
        }
        Some(ReviewCommand::Accept { id, note }) => {
            let done = match id {
                ItemRef::Pair(id) => {
                    let survivorship = review::survivorship(&store, &config.survivorship).await?;
                    review::accept(&store, &survivorship, *id, &steward(note)).await?
                }
                ItemRef::Conflict(id) => {
                    review::accept_conflict(&store, *id, &steward(note)).await?
                }
            };
            print_edit(args, &done)
        }
        Some(ReviewCommand::Reject { id, note }) => {
            let done = match id {
                ItemRef::Pair(id) => review::reject(&store, *id, &steward(note)).await?,
                ItemRef::Conflict(_) => {
                    return usage(format!(
                        "{id} is a field conflict: `gild review choose {id} N` pins value N, \
                         `gild review split {id}` parts the records carrying the other value"
                    ))
                }
            };
            print_edit(args, &done)
        }
        Some(ReviewCommand::Defer { id, note }) => {
            let done = match id {
                ItemRef::Pair(id) => review::defer(&store, *id, &steward(note)).await?,
                ItemRef::Conflict(id) => {
                    review::defer_conflict(&store, *id, &steward(note)).await?
                }
            };
            print_edit(args, &done)
        }
        Some(ReviewCommand::Choose { id, value, note }) => {
            let ItemRef::Conflict(item) = id else {
                return usage(format!(
                    "{id} is a pair: `gild review accept {id}` or `reject {id}`"
                ));
            };
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let done =
                review::choose_conflict(&store, &survivorship, *item, *value, &steward(note))
                    .await?;
            print_edit(args, &done)
        }
        Some(ReviewCommand::Split { id, value, note }) => {
            let ItemRef::Conflict(item) = id else {
                return usage(format!(
                    "{id} is a pair: `gild review reject {id}` keeps its two customers apart"
                ));
            };
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let done = review::split_conflict(&store, &survivorship, *item, *value, &steward(note))
                .await?;
            print_edit(args, &done)
        }
        Some(ReviewCommand::History { target, limit }) => {
            let trail = store.audit_trail(target.as_deref(), *limit).await?;
            match args.format {
                Format::Json => json(&trail)?,
                Format::Text => out!("{}", history_table(&trail)),
            }
            Ok(EXIT_OK)
        }
    };
    store.close().await;
    result
}

pub fn print_edit(args: &Args, done: &Edited) -> anyhow::Result<u8> {
    match args.format {
        Format::Json => json(done)?,
        Format::Text => outln!("{} (audit {})", done.message, done.audit_id),
    }
    Ok(EXIT_OK)
}

/// A request that cannot be carried out as asked: the message says what to do instead.
fn usage(message: String) -> anyhow::Result<u8> {
    eprintln!("{message}");
    Ok(EXIT_USAGE)
}

fn list_table(items: &[QueueEntry]) -> String {
    let mut t = Table::new(&[
        "item",
        "status",
        "kind",
        "customers",
        "records",
        "probability",
        "pairs",
        "impact",
        "representative pair / values",
    ])
    .numeric(&[0, 4, 5, 6, 7]);
    for entry in items {
        let i = match entry {
            QueueEntry::Pair(i) => i,
            QueueEntry::Conflict(c) => {
                t.row(vec![
                    format!("C{}", c.item_id),
                    c.status.to_string(),
                    format!("field_conflict ({})", c.field.name()),
                    c.golden_id.clone(),
                    c.records.to_string(),
                    String::new(),
                    String::new(),
                    format!("{:.2}", c.priority),
                    c.competing
                        .iter()
                        .map(|v| v.value.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                ]);
                continue;
            }
        };
        t.row(vec![
            i.item_id.to_string(),
            i.status.to_string(),
            match &i.reason {
                Some(r) => format!("{} ({r})", i.kind),
                None => i.kind.to_string(),
            },
            format!("{} / {}", i.golden_a, i.golden_b),
            i.records.to_string(),
            format!("{:.4}", i.match_probability),
            i.record_pairs.to_string(),
            format!("{:.2}", i.impact),
            format!("{}:{} ~ {}:{}", i.source_a, i.key_a, i.source_b, i.key_b),
        ]);
    }
    t.render()
}

fn history_table(trail: &[AuditRecord]) -> String {
    let mut t = Table::new(&["audit", "when", "who", "action", "target", "note"]).numeric(&[0]);
    for a in trail {
        t.row(vec![
            a.audit_id.to_string(),
            a.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            a.actor.clone(),
            a.action.to_string(),
            a.target.clone(),
            opt(&a.note),
        ]);
    }
    t.render()
}

fn lineage_value(lineage: &Lineage, field: GoldenColumn) -> String {
    lineage
        .get(field)
        .map(|o| o.value.to_string())
        .unwrap_or_default()
}

/// The text of `gild review show C7`: the competing values side by side.
pub fn render_conflict(s: &ConflictShow) -> String {
    let c = &s.item;
    let mut out = format!(
        "field conflict C{} ({}): {} of {}{} ({}), priority {:.2}\n",
        c.item_id,
        c.status,
        c.field.name(),
        s.golden_id,
        s.full_name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default(),
        c.reason,
        c.priority
    );
    let mut t = Table::new(&["#", "value", "shown", "records", "sources"]).numeric(&[0, 3]);
    for (n, v) in c.competing.iter().enumerate() {
        let mut sources: Vec<&str> = v.records.iter().map(|k| k.source.as_str()).collect();
        sources.dedup();
        t.row(vec![
            (n + 1).to_string(),
            v.value.clone(),
            if v.won { "✓".into() } else { String::new() },
            v.records
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            sources.join(", "),
        ]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "settle it: `gild review accept C{0}` (keep the value shown), `gild review choose C{0} N` \
         (pin value N), `gild review split C{0}` (the other value's records are another customer)\n",
        c.item_id
    ));
    out
}

/// The text of `gild review show`, also each step of the interactive session.
pub fn render(s: &ReviewShow) -> String {
    let i = &s.item;
    let (ka, kb) = (i.record_a().to_string(), i.record_b().to_string());
    let mut out = format!(
        "review item {} ({}{}, {}): impact {:.2}, {} record pair(s) between the two customers\n",
        i.item_id,
        i.kind,
        i.reason.map(|r| format!(": {r}")).unwrap_or_default(),
        i.status,
        i.impact,
        i.record_pairs
    );
    if s.already_one() {
        out.push_str(&format!(
            "(both now belong to {}: merged since this item was queued)\n",
            s.golden_a.golden.golden_id
        ));
    }
    out.push('\n');
    match &s.explanation {
        Some(e) => {
            let mut t = Table::new(&["comparison", &ka, "", &kb, "level", "weight"]).numeric(&[5]);
            t.row(vec![
                "prior".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("{:+.2}", e.prior_weight),
            ]);
            for c in &e.contributions {
                let mark = if c.value_a.is_empty() || c.value_b.is_empty() {
                    ""
                } else if c.value_a.eq_ignore_ascii_case(&c.value_b) {
                    "="
                } else {
                    "≠"
                };
                t.row(vec![
                    c.comparison.clone(),
                    c.value_a.clone(),
                    mark.into(),
                    c.value_b.clone(),
                    c.level.clone(),
                    super::explain::weight_cell(c),
                ]);
            }
            out.push_str(&t.render());
            if let Some(h) = &e.household {
                out.push_str(&format!("household: {}\n", h.describe()));
            }
            out.push_str(&format!(
                "total match weight {:+.2}, match probability {:.4}\n",
                e.match_weight, e.match_probability
            ));
            if !e.contradictions.is_empty() {
                out.push_str(&format!(
                    "contradicting evidence: {}\n",
                    e.contradictions.join(", ")
                ));
            }
        }
        None => out.push_str(&format!(
            "{ka} ~ {kb}: match probability {:.4} (no stored model fits the configuration, or a record is gone: weights not shown)\n",
            i.match_probability
        )),
    }
    let (ga, gb) = (&s.golden_a, &s.golden_b);
    let mut header = vec![
        "golden field".to_string(),
        format!(
            "{} ({} records)",
            ga.golden.golden_id, ga.golden.record_count
        ),
        String::new(),
        format!(
            "{} ({} records)",
            gb.golden.golden_id, gb.golden.record_count
        ),
    ];
    if s.merged.is_some() {
        header.push("after a merge".into());
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header);
    for f in GoldenColumn::ALL {
        let (a, b) = (
            lineage_value(&ga.golden.lineage, f),
            lineage_value(&gb.golden.lineage, f),
        );
        let merged = s
            .merged
            .as_ref()
            .map(|m| lineage_value(&m.record.lineage, f));
        if a.is_empty() && b.is_empty() && merged.as_deref().unwrap_or("").is_empty() {
            continue;
        }
        let mark = if a.is_empty() || b.is_empty() || a.eq_ignore_ascii_case(&b) {
            ""
        } else {
            "≠"
        };
        let mut row = vec![f.to_string(), a, mark.into(), b];
        row.extend(merged);
        t.row(row);
    }
    out.push('\n');
    out.push_str(&t.render());
    out
}

/// The interactive session: one item at a time, one key per decision.
async fn interactive(
    args: &Args,
    config: &gild::config::Config,
    store: &Store,
    steward: &Steward,
) -> anyhow::Result<u8> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "`gild review` on its own is an interactive session and needs a terminal.\n\
             From scripts use `gild review list`, `show ID`, `accept ID`, `reject ID` or `defer ID`."
        );
        return Ok(EXIT_USAGE);
    }
    let _ = args;
    let queue = store.review_queue(false, i64::MAX).await?;
    if queue.is_empty() {
        outln!("The review queue is empty.");
        return Ok(EXIT_OK);
    }
    outln!("Loading the records and model to explain each pair…");
    let explainer = Explainer::load(store, &config.matching).await?;
    let survivorship = review::survivorship(store, &config.survivorship).await?;
    let mut tally = Tally::default();
    let total = queue.len();
    for (n, item) in queue.iter().enumerate() {
        // Decided or merged away since the queue was read (an earlier accept can do that).
        let Some(current) = store.review_item(item.item_id).await? else {
            continue;
        };
        if !current.is_pending() {
            continue;
        }
        let shown = match review::show(store, &explainer, &survivorship, item.item_id).await {
            Ok(s) => s,
            Err(review::ReviewError::NotFound(why)) => {
                outln!("item {}: {why}; skipped", item.item_id);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        out!("\x1b[2J\x1b[H");
        outln!("[{} of {}]  {}", n + 1, total, steward_line(steward));
        out!("{}", render(&shown));
        outln!();
        let key = loop {
            out!("[a]ccept (same customer)  [r]eject (different)  [d]efer  [s]kip  [q]uit > ");
            match read_key()? {
                Some(k @ ('a' | 'r' | 'd' | 's' | 'q')) => break k,
                _ => outln!(),
            }
        };
        outln!("{key}");
        let outcome = match key {
            'a' => Some(review::accept(store, &survivorship, item.item_id, steward).await),
            'r' => Some(review::reject(store, item.item_id, steward).await),
            'd' => Some(review::defer(store, item.item_id, steward).await),
            's' => {
                tally.skipped += 1;
                None
            }
            _ => break,
        };
        match outcome {
            Some(Ok(done)) => {
                match key {
                    'a' => tally.accepted += 1,
                    'r' => tally.rejected += 1,
                    _ => tally.deferred += 1,
                }
                outln!("{}", done.message);
            }
            Some(Err(e)) => outln!("not done: {e}"),
            None => {}
        }
    }
    outln!(
        "\nsession over: {} accepted, {} rejected, {} deferred, {} skipped",
        tally.accepted,
        tally.rejected,
        tally.deferred,
        tally.skipped
    );
    Ok(EXIT_OK)
}

#[derive(Default)]
struct Tally {
    accepted: u32,
    rejected: u32,
    deferred: u32,
    skipped: u32,
}

fn steward_line(s: &Steward) -> String {
    format!("reviewing as {}", s.actor)
}

/// One key press, without Enter (raw mode only while waiting); Ctrl-C and Esc mean quit.
fn read_key() -> anyhow::Result<Option<char>> {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    crossterm::terminal::enable_raw_mode()?;
    let key = loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                break Ok(match k.code {
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Some('q'),
                    KeyCode::Esc => Some('q'),
                    KeyCode::Char(c) => Some(c.to_ascii_lowercase()),
                    _ => None,
                });
            }
            Ok(_) => continue,
            Err(e) => break Err(e),
        }
    };
    crossterm::terminal::disable_raw_mode()?;
    Ok(key?)
}
