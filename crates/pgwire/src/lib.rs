//! # evert-pgwire: the PostgreSQL wire protocol
//!
//! A listener and a per-connection loop that speak protocol 3.0 to psql and every Postgres
//! driver: startup (SSL refused, trust authentication), the simple query protocol, the
//! extended protocol (Parse/Bind/Describe/Execute/Sync, with text and binary formats),
//! `COPY TO STDOUT` (including a live `SUBSCRIBE`, flushed batch by batch), `COPY FROM
//! STDIN`, cancel requests, and errors as ErrorResponses with SQLSTATEs.
//!
//! Messages are encoded and decoded by the `pgwire` crate; the connection state machine is
//! evert's own ([`conn`]), so that streaming and cancellation are under its control. This
//! crate knows nothing of plans: it hands statements to the [`evert_adapter::Adapter`] and
//! renders what comes back.

pub mod conn;
pub mod copy;
pub mod values;

use evert_adapter::Adapter;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, info};

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, adapter: Adapter, mut shutdown: watch::Receiver<bool>) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "accepting PostgreSQL connections");
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    debug!(%peer, "connection");
                    tokio::spawn(conn::handle_connection(adapter.clone(), stream));
                }
                Err(e) => debug!(error = %e, "accept failed"),
            },
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
        }
    }
}
