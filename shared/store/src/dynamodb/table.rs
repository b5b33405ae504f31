//! The table definition, read from `infra/table.json` (the one source of truth for keys and GSIs:
//! the test command creates the table from it, the SAM template is checked against it, and a test
//! here asserts it names the attributes the adapter writes).
//!
//! The file is a `CreateTable` request without `TableName`, plus the `TimeToLiveSpecification`
//! that the SAM resource takes inline and the API applies with `UpdateTimeToLive`.

use super::DynamoStoreError;
use crate::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use serde::Deserialize;
use std::time::Duration;

/// `infra/table.json`, compiled in.
pub const TABLE_JSON: &str = include_str!("../../../../infra/table.json");

/// `infra/table.json`, parsed. Unknown fields are refused so the file cannot drift silently.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyElement>,
    pub global_secondary_indexes: Vec<IndexDef>,
    pub billing_mode: String,
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProjectionDef {
    pub projection_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

impl TableDefinition {
    /// The compiled-in `infra/table.json`.
    pub fn bundled() -> Result<Self, StoreError> {
        Self::parse(TABLE_JSON)
    }

    pub fn parse(json: &str) -> Result<Self, StoreError> {
        serde_json::from_str(json)
            .map_err(|source| StoreError::backend(DynamoStoreError::Definition(source)))
    }

    /// `(hash, range)` attribute names of the table (`index = None`) or of a GSI.
    pub fn key_names(&self, index: Option<&str>) -> Option<(String, Option<String>)> {
        let schema = match index {
            None => &self.key_schema,
            Some(name) => {
                &self
                    .global_secondary_indexes
                    .iter()
                    .find(|i| i.index_name == name)?
                    .key_schema
            }
        };
        let name_of = |kind: &str| {
            schema
                .iter()
                .find(|k| k.key_type == kind)
                .map(|k| k.attribute_name.clone())
        };
        Some((name_of("HASH")?, name_of("RANGE")))
    }
}

fn key_schema(elements: &[KeyElement]) -> Result<Vec<KeySchemaElement>, StoreError> {
    elements
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(build_error)
        })
        .collect()
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::backend(DynamoStoreError::Build(e))
}

/// Create table `name` from `definition` (and turn its TTL on), then wait until it is `ACTIVE`
/// (at most 30 s). For tests and the local scripts; production tables come from the SAM template.
pub async fn create_table(
    client: &Client,
    name: &str,
    definition: &TableDefinition,
) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(definition.billing_mode.as_str()))
        .set_key_schema(Some(key_schema(&definition.key_schema)?));
    for a in &definition.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(build_error)?,
        );
    }
    for i in &definition.global_secondary_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&i.index_name)
                .set_key_schema(Some(key_schema(&i.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            i.projection.projection_type.as_str(),
                        ))
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        );
    }
    let created = request
        .send()
        .await
        .map_err(|e| super::sdk_error("CreateTable", e))?;
    let mut status = created
        .table_description()
        .and_then(|t| t.table_status().cloned());
    for _ in 0..60 {
        if status == Some(TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        status = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| super::sdk_error("DescribeTable", e))?
            .table()
            .and_then(|t| t.table_status().cloned());
    }
    if status != Some(TableStatus::Active) {
        return Err(StoreError::backend(DynamoStoreError::TableNotActive));
    }
    if let Some(ttl) = definition.time_to_live_specification.as_ref() {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .map_err(build_error)?,
            )
            .send()
            .await
            .map_err(|e| super::sdk_error("UpdateTimeToLive", e))?;
    }
    Ok(())
}
