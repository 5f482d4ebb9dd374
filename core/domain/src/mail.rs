//! E-mail from the card (PRODUCT D3): the SMTP accounts mail is sent through,
//! templates with placeholders and attachments, a user's signature, and the
//! mail queued for sending with its state.
//!
//! An account's password is kept here only in its sealed (encrypted) form;
//! sealing is the store's (`callisto_store::sealed`), as it needs a key and
//! randomness.

use crate::Millis;
use crate::access::{Permission, Principal};
use crate::call_result::text;
use crate::email::normalize_email;
use crate::ids::{
    AttachmentId, ClientId, EmailTemplateId, MailAccountId, MailId, ScenarioId, UserId,
};
use crate::script::{MAX_SCRIPT_CHARS, sanitize_script};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_SUBJECT_CHARS: usize = 250;
pub const MAX_BODY_CHARS: usize = MAX_SCRIPT_CHARS;
pub const MAX_SIGNATURE_CHARS: usize = 2_000;
pub const MAX_EXTRA_TEXT_CHARS: usize = 5_000;
pub const MAX_ATTACHMENTS: usize = 10;
/// One attachment at most.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// All attachments of a template together at most.
pub const MAX_ATTACHMENTS_TOTAL_BYTES: u64 = 20 * 1024 * 1024;
const MAX_HOST_CHARS: usize = 253;
const MAX_LOGIN_CHARS: usize = 254;
pub const MAX_PASSWORD_CHARS: usize = 500;
const MAX_FILE_NAME_CHARS: usize = 200;

/// The placeholders a template may use (D3).
pub const PLACEHOLDERS: [&str; 5] = [
    "FIRSTNAME",
    "LASTNAME",
    "PATRONYMIC",
    "FIRM_NAME",
    "FULLNAME",
];

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailSecurity {
    /// Plain SMTP (only for servers on a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587); required.
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// How the client logs in to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailAuth {
    None,
    Plain,
    Login,
}

/// An SMTP account. `owner` `None`: the company's, used by everyone and
/// managed by administrators; else one user's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAccount {
    pub id: MailAccountId,
    pub owner: Option<UserId>,
    pub name: String,
    /// The sender address (`From:`).
    pub from_address: String,
    /// The sender's display name.
    #[serde(default)]
    pub from_name: Option<String>,
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub auth: MailAuth,
    #[serde(default)]
    pub login: Option<String>,
    /// The password sealed with the tenant as associated data; never shown.
    #[serde(default)]
    pub sealed_password: Option<String>,
    /// The scenarios that send through it; kept by the scenario repository.
    #[serde(default)]
    pub used_by: Vec<ScenarioId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl MailAccount {
    /// May `p` change, test or delete it? A company account: administrators;
    /// a user's own: that user.
    pub fn managed_by(&self, p: &Principal) -> bool {
        match &self.owner {
            None => p.can(Permission::ManageSettings),
            Some(u) => u == &p.user,
        }
    }

    /// May `p` see it? Whoever manages it or may send through it, and
    /// administrators every account of the company.
    pub fn visible_to(&self, p: &Principal) -> bool {
        self.usable_by(p) || p.can(Permission::ManageSettings)
    }

    /// May `p` send through it? Everyone the company's, a user his own.
    pub fn usable_by(&self, p: &Principal) -> bool {
        self.owner.as_ref().is_none_or(|u| u == &p.user)
    }

    /// Checks the fields and writes them canonically (trimmed, the address
    /// and host lower-cased). A login-using account needs a login and a password.
    pub fn normalize(&mut self) -> Result<(), FieldError> {
        self.name = text("name", &self.name, MAX_NAME_CHARS)?;
        self.from_address = normalize_email(&self.from_address)
            .map_err(|e| FieldError::new("from_address", e.to_string()))?;
        self.from_name = optional("from_name", self.from_name.as_deref(), MAX_NAME_CHARS)?;
        if self
            .from_name
            .as_deref()
            .is_some_and(|n| n.contains(['\r', '\n', '"', '<', '>']))
        {
            return Err(FieldError::new(
                "from_name",
                "must not contain line breaks, quotes or angle brackets",
            ));
        }
        let host = text("host", &self.host, MAX_HOST_CHARS)?.to_lowercase();
        let host_ok = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
        if !host_ok {
            return Err(FieldError::new(
                "host",
                format!("{host:?} is not a host name or address"),
            ));
        }
        self.host = host;
        if self.port == 0 {
            return Err(FieldError::new("port", "must be between 1 and 65535"));
        }
        self.login = optional("login", self.login.as_deref(), MAX_LOGIN_CHARS)?;
        if self.auth != MailAuth::None {
            if self.login.is_none() {
                return Err(FieldError::new(
                    "login",
                    "this authentication needs a login",
                ));
            }
            if self.sealed_password.is_none() {
                return Err(FieldError::new(
                    "password",
                    "this authentication needs a password",
                ));
            }
        }
        Ok(())
    }
}

/// The text a user's mail ends with.
pub fn normalize_signature(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.chars().count() > MAX_SIGNATURE_CHARS {
        return Err(FieldError::new(
            "signature",
            format!("must be at most {MAX_SIGNATURE_CHARS} characters"),
        ));
    }
    Ok(s.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// Sanitised like a scenario script ([`sanitize_script`]).
    Html,
    Text,
}

/// A file sent with every mail of a template; its bytes are a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplate {
    pub id: EmailTemplateId,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub format: BodyFormat,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The scenarios that send it; kept by the scenario repository.
    #[serde(default)]
    pub used_by: Vec<ScenarioId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl EmailTemplate {
    /// Checks name, subject and body (a placeholder other than the five is
    /// refused, naming it) and sanitises an HTML body.
    pub fn normalize(&mut self) -> Result<(), FieldError> {
        self.name = text("name", &self.name, MAX_NAME_CHARS)?;
        self.subject = text("subject", &self.subject, MAX_SUBJECT_CHARS)?;
        if self.subject.contains(['\r', '\n']) {
            return Err(FieldError::new("subject", "must be one line"));
        }
        check_placeholders("subject", &self.subject)?;
        if self.body.chars().count() > MAX_BODY_CHARS {
            return Err(FieldError::new(
                "body",
                format!("must be at most {MAX_BODY_CHARS} characters"),
            ));
        }
        check_placeholders("body", &self.body)?;
        if self.format == BodyFormat::Html {
            self.body = sanitize_script(&self.body);
        }
        Ok(())
    }

    /// May `extra` be added to the attachments? Checks count and sizes.
    pub fn check_new_attachment(&self, name: &str, size: u64) -> Result<String, FieldError> {
        let name = text("file_name", name, MAX_FILE_NAME_CHARS)?;
        if name.contains(['/', '\\', '\r', '\n', '"']) {
            return Err(FieldError::new(
                "file_name",
                "must not contain slashes, quotes or line breaks",
            ));
        }
        if self.attachments.len() >= MAX_ATTACHMENTS {
            return Err(FieldError::new(
                "file",
                format!("a template has at most {MAX_ATTACHMENTS} attachments"),
            ));
        }
        if size == 0 {
            return Err(FieldError::new("file", "the file is empty"));
        }
        if size > MAX_ATTACHMENT_BYTES {
            return Err(FieldError::new(
                "file",
                too_large(MAX_ATTACHMENT_BYTES, "one attachment"),
            ));
        }
        let total: u64 = self.attachments.iter().map(|a| a.size).sum::<u64>() + size;
        if total > MAX_ATTACHMENTS_TOTAL_BYTES {
            return Err(FieldError::new(
                "file",
                too_large(
                    MAX_ATTACHMENTS_TOTAL_BYTES,
                    "a template's attachments together",
                ),
            ));
        }
        Ok(name)
    }
}

fn too_large(limit: u64, what: &str) -> String {
    format!("{what} may be at most {} MB", limit / (1024 * 1024))
}

fn optional(
    field: &'static str,
    v: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// The `%WORD%` tokens of a text, in order.
fn tokens(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                if end > start
                    && end < bytes.len()
                    && bytes[end] == b'%'
                    && bytes[start].is_ascii_alphabetic()
                {
                    i = end + 1;
                    return Some((start - 1, &s[start..end]));
                }
            }
            i += 1;
        }
        None
    })
}

/// Refuses a `%WORD%` that is not one of [`PLACEHOLDERS`], naming it.
pub fn check_placeholders(field: &'static str, s: &str) -> Result<(), FieldError> {
    match tokens(s).find(|(_, w)| !PLACEHOLDERS.contains(w)) {
        None => Ok(()),
        Some((_, w)) => Err(FieldError::new(
            field,
            format!(
                "unknown placeholder %{w}%; use %{}%",
                PLACEHOLDERS.join("%, %")
            ),
        )),
    }
}

/// What the placeholders are replaced with, taken from the card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipient {
    pub first_name: String,
    pub last_name: String,
    pub patronymic: String,
    /// The organisation's name: the card's own, or the organisation a contact belongs to.
    pub firm_name: String,
}

impl Recipient {
    /// Last name, first name, patronymic, as the product shows a person's name.
    pub fn full_name(&self) -> String {
        [&self.last_name, &self.first_name, &self.patronymic]
            .into_iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn value(&self, placeholder: &str) -> Option<String> {
        Some(match placeholder {
            "FIRSTNAME" => self.first_name.clone(),
            "LASTNAME" => self.last_name.clone(),
            "PATRONYMIC" => self.patronymic.clone(),
            "FIRM_NAME" => self.firm_name.clone(),
            "FULLNAME" => self.full_name(),
            _ => return None,
        })
    }
}

/// `s` with its placeholders replaced; each value passed through `escape`.
fn fill(s: &str, to: &Recipient, escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (at, word) in tokens(s) {
        if let Some(v) = to.value(word) {
            out.push_str(&s[last..at]);
            out.push_str(&escape(&v));
            last = at + word.len() + 2;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Text made safe inside HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text as HTML paragraphs: escaped, line breaks kept.
fn text_as_html(s: &str) -> String {
    format!("<p>{}</p>", escape_html(s).replace('\n', "<br>"))
}

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
    pub format: BodyFormat,
}

/// The template filled in for `to`, with the sender's extra text and then
/// their signature appended (in the template's format).
pub fn render(
    template: &EmailTemplate,
    to: &Recipient,
    extra_text: Option<&str>,
    signature: Option<&str>,
) -> Rendered {
    let one_line = |v: &str| v.replace(['\r', '\n'], " ");
    let subject = fill(&template.subject, to, one_line);
    let extra = extra_text.map(str::trim).filter(|s| !s.is_empty());
    let signature = signature.map(str::trim).filter(|s| !s.is_empty());
    let body = match template.format {
        BodyFormat::Html => {
            let mut body = fill(&template.body, to, escape_html);
            if let Some(x) = extra {
                body.push_str(&text_as_html(x));
            }
            if let Some(s) = signature {
                body.push_str(&format!("<p>-- </p>{}", text_as_html(s)));
            }
            body
        }
        BodyFormat::Text => {
            let mut body = fill(&template.body, to, |v| v.to_string());
            if let Some(x) = extra {
                body.push_str(&format!("\n\n{x}"));
            }
            if let Some(s) = signature {
                body.push_str(&format!("\n\n-- \n{s}"));
            }
            body
        }
    };
    Rendered {
        subject,
        body,
        format: template.format,
    }
}

/// Where a queued mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Waiting for its (next) attempt.
    Queued,
    Sent,
    /// Given up after [`MAX_SEND_ATTEMPTS`] or because there is nothing to send; kept.
    Failed,
}

impl MailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Queued => "queued",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }
}

/// Attempts to send a mail before it is marked failed.
pub const MAX_SEND_ATTEMPTS: u32 = 6;

/// The wait after the `attempts`-th failed attempt: 1 minute, doubling, at most an hour.
pub fn retry_delay(attempts: u32) -> Millis {
    let minutes = 1i64 << attempts.saturating_sub(1).min(6);
    minutes.min(60) * 60_000
}

/// A mail sent from a card: queued, then sent or failed. Kept in every state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub id: MailId,
    pub client: ClientId,
    pub template: EmailTemplateId,
    pub account: MailAccountId,
    /// The recipient's address.
    pub to: String,
    #[serde(default)]
    pub extra_text: Option<String>,
    /// Who sent it (their signature is appended).
    pub by: UserId,
    pub status: MailStatus,
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Not tried again before this time.
    #[serde(default)]
    pub next_attempt_at: Millis,
    /// The subject as sent.
    #[serde(default)]
    pub subject: Option<String>,
    pub created_at: Millis,
    #[serde(default)]
    pub sent_at: Option<Millis>,
}

impl OutgoingMail {
    /// Records a failed attempt at `now`: queued again after [`retry_delay`],
    /// or failed for good after [`MAX_SEND_ATTEMPTS`].
    pub fn attempt_failed(&mut self, error: String, now: Millis) {
        self.attempts += 1;
        self.last_error = Some(error);
        if self.attempts >= MAX_SEND_ATTEMPTS {
            self.status = MailStatus::Failed;
        } else {
            self.next_attempt_at = now + retry_delay(self.attempts);
        }
    }

    /// Gives up at once: there is nothing that could be sent (the card,
    /// template or account was deleted).
    pub fn give_up(&mut self, error: String) {
        self.last_error = Some(error);
        self.status = MailStatus::Failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(subject: &str, body: &str, format: BodyFormat) -> EmailTemplate {
        EmailTemplate {
            id: EmailTemplateId::parse("t1").unwrap(),
            name: " Offer ".into(),
            subject: subject.into(),
            body: body.into(),
            format,
            attachments: vec![],
            used_by: vec![],
            created_at: 0,
            updated_at: 0,
        }
    }

    fn ivan() -> Recipient {
        Recipient {
            first_name: "Ivan".into(),
            last_name: "Petrov".into(),
            patronymic: "Sergeevich".into(),
            firm_name: "Acme & Sons".into(),
        }
    }

    #[test]
    fn the_five_placeholders_are_filled_from_the_card() {
        let t = template(
            "Offer for %FIRM_NAME%",
            "Dear %FIRSTNAME% %PATRONYMIC%, %LASTNAME%; %FULLNAME%. 50% off, 100%!",
            BodyFormat::Text,
        );
        let r = render(&t, &ivan(), Some(" call me "), Some("Anna\nAcme"));
        assert_eq!(r.subject, "Offer for Acme & Sons");
        assert_eq!(
            r.body,
            "Dear Ivan Sergeevich, Petrov; Petrov Ivan Sergeevich. 50% off, 100%!\n\ncall me\n\n-- \nAnna\nAcme"
        );
    }

    #[test]
    fn html_bodies_get_escaped_values_and_a_signature_paragraph() {
        let mut t = template(
            "Hi",
            "<p>Hello %FIRM_NAME%</p><script>x()</script>",
            BodyFormat::Html,
        );
        t.normalize().unwrap();
        assert!(!t.body.contains("script"));
        let r = render(&t, &ivan(), None, Some("Anna <boss>"));
        assert_eq!(
            r.body,
            "<p>Hello Acme &amp; Sons</p><p>-- </p><p>Anna &lt;boss&gt;</p>"
        );
    }

    #[test]
    fn a_missing_part_of_the_name_is_left_out() {
        let to = Recipient {
            first_name: "Ivan".into(),
            last_name: "Petrov".into(),
            ..Recipient::default()
        };
        assert_eq!(to.full_name(), "Petrov Ivan");
        let r = render(
            &template("%PATRONYMIC%x", "", BodyFormat::Text),
            &to,
            None,
            None,
        );
        assert_eq!(r.subject, "x");
    }

    #[test]
    fn an_unknown_placeholder_is_refused_by_name() {
        let mut t = template("Hi %FIRSTNAME%", "Dear %NAME%", BodyFormat::Text);
        let e = t.normalize().unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("%NAME%"), "{}", e.message);
        let mut t = template("Hi %firstname%", "", BodyFormat::Text);
        let e = t.normalize().unwrap_err();
        assert_eq!(e.field, "subject");
        assert!(e.message.contains("%firstname%"), "{}", e.message);
        let mut t = template("5% and 7% of %FULLNAME%", "a%b c%", BodyFormat::Text);
        assert!(
            t.normalize().is_ok(),
            "percent signs that are no placeholder pass"
        );
    }

    #[test]
    fn attachments_are_limited_in_number_and_size() {
        let mut t = template("s", "b", BodyFormat::Text);
        assert_eq!(
            t.check_new_attachment(" offer.pdf ", 5).unwrap(),
            "offer.pdf"
        );
        assert_eq!(
            t.check_new_attachment("a.pdf", 0).unwrap_err().field,
            "file"
        );
        assert_eq!(
            t.check_new_attachment("a/b.pdf", 1).unwrap_err().field,
            "file_name"
        );
        let e = t
            .check_new_attachment("big.pdf", MAX_ATTACHMENT_BYTES + 1)
            .unwrap_err();
        assert!(e.message.contains("10 MB"), "{}", e.message);
        let att = |i: usize, size| Attachment {
            id: AttachmentId::parse(format!("a{i}")).unwrap(),
            name: format!("{i}.pdf"),
            size,
            content_type: "application/pdf".into(),
        };
        t.attachments = vec![
            att(0, MAX_ATTACHMENT_BYTES),
            att(1, MAX_ATTACHMENT_BYTES - 10),
        ];
        let e = t.check_new_attachment("c.pdf", 11).unwrap_err();
        assert!(e.message.contains("20 MB"), "{}", e.message);
        assert!(t.check_new_attachment("c.pdf", 10).is_ok());
        t.attachments = (0..MAX_ATTACHMENTS).map(|i| att(i, 1)).collect();
        let e = t.check_new_attachment("c.pdf", 1).unwrap_err();
        assert!(e.message.contains("10 attachments"), "{}", e.message);
    }

    fn account() -> MailAccount {
        MailAccount {
            id: MailAccountId::parse("m1").unwrap(),
            owner: None,
            name: " Sales ".into(),
            from_address: " Sales@Acme.Example ".into(),
            from_name: Some("Acme sales".into()),
            host: "SMTP.acme.example".into(),
            port: 587,
            security: MailSecurity::Starttls,
            auth: MailAuth::Plain,
            login: Some(" sales ".into()),
            sealed_password: Some("sealed".into()),
            used_by: vec![],
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn accounts_are_written_canonically_and_bad_fields_named() {
        let mut a = account();
        a.normalize().unwrap();
        assert_eq!(
            (
                a.name.as_str(),
                a.from_address.as_str(),
                a.host.as_str(),
                a.login.as_deref()
            ),
            (
                "Sales",
                "sales@acme.example",
                "smtp.acme.example",
                Some("sales")
            )
        );
        let field = |f: fn(&mut MailAccount)| {
            let mut a = account();
            f(&mut a);
            a.normalize().unwrap_err().field.into_owned()
        };
        assert_eq!(field(|a| a.from_address = "nope".into()), "from_address");
        assert_eq!(field(|a| a.host = "smtp acme".into()), "host");
        assert_eq!(field(|a| a.port = 0), "port");
        assert_eq!(field(|a| a.login = None), "login");
        assert_eq!(field(|a| a.sealed_password = None), "password");
        assert_eq!(
            field(|a| a.from_name = Some("a\r\nBcc: x".into())),
            "from_name"
        );
        let mut a = account();
        a.auth = MailAuth::None;
        a.login = None;
        a.sealed_password = None;
        assert!(a.normalize().is_ok());
    }

    #[test]
    fn company_accounts_are_the_administrators_and_own_accounts_their_users() {
        use crate::access::Role;
        use crate::ids::TenantId;
        let p = |role, user: &str| Principal {
            tenant: TenantId::parse("t").unwrap(),
            user: UserId::parse(user).unwrap(),
            role,
            group: None,
        };
        let company = account();
        assert!(company.managed_by(&p(Role::Administrator, "boss")));
        assert!(!company.managed_by(&p(Role::Manager, "ann")));
        assert!(company.usable_by(&p(Role::Manager, "ann")));
        let mut own = account();
        own.owner = Some(UserId::parse("ann").unwrap());
        assert!(own.managed_by(&p(Role::Manager, "ann")));
        assert!(!own.managed_by(&p(Role::Administrator, "boss")));
        assert!(!own.usable_by(&p(Role::Manager, "bob")));
        assert!(!own.visible_to(&p(Role::Manager, "bob")));
        assert!(own.visible_to(&p(Role::Administrator, "boss")));
    }

    #[test]
    fn failed_attempts_back_off_then_give_up_keeping_the_mail() {
        assert_eq!(retry_delay(1), 60_000);
        assert_eq!(retry_delay(2), 120_000);
        assert_eq!(retry_delay(20), 3_600_000);
        let mut m = OutgoingMail {
            id: MailId::parse("x").unwrap(),
            client: ClientId::parse("c").unwrap(),
            template: EmailTemplateId::parse("t").unwrap(),
            account: MailAccountId::parse("a").unwrap(),
            to: "a@b.ru".into(),
            extra_text: None,
            by: UserId::parse("u").unwrap(),
            status: MailStatus::Queued,
            attempts: 0,
            last_error: None,
            next_attempt_at: 0,
            subject: None,
            created_at: 0,
            sent_at: None,
        };
        m.attempt_failed("authentication refused".into(), 1000);
        assert_eq!(
            (m.status, m.attempts, m.next_attempt_at),
            (MailStatus::Queued, 1, 61_000)
        );
        for _ in 1..MAX_SEND_ATTEMPTS {
            m.attempt_failed("authentication refused".into(), 1000);
        }
        assert_eq!(m.status, MailStatus::Failed);
        assert_eq!(m.last_error.as_deref(), Some("authentication refused"));
    }
}
