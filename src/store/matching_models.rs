//! Trained matching models (the Fellegi-Sunter parameters), kept in the store; the newest is
//! the one a sync uses.

use super::{on_pool, Doing, Store, StoreError};
use crate::model::Model;
use sqlx::types::Json;

impl Store {
    pub async fn latest_model(&self) -> Result<Option<Model>, StoreError> {
        let row: Option<(Json<serde_json::Value>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT params FROM models ORDER BY trained_at DESC, model_id DESC LIMIT 1")
                .fetch_optional(pool)
                .await
                .doing("reading the matching model")?
        });
        match row {
            None => Ok(None),
            // A model this version cannot read is treated as absent: the next sync retrains.
            Some((Json(v),)) => Ok(serde_json::from_value(v).ok()),
        }
    }

    pub async fn save_model(
        &self,
        model: &Model,
        run_id: Option<&str>,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO models (model_id, trained_at, run_id, params) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(model.trained_at)
                .bind(run_id)
                .bind(Json(model))
                .execute(pool)
                .await
                .doing("saving the matching model")?;
        });
        Ok(id)
    }
}
