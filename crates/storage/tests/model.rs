//! The log against a model: random commits, compactions, crashes and restarts, checking
//! after every restart that each collection's contents at sampled times equal those of the
//! full, never-compacted history the model keeps.

mod common;

use std::collections::BTreeMap;

use common::*;
use evert_repr::{Diff, GlobalId, Row, Timestamp};
use evert_storage::testing::CrashPoint;
use evert_storage::{Log, LogConfig, Recovered};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Model {
    upper: Timestamp,
    since: BTreeMap<GlobalId, Timestamp>,
    history: BTreeMap<GlobalId, Vec<(Row, Timestamp, Diff)>>,
}

fn reopen(config: &LogConfig) -> (Log, Recovered) {
    let (mut log, recovered) = open(config.clone());
    log.set_manifest_rewrite_bytes(1024);
    (log, recovered)
}

fn check(model: &Model, recovered: &Recovered, rng: &mut Rng) {
    assert_eq!(recovered.upper, model.upper);
    assert_eq!(recovered.collections.len(), model.history.len());
    for (id, history) in &model.history {
        let collection = &recovered.collections[id];
        let since = model.since[id];
        assert_eq!(collection.since, since, "{id}");
        assert!(collection
            .updates
            .iter()
            .all(|(_, t, _)| *t >= since && *t < model.upper));
        if model.upper == 0 {
            continue;
        }
        let mut times = vec![since, model.upper - 1];
        times.extend((0..4).map(|_| since + rng.below(model.upper - since)));
        for time in times {
            assert_eq!(
                accumulate(&collection.updates, time),
                accumulate(history, time),
                "{id} at {time}"
            );
        }
    }
}

#[test]
fn random_operations_match_the_model() {
    let dir = TestDir::new("model");
    let mut config = dir.config();
    config.segment_bytes = 512;
    let ids = [U1, U2, S1];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut model = Model::default();
    let (mut log, _) = reopen(&config);
    for id in ids {
        log.create_collection(id).unwrap();
        model.since.insert(id, 0);
        model.history.insert(id, Vec::new());
    }
    let mut restarts = 0;
    for _ in 0..400 {
        match rng.below(20) {
            0..=13 => {
                let timestamp = model.upper + rng.below(3);
                let mut batches = Vec::new();
                for id in ids {
                    if rng.below(2) == 0 {
                        let batch: Vec<(Row, Diff)> = (0..rng.below(6))
                            .map(|_| (row(rng.below(8) as i64, "v"), rng.below(5) as Diff - 2))
                            .collect();
                        batches.push((id, batch));
                    }
                }
                let crash = rng.below(10) == 0;
                if crash {
                    log.inject_crash(CrashPoint::BeforeManifestCommit);
                }
                let result = log.commit(timestamp, &batches);
                if crash {
                    assert!(result.is_err());
                    drop(log);
                    let recovered;
                    (log, recovered) = reopen(&config);
                    check(&model, &recovered, &mut rng);
                    restarts += 1;
                    continue;
                }
                result.unwrap();
                model.upper = timestamp + 1;
                for (id, batch) in batches {
                    model
                        .history
                        .get_mut(&id)
                        .unwrap()
                        .extend(at(timestamp, &batch));
                }
            }
            14..=16 => {
                let id = ids[rng.below(3) as usize];
                let requested = rng.below(model.upper + 5);
                let crash = match rng.below(6) {
                    0 => Some(CrashPoint::BeforeCompactionSwitch),
                    1 => Some(CrashPoint::BeforeCompactionCleanup),
                    _ => None,
                };
                if let Some(point) = crash {
                    log.inject_crash(point);
                }
                let result = log.compact(id, requested);
                let target = requested.min(model.upper.saturating_sub(1));
                let happened = model.upper > 0 && target > model.since[&id];
                match crash {
                    Some(point) if happened => {
                        assert!(result.is_err());
                        if point == CrashPoint::BeforeCompactionCleanup {
                            model.since.insert(id, target);
                        }
                        drop(log);
                        let recovered;
                        (log, recovered) = reopen(&config);
                        check(&model, &recovered, &mut rng);
                        restarts += 1;
                        continue;
                    }
                    // A no-op compaction never reaches the crash point; disarm it.
                    Some(_) => {
                        result.unwrap();
                        drop(log);
                        (log, _) = reopen(&config);
                    }
                    None => {
                        result.unwrap();
                        if happened {
                            model.since.insert(id, target);
                        }
                    }
                }
            }
            _ => {
                drop(log);
                let recovered;
                (log, recovered) = reopen(&config);
                assert!(recovered.repairs.is_empty(), "{:?}", recovered.repairs);
                check(&model, &recovered, &mut rng);
                restarts += 1;
            }
        }
    }
    drop(log);
    let (_, recovered) = reopen(&config);
    check(&model, &recovered, &mut rng);
    assert!(restarts > 20, "only {restarts} restarts");
    assert!(model.upper > 200);
}
