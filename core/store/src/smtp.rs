//! Sending a tenant's mail through the tenant's own SMTP server (PRODUCT D3),
//! with lettre over tokio and rustls (decision 012). Each call opens one
//! connection, goes through greeting/EHLO, STARTTLS or TLS, AUTH, then sends
//! or just quits, and says at which stage a failure happened.

use callisto_domain::mail::{BodyFormat, MailAccount, MailAuth, MailSecurity};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::fmt;
use std::time::Duration;

/// Longest a connection may take to answer any one step.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest a whole session (including the message upload) may take.
const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

/// Where to connect and how to log in, the password already opened.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub auth: MailAuth,
    pub login: Option<String>,
    pub password: Option<String>,
    /// The domain given in EHLO (the sender address's domain).
    pub hello: String,
}

impl SmtpServer {
    /// The session settings of `account`, its password already opened.
    pub fn for_account(account: &MailAccount, password: Option<String>) -> SmtpServer {
        SmtpServer {
            host: account.host.clone(),
            port: account.port,
            security: account.security,
            auth: account.auth,
            login: account.login.clone(),
            password,
            hello: account
                .from_address
                .rsplit_once('@')
                .map_or("localhost", |(_, d)| d)
                .to_string(),
        }
    }
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("auth", &self.auth)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// The step of an SMTP session that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpStage {
    /// TCP connect, TLS handshake on a TLS port, greeting and EHLO.
    Connect,
    Starttls,
    Auth,
    /// Building the message from the mail and its attachments.
    Message,
    /// MAIL FROM, RCPT TO, DATA.
    Send,
}

impl fmt::Display for SmtpStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmtpStage::Connect => "cannot connect",
            SmtpStage::Starttls => "STARTTLS failed",
            SmtpStage::Auth => "authentication refused",
            SmtpStage::Message => "the message cannot be built",
            SmtpStage::Send => "the server refused the mail",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{stage}: {detail}")]
pub struct SmtpError {
    pub stage: SmtpStage,
    pub detail: String,
}

fn fail(stage: SmtpStage) -> impl Fn(lettre::transport::smtp::Error) -> SmtpError {
    move |e| SmtpError {
        stage,
        detail: e.to_string(),
    }
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub from_address: String,
    pub from_name: Option<String>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub format: BodyFormat,
    pub attachments: Vec<MessageAttachment>,
}

#[derive(Debug, Clone)]
pub struct MessageAttachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

impl OutgoingMessage {
    fn build(&self) -> Result<lettre::Message, SmtpError> {
        let bad = |detail: String| SmtpError {
            stage: SmtpStage::Message,
            detail,
        };
        let from: Mailbox = Mailbox::new(
            self.from_name.clone(),
            self.from_address
                .parse()
                .map_err(|e| bad(format!("sender {:?}: {e}", self.from_address)))?,
        );
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| bad(format!("recipient {:?}: {e}", self.to)))?;
        let text = match self.format {
            BodyFormat::Html => SinglePart::html(self.body.clone()),
            BodyFormat::Text => SinglePart::plain(self.body.clone()),
        };
        let builder = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject.clone());
        let message = if self.attachments.is_empty() {
            builder.singlepart(text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text);
            for a in &self.attachments {
                let ct = match ContentType::parse(&a.content_type) {
                    Ok(ct) => ct,
                    Err(_) => octet_stream()?,
                };
                // Always base64: files are bytes, and an automatic choice may
                // send control characters as 7bit and break the message.
                let body = Body::new_with_encoding(a.data.clone(), ContentTransferEncoding::Base64)
                    .map_err(|_| bad(format!("attachment {:?} cannot be encoded", a.name)))?;
                parts = parts.singlepart(Attachment::new(a.name.clone()).body(body, ct));
            }
            builder.multipart(parts)
        };
        message.map_err(|e| bad(e.to_string()))
    }
}

fn octet_stream() -> Result<ContentType, SmtpError> {
    ContentType::parse("application/octet-stream").map_err(|e| SmtpError {
        stage: SmtpStage::Message,
        detail: e.to_string(),
    })
}

/// Connects, upgrades, logs in; the open session.
async fn open(server: &SmtpServer) -> Result<AsyncSmtpConnection, SmtpError> {
    let hello = ClientId::Domain(server.hello.clone());
    let tls = || {
        TlsParameters::new(server.host.clone()).map_err(|e| SmtpError {
            stage: SmtpStage::Connect,
            detail: e.to_string(),
        })
    };
    let implicit = match server.security {
        MailSecurity::Tls => Some(tls()?),
        _ => None,
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (server.host.as_str(), server.port),
        Some(STEP_TIMEOUT),
        &hello,
        implicit,
        None,
    )
    .await
    .map_err(fail(SmtpStage::Connect))?;
    if server.security == MailSecurity::Starttls {
        conn.starttls(tls()?, &hello)
            .await
            .map_err(fail(SmtpStage::Starttls))?;
    }
    let mechanism = match server.auth {
        MailAuth::None => None,
        MailAuth::Plain => Some(Mechanism::Plain),
        MailAuth::Login => Some(Mechanism::Login),
    };
    if let Some(mechanism) = mechanism {
        let credentials = Credentials::new(
            server.login.clone().unwrap_or_default(),
            server.password.clone().unwrap_or_default(),
        );
        if !conn.server_info().supports_auth_mechanism(mechanism) {
            conn.abort().await;
            return Err(SmtpError {
                stage: SmtpStage::Auth,
                detail: format!("the server does not offer AUTH {mechanism}"),
            });
        }
        conn.auth(&[mechanism], &credentials)
            .await
            .map_err(fail(SmtpStage::Auth))?;
    }
    Ok(conn)
}

async fn bounded<T>(work: impl Future<Output = Result<T, SmtpError>>) -> Result<T, SmtpError> {
    tokio::time::timeout(SESSION_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(SmtpError {
                stage: SmtpStage::Connect,
                detail: format!("no answer within {} seconds", SESSION_TIMEOUT.as_secs()),
            })
        })
}

/// "Test connection": connects, upgrades and logs in as configured, then quits.
pub async fn test_connection(server: &SmtpServer) -> Result<(), SmtpError> {
    bounded(async {
        let mut conn = open(server).await?;
        // The test passed once logged in; a rude QUIT answer changes nothing.
        let _ = conn.quit().await;
        Ok(())
    })
    .await
}

/// Sends one message.
pub async fn send(server: &SmtpServer, message: &OutgoingMessage) -> Result<(), SmtpError> {
    let message = message.build()?;
    bounded(async {
        let mut conn = open(server).await?;
        conn.send(message.envelope(), &message.formatted())
            .await
            .map_err(fail(SmtpStage::Send))?;
        let _ = conn.quit().await;
        Ok(())
    })
    .await
}
