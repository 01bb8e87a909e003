//! The compute layer on its own: inputs, a maintained reduce, peeks at timestamps, and a
//! subscription, checked against values computed by hand.

use std::sync::Arc;

use evert_compute::{
    ComputeCommand, ComputeController, DataflowDescription, DataflowExport, InputBatch, PeekTarget,
    SubscribeEvent, SubscribeSink,
};
use evert_expr::{AggregateExpr, AggregateFunc, MapFilterProject, MirRelationExpr, MirScalarExpr};
use evert_repr::{Datum, GlobalId, RelationType, Row, ScalarType};

fn row(a: i64, b: i64) -> Row {
    Row::pack_slice(&[Datum::Int64(a), Datum::Int64(b)])
}

async fn read(c: &ComputeController, id: GlobalId, ts: u64) -> Vec<(Row, i64)> {
    let mut rows = c
        .peek(PeekTarget {
            collection: id,
            key: None,
            literal_keys: None,
            timestamp: ts,
            mfp: MapFilterProject::new(2),
        })
        .await
        .expect("peek");
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reduce_is_maintained_and_readable_at_each_time() {
    let controller = ComputeController::start(2).unwrap();
    let table = GlobalId::User(1);
    let view = GlobalId::User(2);
    let typ = RelationType::new(vec![
        ScalarType::Int64.nullable(false),
        ScalarType::Int64.nullable(false),
    ]);
    controller.send(ComputeCommand::CreateInput {
        id: table,
        arity: 2,
    });
    controller.send(ComputeCommand::Append {
        batches: Arc::new(vec![InputBatch {
            id: table,
            updates: vec![(row(1, 10), 5, 1), (row(1, 20), 5, 1), (row(2, 5), 5, 1)],
        }]),
        advance_to: 6,
    });
    // SELECT a, sum(b) FROM t GROUP BY a
    let plan = MirRelationExpr::global_get(table, typ).reduce(
        vec![0],
        vec![AggregateExpr::new(
            AggregateFunc::SumInt64,
            vec![MirScalarExpr::Column(1)],
        )],
    );
    controller.send(ComputeCommand::CreateDataflow(Arc::new(
        DataflowDescription {
            id: view,
            debug_name: "v".into(),
            plan,
            export: DataflowExport::Index {
                on: view,
                key: None,
            },
        },
    )));
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    controller.send(ComputeCommand::CreateDataflow(Arc::new(
        DataflowDescription {
            id: GlobalId::Transient(1),
            debug_name: "subscribe".into(),
            plan: MirRelationExpr::global_get(
                view,
                RelationType::new(vec![
                    ScalarType::Int64.nullable(false),
                    ScalarType::numeric().nullable(true),
                ]),
            ),
            export: DataflowExport::Subscribe(SubscribeSink {
                as_of: 5,
                up_to: None,
                with_snapshot: true,
                sender: tx,
            }),
        },
    )));

    let n = |s: &str| Datum::Numeric(s.parse().unwrap());
    let v5 = read(&controller, view, 5).await;
    assert_eq!(
        v5,
        vec![
            (Row::pack_slice(&[Datum::Int64(1), n("30")]), 1),
            (Row::pack_slice(&[Datum::Int64(2), n("5")]), 1)
        ]
    );

    controller.send(ComputeCommand::Append {
        batches: Arc::new(vec![InputBatch {
            id: table,
            updates: vec![(row(1, 10), 7, -1), (row(2, 5), 7, -1)],
        }]),
        advance_to: 8,
    });
    let v7 = read(&controller, view, 7).await;
    assert_eq!(v7, vec![(Row::pack_slice(&[Datum::Int64(1), n("20")]), 1)]);
    // The earlier time is still readable: nothing allowed compaction past it.
    assert_eq!(read(&controller, view, 5).await, v5);

    // The subscription saw the snapshot at 5, then the change at 7.
    let mut seen = Vec::new();
    while seen.len() < 5 {
        match rx.recv().await.unwrap() {
            SubscribeEvent::Batch { updates, .. } => seen.extend(updates),
            other => panic!("unexpected {other:?}"),
        }
    }
    seen.sort_by_key(|(r, t, d)| (*t, *d, r.clone()));
    // Snapshot at 5: (1,30) and (2,5); at 7: (1,30) retracted, (1,20) added, (2,5) retracted.
    let times: Vec<(u64, i64)> = seen.iter().map(|(_, t, d)| (*t, *d)).collect();
    assert_eq!(
        times,
        vec![(5, 1), (5, 1), (7, -1), (7, -1), (7, 1)][..seen.len()].to_vec()
    );
    controller.shutdown();
}
