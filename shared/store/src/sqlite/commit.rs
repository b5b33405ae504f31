//! A commit checked and encoded on the async side, then written in ONE transaction on the blocking
//! side: the root's version check, the history event, the items and their index rows, the postings.

use super::*;

/// A commit checked and encoded on the async side, moved whole into the blocking task.
pub(super) struct PreparedCommit {
    pub(super) id: String,
    pub(super) certificant_id: String,
    pub(super) certificate_number: String,
    pub(super) expected_version: i64,
    pub(super) new_version: i64,
    pub(super) body: String,
    pub(super) root_index: Vec<IndexKey>,
    /// The history event: its sort key and body.
    pub(super) history: (String, String),
    /// The command's own "now" (the root's `updated_at`, from the injected clock), in unix
    /// seconds: idempotency records that expired before it are dropped in the same transaction.
    pub(super) now_unix: i64,
    pub(super) deletes: Vec<String>,
    pub(super) puts: Vec<ItemRow>,
    /// Each posting with, for a replacement, the body it must still have.
    pub(super) postings: Vec<(PostingRow, Option<String>)>,
}

/// A posting as its row is written: keys, body, listing and queue sort keys.
pub(super) struct PostingRow {
    pub(super) provider_id: String,
    pub(super) completion_id: String,
    pub(super) body: String,
    pub(super) listed: String,
    pub(super) queued: Option<String>,
}

impl PostingRow {
    pub(super) fn new(posting: &Posting) -> Result<Self, StoreError> {
        Ok(PostingRow {
            provider_id: posting.provider_id.0.clone(),
            completion_id: posting.completion_id().to_owned(),
            body: codec::encode_posting(posting)?,
            listed: codec::posting_listing_sk(posting),
            queued: codec::posting_queue_sk(posting),
        })
    }

    /// Insert it; `Ok(false)` when its completion is recorded already.
    pub(super) fn insert(&self, conn: &Connection) -> Result<bool, StoreError> {
        let n = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO postings (provider_id, completion_id, body, listed, queued)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    self.provider_id,
                    self.completion_id,
                    self.body,
                    self.listed,
                    self.queued
                ])
            })
            .map_err(db)?;
        Ok(n == 1)
    }

    /// Replace the row whose body is `expected`; `Ok(false)` when it is not.
    pub(super) fn replace(&self, conn: &Connection, expected: &str) -> Result<bool, StoreError> {
        let n = conn
            .prepare_cached(
                "UPDATE postings SET body = ?3, listed = ?4, queued = ?5
                 WHERE provider_id = ?1 AND completion_id = ?2 AND body = ?6",
            )
            .and_then(|mut st| {
                st.execute(params![
                    self.provider_id,
                    self.completion_id,
                    self.body,
                    self.listed,
                    self.queued,
                    expected
                ])
            })
            .map_err(db)?;
        Ok(n == 1)
    }
}

impl PreparedCommit {
    pub(super) fn new(changes: &Changes) -> Result<Self, StoreError> {
        crate::check_commit(changes, 0)?;
        let c = changes.certification();
        let event = changes.event();
        Ok(PreparedCommit {
            id: c.id.to_string(),
            certificant_id: c.certificant_id.to_string(),
            certificate_number: c.certificate_number.clone(),
            expected_version: version_to_sql(changes.expected_version())?,
            new_version: version_to_sql(c.version)?,
            body: codec::encode_root(c)?,
            root_index: codec::root_index_keys(c),
            history: (
                codec::history_sort_key(event.seq),
                codec::encode_history(event)?,
            ),
            now_unix: c.updated_at.timestamp(),
            deletes: changes.deletes().iter().map(codec::item_sort_key).collect(),
            puts: changes
                .puts()
                .iter()
                .map(|item| item_row(c.id, item))
                .collect::<Result<_, _>>()?,
            postings: changes
                .postings()
                .iter()
                .map(|w| {
                    let expected = match w {
                        PostingWrite::Create(_) => None,
                        PostingWrite::Replace { current, .. } => {
                            Some(codec::encode_posting(current)?)
                        }
                    };
                    Ok((PostingRow::new(w.posting())?, expected))
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }

    /// Everything in one `BEGIN IMMEDIATE` transaction; any error rolls it all back (the
    /// transaction is dropped uncommitted).
    pub(super) fn run(self, conn: &mut Connection) -> Result<(), StoreError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if self.expected_version == 0 {
            // Checked first so "already exists" wins over a taken number, whatever order SQLite
            // checks its unique indexes in.
            let exists = tx
                .query_row(
                    "SELECT 1 FROM certifications WHERE id = ?1",
                    [&self.id],
                    |_| Ok(()),
                )
                .optional()
                .map_err(db)?
                .is_some();
            if exists {
                return Err(StoreError::VersionConflict);
            }
            tx.execute(
                "INSERT INTO certifications (id, certificant_id, certificate_number, version, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    self.id,
                    self.certificant_id,
                    self.certificate_number,
                    self.new_version,
                    self.body
                ],
            )
            .map_err(root_write_error)?;
        } else {
            let updated = tx
                .execute(
                    "UPDATE certifications
                     SET certificant_id = ?2, certificate_number = ?3, version = ?4, body = ?5
                     WHERE id = ?1 AND version = ?6",
                    params![
                        self.id,
                        self.certificant_id,
                        self.certificate_number,
                        self.new_version,
                        self.body,
                        self.expected_version
                    ],
                )
                .map_err(root_write_error)?;
            if updated == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
        // Whole seconds on both sides, strictly before: never drops a record that is still live.
        // (Idempotency records are in no index.)
        tx.execute(
            "DELETE FROM items WHERE certification_id = ?1 AND expires_at IS NOT NULL AND expires_at < ?2",
            params![self.id, self.now_unix],
        )
        .map_err(db)?;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM items WHERE certification_id = ?1 AND sk = ?2")
                .map_err(db)?;
            let mut unindex = tx
                .prepare_cached("DELETE FROM index_keys WHERE certification_id = ?1 AND sk = ?2")
                .map_err(db)?;
            let mut index = tx
                .prepare_cached(
                    "INSERT INTO index_keys (certification_id, sk, idx, ipk, isk)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO items (certification_id, sk, body, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db)?;
            // The root's index entries are rewritten like an item's (sparse: none, none left).
            unindex.execute(params![self.id, ROOT_SK]).map_err(db)?;
            for k in &self.root_index {
                index
                    .execute(params![self.id, ROOT_SK, k.index.name(), k.pk, k.sk])
                    .map_err(db)?;
            }
            for sk in &self.deletes {
                delete.execute(params![self.id, sk]).map_err(db)?;
                unindex.execute(params![self.id, sk]).map_err(db)?;
            }
            for row in &self.puts {
                put.execute(params![self.id, row.sk, row.body, row.expires_at])
                    .map_err(db)?;
                unindex.execute(params![self.id, row.sk]).map_err(db)?;
                for k in &row.index {
                    index
                        .execute(params![self.id, row.sk, k.index.name(), k.pk, k.sk])
                        .map_err(db)?;
                }
            }
            let (sk, body) = &self.history;
            put.execute(params![self.id, sk, body, None::<i64>])
                .map_err(db)?;
        }
        for (row, expected) in &self.postings {
            match expected {
                None if !row.insert(&tx)? => {
                    return Err(StoreError::Duplicate { what: "posting" });
                }
                Some(expected) if !row.replace(&tx, expected)? => {
                    return Err(StoreError::PostingChanged);
                }
                _ => {}
            }
        }
        tx.commit().map_err(db)
    }
}
