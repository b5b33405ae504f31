//! Certificants and their certifications ([`CertificantStore`]), a certification by its certificate
//! number ([`CertificateLookup`]) and each certificant's calendar feed ([`CalendarFeeds`]).

use super::*;

#[async_trait]
impl CertificantStore for SqliteStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        let id = certificant.id.to_string();
        // Lower-cased here too: NOCASE alone folds ASCII only.
        let email = certificant.email.folded();
        let body = codec::encode_certificant(certificant)?;
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO certificants (id, email, body) VALUES (?1, ?2, ?3)",
                params![id, email, body],
            )
            .map_err(certificant_write_error)?;
            Ok(())
        })
        .await
    }

    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM certificants WHERE id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            body.map(|b| codec::decode_certificant(&b)).transpose()
        })
        .await
    }

    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError> {
        let certificant = certificant.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT version, body FROM certifications WHERE certificant_id = ?1",
                )
                .map_err(db)?;
            let mut rows = stmt.query([&certificant]).map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let version: i64 = row.get(0).map_err(db)?;
                let body: String = row.get(1).map_err(db)?;
                out.push(codec::decode_root(&body, version_from_sql(version)?)?);
            }
            // created_at lives in the body (and its JSON form does not sort as text): order here.
            out.sort_by_key(|c| (c.created_at, c.id));
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl CertificateLookup for SqliteStore {
    async fn certification_by_number(
        &self,
        certificate_number: &str,
    ) -> Result<Option<CertificationId>, StoreError> {
        let number = certificate_number.to_owned();
        self.with_conn(move |conn| {
            let id: Option<String> = conn
                .query_row(
                    "SELECT id FROM certifications WHERE certificate_number = ?1",
                    [&number],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            id.map(|id| {
                id.parse()
                    .map(CertificationId)
                    .map_err(|e| backend(SqliteStoreError::BadId(e)))
            })
            .transpose()
        })
        .await
    }
}
#[async_trait]
impl CalendarFeeds for SqliteStore {
    async fn put_calendar_feed(&self, feed: &CalendarFeed) -> Result<(), StoreError> {
        let id = feed.certificant_id.to_string();
        let body = codec::encode_calendar_feed(feed)?;
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO calendar_feed (certificant_id, body) VALUES (?1, ?2)
                 ON CONFLICT (certificant_id) DO UPDATE SET body = excluded.body",
                params![id, body],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn calendar_feed(
        &self,
        certificant: CertificantId,
    ) -> Result<Option<CalendarFeed>, StoreError> {
        let id = certificant.to_string();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM calendar_feed WHERE certificant_id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            body.map(|b| codec::decode_calendar_feed(&b)).transpose()
        })
        .await
    }

    async fn delete_calendar_feed(&self, certificant: CertificantId) -> Result<(), StoreError> {
        let id = certificant.to_string();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM calendar_feed WHERE certificant_id = ?1", [&id])
                .map_err(db)?;
            Ok(())
        })
        .await
    }
}
