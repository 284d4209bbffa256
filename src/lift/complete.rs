//! Completion: fills the transitions a finite machine's trace never showed by stepping the network.
//!
//! A trace shows each cluster of hidden states only with the inputs that happened to follow it:
//! the states a sequence ends in are never seen with any input, and rare states with few. Left
//! missing, those transitions keep equivalent states apart under minimisation (a missing
//! transition reads as a difference) and leave holes in a transition table. This pass reads them
//! off the network instead: for every cluster, in order, and every input of the domain, in order,
//! whose transition is missing, the network is stepped from the cluster's representative state and
//! the state it reaches is assigned to a cluster, or founds a new one whose transitions are then
//! filled too. The pass ends when every cluster has every transition (closed), or gives up when
//! the clusters or the network steps exceed their limits (open).

use std::collections::BTreeMap;

/// Transitions between clusters: (cluster, input) to (next cluster, rounded output).
pub type Transitions = BTreeMap<(usize, Vec<i64>), (usize, Vec<i64>)>;

/// A reading of hidden states as clusters that stepping the network can extend.
pub trait Extend {
    /// The error of stepping the network.
    type Error;

    /// Number of clusters so far; clusters are numbered `0..count()`.
    fn count(&self) -> usize;

    /// Steps the network from `cluster`'s representative with `input`: the cluster of the state
    /// reached (a state in no cluster founds a new one, numbered `count()` before the call) and
    /// the step's rounded output.
    fn successor(
        &mut self,
        cluster: usize,
        input: &[i64],
    ) -> Result<(usize, Vec<i64>), Self::Error>;

    /// Network steps run so far (a successor may probe the reached state with several steps).
    fn steps_run(&self) -> usize;
}

/// Limits of one completion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompleteLimits {
    /// Most clusters, those the trace gave included.
    pub max_clusters: usize,
    /// Most network steps.
    pub max_steps: usize,
}

/// How a completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Every cluster has a transition on every input; `filled` of them came from the network.
    Closed { filled: usize },
    /// A limit was reached first; the transitions filled so far are kept in the map.
    Open,
}

/// Fills every missing `(cluster, input)` transition for `input` in `inputs`, in order of cluster
/// then input, extending `reading` with the clusters the network reaches. Deterministic when
/// `reading` is: the order of visits is fixed.
///
/// Errors: the reading's, from stepping the network.
pub fn complete_transitions<R: Extend>(
    transitions: &mut Transitions,
    reading: &mut R,
    inputs: &[Vec<i64>],
    limits: CompleteLimits,
) -> Result<Completion, R::Error> {
    let mut filled = 0;
    let mut cluster = 0;
    while cluster < reading.count() {
        for input in inputs {
            let key = (cluster, input.clone());
            if transitions.contains_key(&key) {
                continue;
            }
            if reading.steps_run() >= limits.max_steps {
                return Ok(Completion::Open);
            }
            let next = reading.successor(cluster, input)?;
            transitions.insert(key, next);
            filled += 1;
            if reading.count() > limits.max_clusters {
                return Ok(Completion::Open);
            }
        }
        cluster += 1;
    }
    Ok(Completion::Closed { filled })
}

/// Every point of a domain of integer features (`(lo, hi)` each), last feature fastest, or `None`
/// when there are more than `limit`.
pub fn domain_points(ranges: &[(i64, i64)], limit: usize) -> Option<Vec<Vec<i64>>> {
    let mut total: usize = 1;
    for &(lo, hi) in ranges {
        let size = usize::try_from(i128::from(hi) - i128::from(lo) + 1).ok()?;
        total = total.checked_mul(size)?;
        if total > limit {
            return None;
        }
    }
    let mut points = Vec::with_capacity(total);
    for mut index in 0..total {
        let mut point = vec![0i64; ranges.len()];
        for (j, &(lo, hi)) in ranges.iter().enumerate().rev() {
            // Sizes fit in usize (checked above), so the offset fits in i64's range of the domain.
            let size = (hi - lo + 1) as usize;
            point[j] = lo + (index % size) as i64;
            index /= size;
        }
        points.push(point);
    }
    Some(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter modulo `modulus` read as clusters that only know their own number: stepping
    /// from cluster `c` with `x` reaches `(value(c) + x) % modulus`, which is a known cluster or
    /// a new one.
    struct ModCounter {
        values: Vec<i64>,
        modulus: i64,
        steps: usize,
    }

    impl Extend for ModCounter {
        type Error = ();
        fn count(&self) -> usize {
            self.values.len()
        }
        fn successor(&mut self, cluster: usize, input: &[i64]) -> Result<(usize, Vec<i64>), ()> {
            self.steps += 1;
            let next = (self.values[cluster] + input[0]) % self.modulus;
            let found = self.values.iter().position(|&v| v == next);
            let to = found.unwrap_or_else(|| {
                self.values.push(next);
                self.values.len() - 1
            });
            Ok((to, vec![next]))
        }
        fn steps_run(&self) -> usize {
            self.steps
        }
    }

    #[test]
    fn missing_transitions_are_filled_and_new_clusters_closed() {
        // Observed: 0 -1-> 1 only. The counter mod 3 has states 0, 1, 2 and inputs 0, 1.
        let mut transitions = Transitions::new();
        transitions.insert((0, vec![1]), (1, vec![1]));
        let mut reading = ModCounter {
            values: vec![0, 1],
            modulus: 3,
            steps: 0,
        };
        let limits = CompleteLimits {
            max_clusters: 10,
            max_steps: 100,
        };
        let inputs = vec![vec![0], vec![1]];
        let end = complete_transitions(&mut transitions, &mut reading, &inputs, limits).unwrap();
        assert_eq!(end, Completion::Closed { filled: 5 });
        assert_eq!(reading.values, vec![0, 1, 2]);
        assert_eq!(transitions.len(), 6);
        assert_eq!(transitions[&(1, vec![1])], (2, vec![2]));
        assert_eq!(transitions[&(2, vec![1])], (0, vec![0]));
        assert_eq!(transitions[&(2, vec![0])], (2, vec![2]));
    }

    #[test]
    fn completion_stops_at_its_limits() {
        // A counter mod 1000 on input 1, from 0, until a limit stops it.
        let run = |max_clusters: usize, max_steps: usize| {
            let mut reading = ModCounter {
                values: vec![0],
                modulus: 1000,
                steps: 0,
            };
            let limits = CompleteLimits {
                max_clusters,
                max_steps,
            };
            let end =
                complete_transitions(&mut Transitions::new(), &mut reading, &[vec![1]], limits);
            (end, reading)
        };
        let (end, reading) = run(5, 100);
        assert_eq!(end, Ok(Completion::Open));
        assert_eq!(reading.values.len(), 6);
        let (end, reading) = run(100, 3);
        assert_eq!(end, Ok(Completion::Open));
        assert_eq!(reading.steps, 3);
    }

    #[test]
    fn domain_points_enumerate_last_feature_fastest() {
        let points = domain_points(&[(0, 1), (-1, 0)], 10).unwrap();
        assert_eq!(
            points,
            vec![vec![0, -1], vec![0, 0], vec![1, -1], vec![1, 0]]
        );
        assert_eq!(domain_points(&[(0, 9), (0, 9)], 99), None);
        assert_eq!(domain_points(&[(i64::MIN, i64::MAX)], 10), None);
    }
}
