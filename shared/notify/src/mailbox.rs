//! The local-development adapter: [`Mailer`] writing each message into a folder as an RFC 5322
//! `.eml` file that any mail client opens, plus [`MailboxMailer::list`] and
//! [`MailboxMailer::read`] so the local server (or a person) can read what was "sent".
//!
//! Each file is `<UTC timestamp>-<id>.eml` (`20261129T191431.123456Z-0193….eml`, so names sort by
//! time) holding `Date`, `From` ([`LOCAL_SENDER`]), `To`, `Subject` (RFC 2047 encoded when not
//! ASCII), `Message-ID` (`<id@recert.local>`), `MIME-Version` and a `multipart/alternative` body
//! with the text part then the HTML part, both UTF-8 and quoted-printable. A file is written under
//! a temporary name and renamed, so a listing never sees half a message. The id is a UUIDv7 (its
//! 32 hex digits) and is the [`SentId`].

use crate::address::{decode_header, header_text, mailbox};
use crate::{Email, MailError, Mailer, SentId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// The `From` of every message in the mailbox.
pub const LOCAL_SENDER: &str = "Recert (local) <no-reply@recert.local>";

/// The file-name timestamp (UTC, microseconds; sorts as text).
const STAMP_FORMAT: &str = "%Y%m%dT%H%M%S%.6fZ";

/// One message of the mailbox, from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    /// Its id (the [`SentId`] the send returned).
    pub id: String,
    /// The `To` header, decoded (`Ada Lovelace <ada@example.org>`).
    pub to: String,
    /// The subject, decoded.
    pub subject: String,
    /// When it was written.
    pub sent_at: DateTime<Utc>,
}

/// [`Mailer`] into a folder of `.eml` files (created on first send).
#[derive(Debug, Clone)]
pub struct MailboxMailer {
    dir: PathBuf,
}

impl MailboxMailer {
    /// A mailbox in `dir` (created when the first message is written).
    pub fn new(dir: PathBuf) -> MailboxMailer {
        MailboxMailer { dir }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every message, newest first (an absent folder is an empty mailbox). Files that are not
    /// this mailbox's are skipped.
    pub fn list(&self) -> io::Result<Vec<MailboxEntry>> {
        let mut files = self.files()?;
        files.sort_by(|a, b| b.0.cmp(&a.0));
        let mut entries = Vec::with_capacity(files.len());
        for (name, path) in files {
            let Some((sent_at, id)) = parse_file_name(&name) else {
                continue;
            };
            let raw = match std::fs::read_to_string(&path) {
                Ok(raw) => raw,
                // Removed meanwhile.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let headers = parse_headers(&raw);
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| decode_header(v))
                    .unwrap_or_default()
            };
            entries.push(MailboxEntry {
                id: id.to_owned(),
                to: header("To"),
                subject: header("Subject"),
                sent_at,
            });
        }
        Ok(entries)
    }

    /// The raw `.eml` of message `id`, or `None` when there is no such message (or `id` is not an
    /// id this mailbox makes).
    pub fn read(&self, id: &str) -> io::Result<Option<String>> {
        if !is_id(id) {
            return Ok(None);
        }
        let suffix = format!("-{id}.eml");
        for (name, path) in self.files()? {
            if name.ends_with(&suffix) && parse_file_name(&name).is_some() {
                return match std::fs::read_to_string(path) {
                    Ok(raw) => Ok(Some(raw)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                };
            }
        }
        Ok(None)
    }

    /// The `.eml` files of the folder: (file name, path).
    fn files(&self) -> io::Result<Vec<(String, PathBuf)>> {
        let read_dir = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in read_dir {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str()
                && name.ends_with(".eml")
            {
                files.push((name.to_owned(), entry.path()));
            }
        }
        Ok(files)
    }

    /// Writes the message (blocking I/O).
    fn write(&self, email: &Email, now: DateTime<Utc>, id: &str) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let name = format!("{}-{id}.eml", now.format(STAMP_FORMAT));
        let tmp = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, to_eml(email, now, id))?;
        std::fs::rename(&tmp, self.dir.join(name)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[async_trait]
impl Mailer for MailboxMailer {
    async fn send(&self, email: &Email) -> Result<SentId, MailError> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let now = Utc::now();
        let mailer = self.clone();
        let email = email.clone();
        let file_id = id.clone();
        tokio::task::spawn_blocking(move || mailer.write(&email, now, &file_id))
            .await
            .map_err(|e| MailError::Transient(Box::new(e)))?
            .map_err(|e| MailError::Transient(Box::new(e)))?;
        Ok(SentId(id))
    }
}

/// An id this mailbox makes: 32 lower-case hex digits.
fn is_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<timestamp>-<id>.eml` → (timestamp, id).
fn parse_file_name(name: &str) -> Option<(DateTime<Utc>, &str)> {
    let (stamp, rest) = name.split_once('-')?;
    let id = rest.strip_suffix(".eml")?;
    if !is_id(id) {
        return None;
    }
    let at = NaiveDateTime::parse_from_str(stamp, STAMP_FORMAT).ok()?;
    Some((at.and_utc(), id))
}

/// The header section, unfolded: (name, value) in order.
fn parse_headers(raw: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in raw.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    for (_, value) in &mut headers {
        *value = value.trim().to_owned();
    }
    headers
}

/// Folds a header line at spaces to keep lines within 78 characters where it can.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut current = 0;
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            if current + 1 + word.len() > 78 {
                out.push_str("\r\n ");
                current = 1;
            } else {
                out.push(' ');
                current += 1;
            }
        }
        out.push_str(word);
        current += word.len();
    }
    out
}

/// The whole message, CRLF line ends.
fn to_eml(email: &Email, now: DateTime<Utc>, id: &str) -> String {
    let boundary = format!("=_recert_{id}");
    let mut eml = String::with_capacity(email.text.len() * 2 + email.html.len() * 2 + 1024);
    for (name, value) in [
        ("Date", now.to_rfc2822()),
        ("From", LOCAL_SENDER.to_owned()),
        ("To", mailbox(&email.to_name, email.to.as_str())),
        ("Subject", header_text(&email.subject)),
        ("Message-ID", format!("<{id}@recert.local>")),
        ("MIME-Version", "1.0".to_owned()),
        (
            "Content-Type",
            format!("multipart/alternative; boundary=\"{boundary}\""),
        ),
    ] {
        eml.push_str(&fold(&format!("{name}: {value}")));
        eml.push_str("\r\n");
    }
    eml.push_str("\r\nThis is a multi-part message in MIME format.\r\n");
    for (subtype, body) in [("plain", &email.text), ("html", &email.html)] {
        let _ = write!(
            eml,
            "\r\n--{boundary}\r\nContent-Type: text/{subtype}; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
            quoted_printable(body)
        );
    }
    let _ = write!(eml, "\r\n--{boundary}--\r\n");
    eml
}

/// RFC 2045 quoted-printable of UTF-8 `text`: line breaks become CRLF, lines at most 76
/// characters with soft breaks, `=`, non-ASCII and trailing spaces encoded.
fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let normalised = text.replace("\r\n", "\n");
    for (n, line) in normalised.split('\n').enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut width = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let piece_len = if literal { 1 } else { 3 };
            // Leave room for the soft break's `=` (76 with it).
            if width + piece_len > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            if literal {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "={b:02X}");
            }
            width += piece_len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("recert-mailbox-{}", uuid::Uuid::now_v7().simple()))
    }

    fn email(to_name: &str, subject: &str) -> Email {
        Email {
            to: recert_domain::Email::parse("ada@example.org").unwrap(),
            to_name: to_name.into(),
            subject: subject.into(),
            text: "Dear Ada,\n\nTotal hours: 45.00 h\n".into(),
            html: "<p>Dear Ada,</p><p>Total hours: 45.00&nbsp;h</p>".into(),
        }
    }

    /// Decodes quoted-printable (test oracle).
    fn qp_decode(s: &str) -> String {
        let s = s.replace("=\r\n", "");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let text = format!(
            "Café = crème \nline two\t\n{}\n{}",
            "x".repeat(200),
            "é".repeat(60)
        );
        let qp = quoted_printable(&text);
        for line in qp.split("\r\n") {
            assert!(line.len() <= 76, "{line:?} ({})", line.len());
            assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
        }
        assert!(qp.is_ascii());
        assert_eq!(qp_decode(&qp), text.replace('\n', "\r\n"));
    }

    #[tokio::test]
    async fn sends_list_and_read_back() {
        let dir = temp_dir();
        let mailer = MailboxMailer::new(dir.join("nested"));
        assert!(mailer.list().unwrap().is_empty(), "absent folder: empty");

        let first = mailer
            .send(&email(
                "Ada Lovelace",
                "Welcome to your CPHIMS renewal cycle",
            ))
            .await
            .unwrap();
        let second = mailer
            .send(&email(
                "Élodie Ñúñez",
                "Votre fenêtre de renouvellement est ouverte",
            ))
            .await
            .unwrap();
        assert_ne!(first, second);

        let list = mailer.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, second.0, "newest first");
        assert_eq!(list[0].to, "Élodie Ñúñez <ada@example.org>");
        assert_eq!(
            list[0].subject,
            "Votre fenêtre de renouvellement est ouverte"
        );
        assert_eq!(list[1].id, first.0);
        assert_eq!(list[1].to, "Ada Lovelace <ada@example.org>");
        assert_eq!(list[1].subject, "Welcome to your CPHIMS renewal cycle");
        assert!(list[0].sent_at >= list[1].sent_at);
        assert!((Utc::now() - list[0].sent_at).num_seconds() < 60);

        let raw = mailer.read(&second.0).unwrap().unwrap();
        assert!(raw.is_ascii(), "7-bit clean");
        assert!(raw.contains("\r\nFrom: Recert (local) <no-reply@recert.local>\r\n"));
        assert!(raw.contains(&format!("\r\nMessage-ID: <{}@recert.local>\r\n", second.0)));
        let headers = parse_headers(&raw);
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert!(header("Subject").starts_with("=?UTF-8?B?"), "encoded");
        assert!(header("Content-Type").starts_with("multipart/alternative; boundary="));
        let text_at = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
        let html_at = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(text_at < html_at, "text first, HTML last (preferred)");
        assert!(raw.contains("Total hours: 45.00 h"));
        assert!(raw.contains("<p>Dear Ada,</p>"));
        for line in raw.split("\r\n") {
            assert!(line.len() <= 78, "{line:?}");
        }
        DateTime::parse_from_rfc2822(&header("Date")).unwrap();

        assert_eq!(mailer.read(&"0".repeat(32)).unwrap(), None);
        assert_eq!(mailer.read("../../etc/passwd").unwrap(), None);

        std::fs::write(dir.join("nested").join("notes.eml"), "not ours").unwrap();
        assert_eq!(mailer.list().unwrap().len(), 2, "foreign files are skipped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn header_injection_stays_in_its_header() {
        let dir = temp_dir();
        let mailer = MailboxMailer::new(dir.clone());
        let id = mailer
            .send(&email(
                "Ada\r\nBcc: eve@example.org",
                "Hi\r\nBcc: eve@example.org",
            ))
            .await
            .unwrap();
        let raw = mailer.read(&id.0).unwrap().unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
