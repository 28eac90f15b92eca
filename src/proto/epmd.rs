//! EPMD messages (protocol-notes §1). OWNED BY THE EPMD WORK ITEM.
