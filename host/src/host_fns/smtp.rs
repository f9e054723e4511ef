//! `smtp.send({…})` (upstream's): a message built and sent by the host, to the SMTP server the
//! app's settings name (`SMTP_HOST`, `SMTP_PORT`, `SMTP_TLS` = `starttls` (the default), `tls`
//! or `none`, `SMTP_USER` and `SMTP_PASSWORD`, `SMTP_FROM`), under the same egress policy as
//! outbound HTTP: the server's host and port must be allowed, and it is reached at an address
//! the policy allows (resolved here, so a name cannot be turned onto the host's network).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::http::Egress;

/// The longest one send may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// What was sent: upstream's `SmtpResult`.
pub struct Sent {
    pub message_id: String,
    pub duration_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Security {
    StartTls,
    Tls,
    None,
}

/// The message the guest described (`to`, `from`, `subject`, and `body` or `body_text` and/or
/// `body_html`; `cc`, `bcc` and `reply_to` too), checked; the error names the key at fault.
fn message(opts: &HashMap<String, String>, default_from: Option<&str>, id: &str) -> Result<Message, String> {
    let mailbox = |key: &str, v: &str| v.parse::<Mailbox>().map_err(|_| format!("smtp: invalid `{key}` address"));
    let to = opts.get("to").ok_or("smtp: `to` is required")?;
    let from = opts.get("from").map(String::as_str).or(default_from).ok_or("smtp: `from` is required (or set SMTP_FROM)")?;
    let subject = opts.get("subject").ok_or("smtp: `subject` is required")?;
    let mut b = Message::builder().from(mailbox("from", from)?).subject(subject.as_str()).message_id(Some(id.to_string()));
    for addr in to.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        b = b.to(mailbox("to", addr)?);
    }
    for (key, add) in [("cc", 0), ("bcc", 1)] {
        for addr in opts.get(key).map(|v| v.split(',').map(str::trim).filter(|a| !a.is_empty()).collect::<Vec<_>>()).unwrap_or_default() {
            let m = mailbox(key, addr)?;
            b = if add == 0 { b.cc(m) } else { b.bcc(m) };
        }
    }
    if let Some(r) = opts.get("reply_to") {
        b = b.reply_to(mailbox("reply_to", r)?);
    }
    let text = opts.get("body_text").or_else(|| opts.get("body"));
    let built = match (text, opts.get("body_html")) {
        (Some(t), Some(h)) => b.multipart(MultiPart::alternative_plain_html(t.clone(), h.clone())),
        (None, Some(h)) => b.singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(h.clone())),
        (Some(t), None) => b.singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(t.clone())),
        (None, None) => return Err("smtp: `body`, `body_text` or `body_html` is required".into()),
    };
    built.map_err(|_| "smtp: the message cannot be built (check its addresses)".into())
}

/// Sends the message `opts` describes with the app's `settings`, within `egress`.
pub async fn send(settings: &HashMap<String, String>, egress: &Egress, opts: &HashMap<String, String>) -> Result<Sent, String> {
    let started = Instant::now();
    let host = settings.get("SMTP_HOST").ok_or("smtp: SMTP_HOST is not set")?.trim().to_string();
    let security = match settings.get("SMTP_TLS").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("starttls") => Security::StartTls,
        Some("tls") => Security::Tls,
        Some("none") => Security::None,
        Some(_) => return Err("smtp: SMTP_TLS is `starttls`, `tls` or `none`".into()),
    };
    let port = match settings.get("SMTP_PORT") {
        Some(p) => p.trim().parse::<u16>().map_err(|_| "smtp: SMTP_PORT is not a port")?,
        None => match security {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        },
    };
    egress.check_host(&host, port).map_err(|why| why.replacen("http:", "smtp:", 1))?;
    let id = format!("<{:032x}@fitz>", rand::random::<u128>());
    let message = message(opts, settings.get("SMTP_FROM").map(String::as_str), &id)?;
    // Resolved here and connected by address, so the policy sees the address the mail goes to.
    let address = resolve(egress, &host, port).await?;
    let tls = || TlsParameters::new(host.clone()).map_err(|_| format!("smtp: cannot set up TLS for {host}"));
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string()).port(port).timeout(Some(TIMEOUT));
    transport = match security {
        Security::StartTls => transport.tls(Tls::Required(tls()?)),
        Security::Tls => transport.tls(Tls::Wrapper(tls()?)),
        Security::None => transport.tls(Tls::None),
    };
    if let (Some(user), Some(password)) = (settings.get("SMTP_USER"), settings.get("SMTP_PASSWORD")) {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let sent = tokio::time::timeout(TIMEOUT, transport.build().send(message)).await;
    match sent {
        Err(_) => Err(format!("smtp: timeout sending through {host}:{port}")),
        // The server's words are not passed on: they may quote the message or the account.
        Ok(Err(e)) if e.is_permanent() => Err(format!("smtp: {host}:{port} refused the message")),
        Ok(Err(_)) => Err(format!("smtp: sending through {host}:{port} failed")),
        Ok(Ok(_)) => Ok(Sent { message_id: id, duration_ms: started.elapsed().as_millis() as i64 }),
    }
}

async fn resolve(egress: &Egress, host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|_| format!("smtp: cannot resolve {host}"))?.collect();
    // An address written as the host was allowed as written (`check_host`).
    let written = host.parse::<std::net::IpAddr>().is_ok();
    addrs.into_iter().find(|a| written || egress.address_allowed(a.ip())).ok_or_else(|| format!("smtp: {host} resolves only to addresses the app may not reach"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_message_names_what_is_wrong_with_it() {
        let ok = opts(&[("to", "a@example.com, b@example.com"), ("from", "bot@example.com"), ("subject", "hi"), ("body", "text")]);
        assert!(message(&ok, None, "<1@fitz>").is_ok());
        let no = |pairs: &[(&str, &str)]| message(&opts(pairs), None, "<1@fitz>").err().unwrap_or_default();
        assert_eq!(no(&[("to", "not an address"), ("from", "bot@example.com"), ("subject", "s"), ("body", "b")]), "smtp: invalid `to` address");
        assert_eq!(no(&[("to", "a@example.com"), ("subject", "s"), ("body", "b")]), "smtp: `from` is required (or set SMTP_FROM)");
        assert_eq!(no(&[("to", "a@example.com"), ("from", "bot@example.com"), ("subject", "s")]), "smtp: `body`, `body_text` or `body_html` is required");
        // Header injection through a field is not possible: an address with a line break is refused.
        assert_eq!(no(&[("to", "a@example.com\r\nBcc: x@evil.com"), ("from", "bot@example.com"), ("subject", "s"), ("body", "b")]), "smtp: invalid `to` address");
        assert!(message(&opts(&[("to", "a@example.com"), ("subject", "s"), ("body", "b")]), Some("bot@example.com"), "<1@fitz>").is_ok(), "SMTP_FROM is the default");
    }
}
