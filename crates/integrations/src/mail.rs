//! Outgoing mail (the sign-in codes) through lettre: SMTP when `PORTCULLIS_SMTP_URL` is set,
//! else `.eml` files in an outbox directory for development.
//!
//! URL forms (lettre's): `smtp://host:25` (plain), `smtp://host:587?tls=required` (STARTTLS,
//! refused without it), `smtp://host:587?tls=opportunistic`, `smtps://host:465` (implicit TLS);
//! credentials as `smtp://user:password@host…`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one SMTP conversation may take before the sign-in answers 503.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A configuration error, reported once at start-up (never carries the URL's password).
    #[error("PORTCULLIS_SMTP_URL is not a usable SMTP URL: {0}")]
    BadUrl(String),
    #[error("PORTCULLIS_MAIL_FROM is not an email address")]
    BadFrom,
    #[error("cannot create the mail outbox {0}: {1}")]
    Outbox(PathBuf, std::io::Error),
    #[error("mail not sent: {0}")]
    Send(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn smtp(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // lettre's message may quote the URL; say what is wrong without it.
            .map_err(|e| MailError::BadUrl(without_url(&e.to_string(), url)))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Mailer {
            transport: Transport::Smtp(transport),
            from: from.parse().map_err(|_| MailError::BadFrom)?,
        })
    }

    pub fn outbox(dir: PathBuf, from: &str) -> Result<Mailer, MailError> {
        std::fs::create_dir_all(&dir).map_err(|e| MailError::Outbox(dir.clone(), e))?;
        Ok(Mailer {
            transport: Transport::Outbox(AsyncFileTransport::new(dir)),
            from: from.parse().map_err(|_| MailError::BadFrom)?,
        })
    }

    /// Sends a sign-in code. The code is in the subject and the body, so it shows in the
    /// notification and can be copied either way.
    pub async fn send_code(&self, to: &str, code: &str, tenant: &str) -> Result<(), MailError> {
        let body = format!(
            "Your sign-in code for {tenant} is {code}\r\n\r\n\
             It works once, for 5 minutes. If you did not try to sign in, change your password:\r\n\
             someone knows it.\r\n"
        );
        self.send(to, format!("Your sign-in code: {code}"), body)
            .await
    }

    /// An invitation to join an entity: the single-use link, valid 24 hours.
    pub async fn send_invitation(
        &self,
        to: &str,
        link: &str,
        entity: &str,
        tenant: &str,
    ) -> Result<(), MailError> {
        let body = format!(
            "You are invited to join {entity} on {tenant}.\r\n\r\n\
             Accept within 24 hours, once, at:\r\n{link}\r\n\r\n\
             If you did not expect this, ignore this message.\r\n"
        );
        self.send(to, format!("Invitation to join {entity}"), body)
            .await
    }

    async fn send(&self, to: &str, subject: String, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| MailError::Send("the email address does not parse".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Send(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Send(e.to_string())),
            Transport::Outbox(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Send(e.to_string())),
        }
    }
}

fn without_url(message: &str, url: &str) -> String {
    message.replace(url, "<url>")
}
