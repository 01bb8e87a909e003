//! Small operators the renderer needs that timely and differential do not provide.

use differential_dataflow::{AsCollection, VecCollection};
use evert_repr::Diff;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::progress::operate::FrontierInterest;

/// Maps each update to any number of results, each either an output or an error, in one
/// pass: the two outputs are the `(oks, errs)` pair every rendered collection carries.
pub fn flat_map_fallible<'s, T, D, D1, D2, I, L>(
    collection: VecCollection<'s, T, D, Diff>,
    name: &str,
    mut logic: L,
) -> (
    VecCollection<'s, T, D1, Diff>,
    VecCollection<'s, T, D2, Diff>,
)
where
    T: timely::progress::Timestamp,
    D: Clone + 'static,
    D1: Clone + 'static,
    D2: Clone + 'static,
    I: IntoIterator<Item = Result<D1, D2>>,
    L: FnMut(D) -> I + 'static,
{
    let mut builder = OperatorBuilder::new(name.to_owned(), collection.inner.scope());
    let mut input = builder.new_input(collection.inner, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (ok_output, ok_stream) = builder.new_output();
    let (err_output, err_stream) = builder.new_output();
    let mut ok_output = OutputBuilder::<
        _,
        timely::container::CapacityContainerBuilder<Vec<(D1, T, Diff)>>,
    >::from(ok_output);
    let mut err_output = OutputBuilder::<
        _,
        timely::container::CapacityContainerBuilder<Vec<(D2, T, Diff)>>,
    >::from(err_output);
    builder.build(move |_| {
        move |_frontiers| {
            let mut oks = ok_output.activate();
            let mut errs = err_output.activate();
            input.for_each(|cap, data: &mut Vec<(D, T, Diff)>| {
                let mut ok_session = oks.session(&cap);
                let mut err_session = errs.session(&cap);
                for (d, t, r) in data.drain(..) {
                    for result in logic(d) {
                        match result {
                            Ok(x) => ok_session.give((x, t.clone(), r)),
                            Err(e) => err_session.give((e, t.clone(), r)),
                        }
                    }
                }
            });
        }
    });
    (ok_stream.as_collection(), err_stream.as_collection())
}
