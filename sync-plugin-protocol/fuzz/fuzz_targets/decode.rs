//! Feeds arbitrary bytes to the decoder and to both sides' state machines.
//!
//! Besides "never panics", checks that whatever decodes re-encodes to something that decodes to the same
//! message: a message the codec accepts is one it can also produce, so a proxy can always pass it on.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sync_plugin_protocol::{SyncPeer, decode, encode_to_bytes};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode(data) {
        let bytes = encode_to_bytes(&msg).expect("a decoded message re-encodes");
        assert_eq!(decode(&bytes).as_ref(), Ok(&msg));
    }

    // The same bytes as a sequence of payloads (split at 0xff bytes) into each side of a link.
    let mut proxy = SyncPeer::proxy("proxy", vec![]);
    let mut backend = SyncPeer::backend("backend", vec![]);
    let _ = backend.hello();
    for payload in data.split(|&b| b == 0xff) {
        let _ = proxy.receive_payload(payload);
        let _ = backend.receive_payload(payload);
    }
});
