//! The password rule of PRODUCT A1: at least 8 characters and a mix of lower
//! case, upper case and digits. Hashing lives with the API (it needs a CSPRNG).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    #[error("password must be at least {MIN_LEN} characters long")]
    TooShort,
    #[error("password must be at most {MAX_LEN} characters long")]
    TooLong,
    #[error("password must contain a lower-case letter")]
    NoLower,
    #[error("password must contain an upper-case letter")]
    NoUpper,
    #[error("password must contain a digit")]
    NoDigit,
}

pub const MIN_LEN: usize = 8;
/// Bounded so a hash request cannot be used to burn CPU with megabyte inputs.
pub const MAX_LEN: usize = 128;

pub fn check_password_rule(password: &str) -> Result<(), PasswordRuleError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PasswordRuleError::TooShort);
    }
    if len > MAX_LEN {
        return Err(PasswordRuleError::TooLong);
    }
    if !password.chars().any(char::is_lowercase) {
        return Err(PasswordRuleError::NoLower);
    }
    if !password.chars().any(char::is_uppercase) {
        return Err(PasswordRuleError::NoUpper);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(PasswordRuleError::NoDigit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_what_is_missing() {
        assert_eq!(check_password_rule("Ab1"), Err(PasswordRuleError::TooShort));
        assert_eq!(
            check_password_rule("ABCDEFG1"),
            Err(PasswordRuleError::NoLower)
        );
        assert_eq!(
            check_password_rule("abcdefg1"),
            Err(PasswordRuleError::NoUpper)
        );
        assert_eq!(
            check_password_rule("Abcdefgh"),
            Err(PasswordRuleError::NoDigit)
        );
        assert_eq!(
            check_password_rule(&"Ab1".repeat(50)),
            Err(PasswordRuleError::TooLong)
        );
        assert_eq!(check_password_rule("Secret12"), Ok(()));
        // Cyrillic letters count as lower/upper case too.
        assert_eq!(check_password_rule("Пароль2024"), Ok(()));
    }
}
