//! Golden customers: by golden ID, by source key, and search.

use super::{ApiError, ApiState};
use crate::record::SourceKey;
use crate::store::{CustomerDocument, CustomerSearch, GoldenSummary};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;

/// Search results when the client gives no limit.
const DEFAULT_SEARCH_LIMIT: u32 = 50;

/// Golden IDs are `G` and at least 8 digits (`G00000042`).
fn check_golden_id(id: &str) -> Result<(), ApiError> {
    let digits = id.strip_prefix('G').unwrap_or("");
    if (8..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "malformed golden id {id:?}: golden ids are G and 8 digits, such as G00000042"
        )))
    }
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::BadRequest(format!("bad path: {}", e.body_text()))
}

/// `GET /v1/customers/{golden_id}`
pub async fn by_id(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<CustomerDocument>, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    check_golden_id(&id)?;
    match state.customer(&id).await? {
        Some(doc) => Ok(Json(doc)),
        None => Err(ApiError::NotFound(format!("no golden customer {id}"))),
    }
}

/// `GET /v1/sources/{source}/records/{key}/customer`
pub async fn by_source_key(
    State(state): State<ApiState>,
    key: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<CustomerDocument>, ApiError> {
    let Path((source, key)) = key.map_err(path_error)?;
    let key = SourceKey::new(source, key);
    match state.customer_by_key(&key).await? {
        Some(doc) => Ok(Json(doc)),
        None => Err(ApiError::NotFound(format!(
            "no record {key} in the store, or it belongs to no golden customer"
        ))),
    }
}

/// Search results; `more` says that the page was full and more customers match.
#[derive(Debug, serde::Serialize)]
pub struct SearchPage {
    pub customers: Vec<GoldenSummary>,
    pub count: usize,
    pub limit: u32,
    pub more: bool,
}

/// A positive page size, capped at `max_page`.
pub(super) fn page_limit(value: &str, max_page: u32) -> Result<u32, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(u32::try_from(n).unwrap_or(u32::MAX).min(max_page)),
        _ => Err(ApiError::BadRequest(format!(
            "limit must be a whole number of at least 1 (at most {max_page} are returned), not {value:?}"
        ))),
    }
}

pub(super) fn query_error(e: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("bad query string: {}", e.body_text()))
}

/// Turns the query parameters into search criteria (see the OpenAPI document for the rules).
pub(super) fn criteria(
    params: &[(String, String)],
    phone_regions: &[String],
    max_page: u32,
) -> Result<(CustomerSearch, u32), ApiError> {
    let mut search = CustomerSearch::default();
    let mut limit = DEFAULT_SEARCH_LIMIT.min(max_page);
    for (name, value) in params {
        let v = value.trim();
        let given = |what: &str| -> Result<String, ApiError> {
            if v.is_empty() {
                Err(ApiError::BadRequest(format!("{what} is empty")))
            } else {
                Ok(v.to_string())
            }
        };
        match name.as_str() {
            "email" => search.email = Some(given("email")?),
            "phone" => search.phones = phone_forms(&given("phone")?, phone_regions),
            "postcode" => search.postcode = Some(given("postcode")?),
            "name" => {
                let (family, given_name) = split_name(&given("name")?);
                search.family_name = Some(family);
                search.given_name = given_name;
            }
            "limit" => limit = page_limit(value, max_page)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter {other:?}: search with email, phone, name or postcode, and limit"
                )))
            }
        }
    }
    if search.is_empty() {
        return Err(ApiError::BadRequest(
            "give at least one of email, phone, name or postcode".into(),
        ));
    }
    Ok((search, limit))
}

/// "Smith" is a family name; "John Smith" a given and a family name; so is "Smith, John".
fn split_name(name: &str) -> (String, Option<String>) {
    if let Some((family, given)) = name.split_once(',') {
        let given = given.trim();
        return (
            family.trim().to_string(),
            (!given.is_empty()).then(|| given.to_string()),
        );
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    match words.as_slice() {
        [] | [_] => (name.trim().to_string(), None),
        [given, family @ ..] => (family.join(" "), Some(given.to_string())),
    }
}

/// The number as given and its E.164 forms for each phone region the mappings use: the store
/// holds E.164, and a client may send "(555) 010-0199" or "+15550100199".
fn phone_forms(raw: &str, regions: &[String]) -> Vec<String> {
    let mut forms = vec![raw.to_string()];
    for region in regions {
        if let Ok(e164) = crate::standardize::phones::to_e164(raw, region) {
            if !forms.contains(&e164) {
                forms.push(e164);
            }
        }
    }
    forms
}

/// `GET /v1/customers?email=&phone=&name=&postcode=&limit=`
pub async fn search(
    State(state): State<ApiState>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<SearchPage>, ApiError> {
    let Query(params) = params.map_err(query_error)?;
    let (search, limit) = criteria(&params, state.phone_regions(), state.max_page())?;
    // One more than the page tells whether there are more.
    let mut customers = state.search(&search, i64::from(limit) + 1).await?;
    let more = customers.len() > limit as usize;
    customers.truncate(limit as usize);
    Ok(Json(SearchPage {
        count: customers.len(),
        customers,
        limit,
        more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn golden_ids_are_checked() {
        assert!(check_golden_id("G00000042").is_ok());
        assert!(check_golden_id("G123456789").is_ok());
        for bad in [
            "",
            "G",
            "G42",
            "g00000042",
            "X00000042",
            "G0000004a",
            "G00000042 ",
        ] {
            let e = check_golden_id(bad).unwrap_err();
            assert!(e.to_string().contains("malformed golden id"), "{bad}: {e}");
        }
    }

    #[test]
    fn search_criteria_are_parsed_and_checked() {
        let us = vec!["US".to_string()];
        let (s, limit) = criteria(
            &p(&[
                ("email", " A@B.com "),
                ("phone", "(212) 555-0199"),
                ("limit", "900"),
            ]),
            &us,
            500,
        )
        .expect("valid");
        assert_eq!(s.email.as_deref(), Some("A@B.com"));
        assert_eq!(s.phones, vec!["(212) 555-0199", "+12125550199"]);
        assert_eq!(limit, 500);
        let (s, limit) = criteria(&p(&[("name", "mary ann  smith")]), &us, 500).expect("valid");
        assert_eq!(s.family_name.as_deref(), Some("ann smith"));
        assert_eq!(s.given_name.as_deref(), Some("mary"));
        assert_eq!(limit, 50);
        let (s, _) = criteria(&p(&[("name", "Smith, John")]), &us, 500).expect("valid");
        assert_eq!(
            (s.family_name.as_deref(), s.given_name.as_deref()),
            (Some("Smith"), Some("John"))
        );
        let (s, _) = criteria(&p(&[("postcode", "sw1a 1aa")]), &us, 500).expect("valid");
        assert_eq!(s.postcode.as_deref(), Some("sw1a 1aa"));

        let msg = |q: &[(&str, &str)]| criteria(&p(q), &us, 500).unwrap_err().to_string();
        assert!(msg(&[]).contains("at least one of email"));
        assert!(msg(&[("limit", "5")]).contains("at least one of email"));
        assert!(msg(&[("email", " ")]).contains("email is empty"));
        assert!(msg(&[("emial", "x")]).contains("unknown parameter \"emial\""));
        assert!(msg(&[("name", "x"), ("limit", "0")]).contains("limit must be"));
        assert!(msg(&[("name", "x"), ("limit", "ten")]).contains("not \"ten\""));
    }

    #[test]
    fn the_openapi_customer_is_the_document_served() {
        use crate::golden::{GoldenColumn, GoldenFields, GoldenRecord};
        use serde_json::value::RawValue;
        let spec: serde_json::Value = serde_json::from_str(crate::api::OPENAPI).expect("JSON");
        let documented: Vec<&str> = spec["components"]["schemas"]["Customer"]["properties"]
            .as_object()
            .expect("Customer properties")
            .keys()
            .map(String::as_str)
            .collect();
        let golden = GoldenRecord {
            golden_id: "G00000001".into(),
            fields: GoldenFields::default(),
            full_name: None,
            record_count: 1,
            customer_records: 1,
            billing_accounts: 0,
            orders: 0,
            created_run: "r".into(),
            updated_run: "r".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            lineage: RawValue::from_string("{}".into()).expect("JSON"),
        };
        let doc = CustomerDocument {
            golden,
            records: Vec::new(),
            redirected_from: None,
            conflicts: Vec::new(),
        };
        let mut served: Vec<String> = match serde_json::to_value(&doc).expect("encodes") {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        };
        let mut documented_sorted: Vec<String> = documented.iter().map(|k| k.to_string()).collect();
        served.sort_unstable();
        documented_sorted.sort_unstable();
        assert_eq!(served, documented_sorted);
        for column in GoldenColumn::ALL {
            assert!(
                documented.contains(&column.name()),
                "{column} is documented"
            );
        }
    }
}
