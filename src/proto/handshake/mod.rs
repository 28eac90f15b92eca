//! Handshake state machines (protocol-notes §2). OWNED BY THE HANDSHAKE WORK ITEM.
