//! Request guards: the API key (`x-api-key` header or `apiKey` query) and the admin token
//! (`x-admin-token`). Comparisons are constant-time; an unset ADMIN_TOKEN closes admin routes.

use lambda_http::{Request, RequestExt};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, Secret};
use crate::error::{ApiError, ErrorCode};
use crate::http::header;

/// What a route requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Open to everyone (/health, /ready, the dashboard page).
    Public,
    /// Needs the API key when REQUIRE_API_KEY=1.
    ApiKey,
    /// Needs `x-admin-token` equal to ADMIN_TOKEN, always.
    Admin,
}

/// The identity recorded for admin changes; never the token itself.
pub const ADMIN_IDENTITY: &str = "admin";

/// Compares in time independent of where the inputs differ, and of their lengths (both sides are
/// hashed to 32 bytes first).
pub fn constant_time_eq(given: &str, expected: &Secret) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.expose().as_bytes());
    a.ct_eq(&b).into()
}

/// Lets the request through or says why not.
pub fn check(config: &Config, guard: Guard, req: &Request) -> Result<(), ApiError> {
    match guard {
        Guard::Public => Ok(()),
        Guard::ApiKey => {
            if !config.require_api_key {
                return Ok(());
            }
            let query = req.query_string_parameters();
            let given = header(req, "x-api-key").or_else(|| query.first("apiKey"));
            match (given, &config.api_key) {
                (Some(given), Some(expected)) if constant_time_eq(given, expected) => Ok(()),
                _ => Err(ApiError::new(ErrorCode::Unauthorized, "invalid api key")),
            }
        }
        Guard::Admin => {
            let Some(expected) = &config.admin_token else {
                return Err(ApiError::new(
                    ErrorCode::AdminDisabled,
                    "admin routes are disabled: ADMIN_TOKEN is not set",
                ));
            };
            match header(req, "x-admin-token") {
                Some(given) if constant_time_eq(given, expected) => Ok(()),
                _ => Err(ApiError::new(ErrorCode::AdminUnauthorized, "invalid admin token")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::build_request;
    use http::{HeaderMap, HeaderValue, Method};

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_pairs(vars).expect("config")
    }

    fn request(uri: &str, headers: &[(&'static str, &'static str)]) -> Request {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        build_request(Method::GET, uri.parse().expect("uri"), map, Vec::new())
    }

    #[test]
    fn admin_routes_are_closed_without_a_token_and_need_the_exact_token() {
        let closed = config(&[]);
        let err = check(&closed, Guard::Admin, &request("/x", &[("x-admin-token", "")])).expect_err("closed");
        assert_eq!((err.status().as_u16(), err.code.as_str()), (503, "ADMIN_DISABLED"));

        let open = config(&[("ADMIN_TOKEN", "t0ken")]);
        for headers in
            [&[][..], &[("x-admin-token", "t0ke")], &[("x-admin-token", "t0ken2")], &[("x-api-key", "t0ken")]]
        {
            let err = check(&open, Guard::Admin, &request("/x", headers)).expect_err("rejected");
            assert_eq!((err.status().as_u16(), err.code.as_str()), (401, "ADMIN_UNAUTHORIZED"), "{headers:?}");
        }
        assert!(check(&open, Guard::Admin, &request("/x", &[("x-admin-token", "t0ken")])).is_ok());
        // The admin token is not an API key, and the API key does not open admin routes.
        let both = config(&[("ADMIN_TOKEN", "adm"), ("API_KEY", "key"), ("REQUIRE_API_KEY", "1")]);
        assert!(check(&both, Guard::Admin, &request("/x", &[("x-admin-token", "key")])).is_err());
        assert!(check(&both, Guard::ApiKey, &request("/x", &[("x-api-key", "adm")])).is_err());
        assert!(check(&both, Guard::ApiKey, &request("/x?apiKey=key", &[])).is_ok());
        assert!(check(&both, Guard::Public, &request("/x", &[])).is_ok());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        let s = Secret::new("abc");
        assert!(constant_time_eq("abc", &s));
        for other in ["", "ab", "abcd", "ABC", "abd"] {
            assert!(!constant_time_eq(other, &s), "{other}");
        }
    }
}
