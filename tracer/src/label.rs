//! The label's words: ball speed, launch angle and carry in metric or imperial units, and which
//! units a client wants (`units` parameter, else its `Accept-Language`).

/// Metres and km/h, or yards and mph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    /// km/h and metres.
    #[default]
    Metric,
    /// mph and yards.
    Imperial,
}

/// Regions whose golfers read yards and mph: the United States, the United Kingdom, Liberia and
/// Myanmar (the three that never went metric, and British golf, which kept yards).
const IMPERIAL_REGIONS: &[&str] = &["US", "GB", "LR", "MM"];

impl Units {
    /// `metric` or `imperial` (any case); None for anything else.
    pub fn parse(value: &str) -> Option<Units> {
        match value.trim().to_ascii_lowercase().as_str() {
            "metric" => Some(Units::Metric),
            "imperial" => Some(Units::Imperial),
            _ => None,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Units::Metric => "metric",
            Units::Imperial => "imperial",
        }
    }

    /// From an `Accept-Language` header: imperial when the most preferred language names one of
    /// [`IMPERIAL_REGIONS`] (`en-US`, `en-GB`), metric otherwise (a bare `en` included: it says
    /// nothing about where the golfer plays). Malformed entries are skipped.
    pub fn from_accept_language(header: &str) -> Units {
        let mut best: Option<(f64, &str)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            if tag.is_empty() || tag == "*" {
                continue;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .map(|v| v.trim().parse::<f64>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, tag));
            }
        }
        let Some((q, tag)) = best else { return Units::Metric };
        let region = tag.split(['-', '_']).skip(1).find(|s| s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()));
        match region {
            Some(r) if q > 0.0 && IMPERIAL_REGIONS.iter().any(|i| i.eq_ignore_ascii_case(r)) => Units::Imperial,
            _ => Units::Metric,
        }
    }
}

/// What the label says about a shot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// Ball speed at launch, m/s.
    pub ball_speed_mps: f64,
    /// Launch angle, degrees.
    pub launch_deg: f64,
    /// Carry, metres.
    pub carry_m: f64,
}

const KMH_PER_MPS: f64 = 3.6;
const MPH_PER_MPS: f64 = 2.236_936_292;
const YD_PER_M: f64 = 1.093_613_298;

impl Label {
    /// `Ball 152 km/h · Launch 12.5° · Carry 182 m` (or mph and yd).
    pub fn text(&self, units: Units) -> String {
        let (speed, speed_unit, carry, carry_unit) = match units {
            Units::Metric => (self.ball_speed_mps * KMH_PER_MPS, "km/h", self.carry_m, "m"),
            Units::Imperial => (self.ball_speed_mps * MPH_PER_MPS, "mph", self.carry_m * YD_PER_M, "yd"),
        };
        format!(
            "Ball {speed:.0} {speed_unit} \u{b7} Launch {:.1}\u{b0} \u{b7} Carry {carry:.0} {carry_unit}",
            self.launch_deg
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_most_preferred_region() {
        let u = Units::from_accept_language;
        assert_eq!(u("en-US,en;q=0.9"), Units::Imperial);
        assert_eq!(u("en-GB"), Units::Imperial);
        assert_eq!(u("de-DE,de;q=0.9,en-US;q=0.8"), Units::Metric);
        assert_eq!(u("fr;q=0.5, en-us;q=0.9"), Units::Imperial);
        assert_eq!(u("en"), Units::Metric);
        assert_eq!(u("zh-Hant-TW"), Units::Metric);
        assert_eq!(u("es-419"), Units::Metric);
        assert_eq!(u(""), Units::Metric);
        assert_eq!(u("*;q=1, ;;,"), Units::Metric);
        assert_eq!(u("en-US;q=0"), Units::Metric);
        assert_eq!((Units::parse(" Imperial "), Units::parse("si")), (Some(Units::Imperial), None));
    }

    #[test]
    fn the_label_converts_units() {
        let l = Label { ball_speed_mps: 50.0, launch_deg: 12.44, carry_m: 182.0 };
        assert_eq!(l.text(Units::Metric), "Ball 180 km/h \u{b7} Launch 12.4\u{b0} \u{b7} Carry 182 m");
        assert_eq!(l.text(Units::Imperial), "Ball 112 mph \u{b7} Launch 12.4\u{b0} \u{b7} Carry 199 yd");
    }
}
