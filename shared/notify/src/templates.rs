//! The emails' words: each [`Notice`] rendered with minijinja into a subject, a text part and an
//! HTML part ([`render`]), or straight into an [`Email`] ([`email`]).
//!
//! The templates are the files under `shared/notify/templates/`, compiled in: per notice a
//! `<name>.subject.txt`, a `<name>.txt` and a `<name>.html` (which extends `layout.html`). HTML
//! templates autoescape every value; text templates do not escape. Undefined variables are errors
//! (a typo fails the tests instead of leaving a gap in a certificant's email). The context holds
//! the notice's facts already formatted for people: dates like `31 March 2027`, hours like
//! `45.00 h`, and the links into the web app built from a [`LinkBase`].

use crate::address::one_line;
use crate::{ConfigError, Email, env_var};
use chrono::NaiveDate;
use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior, context};
use recert_domain::model::notice::HoursLine;
use recert_domain::{CertificationId, Notice, Recipient};
use std::fmt;
use std::sync::OnceLock;

/// The environment variable with the web app's base URL.
pub const LINK_BASE_ENV: &str = "RECERT_LINK_BASE";
/// The base URL when [`LINK_BASE_ENV`] is unset: the local server.
pub const DEFAULT_LINK_BASE: &str = "http://127.0.0.1:3000";

/// Every template, by name, as compiled in.
const TEMPLATES: [(&str, &str); 44] = [
    ("layout.html", include_str!("../templates/layout.html")),
    (
        "welcome.subject.txt",
        include_str!("../templates/welcome.subject.txt"),
    ),
    ("welcome.txt", include_str!("../templates/welcome.txt")),
    ("welcome.html", include_str!("../templates/welcome.html")),
    (
        "window_opens.subject.txt",
        include_str!("../templates/window_opens.subject.txt"),
    ),
    (
        "window_opens.txt",
        include_str!("../templates/window_opens.txt"),
    ),
    (
        "window_opens.html",
        include_str!("../templates/window_opens.html"),
    ),
    (
        "receipt.subject.txt",
        include_str!("../templates/receipt.subject.txt"),
    ),
    ("receipt.txt", include_str!("../templates/receipt.txt")),
    ("receipt.html", include_str!("../templates/receipt.html")),
    (
        "approved.subject.txt",
        include_str!("../templates/approved.subject.txt"),
    ),
    ("approved.txt", include_str!("../templates/approved.txt")),
    ("approved.html", include_str!("../templates/approved.html")),
    (
        "returned.subject.txt",
        include_str!("../templates/returned.subject.txt"),
    ),
    ("returned.txt", include_str!("../templates/returned.txt")),
    ("returned.html", include_str!("../templates/returned.html")),
    (
        "audit_selected.subject.txt",
        include_str!("../templates/audit_selected.subject.txt"),
    ),
    (
        "audit_selected.txt",
        include_str!("../templates/audit_selected.txt"),
    ),
    (
        "audit_selected.html",
        include_str!("../templates/audit_selected.html"),
    ),
    (
        "audit_reminder.subject.txt",
        include_str!("../templates/audit_reminder.subject.txt"),
    ),
    (
        "audit_reminder.txt",
        include_str!("../templates/audit_reminder.txt"),
    ),
    (
        "audit_reminder.html",
        include_str!("../templates/audit_reminder.html"),
    ),
    (
        "audit_extra_time.subject.txt",
        include_str!("../templates/audit_extra_time.subject.txt"),
    ),
    (
        "audit_extra_time.txt",
        include_str!("../templates/audit_extra_time.txt"),
    ),
    (
        "audit_extra_time.html",
        include_str!("../templates/audit_extra_time.html"),
    ),
    (
        "audit_outcome.subject.txt",
        include_str!("../templates/audit_outcome.subject.txt"),
    ),
    (
        "audit_outcome.txt",
        include_str!("../templates/audit_outcome.txt"),
    ),
    (
        "audit_outcome.html",
        include_str!("../templates/audit_outcome.html"),
    ),
    (
        "audit_received.subject.txt",
        include_str!("../templates/audit_received.subject.txt"),
    ),
    (
        "audit_received.txt",
        include_str!("../templates/audit_received.txt"),
    ),
    (
        "audit_received.html",
        include_str!("../templates/audit_received.html"),
    ),
    (
        "exam_recorded.subject.txt",
        include_str!("../templates/exam_recorded.subject.txt"),
    ),
    (
        "exam_recorded.txt",
        include_str!("../templates/exam_recorded.txt"),
    ),
    (
        "exam_recorded.html",
        include_str!("../templates/exam_recorded.html"),
    ),
    (
        "certificate.html",
        include_str!("../templates/certificate.html"),
    ),
    (
        "waiver_decided.subject.txt",
        include_str!("../templates/waiver_decided.subject.txt"),
    ),
    (
        "waiver_decided.txt",
        include_str!("../templates/waiver_decided.txt"),
    ),
    (
        "waiver_decided.html",
        include_str!("../templates/waiver_decided.html"),
    ),
    (
        "closing_reminder.subject.txt",
        include_str!("../templates/closing_reminder.subject.txt"),
    ),
    (
        "closing_reminder.txt",
        include_str!("../templates/closing_reminder.txt"),
    ),
    (
        "closing_reminder.html",
        include_str!("../templates/closing_reminder.html"),
    ),
    (
        "lapsed.subject.txt",
        include_str!("../templates/lapsed.subject.txt"),
    ),
    ("lapsed.txt", include_str!("../templates/lapsed.txt")),
    ("lapsed.html", include_str!("../templates/lapsed.html")),
];

/// The web app's base URL (`https://app.example.org`), which every link in an email starts with.
/// Always `http(s)://host[:port][/path]` without a trailing slash, query or fragment, and without
/// characters that would need escaping in HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBase(String);

impl LinkBase {
    /// Checks and normalises `base` (a trailing `/` is dropped).
    pub fn new(base: &str) -> Result<LinkBase, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            name: LINK_BASE_ENV,
            reason: reason.into(),
        };
        let base = base.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .ok_or_else(|| invalid("expected an http:// or https:// URL"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(invalid("the URL has no host"));
        }
        if base
            .chars()
            .any(|c| !c.is_ascii_graphic() || "\"'<>\\`?#&{}|^".contains(c))
        {
            return Err(invalid(
                "expected a plain URL without query, fragment, spaces or quotes",
            ));
        }
        Ok(LinkBase(base.to_owned()))
    }

    /// From `RECERT_LINK_BASE`, else [`DEFAULT_LINK_BASE`].
    pub fn from_env() -> Result<LinkBase, ConfigError> {
        match env_var(LINK_BASE_ENV) {
            Some(base) => LinkBase::new(&base),
            None => Ok(LinkBase::default()),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The certification's page: `<base>/certifications/<id>`.
    pub fn certification(&self, id: CertificationId) -> String {
        format!("{}/certifications/{id}", self.0)
    }

    /// The certification's eligibility (progress and gap) page:
    /// `<base>/certifications/<id>/eligibility`.
    pub fn eligibility(&self, id: CertificationId) -> String {
        format!("{}/certifications/{id}/eligibility", self.0)
    }

    /// The certification's audit page: `<base>/certifications/<id>/audit`.
    pub fn audit(&self, id: CertificationId) -> String {
        format!("{}/certifications/{id}/audit", self.0)
    }
}

impl Default for LinkBase {
    fn default() -> Self {
        LinkBase(DEFAULT_LINK_BASE.to_owned())
    }
}

impl fmt::Display for LinkBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rendered notice. Personal data: its `Debug` prints only lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, no markup.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part (a whole document).
    pub html: String,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("subject_len", &self.subject.len())
            .field("text_len", &self.text.len())
            .field("html_len", &self.html.len())
            .finish_non_exhaustive()
    }
}

/// A template that did not compile or render (a bug in a template, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("rendering the email template {template} failed")]
pub struct RenderError {
    /// The template's file name.
    pub template: String,
    /// The engine's error.
    #[source]
    pub source: minijinja::Error,
}

/// The templates, compiled once.
fn environment() -> Result<&'static Environment<'static>, RenderError> {
    static ENV: OnceLock<Result<Environment<'static>, (String, String)>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| ("syntax".to_owned(), e.to_string()))?;
        env.set_syntax(syntax);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| (name.to_owned(), e.to_string()))?;
        }
        Ok(env)
    });
    env.as_ref().map_err(|(template, message)| RenderError {
        template: template.clone(),
        source: minijinja::Error::new(
            minijinja::ErrorKind::SyntaxError,
            format!("the template does not compile: {message}"),
        ),
    })
}

fn render_one(
    env: &Environment<'static>,
    template: &str,
    ctx: &Value,
) -> Result<String, RenderError> {
    env.get_template(template)
        .and_then(|t| t.render(ctx))
        .map_err(|source| RenderError {
            template: template.to_owned(),
            source,
        })
}

/// `31 March 2027`.
pub fn human_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

fn hours_lines(lines: &[HoursLine]) -> Value {
    lines
        .iter()
        .map(|l| context! { label => one_line(&l.label), hours => l.hours.to_string() })
        .collect()
}

/// A link, marked safe: built from a checked [`LinkBase`] and an id, so it holds nothing to escape
/// (minijinja would otherwise write every `/` as `&#x2f;`).
fn link(url: String) -> Value {
    Value::from_safe_string(url)
}

/// What a printable certificate states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    pub holder: String,
    pub credential: String,
    pub certificate_number: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// In good standing (else the page says the certification is not active).
    pub active: bool,
}

/// The printable certificate page (HTML), with the same engine and escaping as the emails.
pub fn certificate_page(facts: &CertificateFacts) -> Result<String, RenderError> {
    let env = environment()?;
    render_one(
        env,
        "certificate.html",
        &context! {
            holder => one_line(&facts.holder),
            credential => one_line(&facts.credential),
            certificate_number => one_line(&facts.certificate_number),
            valid_from => human_date(facts.valid_from),
            valid_until => human_date(facts.valid_until),
            active => facts.active,
        },
    )
}

/// `125.00 USD`.
pub fn money(amount_minor: i64, currency: &str) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

/// The template's context: the recipient and the notice's facts, formatted for people.
fn context_of(recipient: &Recipient, notice: &Notice, links: &LinkBase) -> Value {
    let name = one_line(&recipient.full_name);
    match notice {
        Notice::Welcome(w) => context! {
            name,
            credential => w.credential.to_string(),
            certificate_number => one_line(&w.certificate_number),
            cycle_starts_on => human_date(w.cycle_starts_on),
            expires_on => human_date(w.expires_on),
            window_opens_on => human_date(w.window_opens_on),
            window_closes_on => human_date(w.window_closes_on),
            requirements => hours_lines(&w.requirements),
            links => context! {
                certification => link(links.certification(w.certification_id)),
                eligibility => link(links.eligibility(w.certification_id)),
            },
        },
        Notice::WindowOpens(w) => context! {
            name,
            credential => w.credential.to_string(),
            window_opens_on => human_date(w.window_opens_on),
            window_closes_on => human_date(w.window_closes_on),
            met => w.met,
            missing => hours_lines(&w.missing),
            links => context! {
                certification => link(links.certification(w.certification_id)),
                eligibility => link(links.eligibility(w.certification_id)),
            },
        },
        Notice::Receipt(r) => context! {
            name,
            credential => r.credential.to_string(),
            order_number => one_line(&r.order_number),
            amount => money(r.amount_minor, &r.currency),
            paid_on => human_date(r.paid_at.date_naive()),
            links => context! { certification => link(links.certification(r.certification_id)) },
        },
        Notice::Approved(a) => context! {
            name,
            credential => a.credential.to_string(),
            certificate_number => one_line(&a.certificate_number),
            valid_until => human_date(a.valid_until),
            next_cycle_starts_on => human_date(a.next_cycle_starts_on),
            links => context! { certification => link(links.certification(a.certification_id)) },
        },
        Notice::Returned(r) => context! {
            name,
            credential => r.credential.to_string(),
            order_number => one_line(&r.order_number),
            window_closes_on => human_date(r.window_closes_on),
            reasons => r.reasons.iter().map(|x| one_line(x)).collect::<Vec<_>>(),
            links => context! { certification => link(links.certification(r.certification_id)) },
        },
        Notice::AuditSelected(a) | Notice::AuditExtraTime(a) => context! {
            name,
            credential => a.credential.to_string(),
            due_on => human_date(a.due_on),
            entries => hours_lines(&a.entries),
            rejected => a.rejected.iter().map(|x| one_line(x)).collect::<Vec<_>>(),
            missing => hours_lines(&a.missing),
            links => context! { audit => link(links.audit(a.certification_id)) },
        },
        Notice::AuditReminder(a) => context! {
            name,
            credential => a.credential.to_string(),
            due_on => human_date(a.due_on),
            days_left => a.days_left,
            entries => hours_lines(&a.entries),
            links => context! { audit => link(links.audit(a.certification_id)) },
        },
        Notice::AuditReceived(a) => context! {
            name,
            credential => a.credential.to_string(),
            entries => hours_lines(&a.entries),
            files => a.files,
            links => context! { audit => link(links.audit(a.certification_id)) },
        },
        Notice::WaiverDecided(w) => context! {
            name,
            credential => w.credential.to_string(),
            kind => w.kind.clone(),
            approved => w.approved,
            note => one_line(&w.note),
            closes_on => human_date(w.closes_on),
            reduced => hours_lines(&w.reduced),
            links => context! { eligibility => link(links.eligibility(w.certification_id)) },
        },
        Notice::ClosingReminder(r) => context! {
            name,
            credential => r.credential.to_string(),
            closes_on => human_date(r.closes_on),
            days_left => r.days_left,
            met => r.met,
            missing => hours_lines(&r.missing),
            links => context! {
                certification => link(links.certification(r.certification_id)),
                eligibility => link(links.eligibility(r.certification_id)),
            },
        },
        Notice::Lapsed(l) => context! {
            name,
            credential => l.credential.to_string(),
            certificate_number => one_line(&l.certificate_number),
            closed_on => human_date(l.closed_on),
            links => context! { certification => link(links.certification(l.certification_id)) },
        },
        Notice::AuditOutcome(a) => context! {
            name,
            credential => a.credential.to_string(),
            passed => a.passed,
            certificate_due_on => a.certificate_due_on.map(human_date).unwrap_or_default(),
            reason => a.reason.as_deref().map(one_line).unwrap_or_default(),
            links => context! { certification => link(links.certification(a.certification_id)) },
        },
        Notice::ExamRecorded(e) => context! {
            name,
            credential => e.credential.to_string(),
            certificate_number => one_line(&e.certificate_number),
            reinstated => e.reinstated,
            passed_on => human_date(e.passed_on),
            valid_until => human_date(e.valid_until),
            cycle_starts_on => human_date(e.cycle_starts_on),
            links => context! { certification => link(links.certification(e.certification_id)) },
        },
    }
}

/// Renders `notice` for `recipient`: the subject first, then the text and HTML parts (which also
/// see the subject, as `subject`).
pub fn render(
    recipient: &Recipient,
    notice: &Notice,
    links: &LinkBase,
) -> Result<Rendered, RenderError> {
    let env = environment()?;
    let name = notice.template();
    let ctx = context_of(recipient, notice, links);
    let subject = one_line(&render_one(env, &format!("{name}.subject.txt"), &ctx)?);
    let ctx = context! { subject => subject.clone(), ..ctx };
    Ok(Rendered {
        text: render_one(env, &format!("{name}.txt"), &ctx)?,
        html: render_one(env, &format!("{name}.html"), &ctx)?,
        subject,
    })
}

/// [`render`]s `notice` into the [`Email`] to send to `recipient`.
pub fn email(
    recipient: &Recipient,
    notice: &Notice,
    links: &LinkBase,
) -> Result<Email, RenderError> {
    let Rendered {
        subject,
        text,
        html,
    } = render(recipient, notice, links)?;
    Ok(Email {
        to: recipient.email.clone(),
        to_name: one_line(&recipient.full_name),
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use recert_domain::model::notice::{Welcome, WindowOpens};
    use recert_domain::{CertificantId, Credential, Hours};
    use uuid::Uuid;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn certification_id() -> CertificationId {
        CertificationId(Uuid::parse_str("01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f").unwrap())
    }

    fn recipient(name: &str) -> Recipient {
        Recipient {
            certificant_id: CertificantId(Uuid::nil()),
            email: recert_domain::Email::parse("ada@example.org").unwrap(),
            full_name: name.into(),
        }
    }

    fn links() -> LinkBase {
        LinkBase::new("https://app.example.org/").unwrap()
    }

    fn line(label: &str, hours: u32) -> HoursLine {
        HoursLine {
            label: label.into(),
            hours: Hours(hours),
        }
    }

    fn welcome() -> Notice {
        Notice::Welcome(Welcome {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            certificate_number: "CPHIMS-2024-00042".into(),
            cycle_starts_on: date("2024-04-01"),
            expires_on: date("2027-03-31"),
            window_opens_on: date("2026-10-01"),
            window_closes_on: date("2027-03-31"),
            requirements: vec![
                line("Total hours", 4500),
                line("From approved providers", 2250),
                line("Ethics", 350),
            ],
        })
    }

    fn window_opens(met: bool) -> Notice {
        Notice::WindowOpens(WindowOpens {
            certification_id: certification_id(),
            credential: Credential::CphimsCa,
            window_opens_on: date("2026-10-01"),
            window_closes_on: date("2027-03-31"),
            met,
            missing: if met {
                vec![]
            } else {
                vec![line("Total hours", 2000), line("Canadian content", 525)]
            },
        })
    }

    /// Asserts `needle` is in both parts.
    fn in_both(r: &Rendered, needle: &str) {
        assert!(
            r.text.contains(needle),
            "text lacks {needle:?}:\n{}",
            r.text
        );
        assert!(
            r.html.contains(needle),
            "html lacks {needle:?}:\n{}",
            r.html
        );
    }

    #[test]
    fn welcome_tells_the_cycle_the_window_and_every_requirement() {
        let r = render(&recipient("Ada Lovelace"), &welcome(), &links()).unwrap();
        assert_eq!(r.subject, "Welcome to your CPHIMS renewal cycle");
        for fact in [
            "Ada Lovelace",
            "CPHIMS",
            "CPHIMS-2024-00042",
            "1 April 2024",
            "31 March 2027",
            "1 October 2026",
            "Total hours: 45.00 h",
            "From approved providers: 22.50 h",
            "Ethics: 3.50 h",
            "https://app.example.org/certifications/01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f",
        ] {
            in_both(&r, fact);
        }
        assert!(r.text.contains("Log your CE hours"), "{}", r.text);
        assert!(
            r.html
                .contains("<title>Welcome to your CPHIMS renewal cycle</title>")
        );
        assert!(
            r.html.contains(
                "href=\"https://app.example.org/certifications/01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f\""
            ),
            "{}",
            r.html
        );
        assert!(
            !r.text.contains('<'),
            "no markup in the text part:\n{}",
            r.text
        );
    }

    #[test]
    fn window_opens_when_met_invites_to_submit() {
        let r = render(&recipient("Ada Lovelace"), &window_opens(true), &links()).unwrap();
        assert_eq!(r.subject, "Your CPHIMS-CA renewal window is open");
        for fact in [
            "Ada Lovelace",
            "1 October 2026",
            "31 March 2027",
            "you meet every requirement",
            "you can submit your renewal now",
            "https://app.example.org/certifications/01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f",
        ] {
            in_both(&r, fact);
        }
        assert!(!r.text.contains("still missing"));
        assert!(!r.html.contains("/eligibility"));
    }

    #[test]
    fn window_opens_when_not_met_lists_what_is_missing() {
        let r = render(&recipient("Ada Lovelace"), &window_opens(false), &links()).unwrap();
        assert_eq!(r.subject, "Your CPHIMS-CA renewal window is open");
        for fact in [
            "Ada Lovelace",
            "1 October 2026",
            "31 March 2027",
            "still missing",
            "Total hours: 20.00 h",
            "Canadian content: 5.25 h",
            "https://app.example.org/certifications/01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f/eligibility",
        ] {
            in_both(&r, fact);
        }
        assert!(!r.text.contains("you can submit your renewal now"));
    }

    #[test]
    fn html_escapes_what_people_typed_and_text_keeps_it() {
        for notice in [welcome(), window_opens(false), window_opens(true)] {
            let r = render(
                &recipient("Ada <script>alert(1)</script>"),
                &notice,
                &links(),
            )
            .unwrap();
            assert!(!r.html.contains("<script>"), "{}", r.html);
            assert!(r.html.contains("Ada &lt;script&gt;"), "{}", r.html);
            assert!(
                r.text.contains("Ada <script>alert(1)</script>"),
                "{}",
                r.text
            );
        }
        let mut w = welcome();
        if let Notice::Welcome(w) = &mut w {
            w.requirements = vec![line("Ethics & <b>law</b>", 100)];
        }
        let r = render(&recipient("Ada"), &w, &links()).unwrap();
        assert!(r.html.contains("Ethics &amp; &lt;b&gt;law"), "{}", r.html);
    }

    #[test]
    fn a_blank_name_gets_a_neutral_greeting() {
        let r = render(&recipient("  "), &welcome(), &links()).unwrap();
        assert!(r.text.starts_with("Hello,\n"), "{}", r.text);
        assert!(r.html.contains("<p>Hello,</p>"), "{}", r.html);
    }

    #[test]
    fn email_carries_the_recipient_and_the_parts() {
        let e = email(&recipient("Ada\nLovelace"), &welcome(), &links()).unwrap();
        assert_eq!(e.to.as_str(), "ada@example.org");
        assert_eq!(e.to_name, "Ada Lovelace");
        assert_eq!(e.subject, "Welcome to your CPHIMS renewal cycle");
        assert!(e.text.contains("Dear Ada Lovelace,"));
        assert!(e.html.contains("<!DOCTYPE html>"));
    }

    #[test]
    fn link_base_is_checked_and_normalised() {
        assert_eq!(
            LinkBase::new("https://app.example.org/").unwrap().as_str(),
            "https://app.example.org"
        );
        assert_eq!(
            LinkBase::new("http://127.0.0.1:3000/recert")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:3000/recert"
        );
        assert_eq!(LinkBase::default().as_str(), DEFAULT_LINK_BASE);
        for bad in [
            "",
            "app.example.org",
            "ftp://x",
            "https://",
            "https:///x",
            "https://a.org/?x=1",
            "https://a.org/#x",
            "https://a.org/\"><script>",
            "https://a b.org",
        ] {
            let err = LinkBase::new(bad).unwrap_err();
            assert!(err.to_string().contains(LINK_BASE_ENV), "{err}");
        }
    }

    #[test]
    fn dates_read_like_people_write_them() {
        assert_eq!(human_date(date("2027-03-31")), "31 March 2027");
        assert_eq!(human_date(date("2026-10-01")), "1 October 2026");
    }

    #[test]
    fn rendered_debug_shows_no_content() {
        let r = render(&recipient("Ada Lovelace"), &welcome(), &links()).unwrap();
        let debug = format!("{r:?}");
        assert!(!debug.contains("Ada"), "{debug}");
    }

    #[test]
    fn the_receipt_names_the_order_the_amount_and_what_happens_next() {
        let notice = Notice::Receipt(recert_domain::model::notice::Receipt {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            order_number: "R-0001-abcd".into(),
            amount_minor: 12500,
            currency: "USD".into(),
            paid_at: date("2026-10-02").and_hms_opt(9, 0, 0).unwrap().and_utc(),
        });
        let r = render(&recipient("Ada <script>"), &notice, &links()).unwrap();
        assert!(r.subject.contains("R-0001-abcd"), "{}", r.subject);
        for part in [&r.text, &r.html] {
            for fact in [
                "R-0001-abcd",
                "125.00 USD",
                "2 October 2026",
                "review queue",
                "https://app.example.org/certifications/",
            ] {
                assert!(part.contains(fact), "{fact} missing");
            }
        }
        assert!(r.html.contains("Ada &lt;script&gt;") && !r.html.contains("<script>"));
    }

    #[test]
    fn the_approval_names_the_new_expiration_and_the_next_cycle() {
        let notice = Notice::Approved(recert_domain::model::notice::Approved {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            certificate_number: "CPHIMS-2024-00042".into(),
            valid_until: date("2030-03-31"),
            next_cycle_starts_on: date("2027-04-01"),
        });
        let r = render(&recipient("Ada Lovelace"), &notice, &links()).unwrap();
        assert!(r.subject.contains("31 March 2030"), "{}", r.subject);
        for part in [&r.text, &r.html] {
            for fact in [
                "Ada Lovelace",
                "CPHIMS-2024-00042",
                "31 March 2030",
                "1 April 2027",
            ] {
                assert!(part.contains(fact), "{fact} missing");
            }
        }
    }

    #[test]
    fn a_returned_submission_lists_every_reason_and_the_deadline() {
        let notice = Notice::Returned(recert_domain::model::notice::Returned {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            order_number: "R-0001-abcd".into(),
            window_closes_on: date("2027-03-31"),
            reasons: vec![
                "The ethics course certificate is unreadable".into(),
                "Add the provider's name".into(),
            ],
        });
        let r = render(&recipient("Ada Lovelace"), &notice, &links()).unwrap();
        for part in [&r.text, &r.html] {
            for fact in [
                "unreadable",
                "provider's name",
                "31 March 2027",
                "do not pay",
            ] {
                assert!(
                    part.contains(fact) || part.contains(&fact.replace('\'', "&#x27;")),
                    "{fact} missing"
                );
            }
        }
    }

    #[test]
    fn the_audit_emails_list_what_to_document_and_the_dates() {
        use recert_domain::audit::{AuditNotice, AuditOutcome, AuditReminder};
        let selected = Notice::AuditSelected(AuditNotice {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            due_on: date("2027-01-31"),
            entries: vec![line("Ethics in HIT (completed 2026-03-01)", 300)],
            rejected: vec![],
            missing: vec![],
        });
        let r = render(&recipient("Ada Lovelace"), &selected, &links()).unwrap();
        assert!(r.subject.contains("31 January 2027"), "{}", r.subject);
        for fact in [
            "Ethics in HIT (completed 2026-03-01): 3.00 h",
            "31 January 2027",
            "https://app.example.org/certifications/01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f/audit",
        ] {
            in_both(&r, fact);
        }
        let extra = Notice::AuditExtraTime(AuditNotice {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            due_on: date("2027-04-01"),
            entries: vec![],
            rejected: vec!["Ethics in HIT: the certificate is unreadable".into()],
            missing: vec![line("CE requirements: Ethics", 300)],
        });
        let r = render(&recipient("Ada Lovelace"), &extra, &links()).unwrap();
        for fact in ["unreadable", "Ethics: 3.00 h missing", "1 April 2027"] {
            in_both(&r, fact);
        }
        let reminder = Notice::AuditReminder(AuditReminder {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            due_on: date("2027-01-31"),
            days_left: 1,
            entries: vec![line("Ethics in HIT (completed 2026-03-01)", 300)],
        });
        let r = render(&recipient("Ada Lovelace"), &reminder, &links()).unwrap();
        in_both(&r, "(1 day left)");
        let received = Notice::AuditReceived(recert_domain::audit::AuditReceived {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            entries: vec![line("Ethics in HIT (completed 2026-03-01)", 300)],
            files: 2,
        });
        let r = render(&recipient("Ada Lovelace"), &received, &links()).unwrap();
        in_both(&r, "(2 files)");
        in_both(&r, "Ethics in HIT (completed 2026-03-01): 3.00 h");
        let failed = Notice::AuditOutcome(AuditOutcome {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            passed: false,
            certificate_due_on: None,
            reason: Some("no documentation was received by 2027-01-31".into()),
        });
        let r = render(&recipient("Ada Lovelace"), &failed, &links()).unwrap();
        assert!(r.subject.contains("revoked"), "{}", r.subject);
        in_both(&r, "no documentation was received by 2027-01-31");
        let passed = Notice::AuditOutcome(AuditOutcome {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            passed: true,
            certificate_due_on: Some(date("2027-02-28")),
            reason: None,
        });
        let r = render(&recipient("Ada Lovelace"), &passed, &links()).unwrap();
        in_both(&r, "28 February 2027");
    }

    fn exam_recorded(reinstated: bool) -> Notice {
        Notice::ExamRecorded(recert_domain::model::notice::ExamRecorded {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            certificate_number: "CPHIMS-2024-00042".into(),
            reinstated,
            passed_on: date("2027-05-10"),
            valid_until: if reinstated {
                date("2030-05-09")
            } else {
                date("2030-03-31")
            },
            cycle_starts_on: if reinstated {
                date("2027-05-10")
            } else {
                date("2027-04-01")
            },
        })
    }

    #[test]
    fn an_exam_pass_says_renewed_or_reinstated_valid_until_and_the_cycle() {
        let r = render(&recipient("Ada Lovelace"), &exam_recorded(true), &links()).unwrap();
        assert_eq!(
            r.subject,
            "Your CPHIMS certification is reinstated until 9 May 2030"
        );
        for fact in [
            "Ada Lovelace",
            "CPHIMS-2024-00042",
            "exam on 10 May 2027",
            "is reinstated",
            "9 May 2030",
            "new cycle runs from 10 May 2027",
            "https://app.example.org/certifications/01936f3e-7a2b-7c4d-8e9f-0a1b2c3d4e5f",
        ] {
            in_both(&r, fact);
        }
        assert!(r.text.contains("valid until 9 May 2030"), "{}", r.text);
        assert!(!r.text.contains("renewed by exam"), "{}", r.text);
        assert!(!r.text.contains('<'), "{}", r.text);

        let r = render(&recipient("Ada Lovelace"), &exam_recorded(false), &links()).unwrap();
        assert_eq!(
            r.subject,
            "Your CPHIMS certification is renewed by exam until 31 March 2030"
        );
        for fact in [
            "is renewed by exam",
            "31 March 2030",
            "next cycle runs from 1 April 2027",
        ] {
            in_both(&r, fact);
        }
        assert!(r.text.contains("valid until 31 March 2030"), "{}", r.text);
        assert!(!r.text.contains("reinstated"), "{}", r.text);

        let r = render(
            &recipient("Ada <script>alert(1)</script>"),
            &exam_recorded(true),
            &links(),
        )
        .unwrap();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("Ada &lt;script&gt;"), "{}", r.html);
    }

    #[test]
    fn money_is_written_with_two_decimals_and_the_currency() {
        assert_eq!(money(12500, "USD"), "125.00 USD");
        assert_eq!(money(5, "CAD"), "0.05 CAD");
        assert_eq!(money(-150, "USD"), "-1.50 USD");
    }

    #[test]
    fn the_certificate_page_states_holder_credential_number_and_validity() {
        let page = certificate_page(&CertificateFacts {
            holder: "Ada <b>Lovelace</b>".into(),
            credential: "CPHIMS".into(),
            certificate_number: "CPHIMS-2024-00042".into(),
            valid_from: date("2027-04-01"),
            valid_until: date("2030-03-31"),
            active: true,
        })
        .unwrap();
        for fact in [
            "Ada &lt;b&gt;Lovelace&lt;&#x2f;b&gt;",
            "CPHIMS-2024-00042",
            "1 April 2027",
            "31 March 2030",
            "<!DOCTYPE html>",
        ] {
            assert!(page.contains(fact), "{fact} missing");
        }
        let lapsed = certificate_page(&CertificateFacts {
            active: false,
            ..CertificateFacts {
                holder: "Ada".into(),
                credential: "CPHIMS".into(),
                certificate_number: "N".into(),
                valid_from: date("2027-04-01"),
                valid_until: date("2030-03-31"),
                active: true,
            }
        })
        .unwrap();
        assert!(lapsed.contains("not active"));
    }

    #[test]
    fn waiver_decisions_reminders_and_lapse_say_what_happened_and_what_is_next() {
        use recert_domain::model::notice::{ClosingReminder, Lapsed, WaiverDecided};
        let ada = recipient("Ada Lovelace");
        let extension = Notice::WaiverDecided(WaiverDecided {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            kind: "extension".into(),
            approved: true,
            note: "Granted <as asked>".into(),
            closes_on: date("2028-02-29"),
            reduced: vec![],
        });
        let r = render(&ada, &extension, &links()).unwrap();
        assert!(r.subject.contains("approved"), "{}", r.subject);
        for part in [&r.text, &r.html] {
            assert!(part.contains("29 February 2028"), "{part}");
            assert!(part.contains("unchanged"), "hours are not lowered: {part}");
        }
        assert!(r.html.contains("Granted &lt;as asked&gt;"));
        let waiver = Notice::WaiverDecided(WaiverDecided {
            certification_id: certification_id(),
            credential: Credential::Cpdhts,
            kind: "waiver".into(),
            approved: true,
            note: "ok".into(),
            closes_on: date("2026-08-31"),
            reduced: vec![line("CE requirements: approved hours", 1000)],
        });
        let r = render(&ada, &waiver, &links()).unwrap();
        for part in [&r.text, &r.html] {
            assert!(part.contains("approved hours: now 10.00 h"), "{part}");
        }
        let denied = Notice::WaiverDecided(WaiverDecided {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            kind: "extension".into(),
            approved: false,
            note: "Too late in the cycle".into(),
            closes_on: date("2026-08-31"),
            reduced: vec![],
        });
        let r = render(&ada, &denied, &links()).unwrap();
        assert!(r.subject.contains("not approved"));
        assert!(r.text.contains("stays 31 August 2026") && r.text.contains("Too late"));

        let short = Notice::ClosingReminder(ClosingReminder {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            closes_on: date("2026-08-31"),
            days_left: 30,
            met: false,
            missing: vec![line("CE requirements: total hours", 500)],
        });
        let r = render(&ada, &short, &links()).unwrap();
        assert!(r.subject.contains("30 days"), "{}", r.subject);
        for part in [&r.text, &r.html] {
            assert!(part.contains("total hours: 5.00 h") && part.contains("31 August 2026"));
        }
        let ready = Notice::ClosingReminder(ClosingReminder {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            closes_on: date("2026-08-31"),
            days_left: 7,
            met: true,
            missing: vec![],
        });
        let r = render(&ada, &ready, &links()).unwrap();
        assert!(
            r.text.contains("all that is left is to submit"),
            "{}",
            r.text
        );

        let lapsed = Notice::Lapsed(Lapsed {
            certification_id: certification_id(),
            credential: Credential::Cphims,
            certificate_number: "CPHIMS-2024-00042".into(),
            closed_on: date("2026-08-31"),
        });
        let r = render(&ada, &lapsed, &links()).unwrap();
        assert!(r.subject.contains("lapsed"));
        for part in [&r.text, &r.html] {
            assert!(part.contains("CPHIMS-2024-00042") && part.contains("pass the exam again"));
        }
    }
}
