//! `gild golden list|show`: read golden customers, their lineage and linked records.

use super::changes::events_table;
use super::output::{json, opt, out, outln, thousands, Table};
use super::review::print_edit;
use super::{load_config, Args, Format, NotFound, EXIT_OK};
use gild::golden::GoldenColumn;
use gild::record::{Facts, SourceKey};
use gild::review::{self, Steward};
use gild::store::{ConflictItem, GoldenView, Store};

#[derive(Debug, clap::Subcommand)]
pub enum GoldenCommand {
    /// List golden customers by name.
    List {
        /// Only customers whose name, e-mail, phone or postcode contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
    /// One customer with field lineage and linked accounts and orders.
    Show {
        /// A golden ID (old, merged IDs are followed) or a source key such as crm:100042.
        id: String,
    },
    /// Merge two golden customers into one (the older ID survives; the other redirects to it).
    Merge {
        a: String,
        b: String,
        #[command(flatten)]
        who: Who,
    },
    /// Split records off a golden customer into a new one.
    Split {
        id: String,
        /// The records that belong to another customer, e.g. crm:1001,billing:B-77.
        #[arg(long, value_delimiter = ',', required = true)]
        records: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Set one field's value whatever survivorship would choose.
    Pin {
        id: String,
        #[arg(help = pin_field_help())]
        field: String,
        value: String,
        #[command(flatten)]
        who: Who,
    },
    /// Let survivorship choose a pinned field again.
    Unpin {
        id: String,
        field: String,
        #[command(flatten)]
        who: Who,
    },
    /// Every change to one golden customer, oldest first, from the change feed.
    History { id: String },
}

fn pin_field_help() -> String {
    format!("One of {}", GoldenColumn::list("{}"))
}

/// Who makes a correction, and why (the audit trail keeps both).
#[derive(Debug, clap::Args)]
pub struct Who {
    /// Who decides; the OS user by default.
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// Why.
    #[arg(long)]
    pub note: Option<String>,
}

impl Who {
    fn steward(&self) -> Steward {
        Steward::new(self.actor.clone(), self.note.clone())
    }
}

pub async fn run(args: &Args, command: &GoldenCommand) -> anyhow::Result<u8> {
    let config = load_config(args)?;
    let store = Store::connect(&config.store_url).await?;
    match command {
        GoldenCommand::List {
            search,
            limit,
            offset,
        } => {
            let rows = store
                .golden_list(search.as_deref(), *limit, *offset)
                .await?;
            match args.format {
                Format::Json => json(&rows)?,
                Format::Text => {
                    let total = store.golden_count().await?;
                    let mut t = Table::new(&[
                        "golden id",
                        "name",
                        "born",
                        "email",
                        "phone",
                        "city",
                        "postcode",
                        "records",
                        "accounts",
                        "orders",
                    ])
                    .numeric(&[7, 8, 9]);
                    for g in &rows {
                        t.row(vec![
                            g.golden_id.clone(),
                            opt(&g.full_name),
                            g.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
                            opt(&g.email),
                            opt(&g.phone),
                            opt(&g.city),
                            opt(&g.postcode),
                            g.record_count.to_string(),
                            g.billing_accounts.to_string(),
                            g.orders.to_string(),
                        ]);
                    }
                    out!("{}", t.render());
                    outln!(
                        "{} of {} golden customers",
                        rows.len(),
                        thousands(total as u64)
                    );
                }
            }
        }
        GoldenCommand::Show { id } => {
            // Golden IDs have no colon; `source:key` names a source record.
            let golden_id = match SourceKey::parse(id) {
                Some(k) => store
                    .golden_id_of(&k)
                    .await?
                    .ok_or_else(|| NotFound(format!("no record {k} in the store")))?,
                None => id.clone(),
            };
            let view = store
                .golden_view(&golden_id)
                .await?
                .ok_or_else(|| NotFound(format!("no golden customer {golden_id}")))?;
            let conflicts = store.conflicts_of(&view.golden.golden_id).await?;
            match args.format {
                Format::Json => json(&Shown {
                    view: &view,
                    conflicts: &conflicts,
                })?,
                Format::Text => out!("{}", render(&view, &conflicts)),
            }
        }
        GoldenCommand::Merge { a, b, who } => {
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let done = review::merge(&store, &survivorship, a, b, &who.steward()).await?;
            print_edit(args, &done)?;
        }
        GoldenCommand::Split { id, records, who } => {
            let keys = records
                .iter()
                .map(|r| {
                    SourceKey::parse(r).ok_or_else(|| {
                        gild::review::ReviewError::Invalid(format!(
                            "{r:?} is not a source:key reference such as crm:1001"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let done = review::split(&store, &survivorship, id, &keys, &who.steward()).await?;
            print_edit(args, &done)?;
        }
        GoldenCommand::Pin {
            id,
            field,
            value,
            who,
        } => {
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let done = review::pin(&store, &survivorship, id, field, value, &who.steward()).await?;
            print_edit(args, &done)?;
        }
        GoldenCommand::Unpin { id, field, who } => {
            let survivorship = review::survivorship(&store, &config.survivorship).await?;
            let done = review::unpin(&store, &survivorship, id, field, &who.steward()).await?;
            print_edit(args, &done)?;
        }
        GoldenCommand::History { id } => {
            let current = store.resolve_golden_id(id).await?;
            let events = store.golden_history(id).await?;
            if events.is_empty() && current.is_none() {
                return Err(NotFound(format!("no golden customer {id}, now or ever")).into());
            }
            match args.format {
                Format::Json => json(&events)?,
                Format::Text => {
                    if let Some(now) = current.filter(|c| c != id) {
                        outln!("{id} was merged into {now}; its history up to then:");
                    }
                    out!("{}", events_table(&events));
                }
            }
        }
    }
    store.close().await;
    Ok(EXIT_OK)
}

/// `golden show --format json`: the customer and its field conflicts.
#[derive(serde::Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    view: &'a GoldenView,
    conflicts: &'a [ConflictItem],
}

/// The mark of a column in conflict: `≠ C7 open`.
fn conflict_mark(conflicts: &[ConflictItem], column: GoldenColumn) -> String {
    conflicts
        .iter()
        .find(|c| c.field.columns().contains(&column))
        .map(|c| format!("≠ C{} {}", c.item_id, c.status))
        .unwrap_or_default()
}

fn render(v: &GoldenView, conflicts: &[ConflictItem]) -> String {
    let g = &v.golden;
    let mut out = String::new();
    out.push_str(&format!("{}  {}\n", g.golden_id, opt(&g.full_name)));
    if let Some(old) = &v.redirected_from {
        out.push_str(&format!(
            "(asked for {old}, which was merged into {})\n",
            g.golden_id
        ));
    }
    out.push_str(&format!(
        "{} records: {} customer, {} billing accounts, {} orders; created by run {}, updated by run {}\n\n",
        g.record_count, g.customer_records, g.billing_accounts, g.orders, g.created_run, g.updated_run
    ));
    let mut t = Table::new(&["field", "value", "from", "rule", "conflict"]);
    for f in GoldenColumn::ALL {
        if let Some(o) = g.lineage.get(f) {
            t.row(vec![
                f.to_string(),
                o.value.to_string(),
                format!("{}:{}", o.source, o.key),
                o.rule.name().to_string(),
                conflict_mark(conflicts, f),
            ]);
        }
    }
    out.push_str(&t.render());
    // A customer's other e-mails and phones, when the one shown is clearly the best supported.
    for f in [GoldenColumn::Email, GoldenColumn::Phone] {
        if let Some(o) = g.lineage.get(f).filter(|o| !o.alternates.is_empty()) {
            out.push_str(&format!("also {f}: {}\n", o.alternates.join(", ")));
        }
    }
    if !conflicts.is_empty() {
        out.push_str(
            "≠: the records disagree on this field; `gild review show C<n>` shows the values\n",
        );
    }

    let accounts: Vec<_> = v
        .records
        .iter()
        .filter_map(|r| match &r.record.facts {
            Facts::Billing(b) => Some((r, b)),
            _ => None,
        })
        .collect();
    if !accounts.is_empty() {
        let mut t = Table::new(&[
            "billing account",
            "source",
            "balance",
            "currency",
            "invoices",
            "last invoice",
        ])
        .numeric(&[2, 4]);
        let mut total = rust_decimal::Decimal::ZERO;
        for (r, b) in &accounts {
            total += b.balance.unwrap_or_default();
            t.row(vec![
                b.account_number.to_string(),
                format!("{}:{}", r.source, r.key),
                b.balance.map(|x| x.to_string()).unwrap_or_default(),
                b.currency.as_deref().unwrap_or("").to_string(),
                b.invoices.map(|x| x.to_string()).unwrap_or_default(),
                b.last_invoice_date
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
        out.push_str(&format!("total balance {total}\n"));
    }
    let orders: Vec<_> = v
        .records
        .iter()
        .filter_map(|r| match &r.record.facts {
            Facts::Fulfilment(o) => Some((r, o)),
            _ => None,
        })
        .collect();
    if !orders.is_empty() {
        let mut t = Table::new(&["order", "date", "amount", "items", "ship to"]).numeric(&[2, 3]);
        for (r, o) in &orders {
            t.row(vec![
                o.order_id.to_string(),
                o.order_date.map(|d| d.to_string()).unwrap_or_default(),
                o.amount.map(|x| x.to_string()).unwrap_or_default(),
                o.items.map(|x| x.to_string()).unwrap_or_default(),
                [&r.record.street, &r.record.city]
                    .iter()
                    .filter_map(|x| x.as_deref())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    let mut t = Table::new(&[
        "record", "kind", "name", "born", "email", "phone", "address",
    ]);
    for r in &v.records {
        let x = &r.record;
        t.row(vec![
            format!("{}:{}", r.source, r.key),
            r.kind.to_string(),
            x.display_name(),
            x.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            x.emails.join(" "),
            x.phones.join(" "),
            [&x.street, &x.unit, &x.city, &x.region, &x.postcode]
                .iter()
                .filter_map(|v| v.as_deref())
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    out.push_str("\nlinked source records\n");
    out.push_str(&t.render());
    out
}
