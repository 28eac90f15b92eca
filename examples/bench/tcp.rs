//! The loopback TCP ceiling: a plain Rust sender and receiver (two threads, blocking
//! std sockets, TCP_NODELAY) moving `count` chunks of `size` bytes over 127.0.0.1,
//! timed from the first write to the receiver having read every byte.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

/// Microseconds to move `count * size` bytes.
pub fn transfer_us(size: usize, count: usize) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let total = size * count;
    let receiver = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0;
        while got < total {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "sender closed early");
            got += n;
        }
        Instant::now()
    });
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let chunk = vec![7u8; size];
    let t0 = Instant::now();
    for _ in 0..count {
        s.write_all(&chunk).expect("write");
    }
    let t1 = receiver.join().expect("receiver");
    (t1 - t0).as_secs_f64() * 1e6
}
