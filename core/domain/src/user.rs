//! Tenants, users and groups (PRODUCT A1, A2, A5) and the rules on their fields.

use crate::Millis;
use crate::access::Role;
use crate::ids::{GroupId, TenantId, UserId};
use serde::{Deserialize, Serialize};

/// A company using Callisto.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub promo_code: Option<String>,
    #[serde(default)]
    pub billing: BillingDetails,
    /// ISO 3166 region for phone numbers written without a country code.
    #[serde(default = "default_phone_region")]
    pub phone_region: String,
    pub created_at: Millis,
    /// After-call work: an agent whose call ends is in wrap-up this long
    /// (PRODUCT E4); `None` leaves agents available.
    #[serde(default)]
    pub wrap_up_ms: Option<Millis>,
}

pub fn default_phone_region() -> String {
    "RU".into()
}

/// Company details needed for invoices (PRODUCT A5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingDetails {
    pub legal_name: Option<String>,
    /// Russian taxpayer number: 10 digits (organisation) or 12 (individual), with check digits.
    pub inn: Option<String>,
    /// Russian registration reason code: 9 characters.
    pub kpp: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Blocked,
    /// Deleted users keep their history; they cannot log in and free their e-mail and short number.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub tenant: TenantId,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub group: Option<GroupId>,
    /// Extension used for internal calls and transfers; unique per tenant.
    pub short_number: Option<String>,
    pub status: UserStatus,
    /// IANA time zone; `None` = automatic (taken from the browser).
    pub time_zone: Option<String>,
    pub support_email: Option<String>,
    pub support_phone: Option<String>,
    pub password_hash: String,
    pub email_confirmed: bool,
    /// Set for invited users until they choose their own password.
    pub must_change_password: bool,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub description: String,
    pub created_at: Millis,
}

/// A field-level rule violation; `field` is the request field it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name, or its path (`custom.Budget`, `client_types[2]`).
    pub field: std::borrow::Cow<'static, str>,
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<std::borrow::Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A short number (extension): 2 to 6 digits, not starting with 0 (0 dials out on many PBXs).
pub fn check_short_number(n: &str) -> Result<(), FieldError> {
    let ok =
        (2..=6).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "short_number",
            format!("{n:?} must be 2-6 digits not starting with 0"),
        ))
    }
}

pub fn check_time_zone(tz: &str) -> Result<(), FieldError> {
    tz.parse::<chrono_tz::Tz>().map(|_| ()).map_err(|_| {
        FieldError::new(
            "time_zone",
            format!("{tz:?} is not an IANA time zone such as Europe/Moscow"),
        )
    })
}

/// Trimmed, non-empty, at most `max` characters.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// INN with its check digits (10 digits for organisations, 12 for individuals).
pub fn check_inn(inn: &str) -> Result<(), FieldError> {
    let d: Vec<u32> = inn.chars().filter_map(|c| c.to_digit(10)).collect();
    let bad = || {
        Err(FieldError::new(
            "inn",
            format!("{inn:?} is not a valid INN (10 or 12 digits with check digits)"),
        ))
    };
    if d.len() != inn.len() {
        return bad();
    }
    let check = |weights: &[u32], digits: &[u32]| -> u32 {
        weights.iter().zip(digits).map(|(w, d)| w * d).sum::<u32>() % 11 % 10
    };
    let ok = match d.len() {
        10 => check(&[2, 4, 10, 3, 5, 9, 4, 6, 8], &d) == d[9],
        12 => {
            check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8], &d) == d[10]
                && check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], &d) == d[11]
        }
        _ => false,
    };
    if ok { Ok(()) } else { bad() }
}

/// KPP: 9 characters, digits except positions 5-6 which may be A-Z.
pub fn check_kpp(kpp: &str) -> Result<(), FieldError> {
    let b = kpp.as_bytes();
    let ok = b.len() == 9
        && b.iter()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || ((4..6).contains(&i) && c.is_ascii_uppercase()));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "kpp",
            format!("{kpp:?} is not a valid KPP (9 characters)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert!(check_short_number("101").is_ok());
        for bad in ["1", "0123", "1234567", "10a", "", "*43"] {
            assert!(check_short_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones() {
        assert!(check_time_zone("Europe/Moscow").is_ok());
        assert!(check_time_zone("Asia/Novosibirsk").is_ok());
        assert_eq!(
            check_time_zone("Mars/Olympus").unwrap_err().field,
            "time_zone"
        );
    }

    #[test]
    fn inn_check_digits() {
        // Real published INNs (Sberbank, Yandex) and a valid 12-digit one.
        assert!(check_inn("7707083893").is_ok());
        assert!(check_inn("7736207543").is_ok());
        assert!(check_inn("500100732259").is_ok());
        assert!(check_inn("7707083894").is_err());
        assert!(check_inn("77070838").is_err());
        assert!(check_inn("77070838a3").is_err());
    }

    #[test]
    fn kpp_shape() {
        assert!(check_kpp("773601001").is_ok());
        assert!(check_kpp("7736AB001").is_ok());
        assert!(check_kpp("77360100").is_err());
        assert!(check_kpp("77A601001").is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(check_text("name", "  Acme ", 10).unwrap(), "Acme");
        assert!(check_text("name", "   ", 10).is_err());
        assert!(check_text("name", "abcdefghijk", 10).is_err());
    }
}
