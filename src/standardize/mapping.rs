//! `mappings/*.toml`: how a source's columns become the canonical record.
//!
//! A mapping is parsed once (with line numbers kept for messages), then compiled against the
//! columns a source actually has, which turns every column name into an index; applying the
//! compiled mapping to a row is then allocation-light and cannot meet an unknown name.

use super::addresses::{
    standardize_city, standardize_country, standardize_region, standardize_street, standardize_unit,
};
use super::dates::{parse_date, parse_datetime, plausible_birth_date};
use super::emails::normalize_email;
use super::fold::collapse_whitespace;
use super::names::{given_name_case, name_case, parse_full_name, NameOrder};
use super::phones::to_e164;
use super::postcodes::standardize_postcode;
use super::transform::Transform;
use crate::config_file::error::{from_toml, ConfigProblem};
use crate::connectors::{ColumnType, RawRow};
use crate::record::{BillingFacts, Facts, FulfilmentFacts, Record, RecordKind, Text};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::Spanned;

/// What a value that fails its field's standardisation does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The value is dropped from the field, the record kept, and the problem recorded as a
    /// data-quality finding (`gild quality`): a steward would rather have the customer without
    /// a phone than no customer. `null` is its older name.
    #[default]
    #[serde(alias = "null")]
    Quarantine,
    /// The whole row goes to the rejects table.
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NameOrderSpec {
    #[default]
    Auto,
    FamilyFirst,
    GivenFirst,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    /// Several columns, joined with `join` (a space by default); for `street`, line 1 and line 2.
    #[serde(default)]
    pub columns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub join: Option<String>,
    /// A constant, for a value the source does not carry (e.g. its country).
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub transforms: Vec<Spanned<Transform>>,
    /// chrono formats for date fields, tried in order; the mapping's `date_formats` otherwise.
    #[serde(default)]
    pub formats: Option<Vec<String>>,
    /// For `full_name`: how the parts are ordered.
    #[serde(default)]
    pub order: Option<NameOrderSpec>,
    #[serde(default)]
    pub on_error: Option<OnError>,
    /// A record without this field (empty, or its value quarantined) is rejected.
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    pub given_name: Option<Spanned<FieldSpec>>,
    pub middle_name: Option<Spanned<FieldSpec>>,
    pub family_name: Option<Spanned<FieldSpec>>,
    pub full_name: Option<Spanned<FieldSpec>>,
    pub date_of_birth: Option<Spanned<FieldSpec>>,
    pub email: Option<Spanned<FieldSpec>>,
    #[serde(default)]
    pub emails: Vec<Spanned<FieldSpec>>,
    pub phone: Option<Spanned<FieldSpec>>,
    #[serde(default)]
    pub phones: Vec<Spanned<FieldSpec>>,
    pub street: Option<Spanned<FieldSpec>>,
    pub unit: Option<Spanned<FieldSpec>>,
    pub city: Option<Spanned<FieldSpec>>,
    pub region: Option<Spanned<FieldSpec>>,
    pub postcode: Option<Spanned<FieldSpec>>,
    pub country: Option<Spanned<FieldSpec>>,
    pub national_id: Option<Spanned<FieldSpec>>,
    pub updated_at: Option<Spanned<FieldSpec>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FactFields {
    pub account_number: Option<Spanned<FieldSpec>>,
    pub balance: Option<Spanned<FieldSpec>>,
    pub currency: Option<Spanned<FieldSpec>>,
    pub invoices: Option<Spanned<FieldSpec>>,
    pub last_invoice_date: Option<Spanned<FieldSpec>>,
    pub order_id: Option<Spanned<FieldSpec>>,
    pub order_date: Option<Spanned<FieldSpec>>,
    pub amount: Option<Spanned<FieldSpec>>,
    pub items: Option<Spanned<FieldSpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Region for phone numbers written without a country code (ISO 3166 alpha-2).
    #[serde(default = "default_region")]
    pub phone_region: String,
    /// Country when the source has no country column or leaves it empty.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default = "default_date_formats")]
    pub date_formats: Vec<String>,
    #[serde(default = "default_datetime_formats")]
    pub datetime_formats: Vec<String>,
    /// Values that mean "no value" in this source, besides the empty string.
    #[serde(default)]
    pub null_values: Vec<String>,
    /// Apply Gmail's dot and plus rule to every e-mail.
    #[serde(default)]
    pub gmail_rule: bool,
    /// Decimals are written with a comma ("12,50").
    #[serde(default)]
    pub decimal_comma: bool,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            phone_region: default_region(),
            country: None,
            date_formats: default_date_formats(),
            datetime_formats: default_datetime_formats(),
            null_values: Vec::new(),
            gmail_rule: false,
            decimal_comma: false,
        }
    }
}

fn default_region() -> String {
    "US".into()
}
fn default_date_formats() -> Vec<String> {
    vec!["%Y-%m-%d".into()]
}
fn default_datetime_formats() -> Vec<String> {
    vec!["%Y-%m-%d %H:%M:%S".into(), "%Y-%m-%dT%H:%M:%S".into()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    fields: Fields,
    #[serde(default)]
    facts: FactFields,
}

/// A parsed mapping; the text is kept so that later problems can name a line.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub name: String,
    pub file: PathBuf,
    pub description: Option<String>,
    pub defaults: Defaults,
    pub fields: Fields,
    pub facts: FactFields,
    text: String,
}

impl PartialEq for Mapping {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file && self.text == other.text
    }
}

pub fn parse_mapping(name: &str, file: &Path, text: &str) -> Result<Mapping, Vec<ConfigProblem>> {
    let raw: MappingFile = toml::from_str(text).map_err(|e| vec![from_toml(file, text, &e)])?;
    let mapping = Mapping {
        name: name.to_string(),
        file: file.to_path_buf(),
        description: raw.description,
        defaults: raw.defaults,
        fields: raw.fields,
        facts: raw.facts,
        text: text.to_string(),
    };
    let mut problems = Vec::new();
    for (target, spec) in mapping.all_fields() {
        let s = spec.get_ref();
        let sources = usize::from(s.column.is_some())
            + usize::from(s.columns.is_some())
            + usize::from(s.value.is_some());
        if sources != 1 {
            problems.push(mapping.problem(
                spec.span(),
                format!("field `{target}` needs exactly one of `column`, `columns` or `value`"),
            ));
        }
        if s.order.is_some() && target != "full_name" {
            problems.push(mapping.problem(
                spec.span(),
                format!("`order` only applies to full_name, not `{target}`"),
            ));
        }
        if s.formats.is_some() && !is_date_target(target) {
            problems.push(mapping.problem(
                spec.span(),
                format!("`formats` only applies to date fields, not `{target}`"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(mapping)
    } else {
        Err(problems)
    }
}

fn is_date_target(target: &str) -> bool {
    matches!(
        target,
        "date_of_birth" | "updated_at" | "last_invoice_date" | "order_date"
    )
}

impl Mapping {
    fn problem(&self, span: std::ops::Range<usize>, message: String) -> ConfigProblem {
        ConfigProblem::at_span(&self.file, &self.text, span, message)
    }

    fn all_fields(&self) -> Vec<(&'static str, &Spanned<FieldSpec>)> {
        let f = &self.fields;
        let x = &self.facts;
        let mut out: Vec<(&'static str, &Spanned<FieldSpec>)> = Vec::new();
        let singles: [(&'static str, &Option<Spanned<FieldSpec>>); 23] = [
            ("given_name", &f.given_name),
            ("middle_name", &f.middle_name),
            ("family_name", &f.family_name),
            ("full_name", &f.full_name),
            ("date_of_birth", &f.date_of_birth),
            ("email", &f.email),
            ("phone", &f.phone),
            ("street", &f.street),
            ("unit", &f.unit),
            ("city", &f.city),
            ("region", &f.region),
            ("postcode", &f.postcode),
            ("country", &f.country),
            ("national_id", &f.national_id),
            ("updated_at", &f.updated_at),
            ("account_number", &x.account_number),
            ("balance", &x.balance),
            ("currency", &x.currency),
            ("invoices", &x.invoices),
            ("last_invoice_date", &x.last_invoice_date),
            ("order_id", &x.order_id),
            ("order_date", &x.order_date),
            ("amount", &x.amount),
        ];
        for (name, spec) in singles {
            if let Some(s) = spec {
                out.push((name, s));
            }
        }
        if let Some(s) = &x.items {
            out.push(("items", s));
        }
        out.extend(f.emails.iter().map(|s| ("emails", s)));
        out.extend(f.phones.iter().map(|s| ("phones", s)));
        out
    }

    /// Checks the mapping against the record kind of the connector using it.
    /// The mapping file as written: what a sync's inputs fingerprint covers.
    pub fn source_text(&self) -> &str {
        &self.text
    }

    pub fn check_kind(&self, kind: RecordKind) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let x = &self.facts;
        let billing = [
            &x.account_number,
            &x.balance,
            &x.currency,
            &x.invoices,
            &x.last_invoice_date,
        ];
        let orders = [&x.order_id, &x.order_date, &x.amount, &x.items];
        let wrong: Vec<&Spanned<FieldSpec>> = match kind {
            RecordKind::Customer => billing
                .iter()
                .chain(orders.iter())
                .filter_map(|s| s.as_ref())
                .collect(),
            RecordKind::Billing => orders.iter().filter_map(|s| s.as_ref()).collect(),
            RecordKind::Fulfilment => billing
                .iter()
                .filter(|s| !std::ptr::eq(**s, &x.currency))
                .filter_map(|s| s.as_ref())
                .collect(),
        };
        for s in wrong {
            problems.push(self.problem(
                s.span(),
                format!("this fact does not belong to {kind} records"),
            ));
        }
        problems
    }

    /// Resolves every column name against the columns the source really has (all text).
    pub fn compile(
        &self,
        columns: &[String],
        kind: RecordKind,
        primary_key: &[String],
        source_place: &str,
    ) -> Result<CompiledMapping, Vec<ConfigProblem>> {
        let types = vec![ColumnType::Text; columns.len()];
        self.compile_typed(columns, &types, kind, primary_key, source_place)
    }

    /// [`Mapping::compile`] for a source that says what type each column is: date fields read
    /// from DATE and TIMESTAMP columns need no `formats`.
    pub fn compile_typed(
        &self,
        columns: &[String],
        types: &[ColumnType],
        kind: RecordKind,
        primary_key: &[String],
        source_place: &str,
    ) -> Result<CompiledMapping, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        // Column references, and those the source lacks: when it lacks them all, its "header"
        // is most likely a first row of data.
        let (asked, unknown) = (Cell::new(0usize), Cell::new(0usize));
        let lookup = |name: &Spanned<String>, problems: &mut Vec<ConfigProblem>| -> Option<usize> {
            let wanted = name.get_ref();
            asked.set(asked.get() + 1);
            if let Some(i) = columns.iter().position(|c| c == wanted) {
                return Some(i);
            }
            // Databases disagree about identifier case; accept a unique case-insensitive match.
            let matches: Vec<usize> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.eq_ignore_ascii_case(wanted))
                .map(|(i, _)| i)
                .collect();
            if let [i] = matches.as_slice() {
                return Some(*i);
            }
            unknown.set(unknown.get() + 1);
            // The source's column names are never quoted: without a header row they are a
            // customer's values.
            problems.push(self.problem(
                name.span(),
                format!(
                    "unknown column {wanted:?}: none of the {} columns of {source_place} has this name, in any case (`gild sources check` lists them)",
                    columns.len()
                ),
            ));
            None
        };
        let compile_field =
            |spec: &Spanned<FieldSpec>, problems: &mut Vec<ConfigProblem>| -> Option<FieldOp> {
                let s = spec.get_ref();
                let input = if let Some(c) = &s.column {
                    Input::Column(lookup(c, problems)?)
                } else if let Some(cs) = &s.columns {
                    let idx: Vec<usize> = cs.iter().filter_map(|c| lookup(c, problems)).collect();
                    if idx.len() != cs.len() {
                        return None;
                    }
                    Input::Columns(idx, s.join.clone().unwrap_or_else(|| " ".into()))
                } else {
                    Input::Constant(s.value.clone().unwrap_or_default())
                };
                Some(FieldOp {
                    transforms: s.transforms.iter().map(|t| *t.get_ref()).collect(),
                    formats: s.formats.clone(),
                    order: s.order.unwrap_or_default(),
                    on_error: s.on_error.unwrap_or_default(),
                    required: s.required,
                    typed_date: match &input {
                        Input::Column(i) => types.get(*i).is_some_and(|t| t.is_temporal()),
                        _ => false,
                    },
                    input,
                })
            };
        let key_columns: Vec<usize> = primary_key
            .iter()
            .filter_map(|k| {
                let spanned = Spanned::new(0..0, k.clone());
                let found = columns.iter().position(|c| c == k).or_else(|| {
                    let m: Vec<usize> = columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.eq_ignore_ascii_case(k))
                        .map(|(i, _)| i)
                        .collect();
                    (m.len() == 1).then(|| m[0])
                });
                if found.is_none() {
                    let _ = spanned;
                    problems.push(ConfigProblem::new(
                        &self.file,
                        None,
                        format!(
                            "primary key column {k:?} is not among the columns of {source_place}"
                        ),
                    ));
                }
                found
            })
            .collect();

        let f = &self.fields;
        let x = &self.facts;
        let one = |s: &Option<Spanned<FieldSpec>>, problems: &mut Vec<ConfigProblem>| {
            s.as_ref().and_then(|s| compile_field(s, problems))
        };
        let compiled = CompiledMapping {
            source_place: source_place.to_string(),
            kind,
            defaults: self.defaults.clone(),
            key_columns,
            given_name: one(&f.given_name, &mut problems),
            middle_name: one(&f.middle_name, &mut problems),
            family_name: one(&f.family_name, &mut problems),
            full_name: one(&f.full_name, &mut problems),
            date_of_birth: one(&f.date_of_birth, &mut problems),
            emails: f
                .email
                .iter()
                .chain(f.emails.iter())
                .filter_map(|s| compile_field(s, &mut problems))
                .collect(),
            phones: f
                .phone
                .iter()
                .chain(f.phones.iter())
                .filter_map(|s| compile_field(s, &mut problems))
                .collect(),
            street: one(&f.street, &mut problems),
            unit: one(&f.unit, &mut problems),
            city: one(&f.city, &mut problems),
            region: one(&f.region, &mut problems),
            postcode: one(&f.postcode, &mut problems),
            country: one(&f.country, &mut problems),
            national_id: one(&f.national_id, &mut problems),
            updated_at: one(&f.updated_at, &mut problems),
            account_number: one(&x.account_number, &mut problems),
            balance: one(&x.balance, &mut problems),
            currency: one(&x.currency, &mut problems),
            invoices: one(&x.invoices, &mut problems),
            last_invoice_date: one(&x.last_invoice_date, &mut problems),
            order_id: one(&x.order_id, &mut problems),
            order_date: one(&x.order_date, &mut problems),
            amount: one(&x.amount, &mut problems),
            items: one(&x.items, &mut problems),
        };
        if asked.get() > 0 && unknown.get() == asked.get() {
            problems.push(ConfigProblem::new(
                &self.file,
                None,
                format!(
                    "none of the {} columns this mapping reads is among the {} columns of {source_place}: if it is an export without a header row, its first row was read as the header; set `header = false` and name the columns (`columns = [...]`) in its connector",
                    asked.get(),
                    columns.len()
                ),
            ));
        }
        if problems.is_empty() {
            Ok(compiled)
        } else {
            Err(problems)
        }
    }
}

#[derive(Debug, Clone)]
enum Input {
    Column(usize),
    Columns(Vec<usize>, String),
    Constant(String),
}

#[derive(Debug, Clone)]
struct FieldOp {
    input: Input,
    transforms: Vec<Transform>,
    formats: Option<Vec<String>>,
    order: NameOrderSpec,
    on_error: OnError,
    required: bool,
    /// Read from a DATE or TIMESTAMP database column: its value comes as `%Y-%m-%d` or
    /// `%Y-%m-%d %H:%M:%S` (UTC) whatever the mapping's formats say.
    typed_date: bool,
}

/// A mapping bound to one source's columns.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    source_place: String,
    kind: RecordKind,
    defaults: Defaults,
    key_columns: Vec<usize>,
    given_name: Option<FieldOp>,
    middle_name: Option<FieldOp>,
    family_name: Option<FieldOp>,
    full_name: Option<FieldOp>,
    date_of_birth: Option<FieldOp>,
    emails: Vec<FieldOp>,
    phones: Vec<FieldOp>,
    street: Option<FieldOp>,
    unit: Option<FieldOp>,
    city: Option<FieldOp>,
    region: Option<FieldOp>,
    postcode: Option<FieldOp>,
    country: Option<FieldOp>,
    national_id: Option<FieldOp>,
    updated_at: Option<FieldOp>,
    account_number: Option<FieldOp>,
    balance: Option<FieldOp>,
    currency: Option<FieldOp>,
    invoices: Option<FieldOp>,
    last_invoice_date: Option<FieldOp>,
    order_id: Option<FieldOp>,
    order_date: Option<FieldOp>,
    amount: Option<FieldOp>,
    items: Option<FieldOp>,
}

/// Why a row could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub key: Option<String>,
    pub reason: String,
}

/// A value dropped from its field (`on_error = "quarantine"`, the default): the record is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFinding {
    pub field: &'static str,
    /// The value as read (after the field's transforms); it goes to the store only.
    pub raw: String,
    /// What is wrong with it, without the value.
    pub reason: String,
}

/// A mapped row, with the values quarantined from its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub record: Record,
    pub findings: Vec<FieldFinding>,
}

struct Ctx<'a> {
    row: &'a RawRow,
    nulls: &'a [String],
    findings: Vec<FieldFinding>,
    key: &'a str,
}

impl Ctx<'_> {
    fn cell(&self, i: usize) -> Option<&str> {
        let v = self.row.values.get(i)?.as_deref()?.trim();
        if v.is_empty() || self.nulls.iter().any(|n| n.eq_ignore_ascii_case(v)) {
            None
        } else {
            Some(v)
        }
    }

    /// The field's text after its transforms; `None` when empty.
    fn text(&self, op: &FieldOp) -> Option<String> {
        let mut value = match &op.input {
            Input::Column(i) => self.cell(*i)?.to_string(),
            Input::Columns(cols, join) => {
                let parts: Vec<&str> = cols.iter().filter_map(|i| self.cell(*i)).collect();
                if parts.is_empty() {
                    return None;
                }
                parts.join(join)
            }
            Input::Constant(c) => c.clone(),
        };
        for t in &op.transforms {
            value = t.apply(&value)?;
        }
        Some(value)
    }

    /// Applies `convert` to the field's text; errors either reject the row or empty the field.
    fn convert<T>(
        &mut self,
        op: &Option<FieldOp>,
        target: &'static str,
        convert: impl FnOnce(&str, &FieldOp) -> Result<T, String>,
    ) -> Result<Option<T>, RowError> {
        let Some(op) = op else { return Ok(None) };
        let Some(text) = self.text(op) else {
            return self.missing(op, target, "it is empty").map(|()| None);
        };
        match convert(&text, op) {
            Ok(v) => Ok(Some(v)),
            Err(reason) => match op.on_error {
                OnError::Reject => Err(self.reject(target, &reason)),
                OnError::Quarantine => {
                    self.missing(op, target, &reason)?;
                    self.findings.push(FieldFinding {
                        field: target,
                        raw: text,
                        reason,
                    });
                    Ok(None)
                }
            },
        }
    }

    /// A field left without a value: fine unless it is required.
    fn missing(&self, op: &FieldOp, target: &str, why: &str) -> Result<(), RowError> {
        if op.required {
            Err(self.reject(target, &format!("required field has no value: {why}")))
        } else {
            Ok(())
        }
    }

    fn reject(&self, target: &str, reason: &str) -> RowError {
        RowError {
            key: Some(self.key.to_string()),
            reason: format!("{target}: {reason}"),
        }
    }
}

fn parse_decimal(text: &str, decimal_comma: bool) -> Result<Decimal, String> {
    let mut s: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '$' | '€' | '£'))
        .collect();
    let negative = s.starts_with('(') && s.ends_with(')');
    if negative {
        s = s[1..s.len() - 1].to_string();
    }
    s = if decimal_comma {
        s.replace('.', "").replace(',', ".")
    } else {
        s.replace(',', "")
    };
    let d = Decimal::from_str(&s).map_err(|_| "not a number".to_string())?;
    Ok(if negative { -d } else { d })
}

fn parse_integer(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    cleaned
        .parse::<i64>()
        .or_else(|_| match cleaned.strip_suffix(".0") {
            Some(s) => s.parse::<i64>(),
            None => "x".parse::<i64>(),
        })
        .map_err(|_| "not a whole number".to_string())
}

impl CompiledMapping {
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The row's key: its primary-key cells joined with `|`.
    pub fn key_of(&self, row: &RawRow) -> Result<String, String> {
        let mut parts = Vec::with_capacity(self.key_columns.len());
        for &i in &self.key_columns {
            match row.values.get(i).and_then(|v| v.as_deref()).map(str::trim) {
                Some(v) if !v.is_empty() => parts.push(v),
                _ => return Err("missing key: the primary-key column is empty".to_string()),
            }
        }
        Ok(parts.join("|"))
    }

    /// Maps one row; `today` bounds plausible birth dates.
    pub fn apply(&self, source: &str, row: &RawRow, today: NaiveDate) -> Result<Mapped, RowError> {
        let key = self
            .key_of(row)
            .map_err(|reason| RowError { key: None, reason })?;
        let mut ctx = Ctx {
            row,
            nulls: &self.defaults.null_values,
            findings: Vec::new(),
            key: &key,
        };
        let d = &self.defaults;

        let mut given = ctx.convert(&self.given_name, "given_name", |t, _| {
            Ok(given_name_case(&collapse_whitespace(t)))
        })?;
        let mut middle = ctx.convert(&self.middle_name, "middle_name", |t, _| {
            Ok(given_name_case(&collapse_whitespace(t)))
        })?;
        let mut family = ctx.convert(&self.family_name, "family_name", |t, _| {
            Ok(name_case(&collapse_whitespace(t)))
        })?;
        if let Some(parsed) = ctx.convert(&self.full_name, "full_name", |t, op| {
            let order = match op.order {
                NameOrderSpec::Auto => NameOrder::Auto,
                NameOrderSpec::FamilyFirst => NameOrder::FamilyFirst,
                NameOrderSpec::GivenFirst => NameOrder::GivenFirst,
            };
            parse_full_name(t, order).map_err(|e| e.reason())
        })? {
            // Separately mapped parts win over parts parsed from a full name.
            given = given.or(parsed.given);
            middle = middle.or(parsed.middle);
            family = family.or(parsed.family);
        }

        let date_formats =
            |op: &FieldOp| op.formats.clone().unwrap_or_else(|| d.date_formats.clone());
        let plain_date = |t: &str, op: &FieldOp| match typed_date(t, op) {
            Some(date) => Ok(date),
            None => parse_date(t, &date_formats(op)).map_err(|e| e.reason()),
        };
        let date_of_birth = ctx.convert(&self.date_of_birth, "date_of_birth", |t, op| {
            let date = plain_date(t, op)?;
            if plausible_birth_date(date, today) {
                Ok(date)
            } else {
                Err("not a plausible date of birth (before 1875 or in the future)".to_string())
            }
        })?;

        let mut emails: Vec<Text> = Vec::new();
        for op in &self.emails {
            let one = Some(op.clone());
            if let Some(e) = ctx.convert(&one, "email", |t, _| {
                normalize_email(t, d.gmail_rule).map_err(|e| e.reason())
            })? {
                if !emails.iter().any(|x| x == e) {
                    emails.push(e.into());
                }
            }
        }
        let mut phones: Vec<Text> = Vec::new();
        for op in &self.phones {
            let one = Some(op.clone());
            if let Some(p) = ctx.convert(&one, "phone", |t, _| {
                to_e164(t, &d.phone_region).map_err(|e| e.reason())
            })? {
                if !phones.iter().any(|x| x == p) {
                    phones.push(p.into());
                }
            }
        }

        let country = ctx
            .convert(&self.country, "country", |t, _| {
                standardize_country(t).ok_or_else(|| "unknown country".to_string())
            })?
            .or_else(|| d.country.as_deref().and_then(standardize_country));
        let (street, mut unit) = match &self.street {
            Some(op) => {
                let lines: Option<(String, Option<String>)> = match &op.input {
                    Input::Columns(cols, _) if cols.len() >= 2 => {
                        let cell = |i: usize| {
                            ctx.cell(cols[i])
                                .and_then(|s| apply_all(&op.transforms, s))
                                .filter(|s| !s.trim().is_empty())
                        };
                        // A first column that holds only the house number is half of line 1:
                        // legacy systems keep number and street apart (ADDR_NO, ADDR_STREET).
                        let number_apart = cell(0).is_some_and(|a| is_house_number(&a));
                        let first = if number_apart {
                            match (cell(0), cell(1)) {
                                (Some(n), Some(s)) => Some(Some(format!("{} {s}", n.trim()))),
                                (n, s) => Some(n.or(s)),
                            }
                        } else {
                            ctx.cell(cols[0]).map(|s| apply_all(&op.transforms, s))
                        };
                        let rest = if number_apart { 2 } else { 1 };
                        let second = cols[rest.min(cols.len())..]
                            .iter()
                            .filter_map(|i| ctx.cell(*i))
                            .map(|s| apply_all(&op.transforms, s))
                            .collect::<Option<Vec<_>>>()
                            .map(|v| v.join(" "))
                            .filter(|s| !s.is_empty());
                        match (first.flatten(), second) {
                            (Some(a), b) => Some((a, b)),
                            (None, Some(b)) => Some((b, None)),
                            (None, None) => None,
                        }
                    }
                    _ => ctx.text(op).map(|t| (t, None)),
                };
                match lines {
                    Some((l1, l2)) => {
                        let a = standardize_street(&l1, l2.as_deref());
                        (Some(a.line).filter(|s| !s.is_empty()), a.unit)
                    }
                    None => (None, None),
                }
            }
            None => (None, None),
        };
        if let Some(u) = ctx.convert(&self.unit, "unit", |t, _| Ok(standardize_unit(t)))? {
            unit = u.or(unit);
        }
        let city = ctx
            .convert(&self.city, "city", |t, _| Ok(standardize_city(t)))?
            .filter(|s| !s.is_empty());
        let region = ctx
            .convert(&self.region, "region", |t, _| {
                Ok(standardize_region(t, country.as_deref()))
            })?
            .filter(|s| !s.is_empty());
        let postcode = ctx.convert(&self.postcode, "postcode", |t, _| {
            standardize_postcode(t, country.as_deref()).map_err(|e| e.reason())
        })?;
        let national_id = ctx
            .convert(&self.national_id, "national_id", |t, _| {
                Ok(Transform::Alnum.apply(t).unwrap_or_default())
            })?
            .filter(|s| !s.is_empty());
        let updated_at = ctx.convert(&self.updated_at, "updated_at", |t, op| {
            let formats = op
                .formats
                .clone()
                .unwrap_or_else(|| d.datetime_formats.clone());
            parse_datetime(t, &formats).map_err(|e| e.reason())
        })?;

        let currency = ctx.convert(&self.currency, "currency", |t, _| {
            let c = t.trim().to_ascii_uppercase();
            if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                Ok(Text::from(c))
            } else {
                Err("not an ISO 4217 currency code".to_string())
            }
        })?;
        let facts = match self.kind {
            RecordKind::Customer => Facts::Customer,
            RecordKind::Billing => Facts::Billing(Box::new(BillingFacts {
                account_number: ctx
                    .convert(&self.account_number, "account_number", |t, _| {
                        Ok(Text::from(t.trim()))
                    })?
                    .unwrap_or_else(|| Text::from(key.as_str())),
                balance: ctx.convert(&self.balance, "balance", |t, _| {
                    parse_decimal(t, d.decimal_comma)
                })?,
                currency,
                invoices: ctx.convert(&self.invoices, "invoices", |t, _| parse_integer(t))?,
                last_invoice_date: ctx.convert(
                    &self.last_invoice_date,
                    "last_invoice_date",
                    plain_date,
                )?,
            })),
            RecordKind::Fulfilment => Facts::Fulfilment(Box::new(FulfilmentFacts {
                order_id: ctx
                    .convert(&self.order_id, "order_id", |t, _| Ok(Text::from(t.trim())))?
                    .unwrap_or_else(|| Text::from(key.as_str())),
                order_date: ctx.convert(&self.order_date, "order_date", plain_date)?,
                amount: ctx.convert(&self.amount, "amount", |t, _| {
                    parse_decimal(t, d.decimal_comma)
                })?,
                currency,
                items: ctx.convert(&self.items, "items", |t, _| parse_integer(t))?,
            })),
        };

        let findings = std::mem::take(&mut ctx.findings);
        Ok(Mapped {
            record: Record {
                source: source.into(),
                key: key.as_str().into(),
                origin: row.location().into(),
                given_name: given.map(Text::from),
                middle_name: middle.map(Text::from),
                family_name: family.map(Text::from),
                date_of_birth,
                emails,
                phones,
                street: street.map(Text::from),
                unit: unit.map(Text::from),
                city: city.map(Text::from),
                region: region.map(Text::from),
                postcode: postcode.map(Text::from),
                country: country.map(Text::from),
                national_id: national_id.map(Text::from),
                updated_at,
                facts,
            },
            findings,
        })
    }

    /// Where this mapping's rows come from, for messages.
    pub fn source_place(&self) -> &str {
        &self.source_place
    }
}

/// A DATE or TIMESTAMP column's value, as the connector wrote it; `None` for anything else (a
/// SQLite column declared DATE may hold text in any format), which then meets the formats.
fn typed_date(text: &str, op: &FieldOp) -> Option<NaiveDate> {
    if !op.typed_date {
        return None;
    }
    let day = text.get(..10)?;
    let rest = &text[10..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// A value that is only a house number: "12", "12A", "12-14", "1/2".
fn is_house_number(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.len() <= 10
        && s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        && s.chars().filter(|c| c.is_ascii_alphabetic()).count() <= 1
}

fn apply_all(transforms: &[Transform], s: &str) -> Option<String> {
    let mut v = s.to_string();
    for t in transforms {
        v = t.apply(&v)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests;
