//! E-mail addresses as the product stores them: trimmed, lower-cased, one `@`,
//! a dotted domain. Deliberately simple: deliverability is proven by the
//! confirmation link, not by a regex.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an e-mail address")]
pub struct InvalidEmail(pub String);

pub fn normalize_email(raw: &str) -> Result<String, InvalidEmail> {
    let email = raw.trim().to_lowercase();
    let bad = || InvalidEmail(raw.to_string());
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(bad());
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(
            normalize_email("  Ivan@Example.COM ").unwrap(),
            "ivan@example.com"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "ivan",
            "@x.ru",
            "ivan@",
            "ivan@x",
            "a@b@c.ru",
            "iv an@x.ru",
            "a@x..ru",
            "a@.x.ru",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} accepted");
        }
    }
}
