//! Which detector weights a request gets, and who decided: header `x-model-variant`, then the form
//! field, the query parameter and the JSON payload field, then the `modelVariantYolov11` rollout for
//! `x-user-id`, then MODEL_VARIANT (which defaults to yolov10). Values are trimmed and lower-cased;
//! an unknown value is refused, never silently replaced.

use common::error::{ApiError, ErrorCode};
use common::runs::{ModelVariant, OverrideSource};

/// Every explicit source of a model variant a request carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantInputs {
    /// `x-model-variant` header.
    pub header: Option<String>,
    /// `model_variant` multipart form field.
    pub form: Option<String>,
    /// `model_variant` query parameter.
    pub query: Option<String>,
    /// `model_variant` in a JSON payload.
    pub payload: Option<String>,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariantChoice {
    /// The variant.
    pub variant: ModelVariant,
    /// Who chose it.
    pub source: OverrideSource,
}

/// Why a variant was refused, with what a run records instead.
#[derive(Debug, Clone)]
pub struct VariantRefused {
    /// The variant the run is recorded with (the env default).
    pub fallback: VariantChoice,
    /// INVALID_MODEL_VARIANT naming the value and where it came from.
    pub error: ApiError,
}

/// Resolves the variant. `flag` is the rollout's answer for this user (`None` when the user is
/// not in it, has no id, or the flag is absent).
pub fn resolve(
    inputs: &VariantInputs,
    flag: Option<ModelVariant>,
    env_default: ModelVariant,
) -> Result<VariantChoice, VariantRefused> {
    let explicit = [
        (&inputs.header, OverrideSource::Header, "header x-model-variant"),
        (&inputs.form, OverrideSource::Form, "form field model_variant"),
        (&inputs.query, OverrideSource::Query, "query parameter model_variant"),
        (&inputs.payload, OverrideSource::Payload, "payload field model_variant"),
    ];
    for (value, source, place) in explicit {
        let Some(raw) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        return match ModelVariant::parse_loose(raw) {
            Ok(variant) => Ok(VariantChoice { variant, source }),
            Err(_) => Err(VariantRefused {
                fallback: VariantChoice { variant: env_default, source: OverrideSource::EnvDefault },
                error: ApiError::new(
                    ErrorCode::InvalidModelVariant,
                    format!("{place} is {raw:?}; allowed: {}", ModelVariant::allowed()),
                ),
            }),
        };
    }
    Ok(match flag {
        Some(variant) => VariantChoice { variant, source: OverrideSource::Flag },
        None => VariantChoice { variant: env_default, source: OverrideSource::EnvDefault },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(h: Option<&str>, f: Option<&str>, q: Option<&str>, p: Option<&str>) -> VariantInputs {
        let s = |v: Option<&str>| v.map(str::to_string);
        VariantInputs { header: s(h), form: s(f), query: s(q), payload: s(p) }
    }

    #[test]
    fn precedence_is_header_form_query_payload_flag_env() {
        use ModelVariant::{Yolov10 as V10, Yolov11 as V11};
        use OverrideSource::*;
        let cases: &[(VariantInputs, Option<ModelVariant>, ModelVariant, VariantChoice)] = &[
            (
                inputs(Some("yolov11"), Some("yolov10"), Some("yolov10"), Some("yolov10")),
                None,
                V10,
                VariantChoice { variant: V11, source: Header },
            ),
            (
                inputs(None, Some("yolov11"), Some("yolov10"), Some("yolov10")),
                None,
                V10,
                VariantChoice { variant: V11, source: Form },
            ),
            (
                inputs(None, None, Some("yolov11"), Some("yolov10")),
                None,
                V10,
                VariantChoice { variant: V11, source: Query },
            ),
            (
                inputs(None, None, None, Some("yolov11")),
                Some(V10),
                V10,
                VariantChoice { variant: V11, source: Payload },
            ),
            (inputs(None, None, None, None), Some(V11), V10, VariantChoice { variant: V11, source: Flag }),
            (inputs(None, None, None, None), None, V11, VariantChoice { variant: V11, source: EnvDefault }),
            (inputs(Some("  YOLOv11 "), None, None, None), None, V10, VariantChoice { variant: V11, source: Header }),
            (
                inputs(Some("   "), None, Some("yolov11"), None),
                None,
                V10,
                VariantChoice { variant: V11, source: Query },
            ),
            (inputs(Some("yolov10"), None, None, None), Some(V11), V10, VariantChoice { variant: V10, source: Header }),
        ];
        for (i, (inp, flag, env, want)) in cases.iter().enumerate() {
            let got = resolve(inp, *flag, *env).unwrap_or_else(|e| panic!("case {i}: {}", e.error.message));
            assert_eq!(got, *want, "case {i}");
        }
    }

    #[test]
    fn an_unknown_value_is_refused_naming_its_source_even_if_a_later_source_is_valid() {
        let e = resolve(&inputs(None, Some("yolov99"), Some("yolov11"), None), None, ModelVariant::Yolov10)
            .expect_err("refused");
        assert_eq!(e.error.code, ErrorCode::InvalidModelVariant);
        assert!(e.error.message.contains("form field") && e.error.message.contains("yolov99"), "{}", e.error.message);
        assert_eq!(e.fallback, VariantChoice { variant: ModelVariant::Yolov10, source: OverrideSource::EnvDefault });
    }
}
