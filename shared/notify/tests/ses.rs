//! The SES v2 adapter against moto's server: a rendered Welcome email sent through
//! [`SesMailer`] and read back from moto's own record of sent mail
//! (`GET <endpoint>/moto-api/data.json`, `ses` → `Message`: `id`, `source`, `destinations`,
//! `subject`, `body`; moto keeps only the HTML part when both are sent), a send from an
//! unverified sender (moto answers `MessageRejected`) mapped to [`MailError::Rejected`], and the
//! mapping of every other SES error, built by hand (no server needed).
//!
//! `RECERT_MOTO_ENDPOINT` names the server (`scripts/moto start` prints it). Without it these use
//! `http://127.0.0.1:5055` when something listens there, and otherwise the moto tests SKIP with a
//! line on stderr (so a bare `cargo test` works without python); with the variable set, an
//! unreachable server fails them. Each test verifies its own sender identity, so they share one
//! moto and run in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::error::{
    AccountSuspendedException, BadRequestException, LimitExceededException,
    MailFromDomainNotVerifiedException, MessageRejected, NotFoundException, SendingPausedException,
    TooManyRequestsException,
};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use chrono::NaiveDate;
use recert_domain::model::notice::{HoursLine, Welcome};
use recert_domain::{CertificantId, CertificationId, Credential, Hours, Notice, Recipient};
use recert_notify::ses::{SesConfig, SesFailure, SesMailer, local_client, send_error};
use recert_notify::templates::{self, LinkBase};
use recert_notify::{MailError, Mailer};
use serde_json::Value;
use uuid::Uuid;

#[path = "../../test-support/moto.rs"]
mod moto;
use moto::endpoint;

fn unique() -> String {
    Uuid::now_v7().simple().to_string()
}

/// A mailer whose sender moto knows (a fresh verified identity).
async fn verified_mailer(endpoint: &str, configuration_set: Option<String>) -> SesMailer {
    let client = local_client(endpoint);
    let sender = format!("no-reply-{}@example.org", unique());
    client
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_email_identity on {endpoint}: {e:?}"));
    SesMailer::new(
        client,
        SesConfig {
            sender: format!("Recert <{sender}>"),
            configuration_set,
        },
    )
}

fn welcome_notice(certification_id: CertificationId) -> Notice {
    let date = |s: &str| s.parse::<NaiveDate>().unwrap();
    Notice::Welcome(Welcome {
        certification_id,
        credential: Credential::Cphims,
        certificate_number: "CPHIMS-2024-00042".into(),
        cycle_starts_on: date("2024-04-01"),
        expires_on: date("2027-03-31"),
        window_opens_on: date("2026-10-01"),
        window_closes_on: date("2027-03-31"),
        requirements: vec![
            HoursLine {
                label: "Total hours".into(),
                hours: Hours::from_hours(45),
            },
            HoursLine {
                label: "From approved providers".into(),
                hours: Hours(2250),
            },
        ],
    })
}

/// moto's record of the message `id` (`ses` → `Message`; `sesv2` too, should a version move it).
fn sent_message(endpoint: &str, id: &str) -> Value {
    let data: Value = ureq::get(format!("{endpoint}/moto-api/data.json"))
        .call()
        .expect("GET /moto-api/data.json")
        .body_mut()
        .read_json()
        .expect("moto's data is JSON");
    ["ses", "sesv2"]
        .iter()
        .filter_map(|service| data[service]["Message"].as_array())
        .flatten()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("moto has no sent message {id}"))
}

#[tokio::test]
async fn a_rendered_welcome_goes_out_through_ses() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let configuration_set = format!("recert-{}", unique());
    let client = local_client(&endpoint);
    client
        .create_configuration_set()
        .configuration_set_name(&configuration_set)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_configuration_set: {e:?}"));
    let mailer = verified_mailer(&endpoint, Some(configuration_set)).await;

    let certification_id = CertificationId(Uuid::now_v7());
    let address = format!("ada-{}@example.org", unique());
    let recipient = Recipient {
        certificant_id: CertificantId(Uuid::now_v7()),
        email: recert_domain::Email::parse(&address).unwrap(),
        full_name: "Ada Lovelace".into(),
    };
    let links = LinkBase::new("https://app.example.org").unwrap();
    let email = templates::email(&recipient, &welcome_notice(certification_id), &links).unwrap();

    let sent = mailer.send(&email).await.unwrap();
    assert!(!sent.0.is_empty());

    let message = sent_message(&endpoint, &sent.0);
    assert_eq!(
        message["id"],
        sent.0.as_str(),
        "the SentId is moto's message id"
    );
    assert_eq!(message["source"], mailer.config().sender.as_str());
    assert_eq!(
        message["destinations"]["ToAddresses"],
        serde_json::json!([format!("Ada Lovelace <{address}>")])
    );
    assert_eq!(message["subject"], "Welcome to your CPHIMS renewal cycle");
    let body = message["body"].as_str().unwrap();
    assert_eq!(body, email.html, "moto keeps the HTML part");
    for fact in [
        "Dear Ada Lovelace,",
        "CPHIMS-2024-00042",
        "1 April 2024",
        "31 March 2027",
        "1 October 2026",
        "Total hours: 45.00 h",
        "From approved providers: 22.50 h",
        &format!("https://app.example.org/certifications/{certification_id}"),
    ] {
        assert!(body.contains(fact), "body lacks {fact:?}:\n{body}");
    }
}

#[tokio::test]
async fn a_non_ascii_name_is_sent_as_encoded_words() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let mailer = verified_mailer(&endpoint, None).await;
    let address = format!("elodie-{}@example.org", unique());
    let recipient = Recipient {
        certificant_id: CertificantId(Uuid::now_v7()),
        email: recert_domain::Email::parse(&address).unwrap(),
        full_name: "Élodie Ñúñez".into(),
    };
    let email = templates::email(
        &recipient,
        &welcome_notice(CertificationId(Uuid::now_v7())),
        &LinkBase::default(),
    )
    .unwrap();
    let sent = mailer.send(&email).await.unwrap();
    let message = sent_message(&endpoint, &sent.0);
    let to = message["destinations"]["ToAddresses"][0].as_str().unwrap();
    assert!(to.is_ascii() && to.starts_with("=?UTF-8?B?"), "{to}");
    assert!(to.ends_with(&format!(" <{address}>")), "{to}");
    assert!(
        message["body"]
            .as_str()
            .unwrap()
            .contains("Dear Élodie Ñúñez,")
    );
}

#[tokio::test]
async fn an_unverified_sender_is_rejected_without_leaking_the_address() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let sender = format!("nobody-{}@example.org", unique());
    let mailer = SesMailer::new(
        local_client(&endpoint),
        SesConfig {
            sender: sender.clone(),
            configuration_set: None,
        },
    );
    let recipient = Recipient {
        certificant_id: CertificantId(Uuid::now_v7()),
        email: recert_domain::Email::parse("ada@example.org").unwrap(),
        full_name: "Ada Lovelace".into(),
    };
    let email = templates::email(
        &recipient,
        &welcome_notice(CertificationId(Uuid::now_v7())),
        &LinkBase::default(),
    )
    .unwrap();
    let err = mailer.send(&email).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    let MailError::Rejected { reason } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert!(reason.starts_with("MessageRejected"), "{reason}");
    assert!(reason.contains("<address>"), "{reason}");
    assert!(!format!("{err} {err:?}").contains(&sender), "{err:?}");
}

/// Two addresses in one, the way a header injection would try: the address type refuses it, so
/// no `Email` can carry it to SES.
#[test]
fn two_addresses_in_one_cannot_be_an_email() {
    assert!(recert_domain::Email::parse("ada@example.org, eve@example.org").is_err());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    let mailer = SesMailer::new(
        local_client("http://127.0.0.1:9"),
        SesConfig {
            sender: "no-reply@example.org".into(),
            configuration_set: None,
        },
    );
    let email = recert_notify::Email {
        to: recert_domain::Email::parse("ada@example.org").unwrap(),
        to_name: "Ada".into(),
        subject: "Hi".into(),
        text: "t".into(),
        html: "<p>h</p>".into(),
    };
    let err = mailer.send(&email).await.unwrap_err();
    assert!(!err.is_permanent(), "{err:?}");
}

fn service_error(err: SendEmailError, status: u16) -> SdkError<SendEmailError, HttpResponse> {
    SdkError::service_error(
        err,
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
    )
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

#[test]
fn message_rejected_and_bad_requests_are_permanent() {
    let rejected = send_error(service_error(
        SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message("Email address is not verified: ada@example.org")
                .meta(meta(
                    "MessageRejected",
                    "Email address is not verified: ada@example.org",
                ))
                .build(),
        ),
        400,
    ));
    match &rejected {
        MailError::Rejected { reason } => assert_eq!(
            reason,
            "MessageRejected: Email address is not verified: <address>"
        ),
        other => panic!("{other:?}"),
    }
    for err in [
        SendEmailError::BadRequestException(
            BadRequestException::builder()
                .message("Illegal address")
                .meta(meta("BadRequestException", "Illegal address"))
                .build(),
        ),
        SendEmailError::generic(meta("InvalidParameterValue", "Missing domain")),
        SendEmailError::generic(meta("ValidationException", "1 validation error")),
    ] {
        let mapped = send_error(service_error(err, 400));
        assert!(mapped.is_permanent(), "{mapped:?}");
    }
}

#[test]
fn throttling_and_account_states_are_transient() {
    let cases: Vec<(SendEmailError, u16, &str)> = vec![
        (
            SendEmailError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .meta(meta("TooManyRequestsException", "Too many requests"))
                    .build(),
            ),
            429,
            "TooManyRequestsException",
        ),
        (
            SendEmailError::LimitExceededException(
                LimitExceededException::builder()
                    .meta(meta("LimitExceededException", "Daily quota exceeded"))
                    .build(),
            ),
            400,
            "LimitExceededException",
        ),
        (
            SendEmailError::AccountSuspendedException(
                AccountSuspendedException::builder()
                    .meta(meta("AccountSuspendedException", "Account suspended"))
                    .build(),
            ),
            400,
            "AccountSuspendedException",
        ),
        (
            SendEmailError::SendingPausedException(
                SendingPausedException::builder()
                    .meta(meta("SendingPausedException", "Sending paused"))
                    .build(),
            ),
            400,
            "SendingPausedException",
        ),
        (
            SendEmailError::MailFromDomainNotVerifiedException(
                MailFromDomainNotVerifiedException::builder()
                    .meta(meta(
                        "MailFromDomainNotVerifiedException",
                        "mail.example.org is not verified for no-reply@example.org",
                    ))
                    .build(),
            ),
            400,
            "MailFromDomainNotVerifiedException",
        ),
        (
            SendEmailError::NotFoundException(
                NotFoundException::builder()
                    .meta(meta("NotFoundException", "Configuration set not found"))
                    .build(),
            ),
            404,
            "NotFoundException",
        ),
        (
            SendEmailError::generic(meta("Throttling", "Rate exceeded")),
            400,
            "Throttling",
        ),
        (
            SendEmailError::generic(meta("InternalFailure", "oops")),
            500,
            "InternalFailure",
        ),
    ];
    for (err, status, code) in cases {
        let mapped = send_error(service_error(err, status));
        let MailError::Transient(source) = &mapped else {
            panic!("{code}: expected Transient, got {mapped:?}");
        };
        let failure = source
            .downcast_ref::<SesFailure>()
            .unwrap_or_else(|| panic!("{code}: {source:?}"));
        assert_eq!(failure.code, code);
        assert_eq!(failure.status, Some(status));
        assert!(!failure.to_string().contains('@'), "{failure}");
    }
}

#[test]
fn timeouts_and_unreadable_answers_are_transient() {
    let timeout = send_error(SdkError::timeout_error("attempt timed out"));
    assert!(!timeout.is_permanent());
    let unreadable = send_error(SdkError::response_error(
        "bad json",
        HttpResponse::new(
            StatusCode::try_from(200).unwrap(),
            SdkBody::from("{\"to\":\"ada@example.org\""),
        ),
    ));
    let MailError::Transient(source) = &unreadable else {
        panic!("{unreadable:?}");
    };
    assert!(!format!("{source:?}").contains("ada@"), "{source:?}");
}
