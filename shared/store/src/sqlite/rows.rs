//! Rows as the embedded store holds them: conversions, errors, the reads every capability shares
//! (a root, a range, a page of an index or a listing) and the audit ledger's row helpers.

use super::*;

pub(super) fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Rejected(format!("version {version} is too large to store")))
}

pub(super) fn version_from_sql(version: i64) -> Result<u64, StoreError> {
    u64::try_from(version).map_err(|_| backend(SqliteStoreError::BadVersion(version)))
}

/// A row count for `LIMIT` (SQLite takes an i64; anything larger is "no limit" in practice).
pub(super) fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The extended code and message of a constraint violation, if `e` is one.
pub(super) fn constraint_violation(e: &rusqlite::Error) -> Option<(i32, &str)> {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == ErrorCode::ConstraintViolation => {
            Some((f.extended_code, msg.as_deref().unwrap_or_default()))
        }
        _ => None,
    }
}

/// A failed write of the root: a taken certificate number, or the row already there.
pub(super) fn root_write_error(e: rusqlite::Error) -> StoreError {
    match constraint_violation(&e) {
        Some((_, msg)) if msg.contains("certifications.certificate_number") => {
            StoreError::Duplicate {
                what: "certificate_number",
            }
        }
        Some((code, msg))
            if code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || msg.contains("certifications.id") =>
        {
            StoreError::VersionConflict
        }
        _ => db(e),
    }
}

pub(super) fn certificant_write_error(e: rusqlite::Error) -> StoreError {
    match constraint_violation(&e) {
        Some((code, msg))
            if code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || msg.contains("certificants.id") =>
        {
            StoreError::Duplicate {
                what: "certificant",
            }
        }
        Some((_, msg)) if msg.contains("certificants.email") => {
            StoreError::Duplicate { what: "email" }
        }
        _ => db(e),
    }
}

/// One row of `items`, ready to write, with the index entries it carries.
pub(super) struct ItemRow {
    pub(super) sk: String,
    pub(super) body: String,
    pub(super) expires_at: Option<i64>,
    pub(super) index: Vec<IndexKey>,
}

pub(super) fn item_row(id: CertificationId, item: &Item) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        sk: codec::item_sort_key(&item.key()),
        body: codec::encode_item(item)?,
        expires_at: codec::item_ttl(item),
        index: codec::item_index_keys(id, item),
    })
}
/// The root of certification `id`, its version from the `version` column.
pub(super) fn read_root(conn: &Connection, id: &str) -> Result<Option<Certification>, StoreError> {
    let root: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, body FROM certifications WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    root.map(|(version, body)| codec::decode_root(&body, version_from_sql(version)?))
        .transpose()
}

/// The `(sk, body)` rows of `id` with `from <= sk <= to`, by sort key, at most `limit`.
pub(super) fn read_range(
    conn: &Connection,
    id: &str,
    from: &str,
    to: &str,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    read_page(conn, id, from, to, "", limit)
}

/// Like [`read_range`], only the rows after sort key `after` (`""`: from the start).
pub(super) fn read_page(
    conn: &Connection,
    id: &str,
    from: &str,
    to: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT sk, body FROM items
             WHERE certification_id = ?1 AND sk >= ?2 AND sk <= ?3 AND sk > ?4
             ORDER BY sk LIMIT ?5",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![id, from, to, after, limit_to_sql(limit)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

/// The body of `audit_ledger` row `(pk, sk)`, if any.
pub(super) fn ledger_body(
    conn: &Connection,
    pk: &str,
    sk: &str,
) -> Result<Option<String>, StoreError> {
    conn.query_row(
        "SELECT body FROM audit_ledger WHERE pk = ?1 AND sk = ?2",
        params![pk, sk],
        |row| row.get(0),
    )
    .optional()
    .map_err(db)
}

/// Insert `audit_ledger` row `(pk, sk)` with `body` unless it exists; the body stored (`body`, or
/// the one that was there: never two).
pub(super) fn ledger_put_if_absent(
    conn: &Connection,
    pk: &str,
    sk: &str,
    body: &str,
    what: &'static str,
) -> Result<String, StoreError> {
    conn.execute(
        "INSERT INTO audit_ledger (pk, sk, body) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![pk, sk, body],
    )
    .map_err(db)?;
    ledger_body(conn, pk, sk)?.ok_or_else(|| backend(SqliteStoreError::Vanished(what)))
}

/// Replace the body of `audit_ledger` row `(pk, PERIOD)` with `body` if it is still `expected`.
pub(super) fn ledger_swap(
    conn: &Connection,
    pk: &str,
    expected: &str,
    body: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE audit_ledger SET body = ?4 WHERE pk = ?1 AND sk = ?2 AND body = ?3",
            params![pk, codec::AUDIT_PERIOD_SK, expected, body],
        )
        .map_err(db)?;
    Ok(changed == 1)
}

pub(super) fn load_aggregate(
    conn: &mut Connection,
    id: &str,
) -> Result<Option<CertificationAggregate>, StoreError> {
    // One read transaction: the root and its working set come from the same snapshot.
    let tx = conn.transaction().map_err(db)?;
    let Some(certification) = read_root(&tx, id)? else {
        return Ok(None);
    };
    let (from, to) = codec::working_set_range(certification.cycle_starts_on);
    let mut items = Vec::new();
    for (sk, body) in read_range(&tx, id, &from, &to, usize::MAX)? {
        items.extend(codec::decode_item(&sk, &body)?);
    }
    tx.commit().map_err(db)?;
    Ok(Some(codec::aggregate(certification, items)))
}

/// One page of index `index`, partition `pk`, sort keys in `range` (inclusive; `None`: all) and
/// after `after`, by index sort key.
pub(super) fn index_page(
    conn: &Connection,
    index: Index,
    pk: &str,
    range: Option<(String, String)>,
    after: Option<&str>,
    limit: usize,
) -> Result<IndexPage, StoreError> {
    let limit = limit.max(1);
    let (from, to) = range.map_or((None, None), |(f, t)| (Some(f), Some(t)));
    let mut stmt = conn
        .prepare_cached(
            "SELECT k.isk, c.version, coalesce(i.body, c.body)
             FROM index_keys k
             LEFT JOIN certifications c ON k.sk = ?7 AND c.id = k.certification_id
             LEFT JOIN items i ON k.sk <> ?7 AND i.certification_id = k.certification_id
                                 AND i.sk = k.sk
             WHERE k.idx = ?1 AND k.ipk = ?2
               AND (?3 IS NULL OR k.isk >= ?3) AND (?4 IS NULL OR k.isk <= ?4)
               AND (?5 IS NULL OR k.isk > ?5)
             ORDER BY k.isk LIMIT ?6",
        )
        .map_err(db)?;
    // One more than asked: whether another page follows is then known exactly.
    let rows = stmt
        .query_map(
            params![
                index.name(),
                pk,
                from,
                to,
                after,
                limit_to_sql(limit).saturating_add(1),
                ROOT_SK
            ],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let more = rows.len() > limit;
    let mut page = IndexPage::default();
    for (isk, version, body) in rows.into_iter().take(limit) {
        let body = body.ok_or_else(|| backend(SqliteStoreError::DanglingIndexEntry))?;
        let version = version.map(version_from_sql).transpose()?;
        page.items
            .extend(codec::decode_indexed(&isk, &body, version)?);
        page.next = Some(IndexCursor(isk));
    }
    if !more {
        page.next = None;
    }
    Ok(page)
}

/// Rows `(body, sort key)` after `after` in `sql`'s order, at most `limit` (one more is read to
/// know whether a next page exists), as a [`Listing`].
pub(super) fn listing<T>(
    conn: &Connection,
    sql: &str,
    key: &str,
    after: Option<&IndexCursor>,
    limit: usize,
    decode: impl Fn(&str) -> Result<T, StoreError>,
) -> Result<Listing<T>, StoreError> {
    let limit = limit.max(1);
    let after = after.map(|a| a.0.clone()).unwrap_or_default();
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt
        .query(params![key, after, limit_to_sql(limit + 1)])
        .map_err(db)?;
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    while let Some(row) = rows.next().map_err(db)? {
        if items.len() == limit {
            more = true;
            break;
        }
        let body: String = row.get(0).map_err(db)?;
        last = Some(row.get::<_, String>(1).map_err(db)?);
        items.push(decode(&body)?);
    }
    Ok(Listing {
        items,
        next: if more { last.map(IndexCursor) } else { None },
    })
}
