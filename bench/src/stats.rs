//! Pure statistics: percentiles, medians, stalls.

use std::collections::{BTreeMap, HashMap};

use crate::client::Sample;

/// Named figures of one measurement; `None` where a figure does not apply or is pending.
pub type Metrics = BTreeMap<String, Option<f64>>;

/// The `q`-quantile (0..=1) of sorted values, nearest-rank: the smallest value with at least
/// `q` of the values at or below it.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The median of the values that are present; the mean of the middle two for an even count.
pub fn median(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let mut v: Vec<f64> = values
        .into_iter()
        .flatten()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// The median of each key over several runs (keys missing from a run count as absent).
pub fn median_metrics<'a>(runs: impl IntoIterator<Item = &'a Metrics> + Clone) -> Metrics {
    let mut keys: Vec<&String> = runs.clone().into_iter().flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let value = median(
                runs.clone()
                    .into_iter()
                    .map(|m| m.get(key).copied().flatten()),
            );
            (key.clone(), value)
        })
        .collect()
}

/// The longest time between two consecutive pongs of one client, ns: the stall a player
/// would feel. Pongs arrive in order on one connection, so arrival = scheduled + rtt.
pub fn max_stall_ns(samples: &[Sample]) -> Option<u64> {
    let mut arrivals: HashMap<u32, Vec<u64>> = HashMap::new();
    for s in samples {
        arrivals
            .entry(s.client)
            .or_default()
            .push(s.sent_ns + s.rtt_ns);
    }
    arrivals
        .into_values()
        .filter_map(|mut a| {
            a.sort_unstable();
            a.windows(2).map(|w| w[1] - w[0]).max()
        })
        .max()
}

/// Rounds for display and JSON: 3 significant decimals are plenty for noisy timings.
pub fn round(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let digits = 4 - value.abs().log10().ceil() as i32;
    let scale = 10f64.powi(digits.clamp(0, 9));
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000];
        assert_eq!(percentile(&v, 0.9), Some(90));
        assert_eq!(percentile(&v, 0.99), Some(1000));
    }

    #[test]
    fn medians_skip_missing_values() {
        assert_eq!(median([Some(3.0), None, Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median([Some(4.0), Some(1.0)]), Some(2.5));
        assert_eq!(median([None, None]), None);
        let a: Metrics = [("x".to_owned(), Some(1.0)), ("y".to_owned(), None)].into();
        let b: Metrics = [("x".to_owned(), Some(3.0)), ("y".to_owned(), Some(5.0))].into();
        let c: Metrics = [("x".to_owned(), Some(2.0))].into();
        let m = median_metrics([&a, &b, &c]);
        assert_eq!(m["x"], Some(2.0));
        assert_eq!(m["y"], Some(5.0));
    }

    #[test]
    fn stalls_are_per_client() {
        let s = |client, sent_ns, rtt_ns| Sample {
            client,
            sent_ns,
            rtt_ns,
        };
        let samples = [
            s(0, 0, 10),
            s(0, 5, 10),
            s(0, 10, 40),
            s(0, 15, 10),
            // Another client's pong in the gap must not hide it.
            s(1, 1000, 1),
            s(1, 1003, 1),
        ];
        // Client 0 arrivals: 10, 15, 50, 25 → sorted 10, 15, 25, 50: longest gap 25.
        assert_eq!(max_stall_ns(&samples), Some(25));
        assert_eq!(max_stall_ns(&[]), None);
    }

    #[test]
    fn rounding() {
        assert_eq!(round(123.456_78), 123.5);
        assert_eq!(round(0.012_345_6), 0.01235);
        assert_eq!(round(0.0), 0.0);
    }
}
