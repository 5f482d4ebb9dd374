//! Telephony set-up (PRODUCT B2): the company's SIP trunk or own PBX, the
//! state of the platform's registration to it, and the agents' SIP accounts.

use crate::Millis;
use crate::ids::{TenantId, UserId};
use crate::user::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SipTransport {
    Udp,
    Tcp,
    Tls,
}

impl SipTransport {
    pub fn default_port(self) -> u16 {
        match self {
            SipTransport::Udp | SipTransport::Tcp => 5060,
            SipTransport::Tls => 5061,
        }
    }
}

/// The company's trunk: where outbound calls go and inbound calls come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trunk {
    /// A disabled trunk keeps its settings but carries no calls and is not registered.
    pub enabled: bool,
    /// The line's name, shown on incoming calls (F1).
    pub name: String,
    /// The trunk's number in E.164: the caller id of outbound calls.
    pub number: String,
    pub host: String,
    pub port: u16,
    pub transport: SipTransport,
    /// The SIP login (digest user name and the user part of From).
    pub login: String,
    /// The SIP domain of From/To and the registration; the host when empty.
    pub domain: String,
    pub password: String,
    /// Register to the trunk (most carriers); off for trunks that admit by address.
    pub register: bool,
    /// Check the trunk with OPTIONS every refresh (RFC 3261 §11), so the
    /// settings page shows whether it answers and how fast. Off by default:
    /// some carriers treat unexpected OPTIONS as abuse.
    #[serde(default)]
    pub qualify: bool,
}

impl Trunk {
    /// The domain of From/To and the registration.
    pub fn sip_domain(&self) -> &str {
        if self.domain.is_empty() {
            &self.host
        } else {
            &self.domain
        }
    }

    /// Checks the fields a person typed; errors name the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(FieldError::new("name", "1-100 characters"));
        }
        if crate::phone::normalize_phone(&self.number, "ZZ")
            .ok()
            .as_deref()
            != Some(self.number.as_str())
        {
            return Err(FieldError::new(
                "number",
                "an international number with +country code, e.g. +74951234567",
            ));
        }
        check_host("host", &self.host)?;
        if self.port == 0 {
            return Err(FieldError::new("port", "1-65535"));
        }
        if !self.domain.is_empty() {
            check_host("domain", &self.domain)?;
        }
        if self.login.is_empty()
            || self.login.len() > 64
            || !self
                .login
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b))
        {
            return Err(FieldError::new(
                "login",
                "1-64 characters allowed in the user part of a SIP address",
            ));
        }
        if self.register && self.password.is_empty() {
            return Err(FieldError::new(
                "password",
                "a registering trunk needs its password",
            ));
        }
        if self.password.len() > 128 || self.password.chars().any(char::is_control) {
            return Err(FieldError::new(
                "password",
                "up to 128 characters, no control characters",
            ));
        }
        Ok(())
    }
}

/// A host name or an IPv4 address (no scheme, port or path).
fn check_host(field: &'static str, host: &str) -> Result<(), FieldError> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{host:?} is not a host name or IPv4 address (no sip:, port or path)"),
        ))
    }
}

/// What the platform last knew of its registration to the trunk, as the
/// settings page shows it ("registered", or the failure reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TrunkStatus {
    Disabled,
    /// The trunk admits by address; nothing to register.
    NotRegistering,
    Registering,
    Registered {
        until: Millis,
    },
    Failed {
        /// The SIP status of the refusal; `None` when the trunk did not answer.
        code: Option<u16>,
        reason: String,
    },
}

/// Whether the trunk answers the node's OPTIONS, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TrunkReach {
    /// It answered (any status counts: a reply means it is there).
    Reachable { rtt_ms: u32, at: Millis },
    /// No answer, or the connection failed, since then.
    Unreachable { since: Millis },
}

/// The digest user name of an agent's SIP account: `<tenant>.<user>`. Ids never
/// contain '.', so the name splits back unambiguously, and it tells the node
/// the tenant before any lookup.
pub fn sip_username(tenant: &TenantId, user: &UserId) -> String {
    format!("{tenant}.{user}")
}

pub fn parse_sip_username(name: &str) -> Option<(TenantId, UserId)> {
    let (t, u) = name.split_once('.')?;
    Some((TenantId::parse(t).ok()?, UserId::parse(u).ok()?))
}

/// An agent's SIP credentials as stored: digest HA1 values (RFC 7616:
/// `H(user:realm:password)`) for MD5 and SHA-256, never the password itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipCredentials {
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    pub updated_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk() -> Trunk {
        Trunk {
            enabled: true,
            name: "Main line".into(),
            number: "+74951234567".into(),
            host: "sip.carrier.example".into(),
            port: 5060,
            transport: SipTransport::Udp,
            login: "0012345".into(),
            domain: String::new(),
            password: "secret".into(),
            register: true,
            qualify: false,
        }
    }

    #[test]
    fn trunk_fields_are_checked_by_name() {
        assert!(trunk().validate().is_ok());
        let cases: [(&str, Trunk); 7] = [
            (
                "name",
                Trunk {
                    name: " ".into(),
                    ..trunk()
                },
            ),
            (
                "number",
                Trunk {
                    number: "84951234567".into(),
                    ..trunk()
                },
            ),
            (
                "host",
                Trunk {
                    host: "sip:carrier.example".into(),
                    ..trunk()
                },
            ),
            (
                "host",
                Trunk {
                    host: "carrier.example:5060".into(),
                    ..trunk()
                },
            ),
            ("port", Trunk { port: 0, ..trunk() }),
            (
                "login",
                Trunk {
                    login: "a b".into(),
                    ..trunk()
                },
            ),
            (
                "password",
                Trunk {
                    password: String::new(),
                    ..trunk()
                },
            ),
        ];
        for (field, t) in cases {
            assert_eq!(t.validate().unwrap_err().field, field, "{t:?}");
        }
        // A trunk that admits by address needs no password.
        let by_address = Trunk {
            password: String::new(),
            register: false,
            qualify: false,
            ..trunk()
        };
        assert!(by_address.validate().is_ok());
        assert_eq!(trunk().sip_domain(), "sip.carrier.example");
    }

    #[test]
    fn sip_usernames_split_back_into_tenant_and_user() {
        let (t, u) = (
            TenantId::parse("01JTEN").unwrap(),
            UserId::parse("01JUSR").unwrap(),
        );
        let name = sip_username(&t, &u);
        assert_eq!(name, "01JTEN.01JUSR");
        assert_eq!(parse_sip_username(&name), Some((t, u)));
        assert_eq!(parse_sip_username("nodot"), None);
        assert_eq!(parse_sip_username("a.b#c"), None);
    }
}
