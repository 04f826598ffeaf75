//! Measuring published clusters against a truth file: pairwise precision, recall and F1 before
//! and after clustering, B-cubed precision and recall, and a threshold sweep. Labels are used
//! here only, never for training.

use crate::blocking::LinkType;
use crate::record::SourceKey;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("cannot read the truth file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}: {reason}")]
    Format {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("the truth file {0} has no rows")]
    Empty(String),
    #[error("bad --entity-from-key pattern: {0}")]
    Pattern(String),
}

/// Where each (source, key) belongs according to the truth.
pub struct Truth {
    by_source_key: HashMap<SourceKey, String>,
    /// Truth files without a source column (key, entity) apply to every source.
    by_key: HashMap<String, String>,
    pattern: Option<regex::Regex>,
}

impl Truth {
    /// Reads `source,key,entity_id` or `key,entity_id` CSV (gzip when the name ends in .gz).
    pub fn from_file(path: &Path) -> Result<Truth, EvaluateError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| EvaluateError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = csv
            .headers()
            .map_err(|e| EvaluateError::Read {
                path: shown.clone(),
                reason: e.to_string(),
            })?
            .clone();
        let with_source = headers.len() >= 3;
        let mut truth = Truth {
            by_source_key: HashMap::new(),
            by_key: HashMap::new(),
            pattern: None,
        };
        for (n, row) in csv.records().enumerate() {
            let row = row.map_err(|e| EvaluateError::Format {
                path: shown.clone(),
                line: n as u64 + 2,
                reason: e.to_string(),
            })?;
            if with_source {
                truth.by_source_key.insert(
                    SourceKey::new(row[0].trim(), row[1].trim()),
                    row[2].trim().to_string(),
                );
            } else if row.len() >= 2 {
                truth
                    .by_key
                    .insert(row[0].trim().to_string(), row[1].trim().to_string());
            }
        }
        if truth.by_source_key.is_empty() && truth.by_key.is_empty() {
            return Err(EvaluateError::Empty(shown));
        }
        Ok(truth)
    }

    /// The entity is the first capture group of a pattern applied to the key
    /// (FEBRL: `rec-(\d+)-`).
    pub fn from_key_pattern(pattern: &str) -> Result<Truth, EvaluateError> {
        let re = regex::Regex::new(pattern).map_err(|e| EvaluateError::Pattern(e.to_string()))?;
        if re.captures_len() < 2 {
            return Err(EvaluateError::Pattern(
                "it needs one capture group, e.g. rec-(\\d+)-".into(),
            ));
        }
        Ok(Truth {
            by_source_key: HashMap::new(),
            by_key: HashMap::new(),
            pattern: Some(re),
        })
    }

    pub fn entity(&self, k: &SourceKey) -> Option<String> {
        if let Some(re) = &self.pattern {
            return re
                .captures(&k.key)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string());
        }
        self.by_source_key
            .get(k)
            .or_else(|| self.by_key.get(k.key.as_str()))
            .cloned()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairMetrics {
    pub true_positives: u64,
    pub predicted_pairs: u64,
    pub truth_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl PairMetrics {
    fn new(tp: u64, predicted: u64, truth: u64) -> Self {
        let precision = if predicted > 0 {
            tp as f64 / predicted as f64
        } else {
            1.0
        };
        let recall = if truth > 0 {
            tp as f64 / truth as f64
        } else {
            1.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        PairMetrics {
            true_positives: tp,
            predicted_pairs: predicted,
            truth_pairs: truth,
            precision,
            recall,
            f1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    pub threshold: f64,
    #[serde(flatten)]
    pub metrics: PairMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub records: u64,
    pub records_without_truth: u64,
    pub clusters: u64,
    pub entities: u64,
    /// Every pair of records in one published cluster is a predicted match.
    pub after_clustering: PairMetrics,
    /// Scored pairs at or above the merge threshold, before clustering.
    pub before_clustering: PairMetrics,
    pub bcubed_precision: f64,
    pub bcubed_recall: f64,
    pub bcubed_f1: f64,
    pub sweep: Vec<SweepPoint>,
}

fn pairs_in(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Pairs among a group of records, counting only the pairs the link type compares.
fn group_pairs(per_source: &HashMap<&str, u64>, link_type: LinkType) -> u64 {
    let total: u64 = per_source.values().sum();
    let within: u64 = per_source.values().map(|&n| pairs_in(n)).sum();
    match link_type {
        LinkType::LinkAndDedupe => pairs_in(total),
        LinkType::LinkOnly => pairs_in(total) - within,
        LinkType::DedupeOnly => within,
    }
}

/// Evaluates a clustering (`assignments`: each record's golden ID) and its scored pairs.
pub fn evaluate(
    assignments: &[(SourceKey, String)],
    scored: &[(SourceKey, SourceKey, f64)],
    truth: &Truth,
    link_type: LinkType,
    merge_threshold: f64,
    sweep: &[f64],
) -> Evaluation {
    let mut entity_of: HashMap<&SourceKey, String> = HashMap::new();
    let mut without = 0u64;
    for (k, _) in assignments {
        match truth.entity(k) {
            Some(e) => {
                entity_of.insert(k, e);
            }
            None => without += 1,
        }
    }
    // Contingency of (cluster, entity) with per-source counts, plus the margins.
    let mut cells: HashMap<(&str, &str), HashMap<&str, u64>> = HashMap::new();
    let mut clusters: HashMap<&str, HashMap<&str, u64>> = HashMap::new();
    let mut entities: HashMap<&str, HashMap<&str, u64>> = HashMap::new();
    for (k, g) in assignments {
        let Some(e) = entity_of.get(k) else { continue };
        *cells
            .entry((g.as_str(), e.as_str()))
            .or_default()
            .entry(k.source.as_str())
            .or_insert(0) += 1;
        *clusters
            .entry(g.as_str())
            .or_default()
            .entry(k.source.as_str())
            .or_insert(0) += 1;
        *entities
            .entry(e.as_str())
            .or_default()
            .entry(k.source.as_str())
            .or_insert(0) += 1;
    }
    let tp: u64 = cells.values().map(|c| group_pairs(c, link_type)).sum();
    let predicted: u64 = clusters.values().map(|c| group_pairs(c, link_type)).sum();
    let truth_pairs: u64 = entities.values().map(|c| group_pairs(c, link_type)).sum();
    let after_clustering = PairMetrics::new(tp, predicted, truth_pairs);

    // B-cubed over records.
    let size = |m: &HashMap<&str, u64>| m.values().sum::<u64>() as f64;
    let (mut bp, mut br, mut n) = (0.0, 0.0, 0.0);
    for ((g, e), c) in &cells {
        let inter = size(c);
        bp += inter * inter / size(&clusters[g]);
        br += inter * inter / size(&entities[e]);
        n += inter;
    }
    let (bp, br) = if n > 0.0 {
        (bp / n, br / n)
    } else {
        (1.0, 1.0)
    };
    let bf = if bp + br > 0.0 {
        2.0 * bp * br / (bp + br)
    } else {
        0.0
    };

    let allowed = |a: &SourceKey, b: &SourceKey| link_type.allows(a.source == b.source);
    let judged: Vec<(f64, bool)> = scored
        .iter()
        .filter(|(a, b, _)| allowed(a, b))
        .filter_map(|(a, b, p)| match (entity_of.get(a), entity_of.get(b)) {
            (Some(x), Some(y)) => Some((*p, x == y)),
            _ => None,
        })
        .collect();
    let at = |t: f64| {
        let (mut tp, mut pred) = (0u64, 0u64);
        for &(p, same) in &judged {
            if p >= t {
                pred += 1;
                tp += u64::from(same);
            }
        }
        PairMetrics::new(tp, pred, truth_pairs)
    };
    Evaluation {
        records: assignments.len() as u64,
        records_without_truth: without,
        clusters: clusters.len() as u64,
        entities: entities.len() as u64,
        after_clustering,
        before_clustering: at(merge_threshold),
        bcubed_precision: bp,
        bcubed_recall: br,
        bcubed_f1: bf,
        sweep: sweep
            .iter()
            .map(|&t| SweepPoint {
                threshold: t,
                metrics: at(t),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sk(s: &str, k: &str) -> SourceKey {
        SourceKey::new(s, k)
    }

    fn truth(rows: &[(&str, &str, &str)]) -> Truth {
        Truth {
            by_source_key: rows
                .iter()
                .map(|(s, k, e)| (sk(s, k), e.to_string()))
                .collect(),
            by_key: HashMap::new(),
            pattern: None,
        }
    }

    #[test]
    fn pairwise_and_bcubed_on_a_small_case() {
        // Entities: {a1,a2,b1} = E1, {b2} = E2. Clusters: {a1,a2} and {b1,b2}.
        let t = truth(&[
            ("a", "1", "E1"),
            ("a", "2", "E1"),
            ("b", "1", "E1"),
            ("b", "2", "E2"),
        ]);
        let assign = vec![
            (sk("a", "1"), "G1".to_string()),
            (sk("a", "2"), "G1".to_string()),
            (sk("b", "1"), "G2".to_string()),
            (sk("b", "2"), "G2".to_string()),
        ];
        let e = evaluate(&assign, &[], &t, LinkType::LinkAndDedupe, 0.9, &[]);
        // predicted: (a1,a2), (b1,b2); truth: (a1,a2), (a1,b1), (a2,b1); tp: (a1,a2).
        assert_eq!(
            (
                e.after_clustering.true_positives,
                e.after_clustering.predicted_pairs,
                e.after_clustering.truth_pairs
            ),
            (1, 2, 3)
        );
        assert!((e.after_clustering.precision - 0.5).abs() < 1e-9);
        assert!((e.after_clustering.recall - 1.0 / 3.0).abs() < 1e-9);
        // B-cubed precision: a1,a2: 1; b1: 1/2; b2: 1/2 -> 0.75.
        assert!((e.bcubed_precision - 0.75).abs() < 1e-9);
        // B-cubed recall: a1,a2: 2/3; b1: 1/3; b2: 1 -> (2/3+2/3+1/3+1)/4.
        assert!((e.bcubed_recall - (2.0 / 3.0 + 2.0 / 3.0 + 1.0 / 3.0 + 1.0) / 4.0).abs() < 1e-9);

        let link = evaluate(&assign, &[], &t, LinkType::LinkOnly, 0.9, &[]);
        // Cross-source only: predicted (b1? no, b1,b2 same source) -> 0 of truth (a1,b1),(a2,b1).
        assert_eq!(
            (
                link.after_clustering.predicted_pairs,
                link.after_clustering.truth_pairs
            ),
            (0, 2)
        );
    }

    #[test]
    fn sweep_counts_scored_pairs_above_each_threshold() {
        let t = truth(&[("a", "1", "E1"), ("a", "2", "E1"), ("a", "3", "E2")]);
        let assign: Vec<_> = ["1", "2", "3"]
            .iter()
            .map(|k| (sk("a", k), format!("G{k}")))
            .collect();
        let scored = vec![
            (sk("a", "1"), sk("a", "2"), 0.97),
            (sk("a", "1"), sk("a", "3"), 0.6),
        ];
        let e = evaluate(
            &assign,
            &scored,
            &t,
            LinkType::LinkAndDedupe,
            0.9,
            &[0.5, 0.95],
        );
        assert_eq!(e.before_clustering.true_positives, 1);
        assert_eq!(e.sweep[0].metrics.predicted_pairs, 2);
        assert_eq!(e.sweep[1].metrics.predicted_pairs, 1);
        assert!((e.sweep[1].metrics.precision - 1.0).abs() < 1e-9);
    }

    #[test]
    fn entity_from_key_pattern() {
        let t = Truth::from_key_pattern(r"rec-(\d+)-").expect("valid");
        assert_eq!(t.entity(&sk("a", "rec-12-dup-0")).as_deref(), Some("12"));
        assert_eq!(t.entity(&sk("a", "rec-12-org")).as_deref(), Some("12"));
        assert!(Truth::from_key_pattern("rec").is_err());
    }
}
