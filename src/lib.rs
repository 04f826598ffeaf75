//! gild turns a company's scattered customer records into one trusted customer view.
//!
//! The pipeline runs one way through its stages, one module each:
//! [`connectors`] → [`standardize`] → [`prepare`] → [`blocking`] → [`compare`] → [`model`] →
//! [`cluster`] → [`golden`] → [`store`], with [`decision`] the one rule for what is decided
//! about a pair of records; [`pipeline`] runs them as a sync (and training on its own),
//! [`jobs`] schedules syncs with apalis, [`review`] is the data stewards' side (the review
//! queue, merges, splits and pins that later syncs honour), [`evaluate`] measures the result
//! against a truth file, and [`api`] serves the store to other systems over HTTP.
//!
//! Below them all sit small modules every stage may use: [`clock`], [`redact`], [`runtime`],
//! [`config_file`] (what every configuration parser shares), [`run`] (how a run and its
//! sources ended) and [`text_enum`] (how such names are stored).

pub mod api;
pub mod blocking;
pub mod choose;
pub mod clock;
pub mod cluster;
pub mod compare;
pub mod config;
pub mod config_file;
pub mod connectors;
pub mod decision;
pub mod evaluate;
pub mod golden;
pub mod init;
pub mod jobs;
pub mod model;
pub mod pipeline;
pub mod prepare;
pub mod record;
pub mod redact;
pub mod review;
pub mod run;
pub mod runtime;
pub mod signals;
pub mod standardize;
pub mod store;
pub mod text_enum;
