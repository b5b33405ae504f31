//! Certificants and their certifications ([`CertificantStore`]), a certification by its certificate
//! number ([`CertificateLookup`]) and each certificant's calendar feed ([`CalendarFeeds`]).

use super::*;

#[async_trait]
impl CertificantStore for DynamoStore {
    async fn create_certificant(&self, certificant: &Certificant) -> Result<(), StoreError> {
        let pk = codec::certificant_pk(certificant.id);
        let profile = put(
            &self.table,
            body_item(&pk, PROFILE_SK, &codec::encode_certificant(certificant)?),
            Some(must_not_exist()),
            false,
        )?;
        let email = guard(&self.table, codec::email_pk(&certificant.email), pk)?;
        self.transact(
            vec![profile, email],
            &[
                (0, Guard::Unique("certificant")),
                (1, Guard::Unique("email")),
            ],
        )
        .await
    }

    async fn certificant(&self, id: CertificantId) -> Result<Option<Certificant>, StoreError> {
        self.get(codec::certificant_pk(id), PROFILE_SK)
            .await?
            .map(|item| codec::decode_certificant(attribute(&item, BODY, "certificant")?))
            .transpose()
    }

    async fn certifications_of(
        &self,
        certificant: CertificantId,
    ) -> Result<Vec<Certification>, StoreError> {
        let request = self
            .query_builder(Some(GSI1))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_values(":pk", s(codec::certificant_pk(certificant)));
        let out = self.query(request, Pages::default()).await?;
        let mut certifications = out
            .items
            .iter()
            .filter(|item| string(item, SK) == Some(ROOT_SK))
            .map(decode_root)
            .collect::<Result<Vec<_>, _>>()?;
        // The index sorts by created_at then id already; sorting again costs nothing and keeps the
        // order right whatever the key format once was.
        certifications.sort_by_key(|c| (c.created_at, c.id));
        Ok(certifications)
    }
}

#[async_trait]
impl CertificateLookup for DynamoStore {
    async fn certification_by_number(
        &self,
        certificate_number: &str,
    ) -> Result<Option<CertificationId>, StoreError> {
        let Some(guard) = self
            .get(codec::certno_pk(certificate_number), GUARD_SK)
            .await?
        else {
            return Ok(None);
        };
        let owner = attribute(&guard, OWNER, "certificate-number guard")?;
        codec::parse_cert_pk(owner).map(Some).ok_or_else(|| {
            backend(DynamoStoreError::BadAttribute {
                what: "certificate-number guard",
                attribute: OWNER,
            })
        })
    }
}
#[async_trait]
impl CalendarFeeds for DynamoStore {
    async fn put_calendar_feed(&self, feed: &CalendarFeed) -> Result<(), StoreError> {
        let body = codec::encode_calendar_feed(feed)?;
        let pk = codec::certificant_pk(feed.certificant_id);
        self.put_item(body_item(&pk, codec::CALENDAR_FEED_SK, &body))
            .await
    }

    async fn calendar_feed(
        &self,
        certificant: CertificantId,
    ) -> Result<Option<CalendarFeed>, StoreError> {
        self.body(
            codec::certificant_pk(certificant),
            codec::CALENDAR_FEED_SK,
            "calendar feed",
        )
        .await?
        .map(|body| codec::decode_calendar_feed(&body))
        .transpose()
    }

    async fn delete_calendar_feed(&self, certificant: CertificantId) -> Result<(), StoreError> {
        self.delete_item(codec::certificant_pk(certificant), codec::CALENDAR_FEED_SK)
            .await
    }
}
