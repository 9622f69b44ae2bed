//! Accept loops: the server's listening sockets and the threads that serve
//! their connections.
//!
//! With one loop, connections are served on the calling runtime (its
//! workers take any connection's next request). With more, each loop is a
//! thread with a single-threaded runtime of its own and a listening socket
//! of its own on the same port (`SO_REUSEPORT`): the kernel spreads new
//! connections over the sockets, and each connection's requests are read,
//! answered and written on the thread that accepted it, as nginx's workers
//! do. No runtime worker is woken to take over another's connection, which
//! on a warm tile (a few microseconds of work) costs as much as the answer.
//! Rendering, analytics and the store run on the compute pool or the
//! blocking threads either way, so a slow computation does not hold up the
//! other connections of its loop; what a loop does itself (the JSON of a
//! large answer, its compression) delays them by as long, where one
//! listener's other worker could take them over (BENCHMARKS.md, "One
//! accept loop per core"). `--accept-loops 1` is that one listener.
//!
//! A port that a socket of another process already holds is refused, as a
//! single listener would refuse it: the port is first bound by a plain
//! socket, which fails when anything listens there (`SO_REUSEPORT` alone
//! would let a second server quietly share the port with the first).

use std::future::Future;
use std::net::SocketAddr;

use axum::serve::ListenerExt;
use socket2::{Domain, Protocol, Socket, Type};

use super::AppState;

/// Pending connections per listening socket.
const BACKLOG: i32 = 1024;

/// The listening sockets of a server, bound and listening.
pub struct Listeners {
    sockets: Vec<std::net::TcpListener>,
    local: SocketAddr,
}

impl Listeners {
    /// Binds `addr` (port 0: a free port) for `loops` accept loops (at
    /// least one). Fails as a single bind fails when the address is taken.
    pub fn bind(addr: SocketAddr, loops: usize) -> std::io::Result<Listeners> {
        let loops = loops.max(1);
        if loops == 1 {
            let socket = std::net::TcpListener::bind(addr)?;
            socket.set_nonblocking(true)?;
            let local = socket.local_addr()?;
            return Ok(Listeners { sockets: vec![socket], local });
        }
        // Fails when the port is held, even by a group of reuse-port
        // sockets; gives the port that port 0 picks.
        let local = std::net::TcpListener::bind(addr)?.local_addr()?;
        let sockets = (0..loops).map(|_| reuse_port_socket(local)).collect::<std::io::Result<Vec<_>>>()?;
        Ok(Listeners { sockets, local })
    }

    /// The address the sockets listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// How many accept loops [`Self::serve`] runs.
    pub fn loops(&self) -> usize {
        self.sockets.len()
    }

    /// Serves `state` until `shutdown` completes, then drains in-flight
    /// requests on every loop. Each request carries its peer address
    /// (`ConnectInfo<SocketAddr>`), which the per-client rate limit counts
    /// against. Must be called on a Tokio runtime: a single loop runs on it;
    /// with more, it only waits for their threads.
    pub async fn serve(
        self,
        state: AppState,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut sockets = self.sockets;
        if sockets.len() == 1 {
            let socket = tokio::net::TcpListener::from_std(sockets.remove(0))?;
            return serve_on(socket, state, shutdown).await;
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (done, mut ended) = tokio::sync::mpsc::unbounded_channel();
        let mut threads = Vec::with_capacity(sockets.len());
        for (i, socket) in sockets.into_iter().enumerate() {
            let (state, mut stopped, done) = (state.clone(), stopped.clone(), done.clone());
            let spawned = std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
                let served = tokio::runtime::Builder::new_current_thread().enable_all().build().and_then(|rt| {
                    rt.block_on(async move {
                        let socket = tokio::net::TcpListener::from_std(socket)?;
                        serve_on(socket, state, async move {
                            let _ = stopped.wait_for(|&stop| stop).await;
                        })
                        .await
                    })
                });
                let _ = done.send(served);
            });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    let _ = stop.send(true);
                    return Err(e);
                }
            }
        }
        drop(done);
        // Until the signal, or until a loop ends on its own (an error).
        let first = tokio::select! {
            () = shutdown => None,
            ended = ended.recv() => ended,
        };
        let _ = stop.send(true);
        let mut result = first.unwrap_or(Ok(()));
        while let Some(served) = ended.recv().await {
            result = result.and(served);
        }
        for thread in threads {
            if thread.join().is_err() {
                // Its panic was reported where it happened; the loop's
                // connections were dropped with it.
                result = result.and(Err(std::io::Error::other("an accept loop panicked")));
            }
        }
        result
    }
}

/// A listening socket on `addr` that shares its port with the others of
/// the group.
fn reuse_port_socket(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// One accept loop: `listener`'s connections served with `state`'s router
/// until `shutdown`.
async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // An answer is written whole: its last segment goes out at once instead
    // of waiting for the acknowledgement of the ones before (Nagle).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on a connection");
        }
    });
    let app = super::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
