//! Items as DynamoDB holds them: keys, bodies, index attributes and the conditions of a write.

use super::*;

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

/// The attributes holding an index's keys.
pub(super) fn index_key_names(index: Index) -> (&'static str, &'static str) {
    match index {
        Index::Queue => (GSI2_PK, GSI2_SK),
        Index::Due => (GSI3_PK, GSI3_SK),
    }
}

/// The attributes of `keys` (a sparse index entry is its two key attributes).
pub(super) fn index_attributes(
    keys: Vec<IndexKey>,
) -> impl Iterator<Item = (String, AttributeValue)> {
    keys.into_iter().flat_map(|k| {
        let (pk, sk) = index_key_names(k.index);
        [(pk.to_owned(), s(k.pk)), (sk.to_owned(), s(k.sk))]
    })
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn string<'a>(item: &'a Attributes, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(super) fn number(item: &Attributes, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A string attribute the item must have.
pub(super) fn attribute<'a>(
    item: &'a Attributes,
    attribute: &'static str,
    what: &'static str,
) -> Result<&'a str, StoreError> {
    string(item, attribute)
        .ok_or_else(|| backend(DynamoStoreError::BadAttribute { what, attribute }))
}

/// A root item's certification, its version taken from `v` (the body's copy is not trusted).
pub(super) fn decode_root(item: &Attributes) -> Result<Certification, StoreError> {
    let body = attribute(item, BODY, "certification")?;
    let version = number(item, VERSION).ok_or_else(|| {
        backend(DynamoStoreError::BadAttribute {
            what: "certification",
            attribute: VERSION,
        })
    })?;
    codec::decode_root(body, version)
}

/// An aggregate item read back; `None` for a kind this build does not know.
pub(super) fn decode_item(item: &Attributes) -> Result<Option<Item>, StoreError> {
    let sk = attribute(item, SK, "aggregate item")?;
    let body = attribute(item, BODY, "aggregate item")?;
    codec::decode_item(sk, body)
}

/// A condition expression with its placeholders.
pub(super) struct Condition {
    pub(super) expression: &'static str,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

/// The actions of one `TransactWriteItems` and what their failed conditions mean.
pub(super) struct Transaction {
    pub(super) actions: Vec<TransactWriteItem>,
    pub(super) on_failed: Vec<(usize, Guard)>,
}

pub(super) fn put(
    table: &str,
    item: Attributes,
    condition: Option<Condition>,
    return_old_on_failure: bool,
) -> Result<TransactWriteItem, StoreError> {
    let mut p = Put::builder().table_name(table).set_item(Some(item));
    if let Some(c) = condition {
        p = p
            .condition_expression(c.expression)
            .set_expression_attribute_names(Some(c.names))
            .set_expression_attribute_values((!c.values.is_empty()).then_some(c.values));
    }
    if return_old_on_failure {
        p = p.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(build_error)?)
        .build())
}

/// A failed `PutItem`: DynamoDB's refusal of an item over its size limit (a `ValidationException`)
/// is `Rejected`, with DynamoDB's message (it quotes no data); anything else is `Backend`.
pub fn put_item_error(
    e: aws_sdk_dynamodb::error::SdkError<
        PutItemError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> StoreError {
    let too_large = e.as_service_error().and_then(|e| {
        let message = e.message().unwrap_or_default();
        (e.code() == Some("ValidationException")
            && message.to_ascii_lowercase().contains("item size"))
        .then(|| message.to_owned())
    });
    match too_large {
        Some(message) => StoreError::Rejected(format!(
            "the item is larger than DynamoDB's 400 KB item limit ({message})"
        )),
        None => sdk_error("PutItem", e),
    }
}

/// An item holding only its keys and a body.
pub(super) fn body_item(pk: &str, sk: &str, body: &str) -> Attributes {
    HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(sk)),
        (BODY.to_owned(), s(body)),
    ])
}

/// `b = :expected`: the stored body must be `expected` (compare-and-swap).
pub(super) fn body_is(expected: String) -> Condition {
    Condition {
        expression: "#b = :expected",
        names: HashMap::from([("#b".to_owned(), BODY.to_owned())]),
        values: HashMap::from([(":expected".to_owned(), s(expected))]),
    }
}

/// `attribute_not_exists(pk)`: the item must not exist.
pub(super) fn must_not_exist() -> Condition {
    Condition {
        expression: "attribute_not_exists(#pk)",
        names: HashMap::from([("#pk".to_owned(), PK.to_owned())]),
        values: HashMap::new(),
    }
}

/// A guard item making `pk` unique, owned by `owner`.
pub(super) fn guard(
    table: &str,
    pk: String,
    owner: String,
) -> Result<TransactWriteItem, StoreError> {
    put(
        table,
        HashMap::from([
            (PK.to_owned(), s(pk)),
            (SK.to_owned(), s(GUARD_SK)),
            (OWNER.to_owned(), s(owner)),
        ]),
        Some(must_not_exist()),
        false,
    )
}

/// An item of certification `id` as stored: keys, body, TTL and index keys.
pub(super) fn item_attributes(
    id: CertificationId,
    pk: &str,
    item: &Item,
) -> Result<Attributes, StoreError> {
    let mut attributes = HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(codec::item_sort_key(&item.key()))),
        (BODY.to_owned(), s(codec::encode_item(item)?)),
    ]);
    if let Some(ttl) = codec::item_ttl(item) {
        attributes.insert(TTL.to_owned(), n(ttl));
    }
    attributes.extend(index_attributes(codec::item_index_keys(id, item)));
    Ok(attributes)
}

/// A posting as stored: keys, body, its provider's listing (GSI1) and, while it awaits staff,
/// the reconciliation queue (GSI2).
pub(super) fn posting_attributes(posting: &Posting) -> Result<Attributes, StoreError> {
    let mut item = body_item(
        &codec::provider_pk(&posting.provider_id),
        &codec::posting_sk(posting.completion_id()),
        &codec::encode_posting(posting)?,
    );
    item.insert(
        GSI1_PK.to_owned(),
        s(codec::provider_postings_pk(&posting.provider_id)),
    );
    item.insert(GSI1_SK.to_owned(), s(codec::posting_listing_sk(posting)));
    if let Some(queued) = codec::posting_queue_sk(posting) {
        item.insert(GSI2_PK.to_owned(), s(codec::RECONCILIATION_PK));
        item.insert(GSI2_SK.to_owned(), s(queued));
    }
    Ok(item)
}

/// An audit period as stored: body, and its place in the ledger's listing (GSI1).
pub(super) fn period_attributes(period: &AuditPeriod) -> Result<Attributes, StoreError> {
    let mut item = body_item(
        &codec::audit_period_pk(period.period),
        codec::AUDIT_PERIOD_SK,
        &codec::encode_audit_period(period)?,
    );
    item.insert(GSI1_PK.to_owned(), s(codec::AUDIT_PERIODS_PK));
    item.insert(GSI1_SK.to_owned(), s(period.period.to_string()));
    Ok(item)
}

/// A provider as stored: version, body, and its place in the registry listing (GSI1).
pub(super) fn provider_attributes(provider: &Provider) -> Result<Attributes, StoreError> {
    let mut item = body_item(
        &codec::provider_pk(&provider.id),
        codec::PROVIDER_SK,
        &codec::encode_provider(provider)?,
    );
    item.insert(VERSION.to_owned(), n(provider.version));
    item.insert(GSI1_PK.to_owned(), s(codec::PROVIDERS_PK));
    item.insert(GSI1_SK.to_owned(), s(&provider.id.0));
    Ok(item)
}

/// The root as stored: version, body, certificate number, GSI1 keys and its due date (GSI3).
pub(super) fn root_attributes(pk: &str, c: &Certification) -> Result<Attributes, StoreError> {
    let (gsi1pk, gsi1sk) = codec::certifications_of_keys(c);
    let mut root = HashMap::from([
        (PK.to_owned(), s(pk)),
        (SK.to_owned(), s(ROOT_SK)),
        (VERSION.to_owned(), n(c.version)),
        (BODY.to_owned(), s(codec::encode_root(c)?)),
        (CERT_NO.to_owned(), s(&c.certificate_number)),
        (GSI1_PK.to_owned(), s(gsi1pk)),
        (GSI1_SK.to_owned(), s(gsi1sk)),
    ]);
    root.extend(index_attributes(codec::root_index_keys(c)));
    Ok(root)
}
